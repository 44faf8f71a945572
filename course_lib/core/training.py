"""Training: the one way the course trains a model.

``fit(model, data, ...)`` seeds, compiles ``model`` with Adam and trains it with Keras's
``Model.fit``, showing the course's one-line progress display. Every method trains through
it. A plain classifier uses Keras's own training step; a method that needs a step of its
own (DANN, Deep CORAL and MMD, CCSA, information maximisation, per-group learning rates)
is a ``keras.Model`` subclass that overrides ``train_step``, and trains the same way.

In plain Keras, what ``fit`` does is::

    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=5, batch_size=32, validation_data=(x_val, y_val), verbose=0)
"""

import numpy as np

from course_lib.core import checks
from course_lib.core.data import IMAGE_SIZE, check_images

#: Logged "epochs" of step-based training: one per this many steps (Keras has a fixed cost
#: per epoch, so 150 steps run faster as 6 epochs of 25 than as 38 epochs of 4 batches).
STEPS_PER_EPOCH = 25
#: Images per batch when measuring validation data.
VALIDATION_BATCH = 256


def _rows(x):
    """The number of rows of an array, a list of arrays or a dict of arrays (all equal)."""
    parts = list(x.values()) if isinstance(x, dict) else list(x) if isinstance(x, (list, tuple)) else [x]
    if not parts:
        raise ValueError("the model inputs are empty")
    return checks.same_length(**{f"input {i}": part for i, part in enumerate(parts)})


def _input_shapes(model):
    """The shapes of ``model``'s inputs, e.g. ``[(None, 28, 28, 1)]``; None if it has no fixed inputs."""
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):  # a subclassed model not built yet
        return None
    return [tuple(tensor.shape) for tensor in inputs] if inputs else None


def _is_image_input(shape):
    """True for an input of the course's models: (None, 28, 28, channels)."""
    return len(shape) == 4 and shape[1:3] == (IMAGE_SIZE, IMAGE_SIZE)


def _batch_shape(wanted):
    return "(n, " + ", ".join(map(str, wanted[1:])) + ")"


def _fits(shape, wanted):
    return len(shape) == len(wanted) and all(w is None or s == w for s, w in zip(shape[1:], wanted[1:]))


def _check_shape(array, wanted, name):
    """``array`` fits a model input of shape ``wanted``; else a one-line message saying what to do.

    Images without their channel axis, (n, 28, 28) for a grey model, are accepted: Keras adds it.
    """
    shape = array.shape
    if _fits(shape, wanted) or (wanted[-1] == 1 and _fits((*shape, 1), wanted)):
        return
    takes = f"this model takes {_batch_shape(wanted)}"
    if _is_image_input(wanted):
        has = shape[-1] if len(shape) == 4 else 1 if len(shape) == 3 else None
        if shape[1:3] == wanted[1:3] and has in (1, 3):
            raise ValueError(f"{name} has {has}-channel images, but this model takes {wanted[-1]}-channel "
                             f"images: use data.to_channels({name}, {wanted[-1]})")
        if shape in (wanted[1:], wanted[1:3]):
            raise ValueError(f"{name} is one image {shape}; {takes}, a batch: {name}[None] is a batch of one")
    raise ValueError(f"{name} has shape {shape}; {takes}")


def check_inputs(x, model=None, name="x"):
    """Check what a model is given, before Keras sees it; returns ``x``.

    Every array must hold finite numbers, and images (28 x 28 pixels, whatever the rank,
    ``data.check_images``) float pixels in [0, 1]. Given the ``model``: one array per model
    input (a dict of arrays is left to the model), each shaped as that input, with a
    one-line message saying how to convert (``data.to_channels`` for grey vs RGB).
    """
    parts = list(x.values()) if isinstance(x, dict) else list(x) if isinstance(x, (list, tuple)) else [x]
    shapes = None if model is None or isinstance(x, dict) else _input_shapes(model)
    if shapes is not None and len(parts) != len(shapes):
        if len(shapes) == 1:
            raise ValueError(f"{name} is a {type(x).__name__} of {len(parts)} items, but this model takes "
                             f"one array {_batch_shape(shapes[0])}: stack them, e.g. np.stack({name})")
        raise ValueError(f"this model takes {len(shapes)} inputs, one array each; {name} has {len(parts)}")
    labels = [f"{name}[{k!r}]" for k in x] if isinstance(x, dict) else \
        [name] if len(parts) == 1 else [f"{name}[{i}]" for i in range(len(parts))]
    for i, (label, part) in enumerate(zip(labels, parts)):
        wanted = shapes[i] if shapes else None
        array = check_images(part, label, images=True if wanted and _is_image_input(wanted) else None)
        if wanted:
            _check_shape(array, wanted, label)
    return x


def _classes(model):
    try:
        return int(model.output_shape[-1])
    except (AttributeError, TypeError, ValueError):  # a subclassed model not built yet
        return None


def dataset(x, y=None, batch_size=32, seed=0, repeat=False):
    """A ``tf.data.Dataset`` of shuffled ``(x, y)`` batches (or ``x`` batches when ``y`` is None).

    Reshuffled on every pass; ``repeat`` makes it endless. Every batch holds exactly
    ``batch_size`` rows when there are more rows than that (a last, smaller batch is
    dropped: a batch of one has no variance for BatchNorm or CORAL to use).
    """
    import tensorflow as tf

    n = _rows(x)
    if n == 0:
        raise ValueError("no training data: x is empty")
    if isinstance(x, list):  # one array per model input: tf.data would stack a list into one tensor
        x = tuple(x)
    data = tf.data.Dataset.from_tensor_slices(x if y is None else (x, y))
    data = data.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        data = data.repeat()
    return data.batch(min(batch_size, n), drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def _optimizer_reset(optimizer):
    """Zero the optimizer's step count and moments (not its learning rate): as good as new."""
    for variable in optimizer.variables:
        if variable.name != "learning_rate":
            variable.assign(np.zeros(variable.shape, dtype=variable.dtype))


def compile_for_training(model, learning_rate=1e-3, loss=None, strategy=None):
    """Compile ``model`` with Adam, the loss and accuracy, and build the optimizer now.

    Building the optimizer at compile time matters on a small CPU: otherwise Keras creates
    Adam's moments inside the first traced training step and TensorFlow traces that step a
    second time (1-2 s per model). A model already compiled here with the same rate, loss
    and trainable weights keeps its traced step and only gets a fresh optimizer state (with
    any optimizers a method keeps beside it, listed by its ``extra_optimizers``).

    A model whose ``makes_own_optimizers`` is true (``methods.learning_rates.GroupedLearningRates``)
    is compiled with the loss and accuracy only, and ``learning_rate`` must be None.

    Returns:
        ``model``, compiled.
    """
    import contextlib

    import keras

    loss_object = loss or keras.losses.SparseCategoricalCrossentropy()
    metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
    scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
    if isinstance(learning_rate, dict):
        raise ValueError("for a learning rate per group of layers, wrap the model: fit("
                         "methods.learning_rates.GroupedLearningRates(model, rates), data, learning_rate=None)")
    if getattr(model, "makes_own_optimizers", False):
        if learning_rate is not None:
            raise ValueError(f"{type(model).__name__} makes its own optimizers: pass learning_rate=None")
        with scope:
            model.compile(loss=loss_object, metrics=metrics)
        return model
    learning_rate = checks.positive_number(learning_rate, "learning_rate")
    signature = (learning_rate, "default" if loss is None else id(loss),
                 tuple(id(v) for v in model.trainable_variables))
    if getattr(model, "_course_signature", None) == signature and model.optimizer is not None:
        for optimizer in (model.optimizer, *getattr(model, "extra_optimizers", ())):
            _optimizer_reset(optimizer)
        return model
    with scope:
        model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss_object, metrics=metrics)
        model.optimizer.build(model.trainable_variables)
    model._course_signature = signature
    return model


def fit(model, data, *, epochs=None, steps=None, batch_size=32, learning_rate=1e-3,
        validation_data=None, callbacks=(), progress=None, seed=0, strategy=None, loss=None):
    """Train ``model`` with Adam on ``data``: the one way the course trains.

    Args:
        model: a Keras model: functional, or a subclass whose ``train_step`` is the method.
        data: ``(x, y)``: x an array, a list of arrays (one per model input) or a dict
            (two-domain models: ``{"source": images, "target": images}``); y (n,) integer
            labels, or None for methods that learn without labels. Or a ``tf.data.Dataset``
            of batches (then ``batch_size`` and shuffling are the dataset's).
        epochs: passes over the data, reshuffled each time. Give this or ``steps``.
        steps: gradient steps, drawn from the shuffled data repeated as often as needed
            (so 3 and 30 labels per class cost the same time); logged every
            ``STEPS_PER_EPOCH`` steps.
        batch_size: rows per step.
        learning_rate: Adam's step size, a positive number; None for a model that makes its
            own optimizers (a rate per group of layers: ``methods.learning_rates``).
        validation_data: ``(x, y)`` measured after every epoch (``val_loss``,
            ``val_accuracy``): a validation split, never the test set. Or a
            ``tf.data.Dataset`` of ``(x, y)`` batches.
        callbacks: more Keras callbacks.
        progress: a label for the course's progress line, or None for silence.
        seed: seeds shuffling, dropout and every random draw made while training.
        strategy: a ``tf.distribute`` strategy; build the model inside its ``scope()``.
        loss: the task loss, default sparse categorical cross-entropy on probabilities.

    Returns:
        the ``keras.callbacks.History``: ``history.history[name]`` per epoch.
    """
    import tensorflow as tf

    from course_lib.core.environment import seed_everything
    from course_lib.core.progress import ProgressLine

    if (epochs is None) == (steps is None):
        raise ValueError("give exactly one of epochs= (passes over the data) or steps= "
                         f"(gradient steps); got epochs={epochs!r}, steps={steps!r}")
    batch_size = checks.whole_number(batch_size, "batch_size")
    if strategy is not None and model.distribute_strategy is not strategy:
        raise ValueError("build the model inside strategy.scope(), then pass the strategy to fit")
    seed_everything(seed)
    if isinstance(data, tf.data.Dataset):
        stream = data if steps is None else data.repeat()
    else:
        x, y = data
        n = _rows(check_inputs(x, model))
        if y is not None:
            checks.same_length(x=range(n), y=y)
            y = checks.labels(y, _classes(model) if loss is None else None)
        stream = dataset(x, y, batch_size, seed, repeat=steps is not None)
    per_epoch = None
    if steps is not None:
        steps = checks.whole_number(steps, "steps")
        per_epoch = min(STEPS_PER_EPOCH, steps)
        epochs = max(1, round(steps / per_epoch))
    epochs = checks.whole_number(epochs, "epochs")
    if validation_data is not None and not isinstance(validation_data, tf.data.Dataset):
        check_inputs(validation_data[0], model, "validation_data[0]")
    trainee = compile_for_training(model, learning_rate, loss, strategy)
    shown = [ProgressLine(progress)] if progress else []
    return trainee.fit(stream, epochs=epochs, steps_per_epoch=per_epoch, shuffle=False, verbose=0,
                       validation_data=validation_data, validation_batch_size=VALIDATION_BATCH,
                       callbacks=[*callbacks, *shown])
