"""A shared embedding for MNIST and MNIST-M (CCSA-style), vs the same network on target labels alone.

Arms, all the same BatchNorm-free CNN tested on the ``mnist_m`` test split:

* ``target labels only``: trained on the 10 labelled ``mnist_m`` images per class;
* ``both domains' labels, no alignment``: the source labels plus those target
  labels, cross-entropy only (``alpha = 0``);
* ``shared embedding (CCSA)``: the same data and steps, plus the semantic
  alignment and separation losses.
"""

from course_lib.data import few_shot, load_domain
from course_lib.experiments import Measured, Stopwatch
from course_lib.models import accuracy
from course_lib.transfer_networks.shared_embedding import (
    ALPHA,
    train_shared_embedding,
    train_target_only,
)

METRIC = "target_accuracy"
DESCRIPTION = ("one embedding for mnist (all labels) and mnist_m (10 labels per class) with "
               "CCSA's alignment losses, vs the same network on the target labels alone")

ARMS = ("target labels only", "both domains' labels, no alignment", "shared embedding (CCSA)")
LABELS_PER_CLASS = 10
EPOCHS = 2
TARGET_ONLY_EPOCHS = 30


def load(seed, labels_per_class=LABELS_PER_CLASS):
    """The data of one seed, all RGB: ``(x_source, y_source, x_few, y_few, x_test, y_test)``."""
    x_source, y_source = load_domain("mnist", "train", seed=seed, channels=3)
    x, y = load_domain("mnist_m", "train", seed=seed, channels=3)
    x_few, y_few = few_shot(x, y, labels_per_class, seed=seed)
    x_test, y_test = load_domain("mnist_m", "test", seed=seed, channels=3)
    return x_source, y_source, x_few, y_few, x_test, y_test


def train_arm(arm, data, seed=0, progress=False):
    """Train one arm on ``load``'s data: ``(classifier, embedding)``."""
    x_source, y_source, x_few, y_few, _, _ = data
    label = arm if progress else None
    if arm == "target labels only":
        return train_target_only(x_few, y_few, epochs=TARGET_ONLY_EPOCHS, seed=seed, progress=label)
    alphas = {"both domains' labels, no alignment": 0.0, "shared embedding (CCSA)": ALPHA}
    if arm not in alphas:
        raise ValueError(f"unknown arm {arm!r}; allowed: {', '.join(map(repr, ARMS))}")
    classifier, embedding, _ = train_shared_embedding(
        x_source, y_source, x_few, y_few, epochs=EPOCHS, alpha=alphas[arm], seed=seed,
        progress=label)
    return classifier, embedding


def run(seed, arms=ARMS, progress=False, models=None):
    """Train and test each arm: ``{arm: Measured(mnist_m test accuracy, seconds)}``.

    Args:
        models: optional dict; each arm's ``(classifier, embedding)`` is stored in it.
    """
    data = load(seed)
    measured = {}
    for arm in arms:
        with Stopwatch() as t:
            trained = train_arm(arm, data, seed=seed, progress=progress)
            value = accuracy(trained[0], data[4], data[5])
        measured[arm] = Measured(value, t.seconds)
        if models is not None:
            models[arm] = trained
    return measured
