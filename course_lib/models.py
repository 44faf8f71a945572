"""The course's small CNN, its trained source model (cached), and evaluation on domains.

The CNN's layers have names a teacher can point at::

    input -> block1_conv -> block1_bn -> block1_relu -> block1_pool     conv block 1
          -> block2_conv -> block2_bn -> block2_relu -> block2_pool     conv block 2
          -> flatten -> features -> features_bn -> features_relu        the feature layer
          -> dropout -> head                                            the classifier

BatchNorm uses momentum 0.9: with Keras's default 0.99 the moving statistics
of a model trained for a few hundred steps still remember their initial values,
and the model is right in training mode but near chance in inference mode.
"""

import hashlib
import os

import numpy as np

from course_lib.environment import cache_dir

BLOCKS = {
    "block1": ("block1_conv", "block1_bn", "block1_relu", "block1_pool"),
    "block2": ("block2_conv", "block2_bn", "block2_relu", "block2_pool"),
    "features": ("flatten", "features", "features_bn", "features_relu", "dropout"),
    "head": ("head",),
}
FEATURE_LAYER = "features_relu"
BN_MOMENTUM = 0.9

#: How the source model is trained; part of its cache key.
SOURCE_RECIPE = {"domain": "mnist", "epochs": 5, "batch_size": 128, "learning_rate": 1e-3}


def build_cnn(channels=1, n_classes=10, filters=(16, 32), units=128, dropout=0.3, name="cnn"):
    """The course's CNN for 28x28 images (uncompiled, freshly initialised).

    Args:
        channels: input channels, 1 (grey) or 3 (RGB).
        n_classes: width of the softmax ``head``.
        filters: filters of conv blocks 1 and 2 (3x3 kernels).
        units: width of the ``features`` layer.

    Returns:
        a functional ``keras.Model`` mapping (batch, 28, 28, channels) images to
        (batch, n_classes) class probabilities.
    """
    import keras
    from keras import layers

    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grey) or 3 (RGB), got {channels!r}")
    if n_classes < 2:
        raise ValueError(f"n_classes must be at least 2, got {n_classes}")
    inputs = keras.Input((28, 28, channels), name="image")
    x = inputs
    for i, f in enumerate(filters, start=1):
        x = layers.Conv2D(f, 3, name=f"block{i}_conv")(x)
        x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"block{i}_bn")(x)
        x = layers.ReLU(name=f"block{i}_relu")(x)
        x = layers.MaxPooling2D(name=f"block{i}_pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(units, name="features")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name="features_bn")(x)
    x = layers.ReLU(name="features_relu")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="head")(x)
    return keras.Model(inputs, outputs, name=name)


def compile_built(model, optimizer, **compile_kwargs):
    """``model.compile(optimizer=optimizer, **compile_kwargs)``, then build the optimizer now.

    Without a distribution strategy Keras creates the optimizer's slots (Adam's two
    moments per weight) inside the first traced training step, and TensorFlow then
    traces that step a second time. Building them here saves that second trace:
    1-2 s per model on a small CPU, which adds up over a chapter's dozens of models.
    Returns ``model``.
    """
    model.compile(optimizer=optimizer, **compile_kwargs)
    model.optimizer.build(model.trainable_variables)
    return model


def compile_classifier(model, learning_rate=1e-3):
    """Compile ``model`` with Adam, sparse cross-entropy and accuracy; returns it."""
    import keras

    return compile_built(
        model,
        keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )


def train_classifier(model, x, y, epochs, batch_size=128, learning_rate=1e-3,
                     validation_data=None, seed=0, progress="train"):
    """Compile and fit ``model`` on (x, y) with the course's compact progress line.

    Args:
        progress: a label for the progress line, or None for silence.

    Returns:
        the ``keras.callbacks.History``.
    """
    import keras

    from course_lib.progress import ProgressLine

    keras.utils.set_random_seed(seed)
    compile_classifier(model, learning_rate)
    callbacks = [ProgressLine(progress)] if progress else []
    return model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0,
                     validation_data=validation_data, callbacks=callbacks, shuffle=True)


def cache_path(name, recipe):
    """Where the cache folder keeps the model ``name`` trained by ``recipe``.

    Args:
        name: the start of the file name, e.g. ``"source_model_c1_s0"``.
        recipe: everything that decides the trained weights (a dict or tuple); its
            hash is part of the file name, so a changed recipe is trained afresh.
    """
    digest = hashlib.sha1(repr(recipe).encode()).hexdigest()[:10]
    return cache_dir() / f"{name}_{digest}.keras"


def cached_model(name, recipe, train, retrain=False):
    """Load the model saved for ``(name, recipe)``, or ``train()`` it and save it.

    The file is written under a temporary name and renamed when complete, so a
    run stopped halfway (or two kernels at once) never leaves a broken model.

    Args:
        train: a function of no arguments returning the trained ``keras.Model``.
        retrain: ignore a saved model and train again.

    Returns:
        ``(model, loaded)``: the model, and whether it came from the cache.
    """
    import keras

    path = cache_path(name, recipe)
    if path.exists() and not retrain:
        return keras.models.load_model(path, safe_mode=True), True
    model = train()
    tmp = path.with_name(path.stem + f".tmp{os.getpid()}.keras")
    model.save(tmp)
    tmp.replace(path)
    return model, False


def _source_name_and_recipe(channels, seed):
    return (f"source_model_c{channels}_s{seed}",
            sorted({**SOURCE_RECIPE, "channels": channels, "seed": seed}.items()))


def _source_path(channels, seed):
    return cache_path(*_source_name_and_recipe(channels, seed))


def source_model(channels=1, seed=0, retrain=False, progress="source model"):
    """The CNN trained on the ``mnist`` training split, cached on disk.

    Trained once per (channels, seed) in about 10 s on 2 cores, then loaded
    from the cache folder (``course_lib.cache_dir()``) with Keras's safe mode.

    Args:
        channels: 1 for the grey source model, 3 for one that takes RGB
            (MNIST repeated to 3 channels).
        seed: the split of ``mnist`` and the initialisation and shuffling.
        retrain: ignore the cache and train again.

    Returns:
        a compiled ``keras.Model``; ``model.source_cached`` says whether it was loaded.
    """
    import keras

    from course_lib.data import load_domain

    def train():
        x, y = load_domain(SOURCE_RECIPE["domain"], "train", seed=seed, channels=channels)
        keras.utils.set_random_seed(seed)
        model = build_cnn(channels=channels, name="source_cnn")
        train_classifier(model, x, y, epochs=SOURCE_RECIPE["epochs"],
                         batch_size=SOURCE_RECIPE["batch_size"],
                         learning_rate=SOURCE_RECIPE["learning_rate"], seed=seed, progress=progress)
        return model

    model, loaded = cached_model(*_source_name_and_recipe(channels, seed), train, retrain=retrain)
    model.source_cached = loaded
    return model


def accuracy(model, x, y, batch_size=512):
    """Share of ``x`` whose arg-max prediction equals ``y`` (inference mode).

    Args:
        model: a classifier with softmax output ``(n, classes)``.
        x: images ``(n, ...)``, or a list of such arrays for a model with
            several inputs (e.g. the two-branch fusion model).
        y: integer labels ``(n,)``.

    Calls the model batch by batch rather than ``predict``, which is slow to
    start: cheap enough to run after every epoch.
    """
    inputs = list(x) if isinstance(x, (list, tuple)) else [x]
    sizes = {len(part) for part in inputs}
    if len(sizes) != 1:
        raise ValueError(f"the model inputs have different lengths: {sorted(sizes)}")
    n = sizes.pop()
    if n == 0:
        raise ValueError("cannot compute accuracy on an empty set")
    if n != len(y):
        raise ValueError(f"x has {n} images but y has {len(y)} labels")
    right = 0
    for start in range(0, n, batch_size):
        batch = [part[start:start + batch_size] for part in inputs]
        probabilities = np.asarray(model(batch if len(batch) > 1 else batch[0], training=False))
        right += int(np.sum(probabilities.argmax(axis=1) == y[start:start + batch_size]))
    return right / n


def evaluate_on_domains(model, domains=("mnist", "digits", "mnist_m"), split="test", seed=0):
    """Accuracy of ``model`` on each domain's split.

    Returns:
        a ``pandas.DataFrame`` with one row per domain: ``domain``, ``images``, ``accuracy``.
    """
    import pandas as pd

    from course_lib.data import load_domain

    channels = model.input_shape[-1]
    rows = []
    for name in domains:
        x, y = load_domain(name, split, seed=seed, channels=channels)
        rows.append({"domain": name, "images": len(x), "accuracy": accuracy(model, x, y)})
    return pd.DataFrame(rows)


def block_table(model):
    """The model's layers grouped into the course's blocks, with parameter counts.

    Returns:
        a ``pandas.DataFrame``: ``block``, ``layers`` (comma-separated names), ``params``.
        Layers outside ``BLOCKS`` (e.g. the input) are not listed.
    """
    import pandas as pd

    names = {layer.name for layer in model.layers}
    rows = []
    for block, layer_names in BLOCKS.items():
        present = [n for n in layer_names if n in names]
        if present:
            params = sum(model.get_layer(n).count_params() for n in present)
            rows.append({"block": block, "layers": ", ".join(present), "params": params})
    return pd.DataFrame(rows)
