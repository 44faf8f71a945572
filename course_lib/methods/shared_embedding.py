"""Intra-domain mapping: source and target images mapped into one shared embedding space.

CCSA (Motiian et al. 2017, "Unified deep supervised domain adaptation and
generalization"): one embedding network ``g`` is shared by both domains and trained with
the source labels and a few labelled target images. Besides the classification loss, a
**semantic alignment** loss pulls every same-class (source, target) pair together, and a
**separation** loss pushes different-class pairs at least ``margin`` apart::

    d(i, j)    = || g(x_i^s) - g(x_j^t) ||
    L_align    = mean over pairs with y_i^s == y_j^t of d(i, j)^2
    L_separate = mean over pairs with y_i^s != y_j^t of max(0, margin - d(i, j))^2
    L          = (1 - alpha) * (CE_source + CE_target) + alpha * (L_align + L_separate)

A softmax ``head`` reads the embedding. Embeddings are L2-normalised, so distances lie in
[0, 2] and the margin's scale does not drift. ``alpha = 0`` is the plain "train on both
domains' labels" baseline with the same network and the same steps.

Train it with the course's one ``fit``::

    classifier = build_embedding_classifier(channels=3, seed=0)
    fit(CCSA(classifier), labelled_pairs(x_s, y_s, x_t, y_t), steps=150,
        validation_data=(x_val, y_val))
"""

import keras
import numpy as np
from keras import ops

from course_lib.core import checks
from course_lib.core.data import N_CLASSES

EMBEDDING_DIM = 64
#: Different-class pairs closer than this are pushed apart (embeddings are unit vectors).
MARGIN = 1.0
#: The weight of the pair losses, as in the CCSA paper (not tuned here).
ALPHA = 0.25
#: The layer whose output is the embedding g(x).
EMBEDDING_LAYER = "embedding"
#: Conv filters of the embedding network's two blocks.
FILTERS = (16, 32)
#: Keeps the square root's gradient finite at distance 0.
DISTANCE_EPSILON = 1e-12
#: The keys of ``labelled_pairs``'s inputs.
PAIR_KEYS = ("source", "target", "target_labels")
#: What ``CCSA`` logs while training only (validation has no pairs to measure them on).
TRAINING_LOGS = ("task_loss", "align", "separate")


def build_embedding_classifier(channels=3, n_classes=N_CLASSES, dim=EMBEDDING_DIM, seed=0):
    """The shared embedding ``g`` and a softmax ``head`` on it, freshly initialised.

    image -> two conv blocks (16 and 32 3x3 filters, ReLU, max-pooling; no BatchNorm, so
    the two domains never share batch statistics) -> ``embedding_dense`` -> ``embedding``
    (L2-normalised, ``dim`` values) -> ``head`` (softmax).

    Returns:
        a functional ``keras.Model``: images (batch, 28, 28, channels) in [0, 1] ->
        (batch, n_classes) probabilities. ``core.evaluation.layer_output(model,
        "embedding", x)`` gives the embeddings.
    """
    from keras import layers

    from course_lib.core.cnn import conv_block, image_input
    from course_lib.core.environment import seed_everything

    n_classes = checks.whole_number(n_classes, "n_classes", minimum=2)
    dim = checks.whole_number(dim, "dim", minimum=2)
    seed_everything(seed)
    inputs = image_input(channels)
    x = inputs
    for i, filters in enumerate(FILTERS, start=1):
        x = conv_block(x, filters, i, batchnorm=False)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(dim, name="embedding_dense")(x)
    z = layers.UnitNormalization(name=EMBEDDING_LAYER)(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="head")(z)
    return keras.Model(inputs, outputs, name="embedding_classifier")


def _embeddings(z, name):
    z = ops.convert_to_tensor(z, dtype="float32")
    if len(z.shape) != 2:
        raise ValueError(f"{name} must be 2-D (n, dim), got shape {tuple(z.shape)}")
    return z


def alignment_losses(z_source, y_source, z_target, y_target, margin=MARGIN):
    """CCSA's two pair losses over every (source, target) pair of a batch.

    Args:
        z_source: (n, dim) source embeddings; y_source: (n,) their labels.
        z_target: (m, dim) target embeddings; y_target: (m,) their labels.
        margin: different-class pairs closer than this are penalised (> 0).

    Returns:
        ``(align, separate)``, two scalars >= 0: the mean squared distance of same-class
        pairs, and the mean squared shortfall ``max(0, margin - d)`` of different-class
        pairs (each 0 when it has no pairs).
    """
    margin = checks.positive_number(margin, "margin")
    z_source, z_target = _embeddings(z_source, "z_source"), _embeddings(z_target, "z_target")
    if z_source.shape[1] != z_target.shape[1]:
        raise ValueError(f"z_source and z_target must have the same dim (columns); got "
                         f"{tuple(z_source.shape)} and {tuple(z_target.shape)}")
    squared = ops.maximum(
        ops.sum(z_source**2, axis=1)[:, None] + ops.sum(z_target**2, axis=1)[None, :]
        - 2.0 * ops.matmul(z_source, ops.transpose(z_target)), 0.0)
    same = ops.cast(ops.equal(ops.reshape(ops.cast(y_source, "int64"), (-1, 1)),
                              ops.reshape(ops.cast(y_target, "int64"), (1, -1))), "float32")
    different = 1.0 - same
    shortfall = ops.relu(margin - ops.sqrt(squared + DISTANCE_EPSILON))
    align = ops.sum(same * squared) / ops.maximum(ops.sum(same), 1.0)
    separate = ops.sum(different * shortfall**2) / ops.maximum(ops.sum(different), 1.0)
    return align, separate


def labelled_pairs(x_source, y_source, x_target, y_target, seed=0):
    """Pair every source example with a labelled target example, as ``CCSA`` trains on them.

    One epoch visits every source image once; the few target examples are drawn in
    shuffled rounds (all of them once before any repeats).

    Returns:
        ``({"source": xs, "target": xt, "target_labels": yt}, ys)`` with
        ``len(x_source)`` rows: the data for ``fit``.
    """
    n = checks.same_length(x_source=x_source, y_source=y_source)
    m = checks.same_length(x_target=x_target, y_target=y_target)
    if n == 0 or m == 0:
        raise ValueError(f"need labelled source and target images, got {n} and {m}")
    if x_source.shape[1:] != x_target.shape[1:]:
        raise ValueError(f"source images {x_source.shape[1:]} and target images "
                         f"{x_target.shape[1:]} must have the same shape (data.to_channels converts)")
    y_source, y_target = checks.labels(y_source, name="y_source"), checks.labels(y_target, name="y_target")
    rng = np.random.default_rng(checks.seed(seed))
    rounds = -(-n // m)
    index = np.concatenate([rng.permutation(m) for _ in range(rounds)])[:n]
    return {"source": x_source, "target": x_target[index], "target_labels": y_target[index]}, y_source


class CCSA(keras.Model):
    """A classifier trained with CCSA: cross-entropy on both domains plus the pair losses.

    Inputs to ``fit``: ``labelled_pairs(...)``. At inference (predicting, validating,
    testing) it is the wrapped classifier, a plain classifier of images.

    Logs per epoch: ``loss`` (the total), ``task_loss`` (cross-entropy, source plus target
    batch), ``align``, ``separate``, and ``accuracy`` on the labelled target batches.

    Args:
        classifier: a functional model whose ``head`` reads the ``embedding_layer``
            directly (``build_embedding_classifier``); its weights change in place.
        alpha: the weight of the pair losses, from 0 (cross-entropy only) to 1.
        margin: the separation loss's margin (> 0).
    """

    def __init__(self, classifier, alpha=ALPHA, margin=MARGIN, embedding_layer=EMBEDDING_LAYER,
                 **kwargs):
        from course_lib.core.layers import cut, require_layer

        super().__init__(name=kwargs.pop("name", "ccsa"), **kwargs)
        self.alpha = checks.share(alpha, "alpha")
        self.margin = checks.positive_number(margin, "margin")
        self.classifier = classifier
        self.embedding = cut(classifier, embedding_layer)
        self.head = require_layer(classifier, "head")
        self.task_loss_tracker = keras.metrics.Mean(name="task_loss")
        self.align_tracker = keras.metrics.Mean(name="align")
        self.separate_tracker = keras.metrics.Mean(name="separate")

    def call(self, x, training=False):
        return self.classifier(x, training=training)

    def train_step(self, data):
        import tensorflow as tf

        x, y_source, _ = keras.utils.unpack_x_y_sample_weight(data)
        if not isinstance(x, dict) or set(x) != set(PAIR_KEYS):
            raise ValueError("fit needs x = {'source': images, 'target': images, 'target_labels': "
                             "labels} and y = source labels: use labelled_pairs(...)")
        y_target = x["target_labels"]
        with tf.GradientTape() as tape:
            z_source = self.embedding(x["source"], training=True)
            z_target = self.embedding(x["target"], training=True)
            p_source, p_target = self.head(z_source), self.head(z_target)
            cross_entropy = (self.compute_loss(x=x["source"], y=y_source, y_pred=p_source)
                             + self.compute_loss(x=x["target"], y=y_target, y_pred=p_target))
            align, separate = alignment_losses(z_source, y_source, z_target, y_target, self.margin)
            loss = (1.0 - self.alpha) * cross_entropy + self.alpha * (align + separate)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(gradients, self.trainable_variables)
        for tracker, value in ((self.task_loss_tracker, cross_entropy), (self.align_tracker, align),
                               (self.separate_tracker, separate)):
            tracker.update_state(value)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
        return self.compute_metrics(x["target"], y_target, p_target)

    def test_step(self, data):
        logs = super().test_step(data)
        return {name: value for name, value in logs.items() if name not in TRAINING_LOGS}


def pair_distances(classifier, x_source, y_source, x_target, y_target):
    """Distances between source and target embeddings, split by whether the labels agree.

    Returns:
        ``(same, different)``: 1-D float arrays of d(i, j) for same-class and
        different-class (source i, target j) pairs.
    """
    from course_lib.core.evaluation import layer_output

    checks.same_length(x_source=x_source, y_source=y_source)
    checks.same_length(x_target=x_target, y_target=y_target)
    zs = layer_output(classifier, EMBEDDING_LAYER, x_source)
    zt = layer_output(classifier, EMBEDDING_LAYER, x_target)
    d = np.sqrt(np.maximum((zs**2).sum(1)[:, None] + (zt**2).sum(1)[None, :] - 2 * zs @ zt.T, 0))
    same = checks.labels(y_source)[:, None] == checks.labels(y_target)[None, :]
    return d[same], d[~same]
