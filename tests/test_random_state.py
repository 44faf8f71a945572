"""An arm's result depends only on its seed and its own configuration, never on what ran before it.

A Dropout layer made without a seed draws one from Python's ``random`` when it is made, so a
model copied after other arms ran used to drop other units than the same model copied first:
the same full fine-tuning arm gave 0.823 in one experiment and 0.812 in another. The fast
tests check each model builder against a moved random state; the slow ones run the arms of
real experiments in another order, and an arm two experiments share, and compare the numbers.
"""

import random

import numpy as np
import pytest

from course_lib.core import layers
from course_lib.core.cnn import build_cnn
from course_lib.methods import fine_tuning, parameter_efficient

IMAGES = np.random.default_rng(0).random((8, 28, 28, 1), dtype="float32")


def _moved():
    """Move Python's, NumPy's and the backend's random state as another arm would."""
    import keras

    random.random(), np.random.random()
    keras.random.uniform((3,), seed=None)


def _training_outputs(model):
    """The model's outputs in training mode (dropout on) for two steps, as one array."""
    return np.concatenate([np.asarray(model(IMAGES, training=True)) for _ in range(2)])


BUILDERS = {
    "copy_model": lambda source, seed: layers.copy_model(source, seed=seed),
    "with_new_head": lambda source, seed: layers.with_new_head(source, 5, seed=seed),
    "split": lambda source, seed: layers.split(source, "features_relu", seed=seed)[1],
    **{f"fine_tuning.build {s}": (lambda s: lambda source, seed: fine_tuning.build(s, source, seed=seed))(s)
       for s in ("full", "top", "head", "new_head", "mapping")},
    "with_activation": lambda source, seed: fine_tuning.with_activation(source, "tanh", seed=seed),
    **{f"parameter_efficient.build {m}": (lambda m: lambda source, seed: parameter_efficient.build(
        m, source, seed=seed))(m) for m in ("bitfit", "lora", "adapters")},
}


@pytest.mark.parametrize("name", BUILDERS)
def test_a_built_model_drops_the_same_units_whatever_ran_before(name):
    source = build_cnn(seed=1)
    make = BUILDERS[name]
    if name == "split":  # the classifier part reads features, not images
        def outputs(model):
            features = layers.cut(source, "features_relu")(IMAGES)
            return np.concatenate([np.asarray(model(features, training=True)) for _ in range(2)])
    else:
        outputs = _training_outputs
    first = outputs(make(source, 3))
    _moved()
    assert np.array_equal(first, outputs(make(source, 3))), f"{name}: the random state leaked in"
    assert not np.array_equal(first, outputs(make(source, 4))), f"{name}: the seed changes nothing"


@pytest.mark.slow
def test_an_arm_is_the_same_in_any_order_and_in_any_experiment():
    from course_lib.chapters.ch02_task_fine_tuning.experiments import fine_tuning_strategies
    from course_lib.chapters.ch03_fine_tuning_in_practice.experiments import label_smoothing

    seed = 3
    forward = fine_tuning_strategies(seed, strategies=("new_head", "full"))
    backward = fine_tuning_strategies(seed, strategies=("full", "new_head"))
    for arm in ("new_head", "full"):
        assert forward[arm].value == backward[arm].value, f"{arm} depends on the order of the arms"
    shared = label_smoothing(seed)["cross-entropy"]  # the same full fine-tuning, first in its experiment
    assert shared.value == forward["full"].value, "full fine-tuning differs between two experiments"
