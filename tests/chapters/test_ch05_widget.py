"""Chapter 05's confidence-threshold widget: its state, and the widget built headless."""

import numpy as np
import pytest

from course_lib.chapters.ch05_self_training_and_source_free import widget as threshold_widget
from course_lib.chapters.ch05_self_training_and_source_free.widget import (ThresholdState,
                                                                           confidence_threshold_widget,
                                                                           plot_state)

P = np.array([[0.95, 0.05], [0.80, 0.20], [0.30, 0.70], [0.02, 0.98], [0.55, 0.45]])
Y = np.array([0, 1, 1, 1, 0])


def test_state_counts_what_passes_what_the_model_claims_and_what_is_right():
    state = ThresholdState(P, Y, threshold=0.9)
    s = state.summary()
    assert (s["passed"], s["correct"]) == (2, 2) and s["precision"] == 1.0
    assert s["claimed_precision"] == pytest.approx((0.95 + 0.98) / 2)
    assert list(s["per_class"]) == [1, 1] and list(s["right_per_class"]) == [1, 1]
    s = state.set_threshold(0.6)
    assert (s["passed"], s["correct"]) == (4, 3) and s["coverage"] == 0.8
    assert list(s["per_class"]) == [2, 2] and list(s["right_per_class"]) == [1, 2]
    s = state.set_threshold(0.0)
    assert (s["passed"], s["correct"]) == (5, 4)
    s = state.set_threshold(0.99)
    assert s["passed"] == 0 and np.isnan(s["precision"]) and np.isnan(s["claimed_precision"])
    assert "none to check" in state.text()
    assert ThresholdState(P, Y, 0.6).text() == ("threshold 0.60: 4 of 5 pass (80%), 3 right (75%); "
                                                "the model claims 86%")  # (0.95 + 0.80 + 0.70 + 0.98) / 4


def test_summary_at_another_threshold_leaves_the_current_one():
    state = ThresholdState(P, Y, threshold=0.9)
    assert state.summary(0.6)["passed"] == 4 and state.threshold == 0.9


def test_curve_passes_fewer_as_the_threshold_rises_and_claims_more():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(10) * 0.3, size=200)
    curve = ThresholdState(p, rng.integers(0, 10, 200)).curve()
    assert np.all(np.diff(curve["passed"]) <= 0)
    assert curve["passed"].iloc[0] > curve["passed"].iloc[-1]
    passing = curve[curve["passed"] > 0]
    assert np.all(np.diff(passing["claimed_precision"]) >= -1e-12)
    assert np.all(passing["claimed_precision"] >= passing["threshold"])  # a mean of values >= t
    assert curve["precision"].dropna().mean() < 0.2  # random labels: the truth is near chance


@pytest.mark.parametrize("args, message", [
    ((P, Y, 1.2), "threshold"), ((P, Y[:3]), "same number of rows"), ((P[0], Y), "probabilities"),
    ((P, Y + 2), "label"),
])
def test_state_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        ThresholdState(*args)


def test_widget_builds_headless_and_follows_the_slider():
    box = confidence_threshold_widget(P, Y, threshold=0.9)
    assert "course-confidence-threshold" in box._dom_classes
    slider, line, _ = box.children
    assert "course-threshold-slider" in slider._dom_classes and "course-threshold-text" in line._dom_classes
    assert line.value.startswith("threshold 0.90: 2 of 5 pass")
    slider.value = 0.6
    assert box.state.threshold == 0.6 and box.state.summary()["passed"] == 4
    assert line.value.startswith("threshold 0.60: 4 of 5 pass")
    bars, lines = plot_state(box.state)
    assert "0.60" in bars.get_title() and lines.get_xlabel() == "confidence threshold"
    labels = [t.get_text() for t in lines.get_legend().get_texts()]
    assert "true precision (course only)" in labels and "precision the model claims (visible)" in labels


def test_widget_shows_any_failure_and_recovers(monkeypatch):
    box = confidence_threshold_widget(P, Y, threshold=0.9)
    slider, line, _ = box.children

    def broken(*args, **kwargs):
        raise RuntimeError("the plot broke")

    monkeypatch.setattr(threshold_widget, "plot_state", broken)
    slider.value = 0.5
    assert "RuntimeError" in line.value and "the plot broke" in line.value
    assert "course-threshold-error" in line._dom_classes
    monkeypatch.undo()
    slider.value = 0.6
    assert line.value.startswith("threshold 0.60: 4 of 5 pass")
    assert "course-threshold-error" not in line._dom_classes


def test_the_widget_uses_no_red_green_pair():
    assert {threshold_widget.RIGHT, threshold_widget.WRONG} == {"#0072B2", "#E69F00"}
