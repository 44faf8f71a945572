"""The confidence-threshold widget's state, and the widget built headless."""

import numpy as np
import pytest

from course_lib.widgets.confidence_threshold import ThresholdState, confidence_threshold_widget, plot_state

P = np.array([[0.95, 0.05], [0.80, 0.20], [0.30, 0.70], [0.02, 0.98], [0.55, 0.45]])
Y = np.array([0, 1, 1, 1, 0])


def test_state_counts_passing_and_correct_pseudo_labels():
    state = ThresholdState(P, Y, threshold=0.9)
    s = state.summary()
    assert (s["passed"], s["correct"]) == (2, 2) and s["precision"] == 1.0
    assert list(s["per_class"]) == [1, 1]
    s = state.set_threshold(0.6)
    assert (s["passed"], s["correct"]) == (4, 3) and s["coverage"] == 0.8
    s = state.set_threshold(0.0)
    assert (s["passed"], s["correct"]) == (5, 4)
    s = state.set_threshold(0.99)
    assert s["passed"] == 0 and np.isnan(s["precision"])
    assert "none to check" in state.text()
    assert "2 of 5 pass" in ThresholdState(P, Y, 0.9).text()


def test_curve_passes_fewer_as_the_threshold_rises():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(10) * 0.3, size=200)
    curve = ThresholdState(p, rng.integers(0, 10, 200)).curve()
    assert np.all(np.diff(curve["passed"]) <= 0)
    assert curve["passed"].iloc[0] > curve["passed"].iloc[-1]


@pytest.mark.parametrize("args, message", [
    ((P, Y, 1.2), "threshold"), ((P, Y[:3]), "labels"), ((P[0], Y), "probabilities"),
])
def test_state_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        ThresholdState(*args)


def test_widget_builds_headless_and_follows_the_slider():
    box = confidence_threshold_widget(P, Y, threshold=0.9)
    slider = box.children[0]
    slider.value = 0.6
    assert box.state.threshold == 0.6 and box.state.summary()["passed"] == 4
    ax = plot_state(box.state)
    assert "4 of 5 pass" in ax.get_title()
    line = box.children[1]
    assert "4 of 5 pass" in line.value
