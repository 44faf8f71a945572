"""Chapter 04's figures: validation curves, first-layer filters, embedding pair distances, seeds.

Colours come from the course's colour-blind-safe ``PALETTE``; every function returns the
matplotlib ``Axes`` or ``Figure`` it drew.
"""

import matplotlib.pyplot as plt
import numpy as np

from course_lib.core.data import N_CLASSES
from course_lib.core.language import _
from course_lib.core.plots import FONT_SIZE, PALETTE, style_axes
from course_lib.results.report import fields_of

CHANCE = 1 / N_CLASSES
#: Histogram bins of embedding distances: unit vectors lie 0 to 2 apart.
DISTANCE_BINS = np.linspace(0, 2, 41)
#: Conv kernels drawn by ``filters``: 3x3 with 1 (grey) or 3 (RGB) input channels.
IMAGE_CHANNELS = (1, 3)


def validation_curves(selected, ax=None):
    """Validation accuracy per epoch of each run; a ring marks the epoch each run kept.

    Args:
        selected: ``{label: experiments.Selected}`` (curve index 0 is before training).
    """
    if not selected:
        raise ValueError("selected is empty; pass {label: Selected}")
    if ax is None:
        ax = plt.subplots(figsize=(7, 4))[1]
    for i, (label, run) in enumerate(selected.items()):
        colour = PALETTE[i % len(PALETTE)]
        ax.plot(np.arange(len(run.curve)), run.curve, "-o", color=colour, markersize=4, label=label)
        ax.plot(run.best_epoch, run.curve[run.best_epoch], "o", markersize=14, markerfacecolor="none",
                markeredgecolor=colour, markeredgewidth=2)
    ax.axhline(CHANCE, color="grey", linestyle="--", label=_("chance"))
    ax.set_xlabel(_("epochs of training (0: before)"))
    ax.set_ylabel(_("validation accuracy"))
    ax.set_title(_("Validation curves; ring: the epoch kept"))
    ax.set_ylim(0, 1)
    ax.legend(fontsize=FONT_SIZE - 2)
    style_axes(ax)
    return ax


def _filter_image(kernel):
    """(kh, kw, c) kernel -> image in [0, 1]: grey (c = 1) or RGB (c = 3), zero at 0.5."""
    scale = np.abs(kernel).max() or 1.0
    image = 0.5 + 0.5 * kernel / scale
    return image[..., 0] if image.shape[-1] == 1 else image


def filters(kernels, n=8):
    """The first ``n`` first-layer filters of each model, one row per model.

    Args:
        kernels: ``{label: kernel}`` with kernels (kh, kw, 1 or 3, filters). Grey kernels
            are drawn grey, RGB ones in colour; mid-grey is 0.

    Returns:
        the ``Figure``.
    """
    if not kernels:
        raise ValueError("kernels is empty; pass {label: kernel}")
    fig, axes = plt.subplots(len(kernels), n, figsize=(1.2 * n + 2, 1.4 * len(kernels)), squeeze=False)
    for row, (label, kernel) in zip(axes, kernels.items()):
        kernel = np.asarray(kernel)
        if kernel.ndim != 4 or kernel.shape[-2] not in IMAGE_CHANNELS or kernel.shape[-1] < n:
            raise ValueError(f"{label!r}: need a (kh, kw, 1 or 3, >= {n}) kernel, got {kernel.shape}")
        for i, ax in enumerate(row):
            image = _filter_image(kernel[..., i])
            ax.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(label, fontsize=FONT_SIZE, rotation=0, ha="right", va="center")
    fig.tight_layout()
    return fig


def pair_distances(distances, margin):
    """Histograms of same- and different-class (source, target) distances, one panel per model.

    Args:
        distances: ``{label: (same, different)}`` as ``shared_embedding.pair_distances`` returns.
        margin: drawn as a dashed line.

    Returns:
        the ``Figure``.
    """
    if not distances:
        raise ValueError("distances is empty; pass {label: (same, different)}")
    fig, axes = plt.subplots(1, len(distances), figsize=(5.5 * len(distances), 3.6), squeeze=False,
                             sharey=True)
    for ax, (label, (same, different)) in zip(axes[0], distances.items()):
        ax.hist(different, bins=DISTANCE_BINS, density=True, alpha=0.6, color=PALETTE[1],
                label=_("different class"))
        ax.hist(same, bins=DISTANCE_BINS, density=True, alpha=0.6, color=PALETTE[0], label=_("same class"))
        ax.axvline(margin, color="grey", linestyle="--", label=_("margin"))
        ax.set_title(label)
        ax.set_xlabel(_("distance, source to target"))
        style_axes(ax)
    axes[0, 0].set_ylabel(_("density"))
    axes[0, 0].legend(fontsize=FONT_SIZE - 2)
    fig.tight_layout()
    return fig


def seeds(report, ax=None, **wanted):
    """Each series' value on every seed of a results file, seeds joined by grey lines.

    Args:
        report: an ``experiments.Report`` (``course_lib.results.load(name)``).
        wanted: which series to draw, as ``Report.series`` selects them (e.g. ``arm=[...]``);
            default: every series of the report's own metric, in the file's order.
    """
    found = report.series(**{"metric": report.metric, **wanted})
    if not found:
        raise ValueError(f"no series of {report.experiment} matches {wanted}; see report.table()")
    if ax is None:
        ax = plt.subplots(figsize=(1.9 * len(found) + 2, 3.8))[1]
    values = np.array([s["values"] for s in found])
    for column in values.T:
        ax.plot(range(len(found)), column, color="grey", alpha=0.5, linewidth=1)
    for i in range(len(found)):
        ax.plot([i] * values.shape[1], values[i], "o", color=PALETTE[i % len(PALETTE)], markersize=8)
    ax.axhline(CHANCE, color="grey", linestyle="--", label=_("chance"))
    ax.legend(fontsize=FONT_SIZE - 2, loc="lower right")
    ax.set_xticks(range(len(found)), [_tick(s["record"]) for s in found], fontsize=FONT_SIZE - 2)
    ax.set_ylabel(report.metric.replace("_", " "))
    ax.set_ylim(0, 1)
    ax.set_title(_("{experiment}: seeds {seeds}").format(experiment=report.experiment,
                                                         seeds=", ".join(map(str, report.seeds))))
    style_axes(ax)
    return ax


def _tick(record):
    """A series' label under its dots: the arm, broken at commas and brackets, then its fields."""
    lines = [record["arm"].replace(", ", ",\n").replace(" (", "\n(")]
    lines += [f"{key} {value}" for key, value in fields_of(record).items()]
    return "\n".join(lines)
