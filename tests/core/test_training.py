"""fit: the one way the course trains; its inputs are checked, its runs reproducible and traced once."""

import keras
import numpy as np
import pytest

from course_lib.core import training
from course_lib.core.cnn import build_cnn


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 28, 28, 1)).astype("float32"), rng.integers(0, 10, size=n)


def _dense(seed=0):
    """A model with no randomness in training (no dropout): runs can be compared weight for weight."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((28, 28, 1))
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(inputs))
    return keras.Model(inputs, outputs)


def test_steps_are_logged_every_25_and_epochs_are_passes():
    x, y = _data()
    history = training.fit(build_cnn(filters=(4, 4), units=8), (x, y), steps=75, batch_size=16)
    assert len(history.history["loss"]) == 3
    history = training.fit(build_cnn(filters=(4, 4), units=8), (x, y), epochs=2, batch_size=16,
                           validation_data=(x[:8], y[:8]))
    assert len(history.history["val_accuracy"]) == 2


def test_the_same_seed_gives_the_same_weights_and_another_seed_others():
    x, y = _data()
    runs = []
    for seed in (1, 1, 2):
        model = build_cnn(seed=0, filters=(4, 4), units=8)
        training.fit(model, (x, y), steps=10, batch_size=16, seed=seed)
        runs.append(model.get_weights()[0])
    assert np.array_equal(runs[0], runs[1]) and not np.array_equal(runs[0], runs[2])


def test_training_again_resets_the_optimizer_as_a_fresh_compile_would():
    x, y = _data()
    fresh = _dense()
    start = fresh.get_weights()
    training.fit(fresh, (x, y), steps=5, batch_size=16)
    again = _dense()
    training.fit(again, (x, y), steps=5, batch_size=16)
    traced = again.train_function
    again.set_weights(start)
    training.fit(again, (x, y), steps=5, batch_size=16)
    assert again.train_function is traced, "the traced step is kept"
    np.testing.assert_allclose(again.get_weights()[0], fresh.get_weights()[0], atol=1e-6)


def test_the_training_step_is_traced_once():
    traces = []

    class Counting(keras.Model):
        def train_step(self, data):
            traces.append(1)
            return super().train_step(data)

    base = build_cnn(n_classes=3, filters=(4, 4), units=8)
    for layer in base.layers[:4]:
        layer.trainable = False
    model = Counting(base.inputs, base.outputs)
    x, y = _data(16)
    training.fit(model, (x, y % 3), epochs=2, batch_size=4)
    assert len(traces) == 1, f"the training step was traced {len(traces)} times"
    slots = [v for v in model.optimizer.variables if v.name.endswith(("_momentum", "_velocity"))]
    assert len(slots) == 2 * len(model.trainable_variables)


def test_a_dataset_of_batches_trains_for_steps():
    import tensorflow as tf

    x, y = _data()
    batches = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    history = training.fit(build_cnn(filters=(4, 4), units=8), batches, steps=50)
    assert len(history.history["loss"]) == 2


def test_per_group_rates_train_only_the_groups_given():
    x, y = _data()
    model = build_cnn(filters=(4, 4), units=8)
    from course_lib.core.layers import train_only
    from course_lib.methods.learning_rates import GroupedLearningRates

    train_only(model, ["head", "features"])
    before = [w.copy() for w in model.get_weights()]
    training.fit(GroupedLearningRates(model, {"head": 1e-2, "features": 1e-4}), (x, y), steps=3,
                 learning_rate=None)
    after = model.get_weights()
    moved = [not np.array_equal(a, b) for a, b in zip(before, after)]
    assert moved[-1] and not moved[0]  # head kernel moved; block1 conv kernel did not


@pytest.mark.parametrize("change, message", [
    (lambda x, y: ((x * 255).astype("uint8"), y), "dtype uint8"),
    (lambda x, y: (x * 255, y), "divide by 255"),
    (lambda x, y: (np.where(x > 0.99, np.nan, x), y), "NaN"),
    (lambda x, y: (x, y + 10), "label 1[0-9], but the model has 10 outputs"),
    (lambda x, y: (x, np.eye(10)[y % 10]), "one-hot"),
    (lambda x, y: (x[:10], y), "same number of rows"),
])
def test_bad_inputs_are_refused_before_training(change, message):
    x, y = _data()
    with pytest.raises(ValueError, match=message):
        training.fit(build_cnn(filters=(4, 4), units=8), change(x, y), steps=1)


@pytest.mark.parametrize("kwargs, message", [
    ({"steps": 5, "epochs": 2}, "exactly one of epochs"), ({}, "exactly one of epochs"),
    ({"steps": 0}, "steps must be a whole number >= 1"),
    ({"steps": 1, "learning_rate": float("nan")}, "learning_rate must be a finite number"),
    ({"steps": 1, "learning_rate": -1e-3}, "learning_rate must be > 0"),
    ({"steps": 1, "batch_size": 0}, "batch_size"),
])
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        training.fit(build_cnn(filters=(4, 4), units=8), _data(), **kwargs)


def test_a_strategy_needs_a_model_built_in_its_scope():
    import tensorflow as tf

    with pytest.raises(ValueError, match="strategy.scope"):
        training.fit(build_cnn(filters=(4, 4), units=8), _data(), steps=1,
                     strategy=tf.distribute.OneDeviceStrategy("/cpu:0"))
