"""Chapter 02's figures: the three freezing strategies as a picture, results over seeds,
validation curves of a rate choice, accuracy against label budget."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import NullLocator

from course_lib.core.cnn import BLOCKS
from course_lib.core.language import N_, _
from course_lib.core.plots import BLOCK_LABELS, FONT_SIZE, PALETTE, block_diagram, style_axes

DIAGRAM_STRATEGIES = {"head": N_("head only"), "top": N_("top blocks"), "full": N_("whole model")}


def strategy_diagram(trainable_blocks, parameters=None):
    """The freezing strategies side by side: each a stack of the CNN's blocks, input at the bottom.

    Args:
        trainable_blocks: ``{strategy: blocks that train (None: all)}``, e.g.
            ``fine_tuning.STRATEGIES``.
        parameters: optional ``{strategy: (trainable, total)}`` parameter counts to print
            under each stack.

    Returns:
        the matplotlib ``Figure`` (``plots.block_diagram``): each block says "trains" or "frozen".
    """
    if not trainable_blocks:
        raise ValueError("trainable_blocks is empty; pass {strategy: blocks or None}")
    columns, notes = {}, {}
    for strategy, blocks in trainable_blocks.items():
        title = f"{strategy}: {_(DIAGRAM_STRATEGIES.get(strategy, strategy))}"
        columns[title] = [(BLOCK_LABELS[block], "trains" if blocks is None or block in blocks else "frozen")
                          for block in BLOCKS]
        if parameters and strategy in parameters:
            trainable, total = parameters[strategy]
            notes[title] = _("trains {trainable:,} of {total:,} parameters").format(trainable=trainable, total=total)
    return block_diagram(columns, notes)


def seed_bars(report, arms, labels=None, ylabel=N_("test accuracy"), title=None, ax=None):
    """One bar per arm at its median over the report's seeds, each seed a dot on it.

    Args:
        report: an ``experiments.Report`` (e.g. ``results.load(name)``).
        arms: the arms to show, in order.
        labels: optional names to print under the bars (default: the arms).
        ylabel, title: shown through ``_()``, in the current language when the catalogue has them.

    Returns:
        the matplotlib ``Axes``.
    """
    arms = list(arms)
    if not arms:
        raise ValueError("arms is empty; name the arms to show")
    labels = list(labels or arms)
    if ax is None:
        ax = plt.subplots(figsize=(1.5 * len(arms) + 2, 4))[1]
    for i, arm in enumerate(arms):
        values = report.values(arm)
        median = float(np.median(values))
        ax.bar(i, median, color=PALETTE[i % len(PALETTE)], alpha=0.85)
        ax.plot(np.full(len(values), i) + np.linspace(-0.2, 0.2, len(values)), values, "o",
                color="black", markersize=4)
        ax.text(i, max(values) + 0.02, f"{median:.2f}", ha="center", va="bottom", fontsize=FONT_SIZE - 1)
    ax.set_xticks(range(len(arms)), labels)
    ax.set_ylabel(_(ylabel))
    ax.set_ylim(0, 1.05)
    ax.set_title(_(title) if title else _("median over seeds {seeds} (dots: each seed)").format(seeds=report.seeds))
    style_axes(ax)
    return ax


def rate_curves(selection, ax=None, title=N_("choosing the learning rate on the validation split")):
    """Validation accuracy against steps, one line per learning rate tried; the kept rate bold.

    Args:
        selection: a ``fine_tuning.Selection``.

    Returns:
        the matplotlib ``Axes``. A star marks the kept point of the kept rate.
    """
    if ax is None:
        ax = plt.subplots(figsize=(7, 4))[1]
    for i, (rate, run) in enumerate(selection.runs.items()):
        kept = rate == selection.learning_rate
        ax.plot(run["steps"], run["val_accuracy"], "-o", color=PALETTE[i % len(PALETTE)],
                linewidth=3 if kept else 1.2, label=(_("rate {rate:g} (kept)") if kept else _("rate {rate:g}")).format(rate=rate))
        if kept:
            ax.plot(run["best_step"], run["best_val_accuracy"], "*", color="black", markersize=16)
    ax.set_xlabel(_("gradient steps"))
    ax.set_ylabel(_("validation accuracy"))
    ax.set_title(_(title))
    ax.legend(fontsize=FONT_SIZE - 2, loc="lower right")
    style_axes(ax)
    return ax


def budget_curve(report, ax=None, ylabel=N_("mnist_m test accuracy")):
    """Test accuracy against labelled images per class, one line per strategy the report has:
    the median over seeds, and the range.

    Args:
        report: the ``labels_per_class`` report; its arms are the strategies, each measured at
            every budget it has (the field ``labels_per_class``).

    Returns:
        the matplotlib ``Axes``.
    """
    if ax is None:
        ax = plt.subplots(figsize=(7, 4))[1]
    budgets = report.distinct("labels_per_class")
    for i, strategy in enumerate(report.distinct("arm")):
        values = np.array([report.values(strategy, labels_per_class=n) for n in budgets])
        color = PALETTE[i % len(PALETTE)]
        ax.plot(budgets, np.median(values, axis=1), "-o", color=color, linewidth=2.5,
                markersize=8, label=strategy)
        ax.fill_between(budgets, values.min(axis=1), values.max(axis=1), color=color, alpha=0.2)
    ax.set_xscale("log")
    ax.set_xticks(budgets, [str(b) for b in budgets])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel(_("labelled target images per class (half of them validate)"))
    ax.set_ylabel(_(ylabel))
    ax.set_title(_("median over seeds {seeds}; band: lowest to highest").format(seeds=report.seeds))
    ax.legend(fontsize=FONT_SIZE - 1)
    style_axes(ax)
    return ax
