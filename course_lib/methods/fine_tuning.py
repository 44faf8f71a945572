"""Task fine-tuning: what to unfreeze, how to choose its learning rate and length, and the tricks.

Fine-tuning continues training a pretrained model on the target, **starting from the
source weights**. The three strategies (the source text's section 3, parts (2.1)-(2.3);
the freezing itself is ``core.layers``). When the target has the source's classes (here
the same ten digits) they keep every source weight, the head too; with other classes
the head is new::

    head      the head only; everything below it frozen
    top       conv block 2, the feature layer and the head
    full      the whole model

and the baselines they are compared with::

    scratch   the same CNN from a random start (what the source weights are worth)
    new_head  frozen source features and a new random head (chapter 01's recipe)
    mapping   the source text's "fully connected" variant: the whole source model frozen
              and a learned map from its class probabilities to the target's classes,
              p = softmax(p_s A + alpha b) (``ProbabilityMapping``)

Choices are made on a validation split of the labelled target data, never on the test
set: ``fine_tune`` keeps the weights of the evaluation with the best validation accuracy
(the number of steps is chosen, not fixed), and ``select_learning_rate`` tries each rate
of a strategy's ``RATE_GRID`` and keeps the run with the best validation accuracy.

Loss design: ``SmoothedCrossentropy`` is cross-entropy against label-smoothed targets
(``smoothed_targets``), taking integer labels as the course does; ``calibration_error``
measures whether confidence matches accuracy. ``with_activation`` swaps the activation of
a pretrained model's ReLU layers (what that does to the learned function is chapter 03's
lesson).

In plain Keras 3, fine-tuning with a kept best checkpoint is::

    for layer in model.layers[:-1]:
        layer.trainable = False                      # freeze; then compile again
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=20, validation_data=(x_val, y_val),
              callbacks=[keras.callbacks.EarlyStopping("val_accuracy", mode="max",
                                                       patience=20, restore_best_weights=True)])
"""

import dataclasses

import keras
import numpy as np

from course_lib.core import checks
from course_lib.core.cnn import build_cnn
from course_lib.core.environment import seed_everything
from course_lib.core.layers import copy_model, train_only, with_new_head
from course_lib.core.training import fit
from course_lib.methods.learning_rates import GroupedLearningRates

#: strategy -> the course blocks that train (None: all of them).
STRATEGIES = {"head": ("head",), "top": ("block2", "features", "head"), "full": None}
BASELINES = ("scratch", "new_head", "mapping")
#: The learning rates each strategy tries; the validation split picks one. A frozen body
#: tolerates larger steps than a network whose early features may move; the mapping's
#: inputs are probabilities in [0, 1], so its weights need much larger steps to move its output.
RATE_GRID = {
    "scratch": (3e-3, 1e-2, 3e-2),
    "new_head": (1e-2, 3e-2, 1e-1),
    "mapping": (1e-1, 3e-1, 1.0),
    "head": (3e-3, 1e-2, 3e-2),
    "top": (3e-4, 1e-3, 3e-3),
    "full": (3e-4, 1e-3, 3e-3),
}
#: Gradient steps per fine-tuning run (a budget of steps, not of passes: 3 and 30 labels
#: per class then cost the same time); the validation split picks the best point within it.
DEFAULT_STEPS = 150
DEFAULT_BATCH = 32
#: The source text's alpha, the scale of the mapping's bias.
MAPPING_ALPHA = 1.0
#: The usual label-smoothing epsilon (Szegedy et al. 2016 used 0.1).
LABEL_SMOOTHING = 0.1
CALIBRATION_BINS = 10


@keras.saving.register_keras_serializable(package="course_lib")
class ProbabilityMapping(keras.layers.Layer):
    """``softmax(p_s A + alpha b)``: a learned map from one set of class probabilities to another.

    The source text's section 3, part (2.3): input (batch, K_s) class probabilities of the
    source classifier **for this image** (the text calls them prior probabilities; they are
    the classifier's posterior), output (batch, K_t) target class probabilities. ``A``
    (K_s, K_t) starts as the identity when K_s == K_t, so the model starts as the source
    classifier; ``b`` (K_t,) starts at zero; ``alpha`` is a fixed scale.
    """

    def __init__(self, n_classes, alpha=MAPPING_ALPHA, **kwargs):
        super().__init__(**kwargs)
        self.n_classes = checks.whole_number(n_classes, "n_classes", minimum=2)
        self.alpha = checks.positive_number(alpha, "alpha")

    def build(self, input_shape):
        k_source = int(input_shape[-1])
        start = "identity" if k_source == self.n_classes else "glorot_uniform"
        self.a = self.add_weight(shape=(k_source, self.n_classes), initializer=start, name="a")
        self.b = self.add_weight(shape=(self.n_classes,), initializer="zeros", name="b")

    def call(self, p_source):
        return keras.ops.softmax(keras.ops.matmul(p_source, self.a) + self.alpha * self.b)

    def get_config(self):
        return {**super().get_config(), "n_classes": self.n_classes, "alpha": self.alpha}


def probability_mapping_model(source, n_classes=10, alpha=MAPPING_ALPHA, seed=0):
    """The source model, frozen, followed by a trainable ``ProbabilityMapping`` named ``mapping``.

    Returns:
        an uncompiled ``keras.Model``; only the map's K_s x K_t + K_t weights train.
    """
    base = copy_model(source, seed=seed)
    base.trainable = False
    mapping = ProbabilityMapping(n_classes, alpha=alpha, name="mapping")
    return keras.Model(base.input, mapping(base.output), name="probability_mapping")


def build(strategy, source=None, n_classes=10, seed=0):
    """The model ``strategy`` trains, its layers frozen as the strategy says (uncompiled).

    Args:
        strategy: one of ``STRATEGIES`` (``head``, ``top``, ``full``) or ``BASELINES``
            (``scratch``, ``new_head``, ``mapping``).
        source: the trained source model (``scratch`` only reads its input channels). Its
            head is kept when it has ``n_classes`` outputs (except for ``new_head``), else
            replaced by a new one. It is never changed.
        seed: the initialisation of new layers (scratch's every layer) and the dropout masks.
    """
    checks.choice(strategy, "strategy", (*STRATEGIES, *BASELINES))
    if strategy == "scratch":
        channels = source.input_shape[-1] if source is not None else 1
        return build_cnn(channels=channels, n_classes=n_classes, seed=seed, name="scratch")
    if source is None:
        raise ValueError(f"strategy {strategy!r} fine-tunes the source model: pass source=")
    if strategy == "mapping":
        return probability_mapping_model(source, n_classes, seed=seed)
    if strategy == "new_head" or source.output_shape[-1] != n_classes:
        model = with_new_head(source, n_classes=n_classes, seed=seed)
    else:
        model = copy_model(source, name=strategy, seed=seed)
    train_only(model, ("head",) if strategy == "new_head" else STRATEGIES[strategy])
    return model


def _labelled(pair, name):
    """``pair`` as ``(x, y)``, if it is a pair of equally long arrays."""
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        raise ValueError(f"{name} must be a pair (x, y) of images and labels")
    checks.same_length(**{f"{name} images": pair[0], f"{name} labels": pair[1]})
    return pair


def best_weights_callback(steps):
    """Keras's ``EarlyStopping`` set to keep the weights of the best ``val_accuracy`` seen.

    Its patience covers the whole run, so it never stops training early: it only chooses
    the point (every ``training.STEPS_PER_EPOCH`` steps) whose weights the model ends with.
    """
    return keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max", patience=steps,
                                         restore_best_weights=True)


def validation_summary(val_accuracy, steps):
    """``fine_tune``'s summary of a validation curve measured at equal intervals over ``steps``.

    Returns:
        ``{"steps": [...], "val_accuracy": [...], "best_step": int, "best_val_accuracy": float}``:
        the step of each measurement, the accuracies, and the first of the best.
    """
    curve = [float(v) for v in val_accuracy]
    if not curve:
        raise ValueError("the validation curve is empty: train with validation data")
    at = [round(steps * (i + 1) / len(curve)) for i in range(len(curve))]
    best = int(np.argmax(curve))  # the first of equal bests, as EarlyStopping keeps
    return {"steps": at, "val_accuracy": curve, "best_step": at[best], "best_val_accuracy": curve[best]}


def fine_tune(model, train, validation, learning_rate, steps=DEFAULT_STEPS, batch_size=DEFAULT_BATCH,
              seed=0, loss=None, progress=None):
    """Train ``model`` (its ``trainable`` flags as they stand) and keep its best validation point.

    Args:
        train, validation: ``(x, y)`` labelled target images: one to learn from, one to
            choose with (validation accuracy is measured every ``STEPS_PER_EPOCH`` steps).
        learning_rate: Adam's rate, or ``{block: rate}`` for a rate per block.
        steps: the budget of gradient steps.
        loss: the task loss (default: cross-entropy), e.g. ``SmoothedCrossentropy()``.

    Returns:
        ``validation_summary`` of the run; ``model`` ends with the weights of ``best_step``.
    """
    train, validation = _labelled(train, "train"), _labelled(validation, "validation")
    steps = checks.whole_number(steps, "steps")
    if isinstance(learning_rate, dict):  # one optimizer per block: the wrapper trains ``model``
        model, learning_rate = GroupedLearningRates(model, learning_rate), None
    history = fit(model, train, steps=steps, batch_size=batch_size, learning_rate=learning_rate,
                  validation_data=tuple(validation), callbacks=[best_weights_callback(steps)],
                  seed=seed, loss=loss, progress=progress)
    return validation_summary(history.history["val_accuracy"], steps)


@dataclasses.dataclass
class Selection:
    """What ``select_learning_rate`` found: the kept ``model``, its ``learning_rate``, and every
    rate's validation run (``runs[rate]`` is a ``validation_summary``)."""

    model: object
    learning_rate: float
    runs: dict

    @property
    def best_val_accuracy(self):
        return self.runs[self.learning_rate]["best_val_accuracy"]


def select_learning_rate(make_model, rates, train_at):
    """Train a fresh ``make_model()`` at each rate; keep the best on the validation split.

    Args:
        make_model: a function of no arguments returning the model to train (frozen as wanted).
        rates: the learning rates to try (numbers), e.g. ``RATE_GRID[strategy]``.
        train_at: ``train_at(model, rate)`` trains ``model`` and returns its
            ``validation_summary`` (``fine_tune`` does), e.g.
            ``lambda model, rate: fine_tune(model, train, validation, rate)``.

    Returns:
        a ``Selection``. Ties go to the rate tried first.
    """
    rates = [checks.positive_number(rate, "learning rate") for rate in rates]
    if not rates:
        raise ValueError("rates is empty; give at least one learning rate to try")
    kept, runs = None, {}
    for rate in rates:
        model = make_model()
        runs[rate] = train_at(model, rate)
        if kept is None or runs[rate]["best_val_accuracy"] > runs[kept[1]]["best_val_accuracy"]:
            kept = (model, rate)
    return Selection(kept[0], kept[1], runs)


def smoothed_targets(y, n_classes, smoothing=LABEL_SMOOTHING):
    """Label-smoothed targets: ``(1 - smoothing) * one_hot(y) + smoothing / n_classes``.

    Returns:
        (n, n_classes) float32; every row sums to 1, the true class gets
        ``1 - smoothing + smoothing / n_classes``, every other ``smoothing / n_classes``.
    """
    n_classes = checks.whole_number(n_classes, "n_classes", minimum=2)
    y = checks.labels(y, n_classes)
    smoothing = checks.share(smoothing, "smoothing")
    one_hot = np.eye(n_classes, dtype="float32")[y]
    return ((1.0 - smoothing) * one_hot + smoothing / n_classes).astype("float32")


@keras.saving.register_keras_serializable(package="course_lib")
class SmoothedCrossentropy(keras.losses.Loss):
    """Cross-entropy against label-smoothed targets, from integer labels.

    Keras's ``CategoricalCrossentropy(label_smoothing=...)`` wants one-hot labels and its
    sparse version has no smoothing; this loss one-hots the course's integer labels and
    smooths them as ``smoothed_targets`` does.
    """

    def __init__(self, smoothing=LABEL_SMOOTHING, name="smoothed_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.smoothing = checks.share(smoothing, "smoothing")

    def call(self, y_true, y_pred):
        ops = keras.ops
        labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
        one_hot = ops.one_hot(labels, ops.shape(y_pred)[-1], dtype=y_pred.dtype)
        return keras.losses.categorical_crossentropy(one_hot, y_pred, label_smoothing=self.smoothing)

    def get_config(self):
        return {**super().get_config(), "smoothing": self.smoothing}


def calibration_error(probabilities, y, bins=CALIBRATION_BINS):
    """Expected calibration error: how far confidence is from accuracy, on average.

    The predictions are grouped by confidence (the top probability) into ``bins`` equal
    intervals of [0, 1]; ECE is the mean over predictions of |accuracy - mean confidence|
    of their bin. 0 means "80 % sure" is right 80 % of the time.

    Args:
        probabilities: (n, K) class probabilities.
        y: (n,) true labels.
    """
    probabilities = np.asarray(checks.finite(probabilities, "probabilities"), dtype="float64")
    if probabilities.ndim != 2 or len(probabilities) == 0:
        raise ValueError(f"probabilities must be a non-empty (n, classes) array, got shape "
                         f"{probabilities.shape}")
    y = checks.labels(y, probabilities.shape[1])
    checks.same_length(probabilities=probabilities, y=y)
    bins = checks.whole_number(bins, "bins")
    confidence = probabilities.max(axis=1)
    right = probabilities.argmax(axis=1) == y
    which = np.minimum((confidence * bins).astype(int), bins - 1)
    error = 0.0
    for b in np.unique(which):
        mine = which == b
        error += mine.mean() * abs(right[mine].mean() - confidence[mine].mean())
    return float(error)


def with_activation(model, activation, seed=0):
    """A copy of ``model`` whose ReLU layers compute ``activation`` instead, with the same weights.

    Args:
        activation: a Keras activation name, e.g. ``"tanh"``, ``"gelu"``, ``"elu"``.
        seed: seeds the copy's dropout (as ``layers.copy_model`` does).

    Returns:
        an uncompiled ``keras.Model``: every other layer and every weight as in ``model``.
    """
    try:
        keras.activations.get(activation)
    except ValueError as error:
        raise ValueError(f"unknown activation {activation!r}: use a Keras activation name such as "
                         "'tanh', 'gelu' or 'elu'") from error
    relus = [layer.name for layer in model.layers if isinstance(layer, keras.layers.ReLU)]
    if not relus:
        raise ValueError(f"model {model.name!r} has no ReLU layer to swap")

    def clone(layer):
        if layer.name in relus:
            return keras.layers.Activation(activation, name=layer.name)
        return layer.__class__.from_config(layer.get_config())

    seed_everything(seed)
    swapped = keras.models.clone_model(model, clone_function=clone)
    swapped.set_weights(model.get_weights())
    return swapped
