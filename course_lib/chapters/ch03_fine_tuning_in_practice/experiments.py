"""Chapter 03's experiments: how to fine-tune well, on chapter 02's task.

BatchNorm frozen or left trainable, one learning rate or one per block, all blocks at once or
one more per stage, cross-entropy or label smoothing, ReLU kept or swapped. Every run that
trains the whole model chooses its rate on the validation split (``tune`` is chapter 02's);
its number is its accuracy on the test split, measured once, and the rate it chose is recorded
beside it as the arm's ``learning_rate``.
"""

import numpy as np

from course_lib.chapters.ch02_task_fine_tuning.experiments import record, tune
from course_lib.chapters.ch02_task_fine_tuning.task import load_task
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


@experiment("target_validation_accuracy", "head-only fine-tuning on mnist_m with BatchNorm frozen (right) or left "
                       "trainable (wrong): drift of its statistics, change of the frozen "
                       "features of mnist images, accuracies")
def batchnorm_freezing(seed, steps=BATCHNORM_STEPS):
    """Train the source model's head on the target twice, BatchNorm frozen or left trainable.

    Returns:
        ``[Measured]``, four for each way (arm ``"frozen"``, ``"trainable"``), by metric:
        ``statistics_drift`` (mean over the BatchNorm layers of ``batchnorm.statistics_drift``,
        in units of the features' spread), ``feature_change`` (of the feature layer on the
        mnist test images, ``feature_change``), ``source_accuracy`` (mnist test) and
        ``target_validation_accuracy`` (mnist_m validation).
    """
    source = source_model(seed=seed, progress=None)
    task = load_task(seed=seed)
    x_source = task["source_test"][0]
    features_before = layer_output(source, FEATURE_LAYER, x_source)
    measured = []
    for way in FREEZINGS:
        model = build("head", source, seed=seed)
        if way == "trainable":
            freeze_all_but_batchnorm(model)
        statistics = batchnorm.moving_statistics(model)
        with Stopwatch() as t:
            fit(model, task["train"], steps=steps, learning_rate=BATCHNORM_RATE, seed=seed)
        drift = batchnorm.statistics_drift(statistics, batchnorm.moving_statistics(model))
        changed = feature_change(features_before, layer_output(model, FEATURE_LAYER, x_source))
        measured += [
            Measured(way, np.mean(list(drift.values())), t.seconds, metric="statistics_drift"),
            Measured(way, changed, metric="feature_change"),
            Measured(way, accuracy(model, *task["source_test"]), metric="source_accuracy"),
            Measured(way, accuracy(model, *task["validation"])),
        ]
    return measured


@batchnorm_freezing.claim("frozen the right way, the BatchNorm statistics and the frozen features "
                          "do not move at all")
def _(report):
    return max(report.values("frozen", "statistics_drift") + report.values("frozen", "feature_change")) == 0


@batchnorm_freezing.claim("left trainable, the statistics drift by more than 0.2 of the features' "
                          "spread and the 'frozen' features of mnist images change by more than 50 %")
def _(report):
    return (min(report.values("trainable", "statistics_drift")) > 0.2
            and min(report.values("trainable", "feature_change")) > 0.5)


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
        ``[Measured]``: for each arm (``"full"``, ``"discriminative"``, ``"gradual"``) its
        mnist_m test accuracy (and seconds), and its ``learning_rate`` (the rate, or the
        head's rate, validation chose).
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
    measured = []
    for way, (rates, train_at) in ways.items():
        record(measured, way, task, lambda: select_learning_rate(make, rates, train_at))
    return measured


@unfreezing_schedules.claim("plain full fine-tuning beats both discriminative rates and gradual "
                             "unfreezing (with the head rates tried) by more than 2 points")
def _(report):
    return min(report.gains("full", ["discriminative", "gradual"])) > 0.02


@experiment("target_accuracy", "mnist -> mnist_m, 20 labels per class, the whole model fine-tuned "
                               "with cross-entropy or with label smoothing (0.1); also their "
                               "expected calibration error on the test split")
def label_smoothing(seed):
    """Full fine-tuning with plain cross-entropy and with label-smoothed targets.

    Returns:
        ``[Measured]``: for each arm (``"cross-entropy"``, ``"label smoothing"``) its mnist_m
        test accuracy (and seconds), its ``learning_rate`` and its
        ``expected_calibration_error`` on the test split (a fraction; lower is better calibrated).
    """
    source = source_model(seed=seed, progress=None)
    task = load_task(seed=seed)
    measured = []
    for name, loss in (("cross-entropy", None), ("label smoothing", SmoothedCrossentropy())):
        chosen = record(measured, name, task, lambda: tune("full", source, task, seed, loss=loss))
        error = calibration_error(predict(chosen.model, task["test"][0]), task["test"][1])
        measured.append(Measured(name, error, metric="expected_calibration_error"))
    return measured


@label_smoothing.claim("label smoothing leaves the fine-tuned model worse calibrated: its expected "
                       "calibration error on the test split is more than 3 points above cross-entropy's")
def _(report):
    return min(report.gains("label smoothing", ["cross-entropy"], "expected_calibration_error")) > 0.03


@experiment("target_accuracy", "the source model with its ReLUs swapped for GELU or tanh: mnist "
                               "accuracy before fine-tuning; ReLU kept or swapped for tanh: "
                               "mnist_m accuracy after fine-tuning the whole model (20 labels "
                               "per class)")
def swapped_activation(seed, activations=ACTIVATIONS, fine_tuned=FINE_TUNED_ACTIVATIONS):
    """Swap the source model's activation, then fine-tune the whole model on the target.

    Returns:
        ``[Measured]``, the arm being the activation: for each of ``activations`` its
        ``source_accuracy_before``, the mnist test accuracy of the swapped source model before
        any training (ReLU: the source model itself); for each of ``fine_tuned`` also its
        mnist_m test accuracy after full fine-tuning (and seconds) and its ``learning_rate``.
    """
    source = source_model(seed=seed, progress=None)
    task = load_task(seed=seed)
    measured = []
    for activation in activations:
        swapped = source if activation == "relu" else with_activation(source, activation, seed=seed)
        measured.append(Measured(activation, accuracy(swapped, *task["source_test"]),
                                 metric="source_accuracy_before"))
        if activation in fine_tuned:
            record(measured, activation, task, lambda: tune("full", swapped, task, seed))
    return measured


@swapped_activation.claim("swapping ReLU for tanh in the trained source model, without retraining, "
                          "costs it more than 50 points on its own mnist test images")
def _(report):
    return min(report.gains("relu", ["tanh"], "source_accuracy_before")) > 0.50


@swapped_activation.claim("swapping ReLU for GELU costs it less than 2 points")
def _(report):
    return max(report.gains("relu", ["gelu"], "source_accuracy_before")) < 0.02


@swapped_activation.claim("after fine-tuning the whole model, the tanh model stays more than 5 points "
                          "behind the ReLU model it was made from")
def _(report):
    return min(report.gains("relu", ["tanh"])) > 0.05

