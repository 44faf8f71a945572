"""The strategies and their baselines, fine-tuning with a kept best validation point, the
learning-rate choice, the probability mapping, label smoothing, calibration, swapped activations."""

import numpy as np
import pytest

import course_lib

course_lib.setup(0)

import keras  # noqa: E402

from course_lib.core.cnn import build_cnn  # noqa: E402
from course_lib.core.evaluation import accuracy, predict  # noqa: E402
from course_lib.core.layers import parameter_counts, train_only  # noqa: E402
from course_lib.methods import batchnorm  # noqa: E402
from course_lib.methods import fine_tuning as ft  # noqa: E402


@pytest.fixture()
def cnn():
    return build_cnn(channels=1, filters=(4, 8), units=16, seed=0)


@pytest.fixture(scope="module")
def toy_data():
    rng = np.random.default_rng(0)
    x = rng.random((96, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, size=96)
    return (x[:64], y[:64]), (x[64:], y[64:])


def trainable_layers(model):
    return {layer.name for layer in model.layers if layer.trainable and layer.weights}


@pytest.mark.parametrize("strategy, trainable", [
    ("head", {"head"}),
    ("top", {"block2_conv", "block2_bn", "features", "features_bn", "head"}),
    ("full", {"block1_conv", "block1_bn", "block2_conv", "block2_bn", "features", "features_bn", "head"}),
])
def test_build_freezes_as_the_strategy_says_and_keeps_every_source_weight(cnn, strategy, trainable):
    model = ft.build(strategy, cnn, seed=0)
    assert trainable_layers(model) == trainable
    for a, b in zip(model.get_weights(), cnn.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert trainable_layers(cnn) == {layer.name for layer in cnn.layers if layer.weights}  # untouched


def test_new_head_and_scratch_start_elsewhere(cnn):
    new_head = ft.build("new_head", cnn, seed=0)
    assert trainable_layers(new_head) == {"head"}
    assert not np.allclose(new_head.get_layer("head").get_weights()[0], cnn.get_layer("head").get_weights()[0])
    np.testing.assert_array_equal(new_head.get_layer("block1_conv").get_weights()[0],
                                  cnn.get_layer("block1_conv").get_weights()[0])
    kernels = [ft.build("scratch", cnn, seed=s).get_layer("block1_conv").get_weights()[0] for s in (5, 5, 6)]
    np.testing.assert_array_equal(kernels[0], kernels[1])  # a fresh course CNN, from its seed
    assert not np.allclose(kernels[0], kernels[2])
    assert ft.build("full", cnn, n_classes=5, seed=0).output_shape == (None, 5)  # other classes: new head


def test_build_rejects_unknown_strategy_and_missing_source(cnn):
    with pytest.raises(ValueError, match="allowed: 'head', 'top', 'full', 'scratch', 'new_head', 'mapping'"):
        ft.build("everything", cnn)
    with pytest.raises(ValueError, match="pass source="):
        ft.build("head", None)


def test_probability_mapping_starts_as_the_source_classifier(cnn, toy_data):
    (x, _), _ = toy_data
    model = ft.build("mapping", cnn)
    assert parameter_counts(model)[0] == 10 * 10 + 10
    p_source = predict(cnn, x)
    expected = np.exp(p_source) / np.exp(p_source).sum(axis=1, keepdims=True)  # softmax(p_s I + 0)
    np.testing.assert_allclose(predict(model, x), expected, rtol=1e-5)
    layer = model.get_layer("mapping")
    clone = ft.ProbabilityMapping.from_config(layer.get_config())
    assert (clone.n_classes, clone.alpha) == (10, ft.MAPPING_ALPHA)
    with pytest.raises(ValueError, match="alpha"):
        ft.ProbabilityMapping(10, alpha=0)


def test_fine_tune_trains_only_unfrozen_layers(cnn, toy_data):
    train, validation = toy_data
    model = ft.build("head", cnn)
    conv = model.get_layer("block2_conv").get_weights()[0].copy()
    head = model.get_layer("head").get_weights()[0].copy()
    statistics = batchnorm.moving_statistics(model)
    summary = ft.fine_tune(model, train, validation, learning_rate=1e-2, steps=50)
    np.testing.assert_array_equal(model.get_layer("block2_conv").get_weights()[0], conv)
    assert not np.allclose(model.get_layer("head").get_weights()[0], head)
    drift = batchnorm.statistics_drift(statistics, batchnorm.moving_statistics(model))
    assert max(drift.values()) == 0.0  # frozen BatchNorm: inference mode, statistics kept
    assert summary["steps"] == [25, 50] and len(summary["val_accuracy"]) == 2


def test_fine_tune_ends_with_the_weights_of_its_best_validation_point(toy_data):
    """Validation labels unrelated to training's: the curve wanders, and the model keeps its best."""
    train, (x_val, y_val) = toy_data
    model = build_cnn(filters=(4, 8), units=16, seed=3)
    summary = ft.fine_tune(model, train, (x_val, (y_val + 3) % 10), learning_rate=3e-2, steps=150)
    assert summary["val_accuracy"][-1] < summary["best_val_accuracy"], "the test needs a wandering curve"
    assert accuracy(model, x_val, (y_val + 3) % 10) == pytest.approx(summary["best_val_accuracy"])
    assert summary["best_step"] == summary["steps"][int(np.argmax(summary["val_accuracy"]))]


def test_fine_tune_checks_its_data(cnn, toy_data):
    train, validation = toy_data
    with pytest.raises(ValueError, match="validation must be a pair"):
        ft.fine_tune(cnn, train, validation[0], learning_rate=1e-3)
    with pytest.raises(ValueError, match="same number of rows"):
        ft.fine_tune(cnn, (train[0], train[1][:3]), validation, learning_rate=1e-3)
    with pytest.raises(ValueError, match="learning_rate"):
        ft.fine_tune(cnn, train, validation, learning_rate=-1.0, steps=25)


def test_validation_summary_marks_the_first_best():
    summary = ft.validation_summary([0.5, 0.7, 0.7, 0.6], steps=100)
    assert summary == {"steps": [25, 50, 75, 100], "val_accuracy": [0.5, 0.7, 0.7, 0.6],
                       "best_step": 50, "best_val_accuracy": 0.7}
    with pytest.raises(ValueError, match="empty"):
        ft.validation_summary([], steps=10)


def test_select_learning_rate_keeps_the_best_rate_and_its_model():
    built = []
    scores = {1e-3: 0.5, 3e-3: 0.7, 1e-2: 0.7}

    def make():
        built.append(object())
        return built[-1]

    chosen = ft.select_learning_rate(make, scores, lambda model, rate: {"best_val_accuracy": scores[rate]})
    assert chosen.learning_rate == 3e-3 and chosen.model is built[1]  # a tie goes to the first
    assert chosen.best_val_accuracy == 0.7 and set(chosen.runs) == set(scores)
    with pytest.raises(ValueError, match="empty"):
        ft.select_learning_rate(make, [], lambda model, rate: {})
    with pytest.raises(ValueError, match="learning rate must be > 0"):
        ft.select_learning_rate(make, [0.0], lambda model, rate: {})


def test_smoothed_targets_and_the_loss_agree():
    y = np.array([0, 2, 1])
    targets = ft.smoothed_targets(y, 3, smoothing=0.3)
    np.testing.assert_allclose(targets[0], [0.8, 0.1, 0.1], rtol=1e-6)
    np.testing.assert_allclose(targets.sum(axis=1), 1.0, rtol=1e-6)
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.3, 0.4, 0.3]], dtype="float32")
    expected = np.mean(-(targets * np.log(p)).sum(axis=1))
    assert float(ft.SmoothedCrossentropy(0.3)(y, p)) == pytest.approx(expected, rel=1e-5)
    plain = keras.losses.SparseCategoricalCrossentropy()(y, p)
    assert float(ft.SmoothedCrossentropy(0.0)(y, p)) == pytest.approx(float(plain), rel=1e-5)
    with pytest.raises(ValueError, match="label 3"):
        ft.smoothed_targets(np.array([3]), 3)
    with pytest.raises(ValueError, match="between 0 and 1"):
        ft.SmoothedCrossentropy(1.5)


def test_fit_accepts_the_smoothed_loss(cnn, toy_data):
    train, validation = toy_data
    summary = ft.fine_tune(ft.build("head", cnn), train, validation, 1e-2, steps=25,
                           loss=ft.SmoothedCrossentropy())
    assert len(summary["val_accuracy"]) == 1


def test_calibration_error_measures_the_gap_between_confidence_and_accuracy():
    honest = np.tile([0.75, 0.25], (8, 1))  # 75 % sure of class 0, right 6 times in 8
    assert ft.calibration_error(honest, np.array([0] * 6 + [1] * 2)) == pytest.approx(0.0)
    sure = np.tile([1.0, 0.0], (4, 1))  # certain, right half the time
    assert ft.calibration_error(sure, np.array([0, 0, 1, 1])) == pytest.approx(0.5)
    with pytest.raises(ValueError, match=r"\(n, classes\)"):
        ft.calibration_error(np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match="NaN"):
        ft.calibration_error(np.array([[np.nan, 1.0]]), np.array([0]))


def test_with_activation_swaps_only_the_activations(cnn, toy_data):
    (x, _), _ = toy_data
    swapped = ft.with_activation(cnn, "tanh")
    kinds = {layer.name: type(layer).__name__ for layer in swapped.layers}
    assert kinds["block1_relu"] == "Activation" and kinds["block1_conv"] == "Conv2D"
    for a, b in zip(swapped.get_weights(), cnn.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(predict(swapped, x), predict(cnn, x), atol=1e-3)
    np.testing.assert_allclose(predict(ft.with_activation(cnn, "relu"), x), predict(cnn, x), atol=1e-6)
    with pytest.raises(ValueError, match="unknown activation"):
        ft.with_activation(cnn, "wiggle")
    plain = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="no ReLU"):
        ft.with_activation(plain, "tanh")


def test_train_only_in_build_counts_match(cnn):
    """What the strategies train, in parameters: head < top < full."""
    counts = [parameter_counts(ft.build(s, cnn))[0] for s in ("head", "top", "full")]
    assert counts[0] == cnn.get_layer("head").count_params() and counts[0] < counts[1] < counts[2]
    train_only(cnn, None)
    assert counts[2] == parameter_counts(cnn)[0]
