"""Problems of the target data itself: too few images, too few of some classes, other labels.

* overfitting: ``validation_split`` (a held-out part of the labelled target), Keras
  preprocessing layers for augmentation (``augmenter``, ``with_augmentation``) and
  ``early_stopping``;
* class imbalance: ``imbalanced_subset``, ``per_class_accuracy``, ``balanced_resample``
  (oversample the rare classes, the sampling counterpart of class weights);
* label-set mismatch (partial transfer): ``outside_share`` and ``restrict_predictions``.

Images are (n, 28, 28, c) float32 in [0, 1]; labels int64 (n,).
"""

import numpy as np


# ----------------------------------------------------------------------------- overfitting

def validation_split(x, y, n_val_per_class, seed=0):
    """Split labelled images into a class-balanced validation set and the rest.

    Returns:
        ``(train, val)``, two ``(x, y)`` pairs; ``val`` has ``n_val_per_class`` images per class.

    Raises:
        ValueError: a class with no more than ``n_val_per_class`` images (nothing would be
            left to train on).
    """
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} rows but y has {len(y)}")
    if int(n_val_per_class) != n_val_per_class or n_val_per_class < 1:
        raise ValueError(f"n_val_per_class must be a whole number >= 1, got {n_val_per_class!r}")
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(y, return_counts=True)
    if counts.min() <= n_val_per_class:
        raise ValueError(f"class {classes[counts.argmin()]} has {counts.min()} images: "
                         f"n_val_per_class must be below that, got {n_val_per_class}")
    val = np.concatenate([rng.choice(np.flatnonzero(y == c), int(n_val_per_class), replace=False)
                          for c in classes])
    rest = np.setdiff1d(np.arange(len(y)), val)
    return (x[rest], y[rest]), (x[val], y[val])


def augmenter(rotation=0.05, translation=0.1, zoom=0.1, seed=0):
    """Random small rotations, shifts and zooms as Keras preprocessing layers.

    Args:
        rotation: largest rotation, as a fraction of a full turn (0.05 = 18 degrees).
        translation: largest shift, as a fraction of the image side (0.1 = 2.8 pixels).
        zoom: largest zoom in or out, as a fraction (0.1 = 10 %).

    Returns:
        a ``keras.Sequential`` that changes images in training and passes them through
        unchanged in inference (so test accuracy sees the real images).
    """
    import keras
    from keras import layers

    for name, value in (("rotation", rotation), ("translation", translation), ("zoom", zoom)):
        if not 0 <= value < 0.5:
            raise ValueError(f"{name} must be in [0, 0.5), got {value}")
    return keras.Sequential([
        layers.RandomRotation(rotation, fill_mode="constant", seed=seed),
        layers.RandomTranslation(translation, translation, fill_mode="constant", seed=seed + 1),
        layers.RandomZoom(zoom, fill_mode="constant", seed=seed + 2),
    ], name="augment")


def with_augmentation(model, augment=None):
    """``model`` with ``augment`` (default: ``augmenter()``) in front of it.

    Returns:
        a ``keras.Model`` sharing ``model``'s layers and weights: (n, 28, 28, c) images in,
        ``model``'s output out.
    """
    import keras

    augment = augmenter() if augment is None else augment
    inputs = keras.Input(model.input_shape[1:], name="image")
    return keras.Model(inputs, model(augment(inputs)), name=f"augmented_{model.name}")


def early_stopping(patience=2):
    """Stop when the validation loss has not improved for ``patience`` epochs (of 25 steps),
    and go back to the weights of the best epoch."""
    import keras

    if int(patience) != patience or patience < 0:
        raise ValueError(f"patience must be a whole number >= 0, got {patience!r}")
    return keras.callbacks.EarlyStopping(monitor="val_loss", patience=int(patience),
                                         restore_best_weights=True)


# ----------------------------------------------------------------------------- class imbalance

def imbalanced_subset(x, y, counts, seed=0):
    """A random subset with ``counts[c]`` images of class ``c``.

    Args:
        counts: ``{class: how many}``; classes not named are left out.

    Returns:
        ``(x_sub, y_sub)``, shuffled.

    Raises:
        ValueError: a count below 1, a class absent from ``y``, or more asked than it has.
    """
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} rows but y has {len(y)}")
    if not counts:
        raise ValueError("counts is empty; give {class: how many}")
    rng = np.random.default_rng(seed)
    picked = []
    for c, n in counts.items():
        have = int(np.sum(y == c))
        if int(n) != n or n < 1:
            raise ValueError(f"count for class {c} must be a whole number >= 1, got {n!r}")
        if n > have:
            raise ValueError(f"class {c} has {have} images, asked for {n}")
        picked.append(rng.choice(np.flatnonzero(y == c), int(n), replace=False))
    picked = np.concatenate(picked)
    rng.shuffle(picked)
    return x[picked], y[picked]


def per_class_accuracy(y_true, y_pred, n_classes=10):
    """Accuracy on the images of each class (the recall of each class).

    Args:
        y_true, y_pred: (n,) integer labels and predictions.

    Returns:
        (n_classes,) float array; NaN for a class with no image in ``y_true``.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"y_true and y_pred must be 1-D of the same length, "
                         f"got {y_true.shape} and {y_pred.shape}")
    out = np.full(n_classes, np.nan)
    for c in range(n_classes):
        mine = y_true == c
        if mine.any():
            out[c] = float(np.mean(y_pred[mine] == c))
    return out


def balanced_resample(x, y, seed=0):
    """Oversample every class to the size of the largest (drawing with replacement).

    Training on the result weighs every class equally, as class weights
    ``n / (n_classes * count_c)`` would, but through the data, so any training loop works.

    Returns:
        ``(x_bal, y_bal)``, shuffled, ``n_classes * max count`` rows.
    """
    if len(x) != len(y) or len(y) == 0:
        raise ValueError(f"need matching, non-empty x and y; got {len(x)} and {len(y)} rows")
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(y, return_counts=True)
    picked = np.concatenate([rng.choice(np.flatnonzero(y == c), counts.max(), replace=True)
                             for c in classes])
    rng.shuffle(picked)
    return x[picked], y[picked]


def predict_labels(model, x, batch_size=512):
    """Arg-max predictions (n,) of ``model`` on ``x``, in inference mode."""
    return np.concatenate([np.asarray(model(x[i:i + batch_size], training=False)).argmax(axis=1)
                           for i in range(0, len(x), batch_size)])


def imbalance_plot(per_class, ax=None, counts=None):
    """Bars of accuracy per class for several models; returns the ``Axes``.

    Args:
        per_class: ``{label: (n_classes,) accuracies}``.
        counts: optional (n_classes,) training images per class, written under the ticks.
    """
    import matplotlib.pyplot as plt

    from course_lib.plots import FONT_SIZE, style_axes

    if not per_class:
        raise ValueError("per_class is empty; pass {label: accuracies per class}")
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3.8))
    width = 0.8 / len(per_class)
    n = len(next(iter(per_class.values())))
    for i, (label, values) in enumerate(per_class.items()):
        ax.bar(np.arange(n) + (i - (len(per_class) - 1) / 2) * width, values, width=width,
               label=label)
    ticks = [f"{c}\n({counts[c]})" if counts is not None else str(c) for c in range(n)]
    ax.set_xticks(range(n), ticks)
    ax.set_xlabel("digit (training images)" if counts is not None else "digit")
    ax.set_ylabel("test accuracy of the class")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=FONT_SIZE - 2, loc="lower left")
    style_axes(ax)
    return ax


# ----------------------------------------------------------------------------- label mismatch

def _check_classes(classes, n_outputs):
    classes = [int(c) for c in classes]
    if not classes or len(set(classes)) != len(classes):
        raise ValueError(f"classes must be non-empty and without repeats, got {classes}")
    if min(classes) < 0 or max(classes) >= n_outputs:
        raise ValueError(f"classes must be outputs of the model, 0..{n_outputs - 1}, got {classes}")
    return classes


def outside_share(probabilities, classes):
    """Share of images whose arg-max prediction is a class the target does not have.

    Args:
        probabilities: (n, K) source-model probabilities.
        classes: the target's label set, a subset of 0..K-1.
    """
    probabilities = np.asarray(probabilities)
    classes = _check_classes(classes, probabilities.shape[1])
    return float(np.mean(~np.isin(probabilities.argmax(axis=1), classes)))


def restrict_predictions(probabilities, classes):
    """Predictions of a K-way model restricted to the target's label set (partial transfer).

    Returns:
        (n,) labels from ``classes``: the most probable class *among them* for each image.
    """
    probabilities = np.asarray(probabilities)
    classes = _check_classes(classes, probabilities.shape[1])
    return np.asarray(classes)[probabilities[:, classes].argmax(axis=1)]
