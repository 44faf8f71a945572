"""Pseudo-label selection and self-training rounds (methods.self_training)."""

import numpy as np
import pytest

from course_lib.core import training
from course_lib.core.cnn import build_cnn
from course_lib.core.evaluation import accuracy
from course_lib.methods import self_training


def _probabilities(n=300, k=10, seed=0, favour=None):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, (n, k))
    if favour is not None:
        logits[:, favour] += 3  # one class the model over-predicts
    p = np.exp(logits)
    return p / p.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("k", [1, 5, 17, 1000])
def test_class_balanced_selection_keeps_the_k_most_confident_of_each_class(k):
    p = _probabilities(favour=3)
    index = self_training.select_class_balanced(p, k)
    counts = np.bincount(p[index].argmax(axis=1), minlength=10)
    predicted = p.argmax(axis=1)
    assert np.array_equal(index, np.sort(index)) and len(np.unique(index)) == len(index)
    for c in range(10):
        rows = np.flatnonzero(predicted == c)
        assert counts[c] == min(k, len(rows))
        kept, dropped = np.intersect1d(rows, index), np.setdiff1d(rows, index)
        if len(kept) and len(dropped):
            assert p[kept].max(axis=1).min() >= p[dropped].max(axis=1).max()


def test_threshold_selection_lets_a_favoured_class_take_over():
    p = _probabilities(favour=3)
    index = self_training.select_by_threshold(p, 0.9)
    assert np.all(p[index].max(axis=1) >= 0.9)
    assert np.all(np.delete(p, index, axis=0).max(axis=1) < 0.9)
    counts = np.bincount(p[index].argmax(axis=1), minlength=10)
    assert counts.argmax() == 3 and counts[3] > counts.sum() / 2


def test_pseudo_labels_are_the_predicted_classes_of_the_kept_rows():
    p = np.array([[0.95, 0.05], [0.6, 0.4], [0.1, 0.9], [0.3, 0.7]])
    index, labels = self_training.pseudo_labels(p, "threshold", threshold=0.9)
    assert index.tolist() == [0, 2] and labels.tolist() == [0, 1]
    index, labels = self_training.pseudo_labels(p, "balanced", k=1)
    assert index.tolist() == [0, 2] and labels.tolist() == [0, 1]


@pytest.mark.parametrize("call, message", [
    (lambda p: self_training.select_by_threshold(p, 1.5), "threshold must be between 0 and 1"),
    (lambda p: self_training.select_class_balanced(p, 0), "k must be a whole number"),
    (lambda p: self_training.select_class_balanced(p[:, :1], 3), "n_classes >= 2"),
    (lambda p: self_training.select_by_threshold(np.where(p > 0.5, np.nan, p), 0.5), "NaN"),
    (lambda p: self_training.pseudo_labels(p, "top"), "unknown selection"),
    (lambda p: self_training.pseudo_labels(p, "balanced"), "needs k"),
    (lambda p: self_training.balanced_schedule(100, 10, (0.5, 1.5)), "between 0 and 1"),
    (lambda p: self_training.balanced_schedule(100, 10, ()), "fractions is empty"),
])
def test_selection_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call(_probabilities())


def test_balanced_schedule_grows():
    assert self_training.balanced_schedule(3500, 10, (0.2, 0.4, 0.6)) == [70, 140, 210]


def _toy_task(n, seed):
    """Two classes a CNN separates easily: bright top half vs bright bottom half."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.random((n, 28, 28, 1)).astype("float32") * 0.3
    for i, label in enumerate(y):
        x[i, :14] += 0.7 * (label == 0)
        x[i, 14:] += 0.7 * (label == 1)
    return x, y


@pytest.fixture(scope="module")
def weak_model():
    """A CNN trained on 12 labelled toy images for one epoch: a weak teacher that calls every
    image class 0 (its BatchNorm statistics have not caught up with three steps)."""
    model = build_cnn(n_classes=2, seed=0)
    x, y = _toy_task(12, seed=5)
    training.fit(model, (x, y), epochs=1, batch_size=4, seed=0)
    return model


def test_self_train_trains_through_fit_records_rounds_and_leaves_the_start_unchanged(weak_model, monkeypatch):
    x, y = _toy_task(160, 0)
    x_test, y_test = _toy_task(60, 1)
    weights = [w.copy() for w in weak_model.get_weights()]
    calls = []
    real_fit = training.fit
    monkeypatch.setattr(training, "fit", lambda *a, **k: calls.append(k) or real_fit(*a, **k))
    final, history = self_training.self_train(
        weak_model, x, rounds=2, fractions=(0.2, 0.5), epochs=1, progress=None,
        watch=lambda model: {"test_accuracy": accuracy(model, x_test, y_test)})
    assert len(calls) == 2 and [c["seed"] for c in calls] == [1, 2]
    assert [h.round for h in history] == [0, 1, 2]
    # k = 16, then 40 per class. Round 1's teacher predicts one class only: the cap keeps 16 of
    # it. The student (with AdaBN) tells both apart, so round 2 keeps 40 of each.
    assert [h.count for h in history] == [0, 16, 80]
    assert [h.per_class(2).tolist() for h in history[1:]] == [[16, 0], [40, 40]]
    assert history[1].precision(y) == 1.0 and history[2].precision(y) == 1.0
    assert all(0.5 < h.confidence <= 1.0 for h in history[1:])
    assert [h.watched["test_accuracy"] for h in history] == [0.55, 1.0, 1.0]
    for a, b in zip(weak_model.get_weights(), weights):
        np.testing.assert_array_equal(a, b)
    assert final is not weak_model
    table = self_training.history_table(history, y)
    assert list(table.columns) == ["round", "pseudo_labels", "claimed_precision", "precision",
                                   "test_accuracy"]
    assert table["pseudo_labels"].tolist() == [0, 16, 80]


def test_self_train_with_a_threshold_that_nothing_passes_trains_nothing(weak_model):
    x, _ = _toy_task(40, 2)
    final, history = self_training.self_train(weak_model, x, rounds=1, selection="threshold",
                                              threshold=1.0, progress=None)
    assert history[1].count == 0 and np.isnan(history[1].confidence)
    for a, b in zip(final.get_weights(), weak_model.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kwargs, message", [
    ({"rounds": 0}, "rounds"), ({"rounds": 2, "fractions": (0.5,)}, "one per round"),
    ({"selection": "top"}, "unknown selection"),
])
def test_self_train_bad_arguments(kwargs, message):
    x, _ = _toy_task(20, 0)
    with pytest.raises(ValueError, match=message):
        self_training.self_train(build_cnn(n_classes=2), x, progress=None, **kwargs)


def test_self_train_refuses_0_255_images():
    x, _ = _toy_task(20, 0)
    with pytest.raises(ValueError, match="divide by 255"):
        self_training.self_train(build_cnn(n_classes=2), x * 255, progress=None)


def test_self_train_gives_the_same_student_whatever_ran_before(weak_model):
    """The student's dropout layer draws its seed when it is made: self_train seeds before."""
    import random

    x, _ = _toy_task(60, 3)
    first, _ = self_training.self_train(weak_model, x, rounds=1, fractions=(0.5,), epochs=1, progress=None)
    random.random()  # any draw in between (e.g. another model built) must not change the result
    second, _ = self_training.self_train(weak_model, x, rounds=1, fractions=(0.5,), epochs=1, progress=None)
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)
