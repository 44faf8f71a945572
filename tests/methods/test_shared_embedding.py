"""The shared embedding: the pair losses and a tiny training run."""

import numpy as np
import pytest

import course_lib
from course_lib.transfer_networks import shared_embedding as se


@pytest.fixture(autouse=True)
def _seed():
    course_lib.setup(0)


def _losses(*args, **kwargs):
    return tuple(float(v) for v in se.alignment_losses(*args, **kwargs))


def test_losses_are_zero_when_classes_coincide_and_are_a_margin_apart():
    z_source = np.array([[0.0, 0.0], [2.0, 0.0]])
    assert _losses(z_source, [0, 1], z_source.copy(), [0, 1], margin=1.0) == (0.0, 0.0)


def test_alignment_is_positive_for_a_same_class_pair_apart():
    align, separate = _losses([[0.0, 0.0]], [3], [[0.6, 0.8]], [3])
    assert align == pytest.approx(1.0)  # squared distance
    assert separate == 0.0  # no different-class pairs


def test_separation_is_positive_inside_the_margin_only():
    _, inside = _losses([[0.0, 0.0]], [0], [[0.5, 0.0]], [1], margin=1.0)
    assert inside == pytest.approx(0.25)  # (1 - 0.5)^2
    _, outside = _losses([[0.0, 0.0]], [0], [[1.5, 0.0]], [1], margin=1.0)
    assert outside == 0.0


def test_losses_reject_bad_input():
    with pytest.raises(ValueError, match="margin must be positive"):
        se.alignment_losses([[0.0]], [0], [[0.0]], [0], margin=0)
    with pytest.raises(ValueError, match="same dim"):
        se.alignment_losses(np.zeros((2, 3)), [0, 1], np.zeros((2, 4)), [0, 1])


def test_training_runs_and_reports_its_losses():
    rng = np.random.default_rng(0)
    x_source = rng.random((64, 28, 28, 3)).astype("float32")
    y_source = np.arange(64) % 4
    x_target, y_target = x_source[:8] * 0.5, y_source[:8]
    classifier, embedding, history = se.train_shared_embedding(
        x_source, y_source, x_target, y_target, epochs=1, batch_size=32, target_batch_size=8)
    assert set(history) == {"loss", "align", "separate"} and len(history["loss"]) == 1
    z = embedding.predict(x_target, verbose=0)
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1.0, rtol=1e-4)
    assert classifier.output_shape == (None, 4)
    same, different = se.pair_distances(embedding, x_source[:10], y_source[:10], x_target, y_target)
    assert len(same) + len(different) == 80 and np.all(same >= 0)


def test_training_rejects_bad_input():
    x = np.zeros((64, 28, 28, 3), "float32")
    y = np.arange(64) % 4
    with pytest.raises(ValueError, match="same shape"):
        se.train_shared_embedding(x, y, np.zeros((8, 28, 28, 1), "float32"), y[:8])
    with pytest.raises(ValueError, match="alpha must be"):
        se.train_shared_embedding(x, y, x[:8], y[:8], alpha=1.5)
    with pytest.raises(ValueError, match="channels must be"):
        se.build_embedding_network(channels=2)
