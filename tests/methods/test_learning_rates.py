"""Discriminative learning rates: each group really moves at its own rate; gradual unfreezing."""

import numpy as np
import pytest

import course_lib

course_lib.setup(0)

import keras  # noqa: E402

from course_lib.core.cnn import build_cnn  # noqa: E402
from course_lib.core.environment import seed_everything  # noqa: E402
from course_lib.core.training import fit  # noqa: E402
from course_lib.methods import learning_rates as lr  # noqa: E402
from course_lib.methods.fine_tuning import best_weights_callback  # noqa: E402

GROUPS = {"low": ("low",), "high": ("high",)}


def toy_model():
    seed_everything(0)
    inputs = keras.Input((6,))
    hidden = keras.layers.Dense(5, activation="tanh", name="low")(inputs)
    outputs = keras.layers.Dense(3, activation="softmax", name="high")(hidden)
    return keras.Model(inputs, outputs)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(1)
    return rng.normal(size=(32, 6)).astype("float32"), rng.integers(0, 3, size=32)


def test_layerwise_rates_shrink_by_factor_towards_the_input():
    rates = lr.layerwise_rates(1e-2, factor=10.0)
    assert list(rates) == ["block1", "block2", "features", "head"]
    assert rates["head"] == pytest.approx(1e-2)
    assert rates["features"] == pytest.approx(1e-3)
    assert rates["block1"] == pytest.approx(1e-5)
    with pytest.raises(ValueError, match="factor"):
        lr.layerwise_rates(1e-2, factor=0.5)
    with pytest.raises(ValueError, match="top_rate"):
        lr.layerwise_rates(0)


def test_sgd_steps_equal_rate_times_gradient_per_group(data):
    """Plain SGD: each group's step is exactly -rate x gradient, so steps are in the rates' ratio."""
    x, y = data
    rates = {"low": 0.01, "high": 0.1}
    reference = toy_model()
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    import tensorflow as tf

    with tf.GradientTape() as tape:  # the gradient a single full batch gives, for comparison
        loss = loss_fn(y, reference(x, training=True))
    gradients = {v.path: np.array(g) for v, g in
                 zip(reference.trainable_variables, tape.gradient(loss, reference.trainable_variables))}
    model = toy_model()
    before = {v.path: v.numpy() for v in model.trainable_variables}
    wrapper = lr.GroupedLearningRates(model, rates, groups=GROUPS, optimizer="sgd")
    fit(wrapper, (x, y), steps=1, batch_size=len(x), learning_rate=None)
    for v in model.trainable_variables:
        rate = rates["low"] if v.path.startswith("low") else rates["high"]
        np.testing.assert_allclose(v.numpy() - before[v.path], -rate * gradients[v.path],
                                   rtol=1e-4, atol=1e-7)


def test_adam_step_magnitudes_follow_the_rates(data):
    """Adam's first step moves each weight by about its rate, whatever the gradient's size."""
    table = lr.step_sizes(toy_model(), *data, rates={"low": 1e-3, "high": 1e-2}, groups=GROUPS)
    steps = dict(zip(table["group"], table["mean_step"]))
    assert steps["high"] / steps["low"] == pytest.approx(10.0, rel=0.05)
    assert table["step_per_rate"].between(0.9, 1.0001).all()


def test_one_adam_with_scaled_gradients_would_not_differ(data):
    """Why one optimizer per group: scaling the gradients leaves Adam's step unchanged."""
    x, y = data
    import tensorflow as tf

    steps = []
    for scale in (1.0, 0.1):
        model = toy_model()
        optimizer = keras.optimizers.Adam(1e-2)
        with tf.GradientTape() as tape:
            loss = keras.losses.SparseCategoricalCrossentropy()(y, model(x))
        gradients = tape.gradient(loss, model.trainable_variables)
        before = model.trainable_variables[0].numpy()
        optimizer.apply_gradients([(g * scale, v) for g, v in zip(gradients, model.trainable_variables)])
        steps.append(np.abs(model.trainable_variables[0].numpy() - before).mean())
    assert steps[1] == pytest.approx(steps[0], rel=0.02)  # not 10x smaller (eps aside)


def test_step_sizes_restores_the_weights(data):
    model = toy_model()
    before = [w.copy() for w in model.get_weights()]
    lr.step_sizes(model, *data, rates={"low": 1e-3, "high": 1e-2}, groups=GROUPS)
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)


def test_frozen_group_does_not_move(data):
    model = toy_model()
    model.get_layer("low").trainable = False
    low = model.get_layer("low").get_weights()[0].copy()
    high = model.get_layer("high").get_weights()[0].copy()
    fit(lr.GroupedLearningRates(model, {"high": 0.1}, groups=GROUPS, optimizer="sgd"), data,
        epochs=1, learning_rate=None)
    np.testing.assert_array_equal(model.get_layer("low").get_weights()[0], low)
    assert not np.allclose(model.get_layer("high").get_weights()[0], high)


@pytest.mark.parametrize("kwargs, message", [
    ({"rates": {"middle": 0.1}}, "unknown group 'middle'"),
    ({"rates": {"low": -1.0, "high": 0.1}}, "must be > 0"),
    ({"rates": {"low": 0.1, "high": 0.1}, "optimizer": "rmsprop"}, "allowed: 'adam', 'sgd'"),
])
def test_grouped_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        lr.GroupedLearningRates(toy_model(), groups=GROUPS, **kwargs)


def test_a_trainable_layer_without_a_rate_is_refused_when_training(data):
    wrapper = lr.GroupedLearningRates(toy_model(), {"high": 0.1}, groups=GROUPS)
    with pytest.raises(ValueError, match="no group with a rate"):  # 'low' trains but has no rate
        fit(wrapper, data, epochs=1, learning_rate=None)


def test_fit_trains_the_wrapped_course_cnn_and_says_how_to_give_rates_per_block():
    model = build_cnn(channels=1, filters=(4, 8), units=16)
    rng = np.random.default_rng(0)
    x, y = rng.random((32, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, size=32)
    first = model.get_layer("block1_conv").get_weights()[0].copy()
    wrapper = lr.GroupedLearningRates(model, lr.layerwise_rates(1e-2))
    fit(wrapper, (x, y), steps=1, batch_size=32, learning_rate=None)
    assert not np.allclose(model.get_layer("block1_conv").get_weights()[0], first)
    with pytest.raises(ValueError, match="GroupedLearningRates makes its own optimizers: pass learning_rate=None"):
        fit(wrapper, (x, y), steps=1, learning_rate=1e-3)
    with pytest.raises(ValueError, match=r"wrap the model: fit\(methods.learning_rates.GroupedLearningRates"):
        fit(model, (x, y), steps=1, learning_rate=lr.layerwise_rates(1e-2))


def test_gradual_unfreezing_adds_one_block_per_stage():
    model = build_cnn(channels=1, filters=(4, 8), units=16)
    rng = np.random.default_rng(0)
    x, y = rng.random((48, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, size=48)
    first = model.get_layer("block1_conv").get_weights()[0].copy()
    log = lr.gradual_unfreezing(model, (x[:32], y[:32]), lr.layerwise_rates(1e-2), steps_per_stage=1,
                                validation_data=(x[32:], y[32:]), callbacks=[best_weights_callback(1)])
    assert log["stage"] == [1, 2, 3, 4]  # one step per stage: one "epoch" each
    assert log["trainable"] == ["head", "head+features", "head+features+block2",
                                "head+features+block2+block1"]
    assert len(log["val_accuracy"]) == 4
    assert not np.allclose(model.get_layer("block1_conv").get_weights()[0], first)
    with pytest.raises(ValueError, match="stage"):
        lr.gradual_unfreezing(model, (x, y), {"head": 0.1}, stages=("head", "block1"))
