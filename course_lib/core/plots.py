"""Plots the chapters share, sized and lettered to read from the back of a classroom.

Colours come from the Okabe-Ito palette, which readers with any common colour-vision
deficiency can tell apart (no red/green pairs); ``use_course_style()`` (called by
``course_lib.setup()``) makes it matplotlib's default, so "C0", "C1", ... are these colours.
"""

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyBboxPatch

from course_lib.core.language import N_, _

FONT_SIZE = 12
#: Okabe & Ito (2008): blue, orange, sky blue, vermillion, bluish green, reddish purple,
#: yellow, black.
PALETTE = ("#0072B2", "#E69F00", "#56B4E9", "#D55E00", "#009E73", "#CC79A7", "#F0E442", "#000000")


#: What each of the course CNN's blocks is (``cnn.BLOCKS``), for its diagrams.
BLOCK_LABELS = {"block1": N_("block1: conv 3x3, BN, ReLU, pool"), "block2": N_("block2: conv 3x3, BN, ReLU, pool"),
                "features": N_("features: dense, BN, ReLU"), "head": N_("head: dense, softmax")}
#: How a diagram shows each state of a block: its colour, and the word written in it (the words
#: carry the meaning, not only the colours; shown in the current language).
BLOCK_STATES = {N_("trains"): PALETTE[1], N_("frozen"): PALETTE[2], N_("new, trains"): PALETTE[4],
                N_("cut off"): "#eeeeee"}


def use_course_style():
    """Make the colour-blind-safe ``PALETTE`` matplotlib's colour cycle."""
    mpl.rcParams["axes.prop_cycle"] = mpl.cycler(color=list(PALETTE))


def style_axes(ax):
    """Give ``ax`` the course's large fonts and a light grid (for plots made elsewhere)."""
    ax.title.set_fontsize(FONT_SIZE + 1)
    for item in [ax.xaxis.label, ax.yaxis.label, *ax.get_xticklabels(), *ax.get_yticklabels()]:
        item.set_fontsize(FONT_SIZE)
    ax.grid(alpha=0.3)


def sample_grid(domains, n=8, titles=True):
    """Show the first ``n`` images of each domain, one row per domain.

    Args:
        domains: mapping ``{name: (x, y)}`` with x (m, 28, 28, 1 or 3) in [0, 1].
        n: images per row.

    Returns:
        the matplotlib ``Figure``.
    """
    if not domains:
        raise ValueError("domains is empty; pass {name: (x, y), ...}")
    fig, axes = plt.subplots(len(domains), n, figsize=(1.3 * n, 1.5 * len(domains)), squeeze=False)
    for row, (name, (x, y)) in zip(axes, domains.items()):
        if len(x) < n:
            raise ValueError(f"domain {name!r} has {len(x)} images, fewer than n={n}")
        for i, ax in enumerate(row):
            image = x[i]
            grey = image.shape[-1] == 1
            ax.imshow(image[..., 0] if grey else image, cmap="gray" if grey else None,
                      vmin=0.0, vmax=1.0)
            ax.set_xticks([])
            ax.set_yticks([])
            if titles:
                ax.set_title(str(y[i]), fontsize=FONT_SIZE)
        row[0].set_ylabel(name, fontsize=FONT_SIZE + 1, rotation=0, ha="right", va="center")
    fig.tight_layout()
    return fig


def learning_curves(histories, metric="accuracy", ax=None):
    """Plot ``metric`` (and ``val_<metric>`` when recorded) per epoch for several runs.

    Args:
        histories: mapping ``{label: keras History or its .history dict}``.
        metric: a key of the histories, e.g. ``"accuracy"`` or ``"loss"``.

    Returns:
        the matplotlib ``Axes``.
    """
    if ax is None:
        ax = plt.subplots(figsize=(7, 4))[1]
    for i, (label, history) in enumerate(histories.items()):
        logs = getattr(history, "history", history)
        if metric not in logs:
            raise ValueError(f"run {label!r} has no {metric!r}; it has {sorted(logs)}")
        color = f"C{i}"
        epochs = np.arange(1, len(logs[metric]) + 1)
        ax.plot(epochs, logs[metric], "-o", color=color, label=_("{run} (train)").format(run=label))
        if f"val_{metric}" in logs:
            ax.plot(epochs, logs[f"val_{metric}"], "--s", color=color, label=_("{run} (validation)").format(run=label))
    ax.set_xlabel(_("epoch"))
    ax.set_ylabel(metric)
    ax.legend(fontsize=FONT_SIZE - 2)
    style_axes(ax)
    return ax


def bar_chart(values, ylabel=N_("accuracy"), title=None, ax=None, chance=None):
    """Bars with their value printed on top, e.g. accuracy per domain.

    Args:
        values: mapping ``{label: number}``.
        chance: draw a dashed line at this level (e.g. 0.1 for 10 classes).
        ylabel, title: shown through ``_()``, in the current language when the catalogue has them.

    Returns:
        the matplotlib ``Axes``.
    """
    if not values:
        raise ValueError("values is empty; pass {label: number, ...}")
    if ax is None:
        ax = plt.subplots(figsize=(6, 3.5))[1]
    labels = list(values)
    heights = [float(values[k]) for k in labels]
    bars = ax.bar(labels, heights, color=[f"C{i}" for i in range(len(labels))])
    for bar, h in zip(bars, heights):
        ax.text(bar.get_x() + bar.get_width() / 2, h, f"{h:.2f}", ha="center", va="bottom",
                fontsize=FONT_SIZE)
    if chance is not None:
        ax.axhline(chance, color="grey", linestyle="--", label=_("chance"))
        ax.legend(fontsize=FONT_SIZE - 2)
    ax.set_ylabel(_(ylabel))
    ax.set_ylim(0, max(1.0, max(heights) * 1.1))
    if title:
        ax.set_title(_(title))
    style_axes(ax)
    return ax


def block_diagram(columns, notes=None):
    """Networks side by side, each a stack of blocks from the input (bottom) up.

    Args:
        columns: ``{title: [(label, state), ...]}``, the blocks bottom to top; ``state`` is one
            of ``BLOCK_STATES`` (``"trains"``, ``"frozen"``, ``"new, trains"``, ``"cut off"``).
        notes: optional ``{title: text}`` printed under each title (e.g. parameter counts).

    Returns:
        the matplotlib ``Figure``.
    """
    if not columns:
        raise ValueError("columns is empty; pass {title: [(label, state), ...]}")
    height = max(len(blocks) for blocks in columns.values())
    fig, axes = plt.subplots(1, len(columns), figsize=(4.2 * len(columns), 1.1 * height + 0.9), squeeze=False)
    step = 0.8 / height
    for ax, (title, blocks) in zip(axes[0], columns.items()):
        for level, (label, state) in enumerate(blocks):
            if state not in BLOCK_STATES:
                raise ValueError(f"block {label!r} has state {state!r}; allowed: {', '.join(BLOCK_STATES)}")
            bottom = 0.12 + step * level
            ax.add_patch(FancyBboxPatch((0.05, bottom), 0.9, 0.75 * step, boxstyle="round,pad=0.01",
                                        linewidth=1.5, edgecolor="black", facecolor=BLOCK_STATES[state],
                                        linestyle="--" if state == "cut off" else "-"))
            ax.text(0.5, bottom + 0.52 * step, _(label), ha="center", va="center", fontsize=FONT_SIZE - 3)
            ax.text(0.5, bottom + 0.2 * step, _(state), ha="center", va="center", fontsize=FONT_SIZE - 1,
                    fontweight="bold")
        ax.annotate("", xy=(0.5, 0.115), xytext=(0.5, 0.03), arrowprops={"arrowstyle": "->", "linewidth": 1.5})
        ax.text(0.5, 0.0, _("image"), ha="center", va="bottom", fontsize=FONT_SIZE - 2)
        ax.set_title(title + (f"\n{notes[title]}" if notes and title in notes else ""), fontsize=FONT_SIZE)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 0.95)
        ax.axis("off")
    fig.tight_layout()
    return fig
