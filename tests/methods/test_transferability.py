"""course_lib.methods.transferability: the leave-one-out probe and transplanting k blocks."""

import numpy as np
import pytest

from course_lib.core.cnn import build_cnn
from course_lib.methods import transferability as tr


@pytest.fixture(scope="module")
def base():
    """A task-A network whose every weight differs from a fresh network's (as after training)."""
    model = build_cnn(n_classes=5, seed=1, name="task_a")
    rng = np.random.default_rng(1)
    model.set_weights([w + rng.uniform(0.1, 0.5, w.shape).astype("float32") for w in model.get_weights()])
    return model


def test_probe_counts_images_nearest_to_their_own_held_out_class_mean():
    # Two tight clusters far apart: every image is nearest to its own class mean.
    f = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 0.1], [5.0, 5.0], [5.1, 5.0], [5.0, 5.1]])
    y = np.array([0, 0, 0, 1, 1, 1])
    assert tr.probe_accuracy(f, y) == 1.0
    # Swapping one label of each class: those two are now nearest to the other class's mean.
    assert tr.probe_accuracy(f, np.array([0, 0, 1, 1, 1, 0])) == pytest.approx(4 / 6)


def test_probe_leaves_the_image_out_of_its_own_class_mean():
    # Class 0 is {0, 10}, class 1 is {4, 4.2}. Image 10 is 5 from its class's mean with
    # itself in it (5) and 5.9 from class 1's (4.1): right, if it could vote for itself.
    # Left out, its class's mean is 0 (distance 10): wrong. Image 0 is wrong either way,
    # the two images of class 1 are right: 2 of 4 (a probe that kept the image in: 3 of 4).
    f = np.array([[0.0], [10.0], [4.0], [4.2]])
    assert tr.probe_accuracy(f, np.array([0, 0, 1, 1])) == 0.5
    with pytest.raises(ValueError, match="2 images of every class"):
        tr.probe_accuracy(np.array([[0.0], [2.0], [1.2]]), np.array([0, 0, 1]))


def test_probe_rejects_bad_inputs():
    with pytest.raises(ValueError, match="NaN"):
        tr.probe_accuracy(np.array([[np.nan], [1.0], [2.0], [3.0]]), np.array([0, 0, 1, 1]))
    with pytest.raises(ValueError, match="same number of rows"):
        tr.probe_accuracy(np.zeros((4, 2)), np.array([0, 0, 1]))
    with pytest.raises(ValueError, match="2 classes"):
        tr.probe_accuracy(np.zeros((4, 2)), np.zeros(4, dtype=int))


@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_transplant_copies_and_freezes_the_first_k_blocks(base, k):
    model = tr.transplant(base, k, n_classes=3, seed=5)
    copied = tr.copied_layers(model, k)
    assert copied == ["block1_conv", "block1_bn", "block2_conv", "block2_bn", "features", "features_bn"][:2 * k]
    assert model.output_shape[-1] == 3
    for layer in model.layers:
        if not layer.weights:
            continue
        same = all(np.array_equal(a, b) for a, b in zip(layer.get_weights(), base.get_layer(layer.name).get_weights()))
        assert same == (layer.name in copied), layer.name
        assert layer.trainable == (layer.name not in copied), layer.name
        assert layer is not base.get_layer(layer.name)


def test_fine_tuned_transplant_copies_but_trains_everything(base):
    model = tr.transplant(base, 2, n_classes=5, fine_tune=True)
    assert all(layer.trainable for layer in model.layers)
    assert np.array_equal(model.get_layer("block2_conv").get_weights()[0], base.get_layer("block2_conv").get_weights()[0])


def test_the_fresh_layers_depend_on_the_seed_only(base):
    a, b = tr.transplant(base, 1, 5, seed=3), tr.transplant(base, 1, 5, seed=3)
    assert np.array_equal(a.get_layer("features").get_weights()[0], b.get_layer("features").get_weights()[0])
    c = tr.transplant(base, 1, 5, seed=4)
    assert not np.array_equal(a.get_layer("features").get_weights()[0], c.get_layer("features").get_weights()[0])


@pytest.mark.parametrize("k", [-1, 4, 1.5, True])
def test_transplant_rejects_impossible_k(base, k):
    with pytest.raises(ValueError, match="k \\(blocks copied\\)"):
        tr.transplant(base, k, n_classes=5)


def test_logme_prefers_features_that_hold_the_labels():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 25)
    informative = np.eye(4)[labels] * 3 + rng.normal(size=(100, 4)) * 0.3
    noise = rng.normal(size=(100, 4))
    assert tr.logme(informative, labels) > tr.logme(noise, labels) + 0.5
    with pytest.raises(ValueError, match="features"):
        tr.logme(np.zeros((3, 2, 2)), [0, 1, 0])


def _direct_log_evidence(f, t):
    """Fit alpha and beta as LogME does, then evaluate the density of t ~ N(0, I/beta + F F^T/alpha)
    with a dense covariance: the same evidence, computed without LogME's closed form."""
    s, v = np.linalg.eigh(f.T @ f)
    alpha, beta = 1.0, 1.0
    for _ in range(tr.LOGME_STEPS):
        gamma = np.sum(beta * s / (alpha + beta * s))
        m = v @ (beta * (v.T @ f.T @ t) / (alpha + beta * s))
        alpha, beta = gamma / (m @ m), (len(t) - gamma) / np.sum((f @ m - t) ** 2)
    cov = np.eye(len(t)) / beta + f @ f.T / alpha
    return -0.5 * (t @ np.linalg.solve(cov, t) + np.linalg.slogdet(cov)[1] + len(t) * np.log(2 * np.pi)) / len(t)


def test_logme_matches_the_evidence_computed_directly():
    rng = np.random.default_rng(1)
    f = rng.normal(size=(30, 5))
    labels = rng.integers(0, 2, 30)
    direct = np.mean([_direct_log_evidence(f, (labels == c).astype(float)) for c in (0, 1)])
    assert tr.logme(f, labels) == pytest.approx(direct, abs=2e-3)


def test_leep_is_log_one_over_k_for_a_head_that_knows_nothing_and_zero_for_one_that_maps_exactly():
    labels = np.repeat(np.arange(5), 4)
    uniform = np.full((20, 10), 0.1)
    assert tr.leep(uniform, labels) == pytest.approx(np.log(1 / 5))
    exact = np.eye(10)[labels * 2]  # each target class is one source class
    assert tr.leep(exact, labels) == pytest.approx(0.0, abs=1e-9)
