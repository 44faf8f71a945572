"""Chapter 06's plots: a grid per class, the two-stage curves, the confusion matrix, mistakes.

Images are (n, h, w, 3) pixel values 0-255, as ``folder.load_folder`` gives them.
Every title carries the weights label ("ImageNet weights" or "random init, not
transfer"), so no plot of a random-init run can pass for transfer learning.
"""

import matplotlib.pyplot as plt
import numpy as np

from course_lib.plots import FONT_SIZE, learning_curves, sample_grid, style_axes


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


def two_stage_curves(result, weights_label):
    """Accuracy and loss per epoch over both stages, with the switch to stage 2 marked.

    Args:
        result: what ``recipe.two_stage_fit`` returns.
        weights_label: e.g. ``"random init, not transfer"``.

    Returns:
        the two matplotlib ``Axes``.
    """
    _, axes = plt.subplots(1, 2, figsize=(12, 4))
    for ax, metric in zip(axes, ("accuracy", "loss")):
        learning_curves({"two-stage": result["history"]}, metric=metric, ax=ax)
        if len(result["history"][metric]) > result["head_epochs"]:
            ax.axvline(result["head_epochs"] + 0.5, color="grey", linestyle=":")
            ax.text(result["head_epochs"] + 0.7, ax.get_ylim()[1], "stage 2: top blocks",
                    va="top", fontsize=FONT_SIZE - 2, color="grey")
        ax.set_title(f"{metric} ({weights_label})")
        style_axes(ax)
    axes[0].figure.tight_layout()
    return axes


def confusion(labels, predicted, class_names, title):
    """scikit-learn's ``ConfusionMatrixDisplay``: rows true class, columns predicted.

    Returns:
        the matplotlib ``Axes``.
    """
    from sklearn.metrics import ConfusionMatrixDisplay

    _, ax = plt.subplots(figsize=(5, 4.5))
    ConfusionMatrixDisplay.from_predictions(labels, predicted, labels=range(len(class_names)),
                                            display_labels=class_names, ax=ax, colorbar=False)
    ax.set_title(title)
    style_axes(ax)
    ax.grid(False)
    return ax


def mistakes_grid(images, labels, probabilities, indices, class_names, title):
    """The images at ``indices`` titled "true / predicted confidence" (e.g. the most
    confident mistakes from ``recipe.confident_mistakes``).

    Returns:
        the matplotlib ``Figure``.
    """
    indices = list(indices)
    if not indices:
        fig, ax = plt.subplots(figsize=(6, 1))
        ax.text(0.5, 0.5, "no mistakes to show", ha="center", va="center", fontsize=FONT_SIZE)
        ax.axis("off")
        return fig
    fig, axes = plt.subplots(1, len(indices), figsize=(2.1 * len(indices), 3.3), squeeze=False)
    for ax, i in zip(axes[0], indices):
        ax.imshow(np.asarray(images[i]) / 255.0)
        predicted = int(np.argmax(probabilities[i]))
        ax.set_title(f"true {class_names[labels[i]]}\npred {class_names[predicted]}\n"
                     f"{probabilities[i][predicted]:.2f}", fontsize=FONT_SIZE - 1)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title, fontsize=FONT_SIZE + 1)
    fig.tight_layout(rect=(0, 0, 1, 0.9))  # room for the title above the images' titles
    return fig
