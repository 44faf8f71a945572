"""Domain adaptation: gradient reversal, the lambda schedule, CORAL, MMD, DANN, the proxy A-distance."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib.core.training import fit
from course_lib.methods.adaptation import (DANN, DiscrepancyModel, GradientReversal, coral_loss,
                                           dann_steps, ganin_schedule, mmd_loss, paired,
                                           proxy_a_distance)
from course_lib.methods.adaptation.dann import DOMAIN_RATE_FACTOR, build_domain_classifier

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


def test_ganin_schedule_values_on_numbers_and_arrays():
    assert float(ganin_schedule(0.0, 0.3)) == 0.0
    assert float(ganin_schedule(1.0, 1.0)) == pytest.approx(2 / (1 + np.exp(-10)) - 1, rel=1e-6)
    assert float(ganin_schedule(0.5, 0.3)) == pytest.approx(0.3 * (2 / (1 + np.exp(-5)) - 1), rel=1e-6)
    values = np.asarray(ganin_schedule(np.linspace(0, 1, 11), 1.0))
    assert values.shape == (11,) and np.all(np.diff(values) > 0)
    assert float(ganin_schedule(1.7, 2.0)) == pytest.approx(float(ganin_schedule(1.0, 2.0)))  # clipped
    with pytest.raises(ValueError, match="lambda_max"):
        ganin_schedule(0.5, -1)


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
        loss(np.zeros((1, 4), "float32"), a)
    with pytest.raises(ValueError, match="2-D"):
        loss(np.zeros((8, 4, 1), "float32"), a)


def test_discrepancy_model_rejects_unknown_method_and_negative_weight():
    extractor, classifier = _toy_parts()
    with pytest.raises(ValueError, match="unknown discrepancy"):
        DiscrepancyModel(extractor, classifier, "kl")
    with pytest.raises(ValueError, match="weight"):
        DiscrepancyModel(extractor, classifier, "coral", weight=-1)


# ---------------------------------------------------------------- DANN on a toy problem

def _toy_parts(width=3, seed=0):
    """A linear extractor (no bias) to 2 features and a softmax classifier on them."""
    inputs = keras.Input((width,))
    feature = keras.layers.Dense(2, use_bias=False, name="toy_features",
                                 kernel_initializer=keras.initializers.Constant(0.5))(inputs)
    extractor = keras.Model(inputs, feature)
    f_in = keras.Input((2,))
    out = keras.layers.Dense(2, activation="softmax",
                             kernel_initializer=keras.initializers.GlorotUniform(seed))(f_in)
    return extractor, keras.Model(f_in, out)


def _toy_domains(n=256, seed=0):
    """Input 0 carries the label in both domains; input 2 reveals only the domain."""
    rng = np.random.default_rng(seed)
    y = rng.integers(2, size=n)
    source = np.stack([2.0 * y - 1 + 0.3 * rng.normal(size=n), rng.normal(size=n),
                       np.full(n, -2.0)], axis=1).astype("float32")
    yt = rng.integers(2, size=n)
    target = np.stack([2.0 * yt - 1 + 0.3 * rng.normal(size=n), rng.normal(size=n),
                       np.full(n, 2.0)], axis=1).astype("float32")
    return source, y, target


TOY_EPOCHS, TOY_BATCH = 30, 64


def _toy_dann(lambda_max, **options):
    keras.utils.set_random_seed(0)
    extractor, classifier = _toy_parts()
    xs, ys, xt = _toy_domains()
    model = DANN(extractor, classifier, dann_steps(len(xt), TOY_EPOCHS, TOY_BATCH), lambda_max=lambda_max,
                 domain_units=(8,), **options)
    history = fit(model, paired(xs, ys, xt), epochs=TOY_EPOCHS, batch_size=TOY_BATCH, learning_rate=2e-2)
    return model, history


def _domain_weight(model):
    return float(np.abs(model.extractor.get_layer("toy_features").kernel.numpy()[2]).sum())


def test_dann_removes_the_domain_revealing_input_and_lambda_zero_does_not():
    adapted, history = _toy_dann(1.0)
    plain, _ = _toy_dann(0.0)
    assert _domain_weight(adapted) < 0.5 * _domain_weight(plain)
    for key in ("loss", "accuracy", "task_loss", "adaptation_loss", "domain_accuracy", "lambda"):
        assert len(history.history[key]) == TOY_EPOCHS, key
    # lambda follows Ganin's schedule over the whole fit: the first epoch's mean is small,
    # the last epoch's is at lambda_max
    assert history.history["lambda"][0] < 0.5
    assert history.history["lambda"][-1] == pytest.approx(1.0, abs=1e-3)
    assert adapted.reversal.lambda_.numpy() == pytest.approx(float(ganin_schedule((TOY_EPOCHS * 4 - 1)
                                                                                  / (TOY_EPOCHS * 4), 1.0)))


def test_dann_domain_classifier_has_its_own_optimizer_at_a_higher_rate():
    model, _ = _toy_dann(1.0)
    main, domain = model.optimizer, model.domain_optimizer
    assert float(domain.learning_rate.numpy()) == pytest.approx(DOMAIN_RATE_FACTOR * float(main.learning_rate.numpy()))
    steps = dann_steps(256, TOY_EPOCHS, TOY_BATCH)
    assert int(main.iterations.numpy()) == int(domain.iterations.numpy()) == steps
    assert type(domain) is type(main) and domain.name != main.name


def test_a_second_fit_starts_both_optimizers_afresh():
    model, _ = _toy_dann(1.0)
    xs, ys, xt = _toy_domains(n=64)
    fit(model, paired(xs, ys, xt), steps=1, batch_size=32, learning_rate=2e-2)
    assert int(model.optimizer.iterations.numpy()) == int(model.domain_optimizer.iterations.numpy()) == 1


def test_dann_checks_its_settings_and_its_data():
    extractor, classifier = _toy_parts()
    with pytest.raises(ValueError, match="total_steps"):
        DANN(extractor, classifier, total_steps=0)
    with pytest.raises(ValueError, match="lambda_max"):
        DANN(extractor, classifier, total_steps=10, lambda_max=-1.0)
    with pytest.raises(ValueError, match="units"):
        build_domain_classifier(4, units=())
    model = DANN(extractor, classifier, total_steps=10, domain_units=(4,))
    xs, ys, _ = _toy_domains(n=16)
    with pytest.raises(ValueError, match="source"):
        fit(model, (xs, ys), epochs=1)


def test_dann_steps_counts_what_fit_runs():
    assert dann_steps(4000, 5, 64) == 5 * 62  # fit drops the last 32 images of each epoch
    assert dann_steps(10, 3, 64) == 3  # fewer images than a batch: one batch of all
    with pytest.raises(ValueError, match="epochs"):
        dann_steps(100, 0, 64)


@pytest.mark.parametrize("method, weight", [("coral", 0.0), ("coral", 1.0), ("mmd", 1.0)])
def test_a_target_set_leaving_a_remainder_of_one_gives_finite_weights(method, weight):
    """Issue 19: 65 target images in batches of 64 once left a last batch of one image, whose
    covariance divided by n - 1 = 0 and turned every weight NaN (the weight-0 arm too)."""
    extractor, classifier = _toy_parts()
    xs, ys, xt = _toy_domains(n=65)
    model = DiscrepancyModel(extractor, classifier, method, weight=weight)
    history = fit(model, paired(xs, ys, xt), epochs=2, batch_size=64, learning_rate=1e-2)
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())
    assert np.all(np.isfinite(history.history["loss"]))


def test_coral_of_a_single_row_is_finite():
    one = tf.zeros((1, 3))
    from course_lib.methods.adaptation.discrepancy import _covariance

    assert np.all(np.isfinite(_covariance(one).numpy()))


def test_paired_covers_every_target_and_balances_the_source():
    xs = np.arange(10, dtype="float32")[:, None]
    ys = np.arange(10)
    xt = np.arange(25, dtype="float32")[:, None] + 100
    x, y = paired(xs, ys, xt, seed=1)
    assert len(x["source"]) == len(x["target"]) == len(y) == 25
    np.testing.assert_array_equal(x["source"][:, 0], y)
    assert np.bincount(y, minlength=10).min() >= 2
    with pytest.raises(ValueError, match="need source and target"):
        paired(xs[:0], ys[:0], xt)
    with pytest.raises(ValueError, match="same number of rows"):
        paired(xs, ys[:3], xt)
    with pytest.raises(ValueError, match="same shape"):
        paired(xs, ys, np.zeros((5, 2), "float32"))


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
