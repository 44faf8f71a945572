"""Chapter 00's exercise checks: the real answers pass, a shortcut is refused with a hint."""

import numpy as np

from course_lib.chapters.ch00_welcome import exercises
from course_lib.core.evaluation import per_class_accuracy


def right_precision(y_true, y_pred):
    return np.array([np.mean(y_true[y_pred == c] == c) if np.any(y_pred == c) else np.nan for c in range(10)])


def right_parity_gap(y_s, p_s, y_t, p_t):
    return 100 * (np.mean(y_s % 2 == p_s % 2) - np.mean(y_t % 2 == p_t % 2))


def test_the_real_answers_pass():
    assert exercises.check_precision_per_class(right_precision)
    assert exercises.check_parity_gap(right_parity_gap)


def test_precision_refuses_the_course_function_with_its_arguments_swapped(capsys):
    """Recall with y_true and y_pred swapped is precision: the course's function does the work."""
    assert exercises.check_precision_per_class(lambda y_true, y_pred: per_class_accuracy(y_pred, y_true)) is False
    out = capsys.readouterr().out
    assert "uses the course's own per_class_accuracy" in out and exercises.INSTEAD[1] in out


def test_precision_names_recall_and_the_parity_gap_names_the_digit_gap(capsys):
    def recall(y_true, y_pred):
        return np.array([np.mean(y_pred[y_true == c] == c) if np.any(y_true == c) else np.nan for c in range(10)])

    assert exercises.check_precision_per_class(recall) is False
    assert "you return each digit's recall" in capsys.readouterr().out
    assert exercises.check_parity_gap(lambda y_s, p_s, y_t, p_t: 100 * (np.mean(y_s == p_s) - np.mean(y_t == p_t))) is False
    assert "the gap of the digit task" in capsys.readouterr().out


def test_the_parity_gap_refuses_the_course_function(capsys):
    def through_recall(y_s, p_s, y_t, p_t):
        return 100 * (np.nanmean(per_class_accuracy(y_s % 2, p_s % 2, 2))
                      - np.nanmean(per_class_accuracy(y_t % 2, p_t % 2, 2)))

    assert exercises.check_parity_gap(through_recall) is False
    out = capsys.readouterr().out
    assert "uses the course's own per_class_accuracy" in out and exercises.INSTEAD[2] in out


def test_hints_exist_for_both_exercises(capsys):
    for n in (1, 2):
        exercises.show_hint(n)
    assert capsys.readouterr().out.count("Hint: ") == 2


def test_the_experiment_returns_the_series_of_its_results_file_in_its_order(monkeypatch):
    """The model and data stubbed out: only what the records are (arm, metric) is checked."""
    from course_lib import results
    from course_lib.chapters.ch00_welcome import experiments as chapter
    from course_lib.experiments import series_key

    monkeypatch.setattr(chapter, "source_model", lambda **kwargs: None)
    monkeypatch.setattr(chapter, "load_domain", lambda name, split, seed: (None, None))
    monkeypatch.setattr(chapter, "accuracy", lambda *args: 0.5)
    measured = chapter.domain_gap(0)
    assert [series_key(m.record(None)) for m in measured] == [
        series_key(s["record"]) for s in results.load("domain_gap").series()]
