"""Problems of the target data itself: too few images, too few of some classes, other labels.

* overfitting: Keras preprocessing layers for augmentation (``augmenter``,
  ``with_augmentation``) and ``early_stopping`` on a validation split
  (``core.data.validation_split``);
* class imbalance: ``imbalanced_subset``, then either ``balanced_resample`` (oversample the
  rare classes) or ``class_weights`` with ``ClassWeightedLoss`` (weigh each image's loss
  by its class: what ``model.fit(class_weight=...)`` does in plain Keras);
* label-set mismatch (partial transfer): ``outside_share`` and ``restrict_predictions``.

Images are (n, 28, 28, c) float32 in [0, 1]; labels int64 (n,). Accuracy per class is
``core.evaluation.per_class_accuracy``.
"""

import keras
import numpy as np

from course_lib.core import checks

#: Augmentation: largest rotation as a fraction of a full turn (0.05 = 18 degrees).
ROTATION = 0.05
#: Augmentation: largest shift as a fraction of the image side (0.1 = 2.8 pixels).
TRANSLATION = 0.1
#: Augmentation: largest zoom in or out, as a fraction (0.1 = 10 %).
ZOOM = 0.1
#: An augmentation strength must stay below this (half a turn, half the image).
MAX_STRENGTH = 0.5
#: Early stopping: epochs without a lower validation loss before training stops.
PATIENCE = 3


# ----------------------------------------------------------------------------- overfitting

def augmenter(rotation=ROTATION, translation=TRANSLATION, zoom=ZOOM, seed=0):
    """Random small rotations, shifts and zooms as Keras preprocessing layers.

    Returns:
        a ``keras.Sequential`` that changes images in training and passes them through
        unchanged in inference (so validation and test accuracy see the real images).
        Empty corners are filled with 0 (black): right for dark-background digits, wrong
        for photos.
    """
    for name, value in (("rotation", rotation), ("translation", translation), ("zoom", zoom)):
        if checks.positive_number(value, name, allow_zero=True) >= MAX_STRENGTH:
            raise ValueError(f"{name} must be below {MAX_STRENGTH}, got {value}")
    seed = checks.seed(seed)
    return keras.Sequential([
        keras.layers.RandomRotation(rotation, fill_mode="constant", seed=seed),
        keras.layers.RandomTranslation(translation, translation, fill_mode="constant", seed=seed + 1),
        keras.layers.RandomZoom(zoom, fill_mode="constant", seed=seed + 2),
    ], name="augment")


def with_augmentation(model, augment):
    """``model`` with the ``augment`` layers in front of it.

    Returns:
        a ``keras.Model`` sharing ``model``'s layers and weights: training it trains
        ``model``; test ``model`` itself afterwards (augmentation only acts in training).
    """
    inputs = keras.Input(model.input_shape[1:], name="image")
    return keras.Model(inputs, model(augment(inputs)), name=f"augmented_{model.name}")


def early_stopping(patience=PATIENCE):
    """Stop when the validation loss has not improved for ``patience`` epochs, and go back to
    the weights of the epoch with the lowest validation loss (``best_epoch``, counted from 0)."""
    return keras.callbacks.EarlyStopping(monitor="val_loss",
                                         patience=checks.whole_number(patience, "patience", minimum=0),
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
    checks.same_length(x=x, y=y)
    y = checks.labels(y)
    if not counts:
        raise ValueError("counts is empty; give {class: how many}, e.g. {0: 40, 1: 3}")
    rng = np.random.default_rng(checks.seed(seed))
    picked = []
    for c, n in counts.items():
        n = checks.whole_number(n, f"the count of class {c}")
        have = int(np.sum(y == c))
        if n > have:
            raise ValueError(f"class {c} has {have} images, asked for {n}")
        picked.append(rng.choice(np.flatnonzero(y == c), n, replace=False))
    picked = np.concatenate(picked)
    rng.shuffle(picked)
    return x[picked], y[picked]


def balanced_resample(x, y, seed=0):
    """Oversample every class to the size of the largest (drawing with replacement).

    Training on the result weighs every class equally, as ``class_weights`` do through
    the loss, but through the data.

    Returns:
        ``(x_bal, y_bal)``, shuffled, ``n_classes * largest count`` rows.
    """
    checks.same_length(x=x, y=y)
    y = checks.labels(y)
    if len(y) == 0:
        raise ValueError("x and y are empty; give the labelled images to resample")
    rng = np.random.default_rng(checks.seed(seed))
    classes, counts = np.unique(y, return_counts=True)
    picked = np.concatenate([rng.choice(np.flatnonzero(y == c), counts.max(), replace=True)
                             for c in classes])
    rng.shuffle(picked)
    return x[picked], y[picked]


def class_weights(y):
    """``{class: n / (K * n_c)}`` for the ``K`` classes present in ``y`` (n labels, n_c of class c).

    Every class then carries the same total weight, n / K, and the weights average 1 over
    the images (the loss keeps its scale). Plain Keras takes them as
    ``model.fit(..., class_weight=class_weights(y))``.
    """
    y = checks.labels(y)
    if len(y) == 0:
        raise ValueError("y is empty; give the training labels")
    classes, counts = np.unique(y, return_counts=True)
    return {int(c): len(y) / (len(classes) * int(k)) for c, k in zip(classes, counts)}


@keras.saving.register_keras_serializable(package="course_lib")
class ClassWeightedLoss(keras.losses.Loss):
    """Sparse categorical cross-entropy with each image's term multiplied by its class's weight.

    ``mean_i(w[y_i] * CE_i)``: what ``model.fit(class_weight=w)`` computes in plain Keras.
    Pass it as ``training.fit(model, data, loss=ClassWeightedLoss(class_weights(y), n_classes))``.

    Args:
        weights: ``{class: weight}``, positive finite weights; classes left out weigh 1.
        n_classes: the width of the model's head.
    """

    def __init__(self, weights, n_classes, name="class_weighted_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        n_classes = checks.whole_number(n_classes, "n_classes", minimum=2)
        table = np.ones(n_classes, dtype="float32")
        for c, w in dict(weights).items():
            checks.whole_number(c, "a class in weights", minimum=0, maximum=n_classes - 1)
            table[int(c)] = checks.positive_number(w, f"the weight of class {c}")
        self.weights_by_class = table

    def call(self, y_true, y_pred):
        from keras import ops

        y_true = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        per_image = keras.losses.sparse_categorical_crossentropy(y_true, y_pred)
        return per_image * ops.take(ops.convert_to_tensor(self.weights_by_class), y_true)

    def get_config(self):
        return {**super().get_config(), "n_classes": len(self.weights_by_class),
                "weights": {c: float(w) for c, w in enumerate(self.weights_by_class)}}


# ----------------------------------------------------------------------------- label mismatch

def _target_classes(probabilities, classes):
    probabilities = np.asarray(probabilities)
    if probabilities.ndim != 2 or len(probabilities) == 0:
        raise ValueError(f"probabilities must be (n, K) class probabilities, got shape {probabilities.shape}")
    checks.finite(probabilities, "probabilities")
    classes = [int(c) for c in classes]
    if not classes or len(set(classes)) != len(classes):
        raise ValueError(f"classes must be non-empty and without repeats, got {classes}")
    if min(classes) < 0 or max(classes) >= probabilities.shape[1]:
        raise ValueError(f"classes must be outputs of the model, 0..{probabilities.shape[1] - 1}, "
                         f"got {classes}")
    return probabilities, classes


def outside_share(probabilities, classes):
    """Share of images whose arg-max prediction is a class the target does not have.

    Args:
        probabilities: (n, K) source-model probabilities.
        classes: the target's label set, a subset of 0..K-1.
    """
    probabilities, classes = _target_classes(probabilities, classes)
    return float(np.mean(~np.isin(probabilities.argmax(axis=1), classes)))


def restrict_predictions(probabilities, classes):
    """Predictions of a K-way model restricted to the target's label set (partial transfer).

    Returns:
        (n,) labels from ``classes``: the most probable class *among them* for each image.
    """
    probabilities, classes = _target_classes(probabilities, classes)
    return np.asarray(classes)[probabilities[:, classes].argmax(axis=1)]
