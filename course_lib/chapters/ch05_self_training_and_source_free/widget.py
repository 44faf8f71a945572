"""The confidence-threshold widget: slide the threshold, see how many pseudo-labels pass, what
the model claims about them and, in the course only, how many are really right.

``ThresholdState`` holds the logic (tests drive it without a browser);
``confidence_threshold_widget`` wires a slider, a text line and two plots to it. A real
project sees the model's confidence (what passes, what the model claims); it cannot see
which pseudo-labels are right. The course can, because it kept the target labels aside:
the widget shows both, and says which is which.

CSS classes, for browser tests: ``course-confidence-threshold`` (the whole widget),
``course-threshold-slider`` (the ``FloatSlider``), ``course-threshold-text`` (the ``HTML``
line: ``threshold 0.90: 1,508 of 3,500 pass (43 %), ...``), ``course-threshold-error`` (added
to the line while it shows an error).
"""

import numpy as np

from course_lib import publishing
from course_lib.core import checks
from course_lib.core.language import _
from course_lib.core.plots import FONT_SIZE, PALETTE, style_axes
from course_lib.methods.self_training import check_probabilities, select_by_threshold

#: The thresholds the widget's curve is drawn at.
CURVE_THRESHOLDS = np.round(np.arange(0.10, 0.995, 0.01), 2)
#: The slider's range and step.
SLIDER_MIN, SLIDER_MAX, SLIDER_STEP = 0.0, 0.99, 0.01
#: Colours: right / claimed in blue, wrong / coverage in orange (never a red/green pair).
RIGHT, WRONG, CLAIMED, COVERAGE = PALETTE[0], PALETTE[1], PALETTE[2], PALETTE[7]


class ThresholdState:
    """Pseudo-labels that pass a confidence threshold; what the model claims; what is true.

    Args:
        probabilities: (n, n_classes) the model's softmax outputs on unlabelled target images.
        labels: (n,) their true labels: known in the course (never in a real project), so
            that we can see how good the pseudo-labels are.
        threshold: the starting threshold, in [0, 1].
    """

    def __init__(self, probabilities, labels, threshold=0.9):
        self.probabilities = check_probabilities(probabilities)
        self.labels = checks.labels(labels, self.probabilities.shape[1], "labels")
        checks.same_length(probabilities=self.probabilities, labels=self.labels)
        self.predicted = self.probabilities.argmax(axis=1)
        self.confidence = self.probabilities.max(axis=1)
        self.threshold = None
        self.set_threshold(threshold)

    def set_threshold(self, threshold):
        """Move the threshold (in [0, 1]); returns ``summary()``."""
        self.threshold = checks.share(threshold, "threshold")
        return self.summary()

    def summary(self, threshold=None):
        """What passes ``threshold`` (default: the current one).

        Returns:
            a dict: ``threshold``; ``passed`` and ``coverage`` (passed / n);
            ``claimed_precision`` (the mean confidence of those passing: what the model
            claims, visible without labels); ``correct`` and ``precision`` (correct /
            passed: the truth, from the hidden labels; nan when nothing passes);
            ``per_class`` and ``right_per_class`` (passing and right pseudo-labels per class).
        """
        threshold = self.threshold if threshold is None else threshold
        index = select_by_threshold(self.probabilities, threshold)
        n_classes = self.probabilities.shape[1]
        predicted = self.predicted[index]
        right = predicted == self.labels[index]
        passed = len(index)
        return {
            "threshold": float(threshold),
            "passed": passed,
            "coverage": passed / len(self.labels),
            "claimed_precision": float(self.confidence[index].mean()) if passed else float("nan"),
            "correct": int(right.sum()),
            "precision": float(right.mean()) if passed else float("nan"),
            "per_class": np.bincount(predicted, minlength=n_classes),
            "right_per_class": np.bincount(predicted[right], minlength=n_classes),
        }

    def counts(self):
        """What passes at the threshold, e.g. ``1,508 of 3,500 pass (43 %), 1,356 right (90 %); the
        model claims 97 %``."""
        s = self.summary()
        if not s["passed"]:
            return _("0 of {total:,} pass: none to check").format(total=len(self.labels))
        return _("{passed:,} of {total:,} pass ({coverage:.0%}), {correct:,} right ({precision:.0%}); "
                 "the model claims {claimed:.0%}").format(
                     passed=s["passed"], total=len(self.labels), coverage=s["coverage"], correct=s["correct"],
                     precision=s["precision"], claimed=s["claimed_precision"])

    def text(self):
        """One line: the threshold and ``counts()``, e.g. ``threshold 0.90: 1,508 of 3,500 pass ...``."""
        return _("threshold {threshold:.2f}: {counts}").format(threshold=self.threshold, counts=self.counts())

    def curve(self, thresholds=CURVE_THRESHOLDS):
        """Coverage, claimed precision and true precision at each threshold: a ``pandas.DataFrame``."""
        import pandas as pd

        keys = ("threshold", "passed", "coverage", "claimed_precision", "precision")
        return pd.DataFrame([{k: self.summary(t)[k] for k in keys} for t in thresholds])


def plot_state(state, axes=None, curve=None):
    """Two panels: passing pseudo-labels per class (right / wrong), and the curves over thresholds.

    Args:
        state: a ``ThresholdState``.
        axes: two matplotlib ``Axes``; new ones when None.
        curve: ``state.curve()``, to reuse (it does not depend on the current threshold).

    Returns:
        the two ``Axes``.
    """
    import matplotlib.pyplot as plt

    if axes is None:
        axes = plt.subplots(1, 2, figsize=(13, 4))[1]
    bars, lines = axes
    s = state.summary()
    classes = np.arange(len(s["per_class"]))
    bars.bar(classes, s["right_per_class"], color=RIGHT, label=_("right (only the course can tell)"))
    bars.bar(classes, s["per_class"] - s["right_per_class"], bottom=s["right_per_class"], color=WRONG,
             hatch="//", edgecolor="white", label=_("wrong (only the course can tell)"))
    bars.set_xticks(classes)
    bars.set_xlabel(_("pseudo-label (the predicted digit)"))
    bars.set_ylabel(_("target images passing"))
    bars.set_title(_("Pseudo-labels passing {threshold:.2f}, per digit").format(threshold=s["threshold"]))
    bars.legend(fontsize=FONT_SIZE - 3)
    curve = state.curve() if curve is None else curve
    lines.plot(curve["threshold"], curve["coverage"], color=COVERAGE, linestyle=":",
               label=_("share passing (visible)"))
    lines.plot(curve["threshold"], curve["claimed_precision"], color=CLAIMED, linestyle="--",
               label=_("precision the model claims (visible)"))
    lines.plot(curve["threshold"], curve["precision"], color=RIGHT, label=_("true precision (course only)"))
    lines.axvline(s["threshold"], color=WRONG, linewidth=2, label=_("your threshold"))
    lines.set_ylim(0, 1.02)
    lines.set_xlabel(_("confidence threshold"))
    lines.set_ylabel(_("share"))
    lines.set_title(_("Unlabelled target training images"))
    lines.legend(fontsize=FONT_SIZE - 3, loc="lower left")
    for ax in axes:
        style_axes(ax)
    return axes


def confidence_threshold_widget(probabilities, labels, threshold=0.9):
    """A slider for the threshold over live plots of the passing pseudo-labels.

    Any error while redrawing is shown in the text line (with the class
    ``course-threshold-error``); the slider and the last good picture stay usable.

    Returns:
        the ``ipywidgets.VBox``; its ``.state`` is the ``ThresholdState``.
    """
    import html

    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    state = ThresholdState(probabilities, labels, threshold)
    curve = state.curve()
    slider = widgets.FloatSlider(value=state.threshold, min=SLIDER_MIN, max=SLIDER_MAX, step=SLIDER_STEP,
                                 description=_("threshold"), continuous_update=False,
                                 layout=widgets.Layout(width="60%"))
    slider.add_class("course-threshold-slider")
    line = widgets.HTML()
    line.add_class("course-threshold-text")
    out = widgets.Output()

    def draw(*change):
        try:
            state.set_threshold(slider.value)
            figure, axes = plt.subplots(1, 2, figsize=(13, 4))
            try:
                plot_state(state, axes, curve)
                figure.tight_layout()
                with out:
                    out.clear_output(wait=True)
                    display(figure)
            finally:
                plt.close(figure)
            line.value = html.escape(state.text())
            line.remove_class("course-threshold-error")
        except Exception as error:  # show any failure; the slider stays usable
            line.value = _("<b>Could not show threshold {threshold:.2f}</b>: {error}. Move the slider to "
                           "try again.").format(threshold=slider.value,
                                                error=f"{html.escape(type(error).__name__)}: "
                                                      f"{html.escape(str(error))}")
            line.add_class("course-threshold-error")

    slider.observe(draw, names="value")
    draw()
    box = widgets.VBox([slider, line, out])
    box.add_class("course-confidence-threshold")
    box.state = state
    # A static page has no kernel: the site shows a recorded session instead.
    return publishing.register(box, lambda notebook: publishing.record_confidence_threshold(
        box, plot_state, notebook=notebook))
