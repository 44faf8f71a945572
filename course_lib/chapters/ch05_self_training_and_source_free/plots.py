"""Chapter 05's figures: the self-training loop, BatchNorm's statistics on two domains, rounds of
self-training, the threshold study over seeds, and information maximisation's two terms.

Every figure says in its title and labels what it shows; colours come from the course's
colour-blind-safe ``PALETTE``.
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from course_lib.core.data import N_CLASSES
from course_lib.core.language import _
from course_lib.core.plots import FONT_SIZE, PALETTE, style_axes

#: Box colours of the self-training diagram, by role.
ROLES = {"model": PALETTE[2], "data": PALETTE[6], "step": "#dddddd"}


def _box(ax, x, y, text, role, width=2.6, height=1.0):
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height, boxstyle="round,pad=0.1",
                                facecolor=ROLES[role], edgecolor="black", linewidth=1.2))
    ax.text(x, y, text, ha="center", va="center", fontsize=FONT_SIZE - 1)


def _arrow(ax, tail, head, text=None, offset=(0.0, 0.3), curved=False):
    ax.add_patch(FancyArrowPatch(tail, head, arrowstyle="-|>", mutation_scale=18, linewidth=1.5,
                                 color="black", connectionstyle="arc3,rad=-0.35" if curved else "arc3"))
    if text:
        ax.text((tail[0] + head[0]) / 2 + offset[0], (tail[1] + head[1]) / 2 + offset[1], text,
                ha="center", fontsize=FONT_SIZE - 2, style="italic")


def self_training_loop():
    """The self-training loop: teacher predicts -> confident pseudo-labels -> student trains ->
    the student becomes the teacher."""
    fig, ax = plt.subplots(figsize=(12, 4.6))
    ax.set_xlim(0, 12)
    ax.set_ylim(0, 5.2)
    ax.axis("off")
    ax.set_title(_("Self-training: the model labels the target for itself, round after round"),
                 fontsize=FONT_SIZE + 1)
    _box(ax, 1.6, 3.9, _("unlabelled\ntarget images"), "data")
    _box(ax, 4.8, 3.9, _("teacher\n(the current model)"), "model")
    _box(ax, 8.4, 3.9, _("keep confident predictions:\npseudo-labels"), "step", width=3.2)
    _box(ax, 8.4, 1.2, _("student: the starting weights,\ntrained on the pseudo-labels"), "model", width=3.6)
    _box(ax, 3.4, 1.2, _("AdaBN: BatchNorm statistics\nre-estimated on the target"), "step", width=3.6)
    _arrow(ax, (2.95, 3.9), (3.45, 3.9))
    _arrow(ax, (6.15, 3.9), (6.75, 3.9), _("predicts"))
    _arrow(ax, (8.4, 3.35), (8.4, 1.75), _("train\n(fit)"), offset=(0.55, -0.2))
    _arrow(ax, (6.55, 1.2), (5.25, 1.2))
    _arrow(ax, (3.4, 1.75), (4.4, 3.35), _("becomes the\nnext teacher"), offset=(-1.0, 0.0))
    ax.text(10.3, 2.55, _("threshold: every prediction\nwith confidence >= tau\n"
                          "class-balanced: the k most\nconfident of each class"), fontsize=FONT_SIZE - 3, va="center")
    fig.tight_layout()
    return fig


def batchnorm_statistics(source, target, layer):
    """One BatchNorm layer's statistics per channel: what the source model stored, what the target has.

    Args:
        source, target: ``methods.batchnorm.moving_statistics`` snapshots of the source
            model and of its AdaBN copy.
        layer: the layer to show, e.g. ``"block1_bn"``.

    Returns:
        the ``Figure``: mean (left) and standard deviation (right) per channel.
    """
    if layer not in source or layer not in target:
        raise ValueError(f"no statistics for layer {layer!r}; layers: {', '.join(source)}")
    fig, axes = plt.subplots(1, 2, figsize=(13, 3.6))
    channels = np.arange(len(source[layer][0]))
    width = 0.4
    for ax, index, what in ((axes[0], 0, _("mean")), (axes[1], 1, _("standard deviation"))):
        transform = np.sqrt if index else np.asarray
        ax.bar(channels - width / 2, transform(source[layer][index]), width, color=PALETTE[0],
               label=_("stored by the source model (mnist)"))
        ax.bar(channels + width / 2, transform(target[layer][index]), width, color=PALETTE[1],
               hatch="//", edgecolor="white", label=_("measured on the target (mnist_m)"))
        ax.set_xlabel(_("channel of {layer}'s input").format(layer=layer))
        ax.set_ylabel(what)
        ax.set_title(_("{layer}: the {what} of each channel").format(layer=layer, what=what))
        ax.legend(fontsize=FONT_SIZE - 3)
        style_axes(ax)
    fig.tight_layout()
    return fig


def rounds(histories, hidden_labels):
    """Self-training round by round: test accuracy, and pseudo-label precision true and claimed.

    Args:
        histories: ``{label: list of methods.self_training.Round}`` whose ``watched`` holds
            ``test_accuracy``.
        hidden_labels: the true labels of the pseudo-labelled images (the course's view only).

    Returns:
        the ``Figure``.
    """
    if not histories:
        raise ValueError("histories is empty; pass {label: history from self_train}")
    fig, axes = plt.subplots(1, 2, figsize=(13, 4))
    for i, (label, history) in enumerate(histories.items()):
        colour = PALETTE[i]
        numbers = [h.round for h in history]
        axes[0].plot(numbers, [h.watched["test_accuracy"] for h in history], "-o", color=colour, label=label)
        later = history[1:]
        axes[1].plot(numbers[1:], [h.precision(hidden_labels) for h in later], "-o", color=colour,
                     label=_("{label}: true (course only)").format(label=label))
        axes[1].plot(numbers[1:], [h.confidence for h in later], "--s", color=colour,
                     label=_("{label}: claimed (mean confidence)").format(label=label))
    axes[0].set_title(_("Accuracy on the mnist_m test split"))
    axes[1].set_title(_("Share of the pseudo-labels that are right"))
    for ax in axes:
        ax.set_xlabel(_("round (0 = the starting model)"))
        ax.set_xticks(range(max(len(h) for h in histories.values())))
        ax.set_ylim(0, 1.02)
        ax.legend(fontsize=FONT_SIZE - 3, loc="lower right")
        style_axes(ax)
    fig.tight_layout()
    return fig


def threshold_study(report, honest, cheating, reference=None):
    """Test accuracy of self-training at each threshold, one line per seed, and the choices made.

    Args:
        report: the ``threshold_choice`` experiment's ``Report``: the arm ``"threshold"`` with a
            ``threshold`` field for each threshold tried, and with a ``criterion`` field for each
            choice of one.
        honest: the ``criterion`` of each label-free choice (each gets its own marker).
        cheating: the ``criterion`` of the choice made with target labels.
        reference: an arm with no threshold, drawn as a dashed line at its median (or None).

    Returns:
        the ``Axes``.
    """
    ax = plt.subplots(figsize=(12, 4.4))[1]
    thresholds = report.distinct("threshold", arm="threshold")
    accuracies = np.array([report.values("threshold", threshold=t) for t in thresholds])  # (thresholds, seeds)
    thresholds = np.asarray(thresholds)
    for j in range(len(report.seeds)):
        ax.plot(thresholds, accuracies[:, j], "-", color=PALETTE[0], alpha=0.35,
                label=_("each seed") if j == 0 else None)
    markers = [(PALETTE[1], "o"), (PALETTE[5], "s"), (PALETTE[4], "^")]
    criteria = [*honest, cheating]
    styles = [*markers[:len(honest)], (PALETTE[7], "x")]
    for k, (criterion, (colour, marker)) in enumerate(zip(criteria, styles)):
        chosen = np.array(report.values("threshold", criterion=criterion))
        # The threshold each seed's choice picked: the one whose accuracy it reports.
        picked = thresholds[np.argmin(np.abs(accuracies - chosen), axis=0)]
        ax.plot(picked + (k - len(criteria) / 2) * 0.004, chosen, marker, color=colour, markersize=8,
                mew=2, linestyle="none", label=criterion)
    ax.plot(thresholds, np.median(accuracies, axis=1), "-", color=PALETTE[0], linewidth=3,
            label=_("median over seeds"))
    if reference is not None:
        ax.axhline(report.median(reference), color=PALETTE[3], linestyle="--", linewidth=2,
                   label=_("{arm}, median").format(arm=reference))
    ax.set_xlabel(_("confidence threshold of self-training (from AdaBN, 3 rounds)"))
    ax.set_ylabel(_("mnist_m test accuracy"))
    ax.set_title(_("Choosing the threshold, seeds {first}-{last} (results file)").format(
        first=report.seeds[0], last=report.seeds[-1]))
    ax.legend(fontsize=FONT_SIZE - 3, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    style_axes(ax)
    ax.figure.tight_layout()
    return ax


def information_maximisation_terms(history):
    """Information maximisation epoch by epoch: the mean entropy falls, the diversity stays high.

    Args:
        history: Keras's per-epoch logs of ``methods.source_free.information_maximisation``.

    Returns:
        the ``Axes``.
    """
    ax = plt.subplots(figsize=(8, 3.8))[1]
    epochs = np.arange(1, len(history["entropy"]) + 1)
    ax.plot(epochs, history["entropy"], "-o", color=PALETTE[0],
            label=_("mean entropy of a prediction (lower: surer)"))
    ax.plot(epochs, history["diversity"], "--s", color=PALETTE[1],
            label=_("entropy of the mean prediction (higher: classes used evenly)"))
    ax.axhline(np.log(N_CLASSES), color="grey", linestyle=":",
               label=_("log {classes}: the most either can be").format(classes=N_CLASSES))
    ax.set_xticks(epochs)
    ax.set_xlabel(_("epoch on the unlabelled target training images"))
    ax.set_ylabel(_("nats"))
    ax.set_title(_("Information maximisation's two terms (training batches, no labels)"))
    ax.legend(fontsize=FONT_SIZE - 3)
    style_axes(ax)
    return ax
