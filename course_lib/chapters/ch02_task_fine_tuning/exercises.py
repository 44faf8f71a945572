"""Chapter 02's exercise checks: freeze for the "top" strategy; discriminative learning rates;
label-smoothed targets.

Each check runs the learner's function on inputs it makes itself (fresh models, new rates,
new labels), so copying an answer from the notebook cannot pass, and rejects a function that
hands the work to the course's own implementation of that very thing.
"""

import numpy as np

from course_lib.core.cnn import BLOCKS, build_cnn
from course_lib.core.exercises import attempt, hint, verdict
from course_lib.core.layers import freeze, set_trainable, train_only, unfreeze
from course_lib.methods.fine_tuning import STRATEGIES, SmoothedCrossentropy, build, smoothed_targets
from course_lib.methods.learning_rates import GROUP_ORDER, layerwise_rates

TOP_BLOCKS = STRATEGIES["top"]
HINTS = {
    1: "loop over model.layers and set layer.trainable = False for the layers of block1 (their "
       "names start with 'block1_') and True for every other layer. A model can be frozen as a "
       "whole (model.trainable = False): then no layer trains whatever its own flag says, so set "
       "model.trainable = True first. Return the model.",
    2: "with K = 4 blocks, going down one block divides the rate by the same factor f, and three "
       "steps down make slowdown: f ** 3 = slowdown, so f = slowdown ** (1 / 3). The block i "
       "places below the head gets head_rate / f ** i.",
    3: "np.eye(n_classes)[y] is the one-hot matrix; multiply it by (1 - epsilon) and add "
       "epsilon / n_classes to every entry, so every row still sums to 1.",
}


def show_hint(exercise):
    """Print the hint of exercise 1, 2 or 3."""
    hint(HINTS[exercise])


# ----------------------------------------------------------------------------- exercise 1

def _fresh_models():
    """Small course CNNs the learner has not seen, in three starting states."""
    everything = build_cnn(filters=(4, 8), units=16, seed=11, name="all_trainable")
    yield "a model with every layer trainable", everything
    whole = build_cnn(filters=(6, 10), units=12, seed=12, name="frozen_as_a_whole")
    whole.trainable = False
    yield "a model frozen as a whole (model.trainable = False)", whole
    mixed = build_cnn(filters=(4, 8), units=16, seed=13, name="upside_down")
    for layer in mixed.layers:
        layer.trainable = layer.name in BLOCKS["block1"]
    yield "a model whose block1 trains and everything else is frozen", mixed


def _expected_trainable(model):
    """Trainable parameters of a copy of ``model`` frozen the right way."""
    import keras

    reference = keras.models.clone_model(model)
    reference.trainable = True
    train_only(reference, TOP_BLOCKS)
    return sum(int(np.prod(v.shape)) for v in reference.trainable_weights)


def check_top_freezing(my_function):
    """Exercise 1: ``my_function(model)`` freezes block1 and lets block2, features and head
    train, using ``layer.trainable`` (not the course's freezing helpers); returns the model."""
    import keras

    forbidden = (train_only, freeze, unfreeze, set_trainable, build)
    for name, model in _fresh_models():
        expected = _expected_trainable(model)
        got, problem = attempt(my_function, model, forbidden=forbidden)
        if problem:
            return verdict(False, "", problem.replace("with NumPy", "with layer.trainable"))
        if not isinstance(got, keras.Model):
            return verdict(False, "", f"on {name} your function returned a {type(got).__name__}; "
                                      "return the Keras model.")
        wanted = {n for block in TOP_BLOCKS for n in BLOCKS[block]}
        weighted = [layer for layer in got.layers if layer.weights]
        wrong_on = [layer.name for layer in weighted if layer.trainable and layer.name not in wanted]
        wrong_off = [layer.name for layer in weighted if not layer.trainable and layer.name in wanted]
        if wrong_on or wrong_off:
            return verdict(False, "", f"on {name}: "
                           + (f"these layers train but should be frozen: {wrong_on}. " if wrong_on else "")
                           + (f"these layers are frozen but should train: {wrong_off}. " if wrong_off else "")
                           + "show_hint(1) says how.")
        trainable = sum(int(np.prod(v.shape)) for v in got.trainable_weights)
        if trainable != expected:
            return verdict(False, "", f"on {name} every layer's flag is right, yet the model trains "
                                      f"{trainable:,} parameters instead of {expected:,}: is the model "
                                      "itself still frozen? show_hint(1).")
    return verdict(True, "block1 is frozen; block2, the feature layer and the head train, on three "
                         "models that started frozen in different ways.", "")


# ----------------------------------------------------------------------------- exercise 2

def _expected_rates(head_rate, slowdown):
    k = len(GROUP_ORDER) - 1
    return {g: head_rate / slowdown ** ((k - i) / k) for i, g in enumerate(GROUP_ORDER)}


def check_rates(my_rates):
    """Exercise 2: ``my_rates(head_rate, slowdown)`` -> ``{block: rate}``: the head at
    ``head_rate``, block1 ``slowdown`` times slower, the same factor between neighbours."""
    for head_rate, slowdown in ((1e-3, 10.0), (3e-3, 27.0), (5e-4, 8.0), (2e-3, 1.0)):
        got, problem = attempt(my_rates, head_rate, slowdown, forbidden=(layerwise_rates,))
        if problem:
            return verdict(False, "", problem.replace("with NumPy", "in a few lines of Python"))
        if not isinstance(got, dict) or set(got) != set(GROUP_ORDER):
            return verdict(False, "", f"return a dict with exactly the keys {list(GROUP_ORDER)}; "
                                      f"for ({head_rate:g}, {slowdown:g}) you returned {got!r}.")
        try:
            values = [float(got[g]) for g in GROUP_ORDER]
        except (TypeError, ValueError):
            return verdict(False, "", "every rate must be a number.")
        want = _expected_rates(head_rate, slowdown)
        case = f"for head_rate={head_rate:g}, slowdown={slowdown:g}"
        if not np.isclose(values[-1], head_rate, rtol=1e-9):
            return verdict(False, "", f"{case} the head's rate should be {head_rate:g}; yours is "
                                      f"{values[-1]:g}.")
        if min(values) <= 0 or not np.isclose(values[-1] / values[0], slowdown, rtol=1e-6):
            return verdict(False, "", f"{case} block1 should learn {slowdown:g} times slower than "
                                      f"the head; yours is {values[-1] / max(values[0], 1e-300):.3g} "
                                      "times slower. show_hint(2).")
        if not np.allclose(values, [want[g] for g in GROUP_ORDER], rtol=1e-6):
            return verdict(False, "", f"{case} the head and block1 are right but the blocks between "
                                      "are not: each step down should divide by the same factor. "
                                      "show_hint(2).")
    return verdict(True, "early blocks move gently, the head boldly, at a constant factor per "
                         "block (four rate settings checked).", "")


# ----------------------------------------------------------------------------- exercise 3

def _label_cases():
    rng = np.random.default_rng(2026)
    yield 10, 0.1, rng.integers(0, 10, size=50)
    yield 3, 0.3, np.array([2, 0, 1, 1])
    yield 5, 0.0, rng.integers(0, 5, size=12)


def check_smoothing(my_smooth):
    """Exercise 3: ``my_smooth(y, n_classes, epsilon)`` -> (n, n_classes) label-smoothed targets."""
    forbidden = (smoothed_targets, SmoothedCrossentropy.call)
    for n_classes, epsilon, y in _label_cases():
        got, problem = attempt(my_smooth, y.copy(), n_classes, epsilon, forbidden=forbidden)
        if problem:
            return verdict(False, "", problem)
        want = (1 - epsilon) * np.eye(n_classes)[y] + epsilon / n_classes
        try:
            got = np.asarray(got, dtype="float64")
        except (TypeError, ValueError):
            return verdict(False, "", "return an array of numbers, one row per label.")
        case = f"with {n_classes} classes and epsilon {epsilon:g}"
        if got.shape != want.shape:
            return verdict(False, "", f"{case}, return shape {want.shape} (one row per label, one "
                                      f"column per class); yours has shape {got.shape}.")
        if not np.allclose(got.sum(axis=1), 1.0, atol=1e-6):
            return verdict(False, "", f"{case} your rows sum to {got.sum(axis=1).min():.3f}-"
                                      f"{got.sum(axis=1).max():.3f}; targets are probabilities and "
                                      "every row must sum to 1. show_hint(3).")
        if not np.allclose(got, want, atol=1e-6):
            return verdict(False, "", f"{case} the targets are not (1 - epsilon) one-hot + "
                                      "epsilon / n_classes. show_hint(3).")
    return verdict(True, "the true class keeps 1 - epsilon + epsilon/K, every other class "
                         "epsilon/K, on three label sets.", "")
