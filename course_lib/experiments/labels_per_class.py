"""Accuracy against the number of target labels per class: scratch vs head-only vs full fine-tuning."""

from course_lib.experiments import Measured
from course_lib.fine_tuning import load_task, run_strategy
from course_lib.models import source_model

METRIC = "target_accuracy"
DESCRIPTION = ("mnist -> mnist_m with 3, 10 or 30 labels per class: training from scratch, "
               "fine-tuning the head only, fine-tuning the whole model")
BUDGETS = (3, 10, 30)
STRATEGIES = ("scratch", "head", "full")


def arm(strategy, n_per_class):
    """The arm's name, e.g. ``"full@10"``."""
    return f"{strategy}@{n_per_class}"


def run(seed, budgets=BUDGETS, strategies=STRATEGIES):
    """Train each strategy on each label budget (the same step budget for all).

    Returns:
        ``{"<strategy>@<labels per class>": Measured(mnist_m test accuracy, seconds)}``.
    """
    source = source_model(channels=1, seed=seed, progress=None)
    measured = {}
    for n in budgets:
        task = load_task(n_per_class=n, seed=seed)
        for strategy in strategies:
            r = run_strategy(strategy, source, task["target_train"], task["target_test"],
                             task["source_test"], seed=seed)
            measured[arm(strategy, n)] = Measured(r["target_accuracy"], r["seconds"])
    return measured


def curve_plot(measured, ax=None):
    """Target accuracy against labels per class, one line per strategy; returns the ``Axes``.

    Args:
        measured: ``{"<strategy>@<n>": Measured or float}`` (e.g. from ``run``).
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullLocator

    from course_lib.plots import FONT_SIZE, style_axes

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    lines = {}
    for name, m in measured.items():
        strategy, n = name.split("@")
        lines.setdefault(strategy, []).append((int(n), getattr(m, "value", m)))
    for strategy, points in lines.items():
        points.sort()
        ax.plot([p[0] for p in points], [p[1] for p in points], "-o", linewidth=2.5,
                markersize=8, label=strategy)
    ax.set_xscale("log")
    ticks = sorted({p[0] for points in lines.values() for p in points})
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("labelled target images per class")
    ax.set_ylabel("mnist_m test accuracy")
    ax.legend(fontsize=FONT_SIZE - 1)
    style_axes(ax)
    return ax
