"""MNIST -> MNIST-M style without target labels: source-only vs DANN, Deep CORAL and MMD.

Every arm uses the same CNN (grey input, the course's source model) and the
same test-time treatment: BatchNorm statistics re-estimated on the unlabelled
target images before testing. The adaptation methods start from the source
model (warm start), pass source and target batches through the network
separately (domain-specific BatchNorm statistics), and train for ``EPOCHS``
epochs; ``source_only_trained`` runs that same loop with the adaptation
switched off, so that any gain is the method's and not the extra training's.
"""

import numpy as np

from course_lib import data
from course_lib.adaptation import (DANN, DiscrepancyModel, TwoDomainModel, reestimate_batchnorm,
                                   split_source_model, train_adapter, train_dann)
from course_lib.experiments import Measured, Stopwatch
from course_lib.models import accuracy, source_model

METRIC = "target_accuracy"
DESCRIPTION = ("mnist -> mnist_m (grey), no target labels: source-only vs DANN, Deep CORAL, MMD "
               "(all arms with BatchNorm re-estimated on the target)")

CHANNELS = 1
EPOCHS = 5
#: Each method and its adaptation weight: lambda_max for DANN, the loss weight for CORAL and MMD.
METHODS = {"dann": 0.3, "coral": 300.0, "mmd": 2.0}


def load_task(seed, channels=CHANNELS, n_train=None):
    """The adaptation problem for ``seed``.

    Args:
        n_train: use only the first ``n_train`` source and target training images
            (a faster, smaller run); default all 4,000 of each. The test set is always whole.

    Returns:
        a dict: ``x_source``, ``y_source`` (mnist train, labelled), ``x_target``
        (mnist_m train, labels dropped), ``x_test``, ``y_test`` (mnist_m test,
        made from mnist test digits only).
    """
    x_source, y_source = data.load_domain("mnist", "train", seed=seed, channels=channels)
    x_target, _ = data.load_domain("mnist_m", "train", seed=seed, channels=channels)
    x_test, y_test = data.load_domain("mnist_m", "test", seed=seed, channels=channels)
    if n_train is not None:
        if not 2 <= n_train <= len(x_source):
            raise ValueError(f"n_train must be between 2 and {len(x_source)}, got {n_train}")
        # The splits are shuffled, so the first n_train images are a random sample.
        x_source, y_source, x_target = x_source[:n_train], y_source[:n_train], x_target[:n_train]
    return {"x_source": x_source, "y_source": y_source, "x_target": x_target,
            "x_test": x_test, "y_test": y_test}


def source_only(source, task):
    """The source model on the target test set, as it is and with target BatchNorm statistics.

    Returns:
        ``(measured, model)``: ``{"source_only": Measured, "source_only_bn": Measured}``
        (test accuracy, seconds), and the source-only model with re-estimated statistics.
    """
    with Stopwatch() as test_time:
        as_is = accuracy(source, task["x_test"], task["y_test"])
    with Stopwatch() as t:
        extractor, classifier = split_source_model(source)
        model = TwoDomainModel(extractor, classifier)
        model.adapt_batchnorm(task["x_target"])
    measured = {"source_only": Measured(as_is, test_time.seconds),
                "source_only_bn": Measured(accuracy(model, task["x_test"], task["y_test"]), t.seconds)}
    return measured, model


def adapt(source, task, method, weight=None, epochs=EPOCHS, seed=0, progress=None):
    """Adapt a warm copy of ``source`` to the target with ``method`` and test it.

    Args:
        method: ``"dann"``, ``"coral"``, ``"mmd"``, or ``"none"`` (the same
            training loop on the source alone).
        weight: lambda_max (DANN) or loss weight (CORAL, MMD); default ``METHODS[method]``.
        progress: a label for the progress line, or None.

    Returns:
        ``(model, history, Measured(target test accuracy, seconds))``; the
        model's BatchNorm statistics are re-estimated on the target first.
    """
    allowed = (*METHODS, "none")
    if method not in allowed:
        raise ValueError(f"unknown method {method!r}; allowed: {', '.join(allowed)}")
    weight = METHODS.get(method, 0.0) if weight is None else float(weight)
    if weight < 0:
        raise ValueError(f"weight must be >= 0, got {weight}")
    args = (task["x_source"], task["y_source"], task["x_target"], epochs)
    with Stopwatch() as t:
        extractor, classifier = split_source_model(source)
        if method == "dann":
            model = DANN(extractor, classifier, seed=seed)
            history = train_dann(model, *args, lambda_max=weight, seed=seed, progress=progress)
        else:
            model = DiscrepancyModel(extractor, classifier, "coral" if method == "none" else method,
                                     weight=0.0 if method == "none" else weight)
            history = train_adapter(model, *args, seed=seed, progress=progress)
        reestimate_batchnorm(model.extractor, task["x_target"])
    return model, history, Measured(accuracy(model, task["x_test"], task["y_test"]), t.seconds)


def run(seed, methods=tuple(METHODS), epochs=EPOCHS):
    """Source-only arms and every method for one seed: ``{arm: Measured}``."""
    task = load_task(seed)
    source = source_model(channels=CHANNELS, seed=seed, progress=None)
    measured, _ = source_only(source, task)
    measured["source_only_trained"] = adapt(source, task, "none", epochs=epochs, seed=seed)[2]
    for method in methods:
        measured[method] = adapt(source, task, method, epochs=epochs, seed=seed)[2]
    return measured


def best_gain(report, methods=tuple(METHODS)):
    """Per seed, the best method's accuracy minus the strongest source-only arm's.

    Args:
        report: the dict ``course_lib.experiments.run`` returns for this experiment.

    Returns:
        ``(best method by median gain, [its gain per seed])``.
    """
    results = report["results"]
    baselines = [arm for arm in results if arm.startswith("source_only")]
    if not baselines or not any(m in results for m in methods):
        raise ValueError("the report needs source_only arms and at least one method")
    strongest = np.max([results[arm] for arm in baselines], axis=0)
    present = [m for m in methods if m in results]
    best = max(present, key=lambda m: np.median(np.array(results[m]) - strongest))
    return best, [float(v) for v in np.array(results[best]) - strongest]
