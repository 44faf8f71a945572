"""Chapter 07's figures: label-budget curves, layer-transfer curves, the AnB / BnB diagram,
accuracy per class, overfitting curves.

The curves show a results file's median over seeds as a line and the range over seeds
(lowest to highest) as a band; this notebook's own run, one seed, as open markers on top.
Colours are the course palette (``core.plots.PALETTE``, colour-blind safe).
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle
from matplotlib.ticker import NullLocator

from course_lib.chapters.ch07_when_transfer_helps.experiments import KS, STRATEGIES, TARGETS
from course_lib.core.language import N_, _
from course_lib.core.plots import FONT_SIZE, learning_curves, style_axes
from course_lib.core.training import STEPS_PER_EPOCH
from course_lib.results.report import matches
from course_lib.methods.transferability import TRANSFER_BLOCKS

#: Where the diagram's networks come from, and their colours.
TRAINED_ON_A, TRAINED_ON_B, FRESH = "C0", "C1", "white"
#: Text colour on each box colour (white on dark blue, black elsewhere).
TEXT_ON = {TRAINED_ON_A: "white"}
#: The diagram's geometry: box size, the distance between columns, where titles go.
BOX_WIDTH, BOX_HEIGHT, COLUMN_STEP, TITLE_Y = 1.1, 0.8, 1.9, -0.6
STRATEGY_LABELS = {"scratch": N_("scratch"), "head": N_("head only (frozen features)"),
                   "full": N_("full fine-tuning")}
MODE_LABELS = {"frozen": N_("AnB: A's blocks frozen"), "fine-tuned": N_("AnB+: A's blocks fine-tuned"),
               "bnb": N_("BnB: B's own blocks frozen (control)")}
#: How far each target of ``TARGETS`` lies from the source, as a panel's title says it.
WHERE_LABELS = {"near": N_("near"), "far": N_("far")}
MODE_STYLES = {"frozen": ("C3", "o"), "fine-tuned": ("C2", "s"), "bnb": ("C7", "^")}
BAND_ALPHA = 0.2


def _band(ax, x, report, selections, colour, label, marker):
    """Median line and min-max band of the series ``selections`` pick (dicts of ``arm`` and
    fields, one per x) from ``report``, in its own metric."""
    ax.plot(x, [report.median(**s) for s in selections], "-", marker=marker, color=colour, linewidth=2.5,
            markersize=7, label=_(label))
    ax.fill_between(x, [min(report.values(**s)) for s in selections],
                    [max(report.values(**s)) for s in selections], color=colour, alpha=BAND_ALPHA, linewidth=0)


def _live_value(live, selection):
    """The value of the one measurement of ``live`` (``Measurements``) that ``selection`` picks, or
    None when it did not run."""
    found = [m.value for m in live if matches(m.record(live.metric), {"metric": live.metric, **selection})]
    return found[0] if len(found) == 1 else None


def _live(ax, x, live, selections, colour, marker):
    pairs = [(xi, value) for xi, s in zip(x, selections)
             if live is not None and (value := _live_value(live, s)) is not None]
    if pairs:
        ax.plot(*zip(*pairs), linestyle="none", marker=marker, markersize=12, markerfacecolor="none",
                markeredgecolor=colour, markeredgewidth=2)


def _seeds(report):
    if len(report.seeds) > 1:
        return _("seeds {first}-{last}").format(first=report.seeds[0], last=report.seeds[-1])
    return _("seed {seed}").format(seed=report.seeds[0])


def _legend_title(report):
    return _("median, band: {seeds}; open: this run").format(seeds=_seeds(report))


def budget_curves(report, live=None):
    """Target test accuracy against labels per class, one panel per target, a line per strategy.

    Args:
        report: the ``label_budget`` results (``course_lib.results.load("label_budget")``).
        live: optional ``Measurements`` of one run (``label_budget(...)``), drawn as open markers.

    Returns:
        the matplotlib ``Figure``.
    """
    budgets = sorted(report.distinct("labels_per_class"))
    fig, axes = plt.subplots(1, len(TARGETS), figsize=(13, 4.4), sharey=True)
    for ax, (where, target) in zip(axes, TARGETS.items()):
        for i, strategy in enumerate(STRATEGIES):
            selections = [{"arm": strategy, "domain": target, "labels_per_class": n} for n in budgets]
            _band(ax, budgets, report, selections, f"C{i}", STRATEGY_LABELS[strategy], "o")
            _live(ax, budgets, live, selections, f"C{i}", "o")
        ax.set_xscale("log")
        ax.set_xticks(budgets, [str(n) for n in budgets])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlabel(_("labelled target images per class"))
        ax.set_title(_("{where} target: {target}").format(where=_(WHERE_LABELS[where]), target=target))
        style_axes(ax)
    axes[0].set_ylabel(_("target test accuracy"))
    axes[0].legend(fontsize=FONT_SIZE - 2, loc="lower right", title=_legend_title(report),
                   title_fontsize=FONT_SIZE - 3)
    fig.tight_layout()
    return fig


def transfer_curves(report, live=None):
    """Task-B test accuracy against k, the blocks copied: AnB, AnB+ and BnB, all from scratch at k = 0.

    Args:
        report: the ``layer_transferability`` results; a way it lacks is not drawn.
        live: optional ``Measurements`` of one run (``layer_transferability(...)``), drawn as open markers.

    Returns:
        the matplotlib ``Axes``.
    """
    ax = plt.subplots(figsize=(8, 4.4))[1]
    for mode, (colour, marker) in MODE_STYLES.items():
        ks = report.distinct("blocks", arm=mode)
        if ks:
            selections = [{"arm": "scratch"}] + [{"arm": mode, "blocks": k} for k in ks]
            _band(ax, [0, *ks], report, selections, colour, MODE_LABELS[mode], marker)
            _live(ax, [0, *ks], live, selections, colour, marker)
    ax.set_xticks(list(KS), [_("0\n(scratch)"), *[f"{k}\n+{b}" for k, b in zip(KS[1:], TRANSFER_BLOCKS)]])
    ax.set_xlabel(_("k: blocks copied into the network for task B"))
    ax.set_ylabel(_("task B test accuracy"))
    ax.legend(fontsize=FONT_SIZE - 2, loc="lower left", title=_legend_title(report), title_fontsize=FONT_SIZE - 3)
    style_axes(ax)
    return ax


def _network(ax, x, colours, frozen, title):
    """One network as a column of boxes, input at the bottom: block1, block2, features, head."""
    names = (N_("block 1"), N_("block 2"), N_("features"), N_("head"))
    for row, (name, colour, locked) in enumerate(zip(names, colours, frozen)):
        ax.add_patch(Rectangle((x, row), BOX_WIDTH, BOX_HEIGHT, facecolor=colour, edgecolor="black",
                               hatch="//" if locked else None, linewidth=1.5))
        label = dict(facecolor="white", edgecolor="none", alpha=0.85, pad=1.5) if locked else None
        ax.text(x + BOX_WIDTH / 2, row + BOX_HEIGHT / 2,
                _("{block}, frozen").format(block=_(name)) if locked else _(name),
                ha="center", va="center", fontsize=FONT_SIZE - 3, bbox=label,
                color="black" if locked else TEXT_ON.get(colour, "black"))
    ax.text(x + BOX_WIDTH / 2, TITLE_Y, title, ha="center", va="top", fontsize=FONT_SIZE - 2)


def transplant_diagram(k=2):
    """Yosinski et al.'s (2014) transplants for one ``k``: base A, AnB, AnB+, base B, BnB.

    Blue boxes hold weights learned on task A, orange on task B, white ones start fresh
    (random) and learn B; hatched boxes are frozen. Every head but base A's is B's.

    Returns:
        the matplotlib ``Figure``.
    """
    fig, ax = plt.subplots(figsize=(13, 5.2))
    copied = [level < k for level in range(4)]
    columns = [
        (_("base A\ntrained on A"), [TRAINED_ON_A] * 4, [False] * 4),
        (_("A{k}B (AnB)\nA's first {k} blocks\nfrozen, the rest new").format(k=k),
         [TRAINED_ON_A if c else FRESH for c in copied], copied),
        (_("A{k}B+ (AnB+)\nA's first {k} blocks\nfine-tuned, the rest new").format(k=k),
         [TRAINED_ON_A if c else FRESH for c in copied], [False] * 4),
        (_("base B\ntrained on B\n(= scratch on B)"), [TRAINED_ON_B] * 4, [False] * 4),
        (_("B{k}B (BnB, the control)\nB's first {k} blocks\nfrozen, the rest new").format(k=k),
         [TRAINED_ON_B if c else FRESH for c in copied], copied),
    ]
    for i, (title, colours, frozen) in enumerate(columns):
        _network(ax, COLUMN_STEP * i, colours, frozen, title)
    arrow = dict(arrowstyle="->", color="black", linewidth=1.5)
    for source, target in ((0, 1), (3, 4)):  # neighbours: a straight arrow at the copied blocks
        start = COLUMN_STEP * source + BOX_WIDTH
        ax.annotate("", xy=(COLUMN_STEP * target, k / 2), xytext=(start, k / 2), arrowprops=arrow)
        ax.text((start + COLUMN_STEP * target) / 2, k / 2 + 0.1, _("copy"), ha="center", fontsize=FONT_SIZE - 3)
    ax.annotate("", xy=(COLUMN_STEP * 2 + BOX_WIDTH / 2, -0.05), xytext=(BOX_WIDTH / 2, -0.05),
                arrowprops=dict(arrow, connectionstyle="arc3,rad=0.1"))  # base A -> AnB+, under the boxes
    ax.set_xlim(-0.3, COLUMN_STEP * len(columns))
    ax.set_ylim(TITLE_Y - 1.3, 4.2)
    ax.axis("off")
    ax.set_title(_("Transplanting the first k = {k} blocks (input at the bottom). Blue: learned on A; "
                   "orange: learned on B; white: new, learns B; hatched: frozen").format(k=k), fontsize=FONT_SIZE)
    fig.tight_layout()
    return fig


def negative_transfer_bars(measured, title=N_("An unhelpful source")):
    """Two panels: target test accuracy of the trained arms, and the probes of the features.

    Args:
        measured: ``Measured`` records as ``negative_transfer`` returns them: trained arms
            (``target_accuracy``, labelled by their ``source`` field and arm) on the left,
            ``probe_accuracy`` (labelled by ``source``) on the right.

    Returns:
        the matplotlib ``Figure``.
    """
    from course_lib.core.plots import bar_chart

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4), gridspec_kw={"width_ratios": [1, 1]})
    trained_arms = {"\n".join(filter(None, (m.fields.get("source"), m.arm))): m.value
                    for m in measured if m.metric == "target_accuracy"}
    probes = {m.fields["source"]: m.value for m in measured if m.metric == "probe_accuracy"}
    bar_chart(trained_arms, ylabel=_("target test accuracy"), title=_("{title}: trained").format(title=_(title)),
              ax=left)
    bar_chart(probes, ylabel=_("probe (labelled images only)"), title=_("probe of the frozen features"), ax=right)
    fig.tight_layout()
    return fig


def per_class_bars(per_class, counts=None):
    """Bars of test accuracy per class, one colour per scheme.

    Args:
        per_class: ``{scheme: (10,) accuracies}``.
        counts: optional training images per class, written under the ticks.

    Returns:
        the matplotlib ``Axes``.
    """
    if not per_class:
        raise ValueError("per_class is empty; pass {scheme: accuracies per class}")
    ax = plt.subplots(figsize=(10, 4))[1]
    width = 0.8 / len(per_class)
    n = len(next(iter(per_class.values())))
    for i, (label, values) in enumerate(per_class.items()):
        ax.bar(np.arange(n) + (i - (len(per_class) - 1) / 2) * width, values, width=width,
               label=label.replace("_", " "), color=f"C{i}")
    ax.set_xticks(range(n), [f"{c}\n({counts[c]})" if counts is not None else str(c) for c in range(n)])
    ax.set_xlabel(_("digit (training images)") if counts is not None else _("digit"))
    ax.set_ylabel(_("test accuracy of the digit"))
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=FONT_SIZE - 2, loc="lower left")
    style_axes(ax)
    return ax


def overfitting_curves(runs):
    """Training and validation accuracy per epoch of the runs without early stopping; a dotted
    line, in the same colour, at the epoch their early-stopping twin went back to.

    A run with early stopping follows the same path as its twin (same seed, same batches)
    until it stops, so its curve is the start of the twin's.

    Args:
        runs: ``{arm: OverfittingRun}`` (``experiments.overfitting(..., runs=runs)``).

    Returns:
        the matplotlib ``Axes``.
    """
    full = {arm: run for arm, run in runs.items() if run.best_epoch is None}
    ax = learning_curves({arm: run.history for arm, run in full.items()}, metric="accuracy")
    for i, arm in enumerate(full):
        twin = runs.get(f"{arm}+early_stopping" if arm != "plain" else "early_stopping")
        if twin is not None:
            ax.axvline(twin.best_epoch + 1, color=f"C{i}", linestyle=":", linewidth=2,
                       label=_("{arm}: early stopping went back to").format(arm=arm))
    ax.legend(fontsize=FONT_SIZE - 3)
    ax.set_ylabel(_("accuracy (training images, validation split)"))
    ax.set_xlabel(_("epoch (of {steps} steps)").format(steps=STEPS_PER_EPOCH))
    return ax
