"""Fusion of a frozen source branch and a trainable target branch, vs each branch alone.

Every arm trains on the same 20 labelled ``mnist_m`` images per class, with the
same recipe, and is tested on the ``mnist_m`` test split. The source branch is
the grey MNIST source model's conv features (frozen, reading the grey view);
the target branch a small CNN trained from scratch on the colour view.
"""

from course_lib.data import few_shot, load_domain, to_channels
from course_lib.experiments import Measured, Stopwatch
from course_lib.models import accuracy, source_model, train_classifier
from course_lib.transfer_networks.fusion import build_fusion, build_single, source_branch, target_branch

METRIC = "target_accuracy"
DESCRIPTION = ("frozen grey source branch + trainable colour target branch, fused by "
               "concatenation or a gated sum, vs each branch alone; 20 mnist_m labels per class")

ARMS = ("source branch alone", "target branch alone", "fusion: concat", "fusion: gated")
LABELS_PER_CLASS = 20
EPOCHS = 30
BATCH_SIZE = 16


def build_arm(arm, source, seed=0):
    """The model for one arm, and which views it reads: ``(model, views)``, views from
    ``("grey", "colour")``."""
    if arm == "source branch alone":
        return build_single(source_branch(source), freeze=True, seed=seed), ("grey",)
    if arm == "target branch alone":
        return build_single(target_branch(seed=seed), seed=seed), ("colour",)
    if arm in ("fusion: concat", "fusion: gated"):
        model = build_fusion(source_branch(source), target_branch(seed=seed),
                             fusion=arm.split(": ")[1], freeze_source=True, seed=seed)
        return model, ("grey", "colour")
    raise ValueError(f"unknown arm {arm!r}; allowed: {', '.join(map(repr, ARMS))}")


def _views(x, names):
    views = {"grey": to_channels(x, 1), "colour": x}
    picked = [views[n] for n in names]
    return picked[0] if len(picked) == 1 else picked


def run(seed, arms=ARMS, labels_per_class=LABELS_PER_CLASS, epochs=EPOCHS, progress=False):
    """Train and test every arm: ``{arm: Measured(mnist_m test accuracy, seconds)}``."""
    source = source_model(channels=1, seed=seed, progress=None)
    x, y = load_domain("mnist_m", "train", seed=seed, channels=3)
    x_few, y_few = few_shot(x, y, labels_per_class, seed=seed)
    x_test, y_test = load_domain("mnist_m", "test", seed=seed, channels=3)
    measured = {}
    for arm in arms:
        with Stopwatch() as t:
            model, views = build_arm(arm, source, seed=seed)
            train_classifier(model, _views(x_few, views), y_few, epochs=epochs,
                             batch_size=BATCH_SIZE, seed=seed, progress=arm if progress else None)
            value = accuracy(model, _views(x_test, views), y_test)
        measured[arm] = Measured(value, t.seconds)
    return measured
