"""Domain adaptation: gradient reversal, the lambda schedule, CORAL, MMD, DANN, PAD, BatchNorm."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib.adaptation import (
    DANN, DiscrepancyModel, GradientReversal, LambdaSchedule, coral_loss, ganin_schedule, mmd_loss,
    paired_inputs, proxy_a_distance, split_source_model, train_adapter,
    train_dann)
from course_lib.adaptation.two_domain import target_entropy


# ---------------------------------------------------------------- gradient reversal

@pytest.mark.parametrize("lam", [0.0, 0.3, 1.0, 2.5])
def test_reversal_is_identity_forward_and_scales_gradient_by_minus_lambda(lam):
    layer = GradientReversal(lam)
    x = tf.constant(np.random.default_rng(0).normal(size=(4, 3)), dtype="float32")
    weights = tf.constant([[1.0, -2.0, 3.0]])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
        objective = tf.reduce_sum(y * weights)
    np.testing.assert_allclose(y.numpy(), x.numpy(), rtol=1e-6, atol=1e-6)
    expected = -lam * np.broadcast_to(weights.numpy(), (4, 3))
    np.testing.assert_allclose(tape.gradient(objective, x).numpy(), expected, rtol=1e-6, atol=1e-7)


def test_reversal_rejects_negative_lambda():
    with pytest.raises(ValueError, match="lambda_ must be >= 0"):
        GradientReversal(-0.1)


def test_ganin_schedule_values():
    assert ganin_schedule(0.0, 0.3) == 0.0
    assert ganin_schedule(1.0, 1.0) == pytest.approx(2 / (1 + np.exp(-10)) - 1)
    assert ganin_schedule(0.5, 0.3) == pytest.approx(0.3 * (2 / (1 + np.exp(-5)) - 1))
    values = [ganin_schedule(p / 10, 1.0) for p in range(11)]
    assert all(a < b for a, b in zip(values, values[1:]))
    with pytest.raises(ValueError, match="progress must be in"):
        ganin_schedule(1.5)
    with pytest.raises(ValueError, match="lambda_max"):
        ganin_schedule(0.5, -1)


def test_lambda_schedule_needs_a_reversal_layer():
    with pytest.raises(ValueError, match="GradientReversal"):
        LambdaSchedule(keras.layers.Dense(2), 0.3)


# ---------------------------------------------------------------- CORAL and MMD

def _numpy_coral(a, b):
    d = a.shape[1]
    return np.sum((np.cov(a, rowvar=False) - np.cov(b, rowvar=False)) ** 2) / (4 * d * d)


def _numpy_mmd(a, b, multiples=(0.25, 0.5, 1.0, 2.0, 4.0)):
    both = np.concatenate([a, b])
    dist = ((both[:, None, :] - both[None, :, :]) ** 2).sum(-1)
    kernel = sum(np.exp(-dist / (dist.mean() * m)) for m in multiples)
    n = len(a)
    return kernel[:n, :n].mean() + kernel[n:, n:].mean() - 2 * kernel[:n, n:].mean()


def _samples(shift, n=200, d=5, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, d)).astype("float32")
    b = (rng.normal(size=(n, d)) * (1 + shift) + shift).astype("float32")
    return a, b


@pytest.mark.parametrize("loss, reference", [(coral_loss, _numpy_coral), (mmd_loss, _numpy_mmd)])
def test_discrepancy_matches_numpy_formula(loss, reference):
    a, b = _samples(shift=0.7)
    assert float(loss(a, b)) == pytest.approx(reference(a.astype("float64"), b.astype("float64")),
                                              rel=1e-3)


@pytest.mark.parametrize("loss", [coral_loss, mmd_loss])
def test_discrepancy_is_small_for_one_distribution_and_larger_when_shifted(loss):
    same = float(loss(*_samples(shift=0.0)))
    shifted = float(loss(*_samples(shift=1.0)))
    assert same >= -1e-6
    assert shifted > 10 * max(same, 1e-6)


@pytest.mark.parametrize("loss", [coral_loss, mmd_loss])
def test_discrepancy_rejects_bad_input(loss):
    a = np.zeros((8, 4), "float32")
    with pytest.raises(ValueError, match="same width"):
        loss(a, np.zeros((8, 3), "float32"))
    with pytest.raises(ValueError, match="at least 2"):
        loss(np.zeros((0, 4), "float32"), a)
    with pytest.raises(ValueError, match="2-D"):
        loss(np.zeros((8, 4, 1), "float32"), a)


def test_discrepancy_model_rejects_unknown_method_and_negative_weight():
    extractor, classifier = _toy_parts()
    with pytest.raises(ValueError, match="unknown discrepancy"):
        DiscrepancyModel(extractor, classifier, "kl")
    with pytest.raises(ValueError, match="weight"):
        DiscrepancyModel(extractor, classifier, "coral", weight=-1)


def test_target_entropy_is_zero_when_sure_and_log_k_when_uniform():
    assert float(target_entropy(np.eye(4, dtype="float32"))) == pytest.approx(0.0, abs=1e-5)
    assert float(target_entropy(np.full((3, 4), 0.25, "float32"))) == pytest.approx(np.log(4), rel=1e-5)


# ---------------------------------------------------------------- DANN on a toy problem

def _toy_parts(width=3, seed=0):
    """A linear extractor (no bias) and a logistic classifier on its 1-D feature."""
    inputs = keras.Input((width,))
    feature = keras.layers.Dense(2, use_bias=False, name="toy_features",
                                 kernel_initializer=keras.initializers.Constant(0.5))(inputs)
    extractor = keras.Model(inputs, feature)
    f_in = keras.Input((2,))
    out = keras.layers.Dense(2, activation="softmax",
                             kernel_initializer=keras.initializers.GlorotUniform(seed))(f_in)
    return extractor, keras.Model(f_in, out)


def _toy_domains(n=256, seed=0):
    """Feature 0 carries the label in both domains; feature 2 reveals only the domain."""
    rng = np.random.default_rng(seed)
    y = rng.integers(2, size=n)
    source = np.stack([2.0 * y - 1 + 0.3 * rng.normal(size=n), rng.normal(size=n),
                       np.full(n, -2.0)], axis=1).astype("float32")
    yt = rng.integers(2, size=n)
    target = np.stack([2.0 * yt - 1 + 0.3 * rng.normal(size=n), rng.normal(size=n),
                       np.full(n, 2.0)], axis=1).astype("float32")
    return source, y, target


EPOCHS = 30


def _domain_weight_after(lambda_max):
    keras.utils.set_random_seed(0)
    extractor, classifier = _toy_parts()
    model = DANN(extractor, classifier, domain_units=8, seed=0)
    xs, ys, xt = _toy_domains()
    history = train_dann(model, xs, ys, xt, epochs=EPOCHS, lambda_max=lambda_max, batch_size=64,
                         learning_rate=2e-2, progress=None)
    kernel = extractor.get_layer("toy_features").kernel.numpy()
    return float(np.abs(kernel[2]).sum()), history


def test_dann_removes_the_domain_revealing_feature_and_lambda_zero_does_not():
    adapted, history = _domain_weight_after(1.0)
    plain, _ = _domain_weight_after(0.0)
    assert adapted < 0.5 * plain, (adapted, plain)
    for key in ("accuracy", "domain_accuracy", "task_loss", "adaptation_loss", "lambda"):
        assert len(history.history[key]) == EPOCHS, key
    assert history.history["lambda"][-1] == pytest.approx(ganin_schedule(1.0, 1.0), rel=1e-3)


def test_dann_fit_needs_both_domains():
    extractor, classifier = _toy_parts()
    model = DANN(extractor, classifier, domain_units=4)
    model.compile(optimizer="adam")
    xs, ys, _ = _toy_domains(n=16)
    with pytest.raises(ValueError, match="source"):
        model.fit(xs, ys, epochs=1, verbose=0)


def test_train_dann_needs_a_dann():
    extractor, classifier = _toy_parts()
    model = DiscrepancyModel(extractor, classifier, "coral")
    with pytest.raises(ValueError, match="must be a DANN"):
        train_dann(model, *_toy_domains(n=16), epochs=1)


@pytest.mark.parametrize("method", ["coral", "mmd"])
def test_discrepancy_model_trains_and_logs(method):
    extractor, classifier = _toy_parts()
    model = DiscrepancyModel(extractor, classifier, method, weight=1.0, entropy_weight=0.1)
    history = train_adapter(model, *_toy_domains(n=64), epochs=2, batch_size=32, progress=None)
    assert len(history.history["adaptation_loss"]) == 2
    assert model.predict(_toy_domains(n=8)[0], verbose=0).shape == (8, 2)


def test_paired_inputs_cover_every_target_and_balance_the_source():
    xs = np.arange(10, dtype="float32")[:, None]
    ys = np.arange(10)
    xt = np.arange(25, dtype="float32")[:, None] + 100
    x, y = paired_inputs(xs, ys, xt, seed=1)
    assert len(x["source"]) == len(x["target"]) == len(y) == 25
    np.testing.assert_array_equal(x["source"][:, 0], y)
    assert np.bincount(y, minlength=10).min() >= 2
    with pytest.raises(ValueError, match="need source and target"):
        paired_inputs(xs[:0], ys[:0], xt)
    with pytest.raises(ValueError, match="rows"):
        paired_inputs(xs, ys[:3], xt)
    with pytest.raises(ValueError, match="same shape"):
        paired_inputs(xs, ys, np.zeros((5, 2), "float32"))


# ---------------------------------------------------------------- the course's CNN

def _small_cnn():
    from course_lib.models import build_cnn

    keras.utils.set_random_seed(0)
    return build_cnn(channels=1, n_classes=10, filters=(4, 4), units=8)


def test_split_source_model_is_a_warm_copy():
    model = _small_cnn()
    x = np.random.default_rng(0).random((6, 28, 28, 1)).astype("float32")
    extractor, classifier = split_source_model(model)
    np.testing.assert_allclose(classifier(extractor(x)).numpy(), model(x).numpy(), atol=1e-5)
    assert extractor.output_shape == (None, 8)
    extractor.get_layer("features").kernel.assign(np.zeros((100, 8), "float32"))
    assert np.abs(model.get_layer("features").kernel.numpy()).sum() > 0
    with pytest.raises(ValueError, match="no layer"):
        split_source_model(model, "nope")


# ---------------------------------------------------------------- proxy A-distance

def test_proxy_a_distance_near_zero_for_one_domain_and_near_two_for_separable():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(400, 4)), rng.normal(size=(400, 4))
    assert abs(proxy_a_distance(a, b)) < 0.3
    assert proxy_a_distance(a, b + 5.0) > 1.9


def test_proxy_a_distance_rejects_bad_input():
    with pytest.raises(ValueError, match="same width"):
        proxy_a_distance(np.zeros((10, 3)), np.zeros((10, 2)))
    with pytest.raises(ValueError, match="at least 4"):
        proxy_a_distance(np.zeros((2, 3)), np.zeros((10, 3)))
