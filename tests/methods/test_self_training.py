"""Pseudo-label selection, self-training rounds and chapter 04's exercise checks."""

import keras
import numpy as np
import pytest

from course_lib import models, self_training
from course_lib.exercises import self_training as exercises


def _probabilities(n=300, k=10, seed=0, favour=None):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, (n, k))
    if favour is not None:
        logits[:, favour] += 3  # one class the model over-predicts
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("k", [1, 5, 17, 1000])
def test_class_balanced_selection_never_exceeds_k_per_class(k):
    p = _probabilities(favour=3)
    index = self_training.select_class_balanced(p, k)
    counts = np.bincount(p[index].argmax(axis=1), minlength=10)
    assert counts.max() <= k
    assert len(np.unique(index)) == len(index)
    predicted = p.argmax(axis=1)
    for c in range(10):  # the kept ones are the most confident of their class
        rows = np.flatnonzero(predicted == c)
        assert counts[c] == min(k, len(rows))
        kept = np.intersect1d(rows, index)
        dropped = np.setdiff1d(rows, index)
        if len(kept) and len(dropped):
            assert p[kept].max(axis=1).min() >= p[dropped].max(axis=1).max()


def test_threshold_selection_lets_a_favoured_class_take_over():
    p = _probabilities(favour=3)
    index = self_training.select_by_threshold(p, 0.9)
    assert np.all(p[index].max(axis=1) >= 0.9)
    assert np.all(np.delete(p, index, axis=0).max(axis=1) < 0.9)
    counts = np.bincount(p[index].argmax(axis=1), minlength=10)
    assert counts.argmax() == 3 and counts[3] > counts.sum() / 2


@pytest.mark.parametrize("call, message", [
    (lambda p: self_training.select_by_threshold(p, 1.5), "threshold"),
    (lambda p: self_training.select_class_balanced(p, 0), "k must"),
    (lambda p: self_training.select_class_balanced(p[:, :1], 3), "n_classes"),
    (lambda p: self_training.pseudo_labels(p, "top"), "unknown selection"),
    (lambda p: self_training.pseudo_labels(p, "balanced"), "needs k"),
    (lambda p: self_training.balanced_schedule(100, 10, (0.5, 1.5)), "fractions"),
])
def test_selection_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call(_probabilities())


def test_balanced_schedule_grows():
    assert self_training.balanced_schedule(4000, 10, (0.2, 0.4, 0.6)) == [80, 160, 240]


def _toy_task(n, seed):
    """Two classes a CNN separates easily: bright top half vs bright bottom half."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.random((n, 28, 28, 1)).astype("float32") * 0.3
    for i, label in enumerate(y):
        x[i, :14] += 0.7 * (label == 0)
        x[i, 14:] += 0.7 * (label == 1)
    return x, y


def test_self_train_records_each_round_and_leaves_the_start_unchanged():
    keras.utils.set_random_seed(0)
    model = models.build_cnn(n_classes=2)
    x, y = _toy_task(120, 0)
    weights = [w.copy() for w in model.get_weights()]
    x_eval, y_eval = _toy_task(40, 1)
    final, history = self_training.self_train(model, x, x_eval, y_eval, y_target=y, rounds=2,
                                              fractions=(0.2, 0.5), epochs=1, progress=None)
    assert [h.round for h in history] == [0, 1, 2]
    assert [h.pseudo_labels for h in history[1:]] <= [24, 60]
    assert all(sum(h.per_class) == h.pseudo_labels for h in history)
    assert all(max(h.per_class) <= k for h, k in zip(history[1:], (12, 30)))
    assert all(0 <= h.correct <= h.pseudo_labels for h in history)
    assert all(0.0 <= h.target_accuracy <= 1.0 for h in history)
    for a, b in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(a, b)
    assert final is not model
    table = self_training.history_table(history)
    assert list(table.columns) == ["round", "pseudo_labels", "correct", "precision", "target_accuracy"]


def test_self_train_bad_arguments():
    model = models.build_cnn(n_classes=2)
    x, y = _toy_task(20, 0)
    with pytest.raises(ValueError, match="rounds"):
        self_training.self_train(model, x, x, y, rounds=0)
    with pytest.raises(ValueError, match="one per round"):
        self_training.self_train(model, x, x, y, rounds=2, fractions=(0.5,))
    with pytest.raises(ValueError, match="y_target"):
        self_training.self_train(model, x, x, y, y_target=y[:5])
    with pytest.raises(ValueError, match="unknown selection"):
        self_training.self_train(model, x, x, y, selection="top")


def test_exercise_threshold_check(capsys):
    p = _probabilities(seed=1)
    labels = p.argmax(axis=1).copy()
    low = p.max(axis=1) < 0.7
    labels[low] = (labels[low] + 1) % 10  # only the confident ones are right
    best = exercises.lowest_threshold(p, labels)
    assert best is not None and 0.6 <= best <= 0.75  # 90 % right needs the confident ones
    assert exercises.check_threshold(best, p, labels) is True
    assert exercises.check_threshold(0.99, p, labels) is False
    assert exercises.check_threshold(None, p, labels) is False
    assert exercises.check_threshold("high", p, labels) is False
    assert "Not yet" in capsys.readouterr().out


def test_exercise_im_loss_check():
    def right(p):
        per_image = -np.sum(p * np.log(p), axis=1).mean()
        mean = p.mean(axis=0)
        return per_image + np.sum(mean * np.log(mean))

    assert exercises.check_im_loss(right) is True
    assert exercises.check_im_loss(lambda p: -np.sum(p * np.log(p), axis=1).mean()) is False
    assert exercises.check_im_loss(lambda p: 1 / 0) is False
    assert exercises.check_im_loss(None) is False
