"""The confidence-threshold widget: slide the threshold, see how many pseudo-labels pass and how many are right.

``ThresholdState`` holds the logic (tests drive it without a browser);
``confidence_threshold_widget`` wires a slider, a text line and a bar chart to it.

CSS classes, for browser tests: ``course-confidence-threshold`` (the whole widget),
``course-threshold-slider`` (the ``FloatSlider``), ``course-threshold-text`` (the
``HTML`` line: how many pass and how many are right).
"""

import numpy as np

from course_lib import publishing
from course_lib.self_training import select_by_threshold


class ThresholdState:
    """Pseudo-labels that pass a confidence threshold, and how many of them are right.

    Args:
        probabilities: (n, n_classes) the model's softmax outputs on unlabelled target images.
        labels: (n,) the true labels, known in the course (never in a real project), so
            that we can see how good the pseudo-labels are.
        threshold: the starting threshold, in [0, 1].
    """

    def __init__(self, probabilities, labels, threshold=0.9):
        p = np.asarray(probabilities)
        if p.ndim != 2 or p.shape[0] == 0:
            raise ValueError(f"probabilities must be a non-empty (n, n_classes) array, got shape {p.shape}")
        labels = np.asarray(labels)
        if labels.shape != (p.shape[0],):
            raise ValueError(f"labels must have shape ({p.shape[0]},) to match probabilities, got {labels.shape}")
        self.probabilities = p
        self.labels = labels
        self.predicted = p.argmax(axis=1)
        self.threshold = 0.0
        self.set_threshold(threshold)

    def set_threshold(self, threshold):
        """Move the threshold (in [0, 1]); returns :meth:`summary`."""
        if not 0.0 <= float(threshold) <= 1.0:
            raise ValueError(f"threshold must be between 0 and 1, got {threshold}")
        self.threshold = float(threshold)
        return self.summary()

    def summary(self):
        """``{"threshold", "passed", "correct", "precision", "coverage", "per_class"}``.

        ``precision`` is correct / passed (nan when nothing passes), ``coverage`` passed / n,
        ``per_class`` the number of passing pseudo-labels of each predicted class.
        """
        index = select_by_threshold(self.probabilities, self.threshold)
        passed = len(index)
        correct = int(np.sum(self.predicted[index] == self.labels[index]))
        n_classes = self.probabilities.shape[1]
        return {
            "threshold": self.threshold,
            "passed": passed,
            "correct": correct,
            "precision": correct / passed if passed else float("nan"),
            "coverage": passed / len(self.labels),
            "per_class": np.bincount(self.predicted[index], minlength=n_classes),
        }

    def text(self):
        """One line for the widget, e.g. ``threshold 0.90: 1,508 of 4,000 pass, 1,356 right (90 %)``."""
        s = self.summary()
        right = f"{s['correct']:,} right ({s['precision']:.0%})" if s["passed"] else "none to check"
        return (f"threshold {s['threshold']:.2f}: {s['passed']:,} of {len(self.labels):,} pass "
                f"({s['coverage']:.0%}), {right}")

    def curve(self, thresholds=None):
        """Passed count and precision for each threshold: a ``pandas.DataFrame``."""
        import pandas as pd

        thresholds = np.linspace(0.1, 0.99, 90) if thresholds is None else np.asarray(thresholds)
        rows = []
        for t in thresholds:
            s = ThresholdState(self.probabilities, self.labels, t).summary()
            rows.append({"threshold": float(t), "passed": s["passed"], "correct": s["correct"],
                         "precision": s["precision"]})
        return pd.DataFrame(rows)


def plot_state(state, ax=None):
    """Bars: passing pseudo-labels per predicted class, the right ones darker."""
    import matplotlib.pyplot as plt

    from course_lib.plots import FONT_SIZE

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    s = state.summary()
    index = select_by_threshold(state.probabilities, state.threshold)
    n_classes = state.probabilities.shape[1]
    right = state.predicted[index][state.predicted[index] == state.labels[index]]
    right_counts = np.bincount(right, minlength=n_classes)
    classes = np.arange(n_classes)
    ax.bar(classes, s["per_class"], color="C3", alpha=0.5, label="passed, wrong")
    ax.bar(classes, right_counts, color="C2", label="passed, right")
    ax.set_xticks(classes)
    ax.set_xlabel("pseudo-label (predicted digit)", fontsize=FONT_SIZE)
    ax.set_ylabel("images", fontsize=FONT_SIZE)
    ax.set_title(state.text(), fontsize=FONT_SIZE)
    ax.tick_params(labelsize=FONT_SIZE)
    ax.legend(fontsize=FONT_SIZE - 2)
    return ax


def confidence_threshold_widget(probabilities, labels, threshold=0.9):
    """A slider for the threshold over a live bar chart of the passing pseudo-labels.

    Returns:
        the ``ipywidgets.VBox``; its ``.state`` is the :class:`ThresholdState`.
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    state = ThresholdState(probabilities, labels, threshold)
    slider = widgets.FloatSlider(value=state.threshold, min=0.0, max=0.99, step=0.01,
                                 description="threshold", continuous_update=False,
                                 layout=widgets.Layout(width="60%"))
    slider.add_class("course-threshold-slider")
    line = widgets.HTML()
    line.add_class("course-threshold-text")
    out = widgets.Output()

    def draw(*_):
        state.set_threshold(slider.value)
        line.value = state.text()
        with out:
            out.clear_output(wait=True)
            fig, ax = plt.subplots(figsize=(7, 3.5))
            plot_state(state, ax)
            fig.tight_layout()
            display(fig)
            plt.close(fig)

    slider.observe(draw, names="value")
    draw()
    box = widgets.VBox([slider, line, out])
    box.add_class("course-confidence-threshold")
    box.state = state
    if publishing.building_site():  # a static page has no kernel: show a recorded session
        return publishing.record_confidence_threshold(box, plot_state)
    return box
