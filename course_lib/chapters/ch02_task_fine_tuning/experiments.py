"""Chapter 02's experiments: the strategies, label budgets, BatchNorm freezing, unfreezing
schedules, label smoothing and swapped activations, on the chapter's task (``task.py``).

Every run chooses on the validation split of the labelled target images: its learning
rate from a small grid and its number of steps (the best validation point is kept); each
arm's number is then its accuracy on the test split, measured once. Arms named
``"<arm> | mnist"`` are accuracies on the source domain's test split (what fine-tuning
left of the source task); ``"<arm> | rate"`` is the learning rate validation chose.
"""

import numpy as np

from course_lib.chapters.ch02_task_fine_tuning.task import LABELS_PER_CLASS, load_task
from course_lib.core.cnn import FEATURE_LAYER
from course_lib.core.evaluation import accuracy, layer_output, predict
from course_lib.core.pretrained import SOURCE, source_model
from course_lib.core.training import fit
from course_lib.experiments import Measured, Stopwatch, experiment
from course_lib.methods import batchnorm
from course_lib.methods.fine_tuning import (RATE_GRID, SmoothedCrossentropy, best_weights_callback,
                                            build, calibration_error, fine_tune, select_learning_rate,
                                            validation_summary, with_activation)
from course_lib.methods.learning_rates import gradual_unfreezing, layerwise_rates

#: The source models the chapter loads (``python -m course_lib.tools.warm`` trains them).
RECIPES = (SOURCE,)
#: Every arm of ``fine_tuning_strategies``, baselines first.
ALL_STRATEGIES = ("scratch", "new_head", "mapping", "head", "top", "full")
#: Labelled target images per digit (half of them validate) for ``labels_per_class``.
BUDGETS = (6, 20, 60)
#: The arms of ``labels_per_class``.
BUDGET_STRATEGIES = ("scratch", "head", "full")
#: Gradient steps of the BatchNorm demonstration (a short head-only run) and its rate.
BATCHNORM_STEPS = 50
BATCHNORM_RATE = 3e-3
#: Gradual unfreezing: steps per stage (4 stages: head, features, block2, block1), the top
#: rates tried (each block below learns ``RATE_FACTOR`` times slower than the one above).
STEPS_PER_STAGE = 50
TOP_RATES = (3e-4, 1e-3, 3e-3, 1e-2)
RATE_FACTOR = 3.0
UNFREEZING_STAGES = ("head", "features", "block2", "block1")
#: The activations swapped in for ReLU in ``swapped_activation`` (ReLU: kept), and those of
#: them the experiment also fine-tunes.
ACTIVATIONS = ("relu", "gelu", "tanh")
FINE_TUNED_ACTIVATIONS = ("relu", "tanh")
MNIST, RATE, ECE = " | mnist", " | rate", " | ECE"


def tune(strategy, source, task, seed=0, loss=None, progress=None):
    """Fine-tune ``strategy`` on the task's train split at each rate of ``RATE_GRID[strategy]``.

    Returns:
        a ``fine_tuning.Selection``: the model with the best validation accuracy, its rate,
        and every rate's validation curve.
    """
    def make():
        return build(strategy, source, seed=seed)

    def train_at(model, rate):
        label = f"{progress} at rate {rate:g}" if progress else None
        return fine_tune(model, task["train"], task["validation"], rate, seed=seed, loss=loss,
                         progress=label)

    return select_learning_rate(make, RATE_GRID[strategy], train_at)


def _test(model, task):
    return accuracy(model, *task["test"])


def _record(measured, arm_name, task, select):
    """Run ``select()`` (which returns a ``Selection``), timed; record the kept model's test
    accuracy as ``arm_name`` and its rate as ``arm_name + RATE``; return the ``Selection``."""
    with Stopwatch() as t:
        chosen = select()
    measured[arm_name] = Measured(_test(chosen.model, task), t.seconds)
    measured[arm_name + RATE] = Measured(chosen.learning_rate, 0.0)
    return chosen


@experiment("target_accuracy", "mnist -> mnist_m, 20 labels per class (10 validate): the source "
                               "model as-is, scratch, new head, probability mapping, and "
                               "fine-tuning the head / top blocks / whole model")
def fine_tuning_strategies(seed, strategies=ALL_STRATEGIES, labels_per_class=LABELS_PER_CLASS):
    """Each strategy, its rate chosen on validation, tested once on ``mnist_m`` and on ``mnist``.

    Returns:
        ``{arm: Measured}``: ``"<strategy>"`` (mnist_m test accuracy), ``"<strategy> | mnist"``
        (mnist test accuracy after fine-tuning), ``"<strategy> | rate"``, and the same for
        ``"source model"`` as-is (no training).
    """
    source = source_model(seed=seed, progress=None)
    task = load_task(labels_per_class, seed=seed)
    measured = {"source model": Measured(_test(source, task), 0.0),
                "source model" + MNIST: Measured(accuracy(source, *task["source_test"]), 0.0)}
    for strategy in strategies:
        chosen = _record(measured, strategy, task, lambda: tune(strategy, source, task, seed))
        measured[strategy + MNIST] = Measured(accuracy(chosen.model, *task["source_test"]), 0.0)
    return measured


@fine_tuning_strategies.claim("fine-tuning the whole model beats the same CNN trained from scratch "
                              "by more than 5 points: it starts from the source weights")
def _(report):
    return min(report.gains("full", ["scratch"])) > 0.05


@fine_tuning_strategies.claim("fine-tuning the whole model beats training the head alone (the "
                              "source's or a new one) by more than 10 points")
def _(report):
    return min(report.gains("full", ["head", "new_head"])) > 0.10


@fine_tuning_strategies.claim("fine-tuning the top blocks beats training the head alone by more than "
                              "5 points, and fine-tuning the whole model is at least as good as the "
                              "top blocks")
def _(report):
    return min(report.gains("top", ["head", "new_head"])) > 0.05 and min(report.gains("full", ["top"])) > 0


@fine_tuning_strategies.claim("the probability mapping beats the source model as-is by more than 5 "
                              "points, and a new head beats the mapping")
def _(report):
    return (min(report.gains("mapping", ["source model"])) > 0.05
            and min(report.gains("new_head", ["mapping"])) > 0)


def arm(strategy, labels_per_class):
    """The name of a ``labels_per_class`` arm, e.g. ``"full@20"``."""
    return f"{strategy}@{labels_per_class}"


@experiment("target_accuracy", "mnist -> mnist_m with 6, 20 or 60 labels per class (half of them "
                               "validate): scratch, the head only, the whole model")
def labels_per_class(seed, budgets=BUDGETS, strategies=BUDGET_STRATEGIES):
    """Each strategy at each label budget, rates chosen on each budget's validation half.

    Returns:
        ``{"<strategy>@<labels per class>": Measured(mnist_m test accuracy, seconds)}``.
    """
    source = source_model(seed=seed, progress=None)
    measured = {}
    for n in budgets:
        task = load_task(n, seed=seed)
        for strategy in strategies:
            with Stopwatch() as t:
                model = tune(strategy, source, task, seed).model
            measured[arm(strategy, n)] = Measured(_test(model, task), t.seconds)
    return measured


def _budget_gains(report):
    return {n: report.gains(arm("full", n), [arm("scratch", n)]) for n in BUDGETS}


@labels_per_class.claim("the fewer the labels, the more the source weights are worth: full "
                        "fine-tuning's lead over scratch is larger with 6 labels per class than "
                        "with 60")
def _(report):
    gains = _budget_gains(report)
    return all(few > many for few, many in zip(gains[BUDGETS[0]], gains[BUDGETS[-1]]))


@labels_per_class.claim("full fine-tuning beats scratch at every budget")
def _(report):
    return min(min(g) for g in _budget_gains(report).values()) > 0


@labels_per_class.claim("the head alone beats scratch by more than 10 points with 6 labels per "
                        "class, and loses to it by more than 5 points with 60: frozen features cap "
                        "what more labels can teach")
def _(report):
    few, many = BUDGETS[0], BUDGETS[-1]
    return (min(report.gains(arm("head", few), [arm("scratch", few)])) > 0.10
            and min(report.gains(arm("scratch", many), [arm("head", many)])) > 0.05)


def freeze_all_but_batchnorm(model):
    """The mistake: freeze every layer except the BatchNorm layers and the head.

    Returns:
        the names of the layers left trainable.
    """
    kept = {layer.name for layer in batchnorm.batchnorm_layers(model)} | {"head"}
    for layer in model.layers:
        layer.trainable = layer.name in kept
    return [layer.name for layer in model.layers if layer.trainable]


def feature_change(before, after):
    """``mean |after - before| / mean |before|`` of two feature arrays (0 = unchanged)."""
    before, after = np.asarray(before, dtype="float64"), np.asarray(after, dtype="float64")
    if before.shape != after.shape:
        raise ValueError(f"the feature arrays differ in shape: {before.shape} vs {after.shape}")
    scale = np.mean(np.abs(before))
    if scale == 0:
        raise ValueError("the features before are all zero: nothing to compare with")
    return float(np.mean(np.abs(after - before)) / scale)


#: The two ways of "freezing everything but the head" the BatchNorm demonstration compares.
FREEZINGS = {"frozen": "BatchNorm frozen with the rest (right)",
             "trainable": "BatchNorm left trainable (wrong)"}


@experiment("various", "head-only fine-tuning on mnist_m with BatchNorm frozen (right) or left "
                       "trainable (wrong): drift of its statistics, change of the frozen "
                       "features of mnist images, accuracies")
def batchnorm_freezing(seed, steps=BATCHNORM_STEPS):
    """Train the source model's head on the target twice, BatchNorm frozen or left trainable.

    Returns:
        for each way (``"frozen"``, ``"trainable"``): ``"<way>: statistics drift"`` (mean
        over the BatchNorm layers of ``batchnorm.statistics_drift``), ``"<way>: feature
        change"`` (of the feature layer on the mnist test images, ``feature_change``),
        ``"<way>: mnist"`` (mnist test accuracy), ``"<way>: mnist_m validation"``.
    """
    source = source_model(seed=seed, progress=None)
    task = load_task(seed=seed)
    x_source = task["source_test"][0]
    features_before = layer_output(source, FEATURE_LAYER, x_source)
    measured = {}
    for way in FREEZINGS:
        model = build("head", source, seed=seed)
        if way == "trainable":
            freeze_all_but_batchnorm(model)
        statistics = batchnorm.moving_statistics(model)
        with Stopwatch() as t:
            fit(model, task["train"], steps=steps, learning_rate=BATCHNORM_RATE, seed=seed)
        drift = batchnorm.statistics_drift(statistics, batchnorm.moving_statistics(model))
        measured[f"{way}: statistics drift"] = Measured(float(np.mean(list(drift.values()))), t.seconds)
        measured[f"{way}: feature change"] = Measured(
            feature_change(features_before, layer_output(model, FEATURE_LAYER, x_source)), 0.0)
        measured[f"{way}: mnist"] = Measured(accuracy(model, *task["source_test"]), 0.0)
        measured[f"{way}: mnist_m validation"] = Measured(accuracy(model, *task["validation"]), 0.0)
    return measured


@batchnorm_freezing.claim("frozen the right way, the BatchNorm statistics and the frozen features "
                          "do not move at all")
def _(report):
    return max(report.values("frozen: statistics drift") + report.values("frozen: feature change")) == 0


@batchnorm_freezing.claim("left trainable, the statistics drift by more than 0.2 of the features' "
                          "spread and the 'frozen' features of mnist images change by more than 50 %")
def _(report):
    return (min(report.values("trainable: statistics drift")) > 0.2
            and min(report.values("trainable: feature change")) > 0.5)


def gradual_run(model, task, top_rate, seed=0, progress=None):
    """Gradual unfreezing with discriminative rates; each stage keeps its best validation point.

    Stages ``UNFREEZING_STAGES`` of ``STEPS_PER_STAGE`` steps; block k learns at
    ``layerwise_rates(top_rate, RATE_FACTOR)``.

    Returns:
        ``(summary, log)``: the ``validation_summary`` over all stages, and
        ``learning_rates.gradual_unfreezing``'s log (stages, validation accuracy per evaluation).
    """
    log = gradual_unfreezing(model, task["train"], layerwise_rates(top_rate, RATE_FACTOR),
                             stages=UNFREEZING_STAGES, steps_per_stage=STEPS_PER_STAGE, seed=seed,
                             validation_data=task["validation"],
                             callbacks=[best_weights_callback(STEPS_PER_STAGE)], progress=progress)
    summary = validation_summary(log["val_accuracy"], STEPS_PER_STAGE * len(UNFREEZING_STAGES))
    last = [i for i, stage in enumerate(log["stage"]) if stage == len(UNFREEZING_STAGES)]
    best = max(last, key=lambda i: (summary["val_accuracy"][i], -i))  # the model ends here
    summary.update(best_step=summary["steps"][best], best_val_accuracy=summary["val_accuracy"][best])
    return summary, log


@experiment("target_accuracy", "mnist -> mnist_m, 20 labels per class: the whole model at one "
                               "rate, with discriminative rates, and with gradual unfreezing plus "
                               "discriminative rates (each rate chosen on validation)")
def unfreezing_schedules(seed):
    """Three ways to train the whole model for the same number of steps.

    Returns:
        ``{"full" | "discriminative" | "gradual": Measured(mnist_m test accuracy, seconds)}``
        and ``"<arm> | rate"`` (the rate, or the head's rate, validation chose).
    """
    source = source_model(seed=seed, progress=None)
    task = load_task(seed=seed)
    steps = STEPS_PER_STAGE * len(UNFREEZING_STAGES)

    def make():
        return build("full", source, seed=seed)

    ways = {
        "full": (RATE_GRID["full"], lambda model, rate: fine_tune(
            model, task["train"], task["validation"], rate, steps=steps, seed=seed)),
        "discriminative": (TOP_RATES, lambda model, rate: fine_tune(
            model, task["train"], task["validation"], layerwise_rates(rate, RATE_FACTOR),
            steps=steps, seed=seed)),
        "gradual": (TOP_RATES, lambda model, rate: gradual_run(model, task, rate, seed)[0]),
    }
    measured = {}
    for way, (rates, train_at) in ways.items():
        _record(measured, way, task, lambda: select_learning_rate(make, rates, train_at))
    return measured


@unfreezing_schedules.claim("plain full fine-tuning beats both discriminative rates and gradual "
                             "unfreezing (with the head rates tried) by more than 2 points")
def _(report):
    return min(report.gains("full", ["discriminative", "gradual"])) > 0.02


@experiment("target_accuracy", "mnist -> mnist_m, 20 labels per class, the whole model fine-tuned "
                               "with cross-entropy or with label smoothing (0.1); ECE arms: "
                               "expected calibration error on the test split")
def label_smoothing(seed):
    """Full fine-tuning with plain cross-entropy and with label-smoothed targets.

    Returns:
        ``{"cross-entropy" | "label smoothing": Measured(mnist_m test accuracy, seconds)}``,
        ``"<arm> | ECE"`` (expected calibration error on the test split, lower is better
        calibrated) and ``"<arm> | rate"``.
    """
    source = source_model(seed=seed, progress=None)
    task = load_task(seed=seed)
    measured = {}
    for name, loss in (("cross-entropy", None), ("label smoothing", SmoothedCrossentropy())):
        chosen = _record(measured, name, task, lambda: tune("full", source, task, seed, loss=loss))
        measured[name + ECE] = Measured(calibration_error(predict(chosen.model, task["test"][0]),
                                                          task["test"][1]), 0.0)
    return measured


@label_smoothing.claim("label smoothing leaves the fine-tuned model worse calibrated: its expected "
                       "calibration error on the test split is more than 3 points above cross-entropy's")
def _(report):
    return min(report.gains("label smoothing" + ECE, ["cross-entropy" + ECE])) > 0.03


@experiment("target_accuracy", "the source model with its ReLUs swapped for GELU or tanh: mnist "
                               "accuracy before fine-tuning; ReLU kept or swapped for tanh: "
                               "mnist_m accuracy after fine-tuning the whole model (20 labels "
                               "per class)")
def swapped_activation(seed, activations=ACTIVATIONS, fine_tuned=FINE_TUNED_ACTIVATIONS):
    """Swap the source model's activation, then fine-tune the whole model on the target.

    Returns:
        ``"<activation> | mnist before"`` for each of ``activations``: mnist test accuracy
        of the swapped source model before any training (ReLU: the source model itself);
        for each of ``fine_tuned``: ``"<activation>"``, mnist_m test accuracy after full
        fine-tuning, and ``"<activation> | rate"``.
    """
    source = source_model(seed=seed, progress=None)
    task = load_task(seed=seed)
    measured = {}
    for activation in activations:
        swapped = source if activation == "relu" else with_activation(source, activation, seed=seed)
        measured[activation + MNIST + " before"] = Measured(accuracy(swapped, *task["source_test"]), 0.0)
        if activation in fine_tuned:
            _record(measured, activation, task, lambda: tune("full", swapped, task, seed))
    return measured


@swapped_activation.claim("swapping ReLU for tanh in the trained source model, without retraining, "
                          "costs it more than 50 points on its own mnist test images")
def _(report):
    return min(report.gains("relu" + MNIST + " before", ["tanh" + MNIST + " before"])) > 0.50


@swapped_activation.claim("swapping ReLU for GELU costs it less than 2 points")
def _(report):
    return max(report.gains("relu" + MNIST + " before", ["gelu" + MNIST + " before"])) < 0.02


@swapped_activation.claim("after fine-tuning the whole model, the tanh model stays more than 5 points "
                          "behind the ReLU model it was made from")
def _(report):
    return min(report.gains("relu", ["tanh"])) > 0.05

