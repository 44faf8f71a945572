"""Feature extraction: a trained model's layers as a frozen extractor, and a new head on its features.

Cut the source model at a named layer and freeze it; compute the features of the target
images **once** (the extractor never changes); then train only a new head on those
features. With the features computed, a head trains in about a second, because the
network never runs again::

    y_hat = h_phi(f_theta(x)),  phi* = argmin_phi sum over labelled target (x, y) of L(h_phi(f_theta(x)), y),
    theta frozen.

In plain Keras: ``base = keras.Model(model.input, model.get_layer(name).output)``,
``base.trainable = False``, ``features = base.predict(x)``, then fit a ``Dense`` softmax
on ``features``.
"""

from course_lib.core import checks
from course_lib.core.cnn import FEATURE_LAYER
from course_lib.core.evaluation import accuracy, layer_output

#: Adam steps for a head, each on every labelled image at once (the sets are small).
HEAD_STEPS = 200
HEAD_LEARNING_RATE = 1e-2


def frozen_extractor(model, layer=FEATURE_LAYER):
    """``model`` from its input up to ``layer``, frozen: a shared feature extractor.

    Returns:
        a ``keras.Model`` from images to ``layer``'s output, ``trainable = False``, sharing
        its weights with ``model`` (which stays trainable).
    """
    from course_lib.core.layers import cut

    extractor = cut(model, layer, name=f"extractor_{layer}")
    extractor.trainable = False
    return extractor


class FeatureCache:
    """Features of named image sets at named layers of one model, each computed once.

    ``cache.get("block2_pool", "train", x)`` runs the network the first time and returns the
    stored (n, d) array afterwards (``cache.computed`` counts the runs).
    """

    def __init__(self, model):
        self.model = model
        self._store = {}
        self.computed = 0

    def get(self, layer, name, x):
        """(n, d) features of ``x`` (called ``name``) at ``layer``, flattened."""
        key = (layer, name)
        if key not in self._store:
            self._store[key] = layer_output(self.model, layer, x)
            self.computed += 1
        return self._store[key]


def build_head(width, n_classes, hidden_units=0, seed=0):
    """A new head: (batch, width) features -> (batch, n_classes) probabilities.

    Args:
        hidden_units: 0 for a linear head (softmax regression: a linear probe), otherwise
            one ReLU layer of this width first.
    """
    import keras

    from course_lib.core.environment import seed_everything

    width = checks.whole_number(width, "width")
    n_classes = checks.whole_number(n_classes, "n_classes", minimum=2)
    hidden_units = checks.whole_number(hidden_units, "hidden_units", minimum=0)
    seed_everything(seed)
    inputs = keras.Input((width,), name="features_in")
    h = inputs
    if hidden_units:
        h = keras.layers.Dense(hidden_units, activation="relu", name="head_hidden")(h)
    outputs = keras.layers.Dense(n_classes, activation="softmax", name="new_head")(h)
    return keras.Model(inputs, outputs, name="new_head")


def train_head(features, y, n_classes, hidden_units=0, steps=HEAD_STEPS,
               learning_rate=HEAD_LEARNING_RATE, seed=0):
    """A new head trained on ``features`` (n, d) with labels ``y`` (n,); the batch is the whole set.

    Returns:
        the trained head, a ``keras.Model`` from (batch, d) features to probabilities.
    """
    from course_lib.core.training import fit

    checks.same_length(features=features, y=y)
    checks.labels(y, n_classes)
    head = build_head(features.shape[1], n_classes, hidden_units, seed)
    fit(head, (features, y), steps=steps, batch_size=len(features), learning_rate=learning_rate,
        seed=seed)
    return head


def layer_scores(model, train, evaluation, layers, n_classes, seed=0):
    """Accuracy on ``evaluation`` of a linear head trained on each layer's frozen features.

    Choose the layer on a *validation* split; test the chosen one once. Features are
    computed once per layer and image set (``FeatureCache``).

    Args:
        train, evaluation: ``(x, y)`` pairs of images and labels.
        layers: layer names of ``model``, e.g. ``["block1_pool", "block2_pool", "features_relu"]``.

    Returns:
        ``{layer: accuracy}`` in the order of ``layers``.
    """
    if not layers:
        raise ValueError("layers is empty; name at least one layer, e.g. 'features_relu'")
    cache = FeatureCache(model)
    scores = {}
    for layer in layers:
        head = train_head(cache.get(layer, "train", train[0]), train[1], n_classes, seed=seed)
        scores[layer] = accuracy(head, cache.get(layer, "evaluation", evaluation[0]), evaluation[1])
    return scores


def linear_probe(model, train, evaluation, n_classes, layer=FEATURE_LAYER, seed=0):
    """A linear probe: accuracy on ``evaluation`` of softmax regression on ``layer``'s frozen features.

    A cheap check of a source before fine-tuning it: features no better than a random
    network's will not transfer either.
    """
    return layer_scores(model, train, evaluation, [layer], n_classes, seed)[layer]
