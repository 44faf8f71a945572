"""Accuracy against the number of target labels per class: scratch vs head-only vs full fine-tuning.

The registered experiment is ``mnist -> mnist_m``; ``run(..., target="digits")`` measures the
same curve on another target domain (chapter 05's ``label_budget`` uses both).
"""

from course_lib.experiments import Measured
from course_lib.fine_tuning import DEFAULT_STEPS, load_task, run_strategy
from course_lib.models import source_model

METRIC = "target_accuracy"
DESCRIPTION = ("mnist -> mnist_m with 3, 10 or 30 labels per class: training from scratch, "
               "fine-tuning the head only, fine-tuning the whole model")
BUDGETS = (3, 10, 30)
STRATEGIES = ("scratch", "head", "full")
TARGETS = ("mnist_m", "digits")


def arm(strategy, n_per_class):
    """The arm's name, e.g. ``"full@10"``."""
    return f"{strategy}@{n_per_class}"


def target_task(target="mnist_m", n_per_class=10, seed=0):
    """The fine-tuning task for the grey ``mnist`` source model on ``target``.

    Returns:
        a dict of ``(x, y)`` pairs as ``fine_tuning.load_task`` gives: ``target_train``
        (``n_per_class`` labelled images per digit of the target's train split),
        ``target_test`` (the target's whole test split), ``source_test`` (``mnist`` test).

    Raises:
        ValueError: an unknown target, or more labels per class than its train split has.
    """
    from course_lib.data import few_shot, load_domain

    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; allowed: {', '.join(TARGETS)}")
    if target == "mnist_m":
        return load_task(n_per_class=n_per_class, seed=seed)
    x, y = load_domain(target, "train", seed=seed)
    return {"target_train": few_shot(x, y, n_per_class, seed=seed),
            "target_test": load_domain(target, "test", seed=seed),
            "source_test": load_domain("mnist", "test", seed=seed)}


def run(seed, budgets=BUDGETS, strategies=STRATEGIES, target="mnist_m", steps=DEFAULT_STEPS,
        prefix="", progress=False):
    """Train each strategy on each label budget (the same step budget for all).

    Args:
        target: the target domain, ``"mnist_m"`` (far from the source) or ``"digits"`` (near).
        steps: gradient steps per run (``fine_tuning.DEFAULT_STEPS`` by default).
        prefix: put before every arm's name, e.g. ``"digits:"``.
        progress: show a progress line per run.

    Returns:
        ``{"<prefix><strategy>@<labels per class>": Measured(target test accuracy, seconds)}``.
    """
    source = source_model(channels=1, seed=seed, progress=None)
    measured = {}
    for n in budgets:
        task = target_task(target, n_per_class=n, seed=seed)
        for strategy in strategies:
            name = prefix + arm(strategy, n)
            r = run_strategy(strategy, source, task["target_train"], task["target_test"],
                             task["source_test"], seed=seed, steps=steps,
                             progress=name if progress else None)
            measured[name] = Measured(r["target_accuracy"], r["seconds"])
    return measured


def curve_plot(measured, ax=None, title=None, ylabel="mnist_m test accuracy"):
    """Target accuracy against labels per class, one line per strategy; returns the ``Axes``.

    Args:
        measured: ``{"<strategy>@<n>": Measured or float}`` (e.g. from ``run``).
        ylabel: the y axis label (the target's test accuracy).
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullLocator

    from course_lib.plots import FONT_SIZE, style_axes

    if not measured:
        raise ValueError("measured is empty; pass {'<strategy>@<n>': accuracy, ...}")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    lines = {}
    for name, m in measured.items():
        strategy, n = name.rsplit("@", 1)
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
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(fontsize=FONT_SIZE - 1)
    style_axes(ax)
    return ax
