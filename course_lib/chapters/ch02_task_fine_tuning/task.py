"""Chapter 02's task: the MNIST source model fine-tuned on ``mnist_m`` with few labels per class.

The setting has ``labels_per_class`` labelled ``mnist_m`` images per digit (grey, as the
source model reads them). Part of them train, the rest are the **validation** split every
choice is made on (learning rate, number of steps, which blocks to unfreeze). The 1,000
``mnist_m`` test images give the final number, once; the 1,000 ``mnist`` test images
measure how much of the source task survives fine-tuning (forgetting).
"""

from course_lib.core import checks
from course_lib.core.data import few_shot, load_domain, validation_split

#: The chapter's setting: 20 labelled target images per digit, 10 of them for validation.
LABELS_PER_CLASS = 20
SOURCE_DOMAIN, TARGET_DOMAIN = "mnist", "mnist_m"


def load_task(labels_per_class=LABELS_PER_CLASS, validation_per_class=None, seed=0):
    """The chapter's task for ``seed``.

    Args:
        labels_per_class: labelled ``mnist_m`` images per digit the setting has (at least 2).
        validation_per_class: how many of them validate; default half (rounded down).

    Returns:
        a dict of ``(x, y)`` pairs: ``train`` and ``validation`` (the labelled target
        images, split), ``test`` (the ``mnist_m`` test split), ``source_test`` (the
        ``mnist`` test split). Images are grey, (n, 28, 28, 1) in [0, 1].
    """
    labels_per_class = checks.whole_number(labels_per_class, "labels_per_class", minimum=2)
    if validation_per_class is None:
        validation_per_class = labels_per_class // 2
    validation_per_class = checks.whole_number(validation_per_class, "validation_per_class",
                                               maximum=labels_per_class - 1)
    x, y = load_domain(TARGET_DOMAIN, "train", seed=seed, channels=1)
    labelled = few_shot(x, y, labels_per_class, seed=seed)
    train, validation = validation_split(*labelled, validation_per_class, seed=seed)
    return {"train": train, "validation": validation,
            "test": load_domain(TARGET_DOMAIN, "test", seed=seed, channels=1),
            "source_test": load_domain(SOURCE_DOMAIN, "test", seed=seed, channels=1)}
