"""A trained model as a frozen, shared feature extractor, and small heads trained on its features.

Cut the source model at a named layer, freeze it, compute the features of the
target images once, and train only a new head on them: with the features
cached, a head trains in about a second, because the network never runs again.
"""

import math

import numpy as np

from course_lib.models import (BN_MOMENTUM, FEATURE_LAYER, build_cnn, cached_model, compile_classifier,
                               train_classifier)


def cut(model, layer=FEATURE_LAYER):
    """A frozen copy-free view of ``model`` from its input to ``layer``'s output.

    Args:
        model: a functional ``keras.Model`` (e.g. the course's source model).
        layer: the name of the layer whose output are the features.

    Returns:
        a ``keras.Model`` mapping images to that layer's output, with
        ``trainable = False``. It shares its weights with ``model``.
    """
    import keras

    names = [lyr.name for lyr in model.layers]
    if layer not in names:
        raise ValueError(f"model has no layer {layer!r}; its layers: {', '.join(names)}")
    extractor = keras.Model(model.input, model.get_layer(layer).output, name=f"extractor_{layer}")
    extractor.trainable = False
    return extractor


def features(extractor, x, batch_size=512):
    """The extractor's output for images ``x``, flattened: (n, d) float32, inference mode."""
    if len(x) == 0:
        raise ValueError("x is empty; give at least one image")
    out = extractor.predict(x, batch_size=batch_size, verbose=0)
    return out.reshape(len(x), -1).astype("float32")


class FeatureCache:
    """Features of named image sets at named layers of one model, each computed once.

    ``cache.get("features_relu", "train", x)`` runs the network the first time
    and returns the stored array afterwards (``cache.computed`` counts the runs).
    """

    def __init__(self, model):
        self.model = model
        self._store = {}
        self.computed = 0

    def get(self, layer, name, x):
        """(n, d) features of ``x`` (called ``name``) at ``layer``."""
        key = (layer, name)
        if key not in self._store:
            self._store[key] = features(cut(self.model, layer), x)
            self.computed += 1
        return self._store[key]


def train_head(f, y, n_classes, hidden_units=0, epochs=200, learning_rate=1e-2, seed=0):
    """A new classifier head trained on features ``f`` (n, d) with labels ``y`` (n,).

    Args:
        hidden_units: 0 for a linear head (softmax regression: a linear probe),
            otherwise one ReLU layer of this width first.
        epochs: full passes (steps); the batch is the whole (small) set.

    Returns:
        the trained head, a ``keras.Model`` from (batch, d) features to probabilities.
    """
    import keras
    import tensorflow as tf

    if len(f) != len(y):
        raise ValueError(f"f has {len(f)} rows but y has {len(y)}")
    if len(f) == 0:
        raise ValueError("no training features")
    if n_classes < 2 or y.min() < 0 or y.max() >= n_classes:
        raise ValueError(f"labels must be in 0..{n_classes - 1} with n_classes >= 2, "
                         f"got labels {y.min()}..{y.max()} and n_classes {n_classes}")
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((f.shape[1],), name="features_in")
    h = inputs
    if hidden_units:
        h = keras.layers.Dense(hidden_units, activation="relu", name="head_hidden")(h)
    outputs = keras.layers.Dense(n_classes, activation="softmax", name="new_head")(h)
    head = keras.Model(inputs, outputs, name="new_head")
    compile_classifier(head, learning_rate)
    # One fit "epoch" of `epochs` full-batch steps: Keras's per-epoch overhead would dominate.
    full_batch = tf.data.Dataset.from_tensors((f, y)).repeat(epochs)
    head.fit(full_batch, epochs=1, shuffle=False, verbose=0)
    return head


def head_accuracy(head, f, y):
    """Share of feature rows ``f`` whose arg-max prediction by ``head`` equals ``y``."""
    if len(f) == 0:
        raise ValueError("cannot compute accuracy on an empty set")
    return float(np.mean(np.argmax(head.predict(f, batch_size=1024, verbose=0), axis=1) == y))


def scratch_model(x, y, n_classes, channels=1, epochs=60, batch_size=32, seed=0):
    """The course's CNN trained from random weights on (x, y) only: the no-transfer baseline.

    Trains for ``epochs`` passes' worth of Adam steps (learning rate 1e-3) over the
    shuffled, repeated (x, y), in a few long Keras epochs rather than many short ones.
    """
    import keras

    from course_lib.fine_tuning import fit

    keras.utils.set_random_seed(seed)
    model = build_cnn(channels=channels, n_classes=n_classes, name="scratch_cnn")
    fit(model, x, y, learning_rate=1e-3, steps=epochs * math.ceil(len(x) / batch_size),
        batch_size=batch_size, seed=seed)
    return model


def subtask_source_model(classes=(0, 1, 2, 3, 4), domain="mnist", seed=0, epochs=5):
    """The course's CNN trained on the ``domain`` training digits of ``classes`` only; cached.

    A source for a new task in the same domain (e.g. digits 5-9 after 0-4).
    A few seconds the first time, then loaded from the cache folder.

    Args:
        classes: the digits the source learns, relabelled 0..k-1 in this order.
        domain: one of ``course_lib.data.DOMAINS`` (grey images).
        epochs: passes over the (about 2,000) training images.

    Returns:
        a ``keras.Model`` with a ``len(classes)``-way head.
    """
    import keras

    from course_lib.data import class_subset, load_domain

    classes = tuple(int(c) for c in classes)
    x, y = class_subset(*load_domain(domain, "train", seed=seed), classes)

    def train():
        keras.utils.set_random_seed(seed)
        model = build_cnn(channels=1, n_classes=len(classes), name="subtask_cnn")
        train_classifier(model, x, y, epochs=epochs, seed=seed, progress=None)
        return model

    return cached_model("subtask_model", (classes, domain, seed, epochs, BN_MOMENTUM), train)[0]


def layer_scores(model, x_few, y_few, x_test, y_test, layers, n_classes, seed=0):
    """Test accuracy of a linear head on the frozen features of each of ``layers``.

    Features are computed once per layer and image set (``FeatureCache``).

    Returns:
        ``{layer: accuracy}`` in the order of ``layers``.
    """
    if not layers:
        raise ValueError("layers is empty; name at least one layer, e.g. 'features_relu'")
    cache = FeatureCache(model)
    scores = {}
    for layer in layers:
        head = train_head(cache.get(layer, "few", x_few), y_few, n_classes, seed=seed)
        scores[layer] = head_accuracy(head, cache.get(layer, "test", x_test), y_test)
    return scores
