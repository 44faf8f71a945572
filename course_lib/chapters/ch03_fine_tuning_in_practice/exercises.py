"""Chapter 03's exercise checks: a learning rate for every layer; targets smoothed over the other
classes.

Each check runs the learner's function on inputs it makes itself (fresh models and rates, new
labels), so copying an answer from the notebook cannot pass, and refuses a function that hands
the work to the course's own implementation or copies code the notebook shows.
"""

import numpy as np

from course_lib.core.cnn import BLOCKS, build_cnn
from course_lib.core.exercises import attempt, hint, shown_code, verdict
from course_lib.core.language import N_, _
from course_lib.methods.fine_tuning import SmoothedCrossentropy, smoothed_targets
from course_lib.methods.learning_rates import GROUP_ORDER, GroupedLearningRates, layerwise_rates

HINTS = {
    1: N_("find each layer's block: course_lib.core.cnn.BLOCKS maps a block to its layers' names. The "
          "blocks from the head down are head, features, block2, block1; the block i steps below the "
          "head gets head_rate / decay ** i. Give a rate to every layer that has weights."),
    2: N_("np.eye(n_classes)[y] is the one-hot matrix. The true class gets 1 - epsilon; the other "
          "n_classes - 1 classes share epsilon equally: epsilon / (n_classes - 1) each, so every row "
          "sums to 1."),
}
INSTEAD = {1: N_("map each layer to its block with BLOCKS and divide head_rate by decay once per block down."),
           2: N_("build the targets with NumPy from np.eye(n_classes)[y].")}


def show_hint(exercise):
    """Print the hint of exercise 1 or 2."""
    hint(_(HINTS[exercise]))


def _attempt(function, *args, forbidden, exercise):
    return attempt(function, *args, forbidden=forbidden, shown=shown_code(__package__),
                   instead=_(INSTEAD[exercise]))


# ----------------------------------------------------------------------------- exercise 1

def _models_for_rates():
    yield build_cnn(filters=(4, 8), units=16, seed=21, name="rates_a")
    yield build_cnn(filters=(6, 4), units=10, seed=22, name="rates_b")


def _expected_layer_rates(model, head_rate, decay):
    """``{layer name: rate}`` for the layers with weights: head_rate / decay ** (blocks below the head)."""
    down = {name: len(GROUP_ORDER) - 1 - i for i, block in enumerate(GROUP_ORDER) for name in BLOCKS[block]}
    return {layer.name: head_rate / decay ** down[layer.name] for layer in model.layers if layer.weights}


def check_layer_rates(my_layer_rates):
    """Exercise 1: ``my_layer_rates(model, head_rate, decay)`` -> ``{layer name: rate}`` for every
    layer with weights: the head at ``head_rate``, each block further down ``decay`` times slower."""
    forbidden = (layerwise_rates, GroupedLearningRates)
    for model, (head_rate, decay) in zip(_models_for_rates(), ((1e-3, 2.6), (3e-3, 10.0))):
        got, problem = _attempt(my_layer_rates, model, head_rate, decay, forbidden=forbidden, exercise=1)
        if problem:
            return verdict(False, "", problem)
        want = _expected_layer_rates(model, head_rate, decay)
        case = _("for head_rate={rate:g}, decay={decay:g}").format(rate=head_rate, decay=decay)
        if not isinstance(got, dict) or set(got) != set(want):
            keys = sorted(got) if isinstance(got, dict) else type(got).__name__
            return verdict(False, "", _("{case} return a dict with a rate for exactly the layers with "
                                        "weights, {layers}; you returned {got}.").format(
                case=case, layers=sorted(want), got=keys))
        try:
            values = {name: float(rate) for name, rate in got.items()}
        except (TypeError, ValueError):
            return verdict(False, "", _("every rate must be a number."))
        wrong = [name for name in want if not np.isclose(values[name], want[name], rtol=1e-6)]
        if wrong:
            return verdict(False, "", _("{case} the rates of {layers} are not head_rate / decay ** (their "
                                        "block's steps below the head). show_hint(1).").format(case=case, layers=wrong))
    return verdict(True, _("each layer learns at its block's rate: the head boldly, each block below "
                           "decay times more gently (two models, two settings)."), "")


# ----------------------------------------------------------------------------- exercise 2

def _label_cases():
    rng = np.random.default_rng(2026)
    yield 10, 0.1, rng.integers(0, 10, size=50)
    yield 3, 0.3, np.array([2, 0, 1, 1])
    yield 5, 0.0, rng.integers(0, 5, size=12)


def check_other_class_smoothing(my_smooth):
    """Exercise 2: ``my_smooth(y, n_classes, epsilon)`` -> (n, n_classes) targets: 1 - epsilon for the
    label, epsilon / (n_classes - 1) for every other class."""
    forbidden = (smoothed_targets, SmoothedCrossentropy)
    for n_classes, epsilon, y in _label_cases():
        got, problem = _attempt(my_smooth, y.copy(), n_classes, epsilon, forbidden=forbidden, exercise=2)
        if problem:
            return verdict(False, "", problem)
        one_hot = np.eye(n_classes)[y]
        want = (1 - epsilon) * one_hot + epsilon / (n_classes - 1) * (1 - one_hot)
        try:
            got = np.asarray(got, dtype="float64")
        except (TypeError, ValueError):
            return verdict(False, "", _("return an array of numbers, one row per label."))
        case = _("with {classes} classes and epsilon {epsilon:g}").format(classes=n_classes, epsilon=epsilon)
        if got.shape != want.shape:
            return verdict(False, "", _("{case}, return shape {want} (one row per label, one column per "
                                        "class); yours has shape {shape}.").format(
                case=case, want=want.shape, shape=got.shape))
        if not np.allclose(got.sum(axis=1), 1.0, atol=1e-6):
            return verdict(False, "", _("{case} your rows sum to {low:.3f}-{high:.3f}; targets are "
                                        "probabilities and every row must sum to 1. show_hint(2).").format(
                case=case, low=got.sum(axis=1).min(), high=got.sum(axis=1).max()))
        if np.allclose(got, (1 - epsilon) * one_hot + epsilon / n_classes, atol=1e-6) and epsilon:
            return verdict(False, "", _("{case} you spread epsilon over all K classes, the true one too "
                                        "(the chapter's version); here only the other K - 1 share it. "
                                        "show_hint(2).").format(case=case))
        if not np.allclose(got, want, atol=1e-6):
            return verdict(False, "", _("{case} the targets are not 1 - epsilon for the label and "
                                        "epsilon / (K - 1) elsewhere. show_hint(2).").format(case=case))
    return verdict(True, _("the true class keeps exactly 1 - epsilon, every other class epsilon/(K-1), "
                           "on three label sets."), "")
