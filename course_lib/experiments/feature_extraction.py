"""A frozen source extractor + new head vs training from scratch, with 10 labels per class.

Two targets:

- where transfer should help: a new task in the source's domain, MNIST-M style
  digits 5-9, after a source model trained on MNIST-M style digits 0-4 only;
- where a frozen extractor should not be enough: the same task in another
  domain, MNIST-M style digits, after the MNIST source model (fine-tuning,
  the better answer there, is chapter 02's ``fine_tuning_strategies``).

Both cut the source after its last conv block (``EXTRACTOR_LAYER``): the dense
feature layer above it was shaped for the source's classes and transfers worse
to new ones (chapter 01's exercise 2 measures it).
"""

from course_lib import feature_extraction as fx
from course_lib.data import class_subset, few_shot, load_domain
from course_lib.experiments import Measured, Stopwatch
from course_lib.models import accuracy, source_model

METRIC = "target_accuracy"
DESCRIPTION = ("10 labels per class: frozen extractor + new head vs scratch, on mnist_m 5-9 "
               "after an mnist_m 0-4 source, and on mnist -> mnist_m")

DOMAIN = "mnist_m"
OLD_CLASSES = (0, 1, 2, 3, 4)
NEW_CLASSES = (5, 6, 7, 8, 9)
SOURCE_EPOCHS = 20
LABELS_PER_CLASS = 10
EXTRACTOR_LAYER = "block2_pool"


def old_task_source(seed):
    """The CNN trained on the ``DOMAIN`` digits ``OLD_CLASSES`` (cached)."""
    return fx.subtask_source_model(OLD_CLASSES, domain=DOMAIN, seed=seed, epochs=SOURCE_EPOCHS)


def new_task_data(seed, labels_per_class=LABELS_PER_CLASS):
    """``DOMAIN`` digits 5-9 relabelled 0-4: ``(x_few, y_few, x_test, y_test)``, few = per class."""
    x, y = class_subset(*load_domain(DOMAIN, "train", seed=seed), NEW_CLASSES)
    x_few, y_few = few_shot(x, y, labels_per_class, seed=seed)
    x_test, y_test = class_subset(*load_domain(DOMAIN, "test", seed=seed), NEW_CLASSES)
    return x_few, y_few, x_test, y_test


def new_domain_data(seed, labels_per_class=LABELS_PER_CLASS):
    """MNIST-M style digits (grey), all ten: ``(x_few, y_few, x_test, y_test)``, few = per class."""
    x_few, y_few = few_shot(*load_domain("mnist_m", "train", seed=seed), labels_per_class, seed=seed)
    x_test, y_test = load_domain("mnist_m", "test", seed=seed)
    return x_few, y_few, x_test, y_test


def frozen_vs_scratch(source, x_few, y_few, x_test, y_test, n_classes, seed, layer=EXTRACTOR_LAYER):
    """Train a head on the frozen source features at ``layer`` and a scratch CNN on the same labels.

    Returns:
        ``{"frozen_head": Measured, "scratch": Measured}`` (test accuracy, seconds to train).
    """
    with Stopwatch() as t:
        extractor = fx.cut(source, layer)
        head = fx.train_head(fx.features(extractor, x_few), y_few, n_classes, seed=seed)
    frozen = fx.head_accuracy(head, fx.features(extractor, x_test), y_test)
    with Stopwatch() as s:
        scratch = fx.scratch_model(x_few, y_few, n_classes, seed=seed)
    return {"frozen_head": Measured(frozen, t.seconds),
            "scratch": Measured(accuracy(scratch, x_test, y_test), s.seconds)}


def run(seed):
    """All four arms for one seed: ``{arm: Measured(test accuracy, seconds to train)}``.

    Arms: ``new_task_frozen_head``, ``new_task_scratch``, ``new_domain_frozen_head``,
    ``new_domain_scratch``.
    """
    measured = {}
    new_task = frozen_vs_scratch(old_task_source(seed), *new_task_data(seed), len(NEW_CLASSES), seed)
    measured.update({f"new_task_{arm}": m for arm, m in new_task.items()})
    mnist_source = source_model(channels=1, seed=seed, progress=None)
    new_domain = frozen_vs_scratch(mnist_source, *new_domain_data(seed), 10, seed)
    measured.update({f"new_domain_{arm}": m for arm, m in new_domain.items()})
    return measured
