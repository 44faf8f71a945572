"""Chapter 08's plots: a grid per class, the two-stage curves, the confusion matrix, mistakes.

Images are (n, h, w, 3) pixel values 0-255, as the input pipeline gives them. Every title
carries the weights label ("ImageNet weights" or "random init, not transfer"), so no plot of
a random-init run can pass for transfer learning.
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from course_lib.core.plots import FONT_SIZE, learning_curves, sample_grid, style_axes


def class_grid(images, labels, class_names, n=6):
    """``n`` images of each class, one row per class (``plots.sample_grid``).

    Returns:
        the matplotlib ``Figure``.
    """
    labels = np.asarray(labels)
    n = min(n, *(int(np.sum(labels == k)) for k in range(len(class_names))))
    if n < 1:
        raise ValueError("every class needs at least one image to show")
    rows = {name: (np.asarray(images)[labels == k][:n] / 255.0, [name] * n)
            for k, name in enumerate(class_names)}
    return sample_grid(rows, n=n, titles=False)


def joined_logs(stages):
    """The stages' logs one after the other: ``{name: [value per epoch, all stages]}``."""
    logs = {}
    for stage in stages.values():
        for name, values in stage.logs.items():
            logs.setdefault(name, []).extend(values)
    return logs


def two_stage_curves(stages, weights_label):
    """Accuracy and loss per epoch over both stages, training and validation; the switch to
    stage 2 is a dotted line, and each stage's kept epoch (lowest validation loss) a star.

    Args:
        stages: ``{"head": recipe.Stage, "top blocks": recipe.Stage}`` (``train.Run.stages``).
        weights_label: e.g. ``"random init, not transfer"``.

    Returns:
        the two matplotlib ``Axes``.
    """
    logs = joined_logs(stages)
    _, axes = plt.subplots(1, 2, figsize=(12, 4))
    for ax, metric in zip(axes, ("accuracy", "loss")):
        learning_curves({"two-stage": logs}, metric=metric, ax=ax)
        offset = 0
        for i, stage in enumerate(stages.values()):
            if i:
                ax.axvline(offset + 0.5, color="grey", linestyle=":")
                ax.text(offset + 0.7, ax.get_ylim()[1], "stage 2: top blocks", va="top",
                        fontsize=FONT_SIZE - 2, color="grey")
            kept = offset + stage.best_epoch
            ax.plot([kept], [logs[f"val_{metric}"][kept - 1]], "*", color="black", markersize=14,
                    label="kept (lowest validation loss)" if not i else None)
            offset += len(stage.logs[metric])
        ax.legend(fontsize=FONT_SIZE - 3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(f"{metric} ({weights_label})")
        style_axes(ax)
    axes[0].figure.tight_layout()
    return axes


def confusion(matrix, class_names, title):
    """A confusion matrix of counts: rows the true class, columns the predicted one.

    Returns:
        the matplotlib ``Axes``.
    """
    from sklearn.metrics import ConfusionMatrixDisplay

    _, ax = plt.subplots(figsize=(5, 4.5))
    ConfusionMatrixDisplay(np.asarray(matrix), display_labels=class_names).plot(ax=ax, colorbar=False,
                                                                                cmap="Blues")
    ax.set_title(title)
    style_axes(ax)
    ax.grid(False)
    return ax


def mistakes_grid(images, labels, probabilities, class_names, title):
    """Images titled "true / predicted confidence" (e.g. the most confident mistakes).

    Args:
        images: (k, h, w, 3) pixels 0-255; labels: (k,) true classes; probabilities: (k, classes).

    Returns:
        the matplotlib ``Figure``.
    """
    if len(images) == 0:
        fig, ax = plt.subplots(figsize=(6, 1))
        ax.text(0.5, 0.5, "no mistakes to show", ha="center", va="center", fontsize=FONT_SIZE)
        ax.axis("off")
        return fig
    fig, axes = plt.subplots(1, len(images), figsize=(2.1 * len(images), 3.3), squeeze=False)
    for ax, image, label, p in zip(axes[0], images, labels, probabilities):
        ax.imshow(np.asarray(image) / 255.0)
        predicted = int(np.argmax(p))
        ax.set_title(f"true {class_names[label]}\npred {class_names[predicted]}\n{p[predicted]:.2f}",
                     fontsize=FONT_SIZE - 1)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title, fontsize=FONT_SIZE + 1)
    fig.tight_layout(rect=(0, 0, 1, 0.9))  # room for the title above the images' titles
    return fig
