"""Intra-modality mapping: source and target images mapped into one shared embedding space.

In the spirit of CCSA (Motiian et al. 2017, "Unified deep supervised domain
adaptation and generalization"): one embedding network ``g`` is shared by both
domains and trained with the source labels and a few labelled target images.
Besides the classification loss, a **semantic alignment** loss pulls every
same-class (source, target) pair together, and a **separation** loss pushes
different-class pairs at least ``margin`` apart::

    d(i, j)    = || g(x_i^s) - g(x_j^t) ||
    L_align    = mean over pairs with y_i^s == y_j^t of d(i, j)^2
    L_separate = mean over pairs with y_i^s != y_j^t of max(0, margin - d(i, j))^2
    L          = (1 - alpha) * (CE_source + CE_target) + alpha * (L_align + L_separate)

A softmax classifier reads the embedding. Embeddings are L2-normalised, so
distances lie in [0, 2] and the margin's scale does not drift.
"""

import numpy as np

EMBEDDING_DIM = 64
MARGIN = 1.0
ALPHA = 0.25


def build_embedding_network(channels=3, dim=EMBEDDING_DIM, seed=0):
    """The shared embedding ``g``: (batch, 28, 28, channels) images -> (batch, dim) unit vectors.

    Two conv blocks (16 and 32 3x3 filters, ReLU, max-pooling), then a Dense
    layer and L2 normalisation. No BatchNorm, so the two domains never share
    batch statistics.
    """
    import keras
    from keras import layers

    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grey) or 3 (RGB), got {channels!r}")
    if int(dim) != dim or dim < 2:
        raise ValueError(f"dim must be a whole number >= 2, got {dim!r}")
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((28, 28, channels), name="image")
    x = inputs
    for i, filters in enumerate((16, 32), start=1):
        x = layers.Conv2D(filters, 3, activation="relu", name=f"block{i}_conv")(x)
        x = layers.MaxPooling2D(name=f"block{i}_pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(int(dim), name="embedding_dense")(x)
    outputs = layers.UnitNormalization(name="embedding")(x)
    return keras.Model(inputs, outputs, name="shared_embedding")


def build_classifier(embedding, n_classes=10, seed=0):
    """``embedding`` followed by a softmax ``head``: images -> (batch, n_classes) probabilities."""
    import keras
    from keras import layers

    if n_classes < 2:
        raise ValueError(f"n_classes must be at least 2, got {n_classes}")
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(embedding.input_shape[1:], name="image")
    outputs = layers.Dense(n_classes, activation="softmax", name="head")(embedding(inputs))
    return keras.Model(inputs, outputs, name="embedding_classifier")


def alignment_losses(z_source, y_source, z_target, y_target, margin=MARGIN):
    """CCSA's two pair losses over every (source, target) pair of a batch.

    Args:
        z_source: (n, dim) source embeddings; y_source: (n,) their labels.
        z_target: (m, dim) target embeddings; y_target: (m,) their labels.
        margin: different-class pairs closer than this are penalised (> 0).

    Returns:
        ``(align, separate)``, two scalars >= 0: the mean squared distance of
        same-class pairs, and the mean squared shortfall ``max(0, margin - d)``
        of different-class pairs (each 0 when it has no pairs).
    """
    from keras import ops

    if margin <= 0:
        raise ValueError(f"margin must be positive, got {margin}")
    z_source = ops.convert_to_tensor(z_source, dtype="float32")
    z_target = ops.convert_to_tensor(z_target, dtype="float32")
    if len(z_source.shape) != 2 or len(z_target.shape) != 2 or z_source.shape[1] != z_target.shape[1]:
        raise ValueError(f"embeddings must be (n, dim) and (m, dim) with the same dim; "
                         f"got {tuple(z_source.shape)} and {tuple(z_target.shape)}")
    squared = ops.maximum(
        ops.sum(z_source**2, axis=1)[:, None] + ops.sum(z_target**2, axis=1)[None, :]
        - 2.0 * ops.matmul(z_source, ops.transpose(z_target)),
        0.0,
    )
    same = ops.cast(ops.equal(ops.reshape(y_source, (-1, 1)), ops.reshape(y_target, (1, -1))),
                    "float32")
    different = 1.0 - same
    shortfall = ops.relu(margin - ops.sqrt(squared + 1e-12))
    align = ops.sum(same * squared) / ops.maximum(ops.sum(same), 1.0)
    separate = ops.sum(different * shortfall**2) / ops.maximum(ops.sum(different), 1.0)
    return align, separate


def train_shared_embedding(x_source, y_source, x_target, y_target, epochs=3, alpha=ALPHA,
                           margin=MARGIN, batch_size=64, target_batch_size=32,
                           learning_rate=1e-3, seed=0, progress=None):
    """Train ``g`` and its classifier on the source labels plus a few target labels.

    Every step takes ``batch_size`` source images and ``target_batch_size``
    labelled target images, and minimises the loss in the module docstring.
    An epoch is one pass over the source images. ``alpha=0`` gives the plain
    "train on both domains' labels" baseline with the same network and steps.

    Args:
        x_source, y_source: (n, 28, 28, c) images in [0, 1] and (n,) labels.
        x_target, y_target: the few labelled target images, same channels.
        progress: a label for a progress line, or None for silence.

    Returns:
        ``(classifier, embedding, history)``; ``history`` maps ``"loss"``,
        ``"align"``, ``"separate"`` to per-epoch means.
    """
    import keras
    import tensorflow as tf

    from course_lib.progress import ProgressLine

    if x_source.shape[1:] != x_target.shape[1:]:
        raise ValueError(f"source and target images must have the same shape; got "
                         f"{x_source.shape[1:]} and {x_target.shape[1:]} (use data.to_channels)")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    if epochs < 1 or len(x_source) < batch_size or len(x_target) < 2:
        raise ValueError(f"need epochs >= 1, at least batch_size={batch_size} source images and "
                         f"2 target images; got {epochs}, {len(x_source)}, {len(x_target)}")
    embedding = build_embedding_network(x_source.shape[-1], seed=seed)
    classifier = build_classifier(embedding, int(max(y_source.max(), y_target.max())) + 1, seed=seed)
    optimizer = keras.optimizers.Adam(learning_rate)
    optimizer.build(classifier.trainable_weights)  # now, not inside `step`'s first trace
    cross_entropy = keras.losses.SparseCategoricalCrossentropy()
    head = classifier.get_layer("head")

    @tf.function
    def step(xs, ys, xt, yt):
        with tf.GradientTape() as tape:
            zs, zt = embedding(xs, training=True), embedding(xt, training=True)
            ce = cross_entropy(ys, head(zs)) + cross_entropy(yt, head(zt))
            align, separate = alignment_losses(zs, ys, zt, yt, margin)
            loss = (1.0 - alpha) * ce + alpha * (align + separate)
        weights = classifier.trainable_weights
        optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
        return loss, align, separate

    rng = np.random.default_rng(seed)
    callback = ProgressLine(progress, keys=("loss", "align", "separate")) if progress else None
    if callback:
        callback.set_params({"epochs": epochs})
        callback.on_train_begin()
    history = {"loss": [], "align": [], "separate": []}
    steps = len(x_source) // batch_size
    for epoch in range(epochs):
        order = rng.permutation(len(x_source))
        sums = np.zeros(3)
        for s in range(steps):
            batch = order[s * batch_size:(s + 1) * batch_size]
            pick = rng.choice(len(x_target), size=min(target_batch_size, len(x_target)), replace=False)
            values = step(x_source[batch], y_source[batch], x_target[pick], y_target[pick])
            sums += [float(v) for v in values]
        logs = dict(zip(history, sums / steps))
        for key, value in logs.items():
            history[key].append(value)
        if callback:
            callback.on_epoch_end(epoch, logs)
    return classifier, embedding, history


def train_target_only(x_target, y_target, epochs=40, batch_size=16, learning_rate=1e-3, seed=0,
                      progress=None):
    """The same network (embedding + head) trained on the few target labels alone.

    Returns:
        ``(classifier, embedding)``.
    """
    from course_lib.models import train_classifier

    embedding = build_embedding_network(x_target.shape[-1], seed=seed)
    classifier = build_classifier(embedding, int(y_target.max()) + 1, seed=seed)
    train_classifier(classifier, x_target, y_target, epochs=epochs, batch_size=batch_size,
                     learning_rate=learning_rate, seed=seed, progress=progress)
    return classifier, embedding


def pair_distances(embedding, x_source, y_source, x_target, y_target, batch_size=512):
    """Distances between source and target embeddings, split by whether the labels agree.

    Returns:
        ``(same, different)``: 1-D float arrays of d(i, j) for same-class and
        different-class (source i, target j) pairs.
    """
    zs = embedding.predict(x_source, batch_size=batch_size, verbose=0)
    zt = embedding.predict(x_target, batch_size=batch_size, verbose=0)
    d = np.sqrt(np.maximum((zs**2).sum(1)[:, None] + (zt**2).sum(1)[None, :] - 2 * zs @ zt.T, 0))
    same = np.asarray(y_source)[:, None] == np.asarray(y_target)[None, :]
    return d[same], d[~same]


def plot_pair_distances(distances, margin=MARGIN):
    """Histograms of same- and different-class pair distances for each model.

    Args:
        distances: ``{label: (same, different)}`` as ``pair_distances`` returns.

    Returns:
        the matplotlib ``Figure``.
    """
    import matplotlib.pyplot as plt

    from course_lib.plots import FONT_SIZE, style_axes

    if not distances:
        raise ValueError("distances is empty; pass {label: (same, different)}")
    fig, axes = plt.subplots(1, len(distances), figsize=(5.5 * len(distances), 3.6),
                             squeeze=False, sharey=True)
    bins = np.linspace(0, 2, 41)
    for ax, (label, (same, different)) in zip(axes[0], distances.items()):
        ax.hist(different, bins=bins, density=True, alpha=0.6, color="C1", label="different class")
        ax.hist(same, bins=bins, density=True, alpha=0.6, color="C0", label="same class")
        ax.axvline(margin, color="grey", linestyle="--", label="margin")
        ax.set_title(label)
        ax.set_xlabel("distance, source to target")
        style_axes(ax)
    axes[0, 0].set_ylabel("density")
    axes[0, 0].legend(fontsize=FONT_SIZE - 2)
    fig.tight_layout()
    return fig
