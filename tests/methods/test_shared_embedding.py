"""The shared embedding: the pair losses, the pairing, and CCSA's train_step through fit."""

import numpy as np
import pytest

from course_lib.core.training import fit
from course_lib.methods import shared_embedding as se


def _losses(*args, **kwargs):
    return tuple(float(v) for v in se.alignment_losses(*args, **kwargs))


def test_losses_are_zero_when_classes_coincide_and_are_a_margin_apart():
    z_source = np.array([[0.0, 0.0], [2.0, 0.0]])
    assert _losses(z_source, [0, 1], z_source.copy(), [0, 1], margin=1.0) == pytest.approx((0.0, 0.0))


def test_alignment_is_the_squared_distance_of_same_class_pairs():
    align, separate = _losses([[0.0, 0.0]], [3], [[0.6, 0.8]], [3])
    assert align == pytest.approx(1.0)
    assert separate == 0.0  # no different-class pairs


def test_separation_is_positive_inside_the_margin_only():
    _, inside = _losses([[0.0, 0.0]], [0], [[0.5, 0.0]], [1], margin=1.0)
    assert inside == pytest.approx(0.25)  # (1 - 0.5)^2
    _, outside = _losses([[0.0, 0.0]], [0], [[1.5, 0.0]], [1], margin=1.0)
    assert outside == 0.0


def test_losses_match_a_direct_numpy_count():
    rng = np.random.default_rng(1)
    zs, zt = rng.normal(size=(7, 3)), rng.normal(size=(5, 3))
    ys, yt = rng.integers(0, 3, 7), rng.integers(0, 3, 5)
    d = np.sqrt(((zs[:, None] - zt[None]) ** 2).sum(-1))
    same = ys[:, None] == yt[None]
    align, separate = _losses(zs, ys, zt, yt, margin=2.0)
    assert align == pytest.approx((d[same] ** 2).mean(), rel=1e-4)
    assert separate == pytest.approx((np.maximum(0, 2.0 - d[~same]) ** 2).mean(), rel=1e-4)


def test_losses_reject_bad_input():
    with pytest.raises(ValueError, match="margin must be > 0"):
        se.alignment_losses([[0.0]], [0], [[0.0]], [0], margin=0)
    with pytest.raises(ValueError, match="same dim"):
        se.alignment_losses(np.zeros((2, 3)), [0, 1], np.zeros((2, 4)), [0, 1])
    with pytest.raises(ValueError, match="2-D"):
        se.alignment_losses(np.zeros(3), [0], np.zeros((1, 3)), [0])


def test_labelled_pairs_visit_every_source_row_and_every_target_row_in_rounds():
    x_source = np.zeros((10, 28, 28, 3), "float32")
    x_target = np.arange(4, dtype="float32")[:, None, None, None] * np.ones((4, 28, 28, 3), "float32") / 4
    x, y = se.labelled_pairs(x_source, np.arange(10) % 2, x_target, np.array([0, 1, 2, 3]), seed=0)
    assert set(x) == set(se.PAIR_KEYS) and len(y) == 10
    firsts = x["target_labels"][:4]
    assert sorted(firsts) == [0, 1, 2, 3]  # every target example once before any repeats
    np.testing.assert_allclose(x["target"][:, 0, 0, 0], x["target_labels"] / 4)  # labels stay with images


def test_labelled_pairs_reject_bad_input():
    x = np.zeros((4, 28, 28, 3), "float32")
    with pytest.raises(ValueError, match="same shape"):
        se.labelled_pairs(x, [0, 1, 2, 3], np.zeros((2, 28, 28, 1), "float32"), [0, 1])
    with pytest.raises(ValueError, match="same number of rows"):
        se.labelled_pairs(x, [0, 1], x, [0, 1, 2, 3])
    with pytest.raises(ValueError, match="need labelled source and target"):
        se.labelled_pairs(x, [0, 1, 2, 3], x[:0], [])


def test_ccsa_trains_through_fit_logs_its_losses_and_validates():
    rng = np.random.default_rng(0)
    x_source = rng.random((64, 28, 28, 3)).astype("float32")
    y_source = np.arange(64) % 4
    x_target, y_target = x_source[:8] * 0.5, y_source[:8]
    classifier = se.build_embedding_classifier(channels=3, n_classes=4, seed=0)
    model = se.CCSA(classifier, alpha=0.5)
    assert len(model.trainable_variables) == len(classifier.trainable_variables)
    before = [w.copy() for w in classifier.get_weights()]
    history = fit(model, se.labelled_pairs(x_source, y_source, x_target, y_target), epochs=2,
                  batch_size=16, validation_data=(x_target, y_target))
    logs = history.history
    assert {"loss", "task_loss", "align", "separate", "accuracy", "val_accuracy"} <= set(logs)
    assert not {"val_task_loss", "val_align", "val_separate"} & set(logs)  # no pairs to validate on
    assert len(logs["loss"]) == 2 and logs["align"][0] > 0
    assert any(not np.array_equal(a, b) for a, b in zip(before, classifier.get_weights()))
    same, different = se.pair_distances(classifier, x_source[:10], y_source[:10], x_target, y_target)
    assert len(same) + len(different) == 80 and np.all(same >= 0) and np.all(different <= 2.0 + 1e-5)


def test_the_embedding_is_unit_length():
    from course_lib.core.evaluation import layer_output

    classifier = se.build_embedding_classifier(channels=1, seed=0)
    z = layer_output(classifier, se.EMBEDDING_LAYER, np.random.default_rng(0).random((5, 28, 28, 1))
                     .astype("float32"))
    np.testing.assert_allclose(np.linalg.norm(z, axis=1), 1.0, rtol=1e-4)


def test_alpha_zero_is_cross_entropy_on_both_domains():
    rng = np.random.default_rng(0)
    x = rng.random((32, 28, 28, 1)).astype("float32")
    y = np.arange(32) % 2
    model = se.CCSA(se.build_embedding_classifier(channels=1, n_classes=2, seed=0), alpha=0.0)
    logs = fit(model, se.labelled_pairs(x, y, x[:8], y[:8]), epochs=1, batch_size=32).history
    assert logs["loss"][0] == pytest.approx(logs["task_loss"][0], rel=1e-5)


def test_ccsa_rejects_bad_input():
    classifier = se.build_embedding_classifier(channels=1, n_classes=2, seed=0)
    with pytest.raises(ValueError, match="alpha must be between 0 and 1"):
        se.CCSA(classifier, alpha=1.5)
    with pytest.raises(ValueError, match="no layer 'nope'"):
        se.CCSA(classifier, embedding_layer="nope")
    x = np.zeros((8, 28, 28, 1), "float32")
    with pytest.raises(ValueError, match="labelled_pairs"):
        fit(se.CCSA(classifier), ({"source": x, "target": x}, np.zeros(8, int)), epochs=1)
    with pytest.raises(ValueError, match="channels"):
        se.build_embedding_classifier(channels=2)
