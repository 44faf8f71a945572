"""Source-free adaptation: adapt a trained model to a new domain with no source data at all.

"Source-free" means the standard thing (Liang et al. 2020): you have the trained source
model and unlabelled target images, and nothing else; not one source image. Every
function here therefore takes a model and target images only.

Two methods:

- **AdaBN** (Li et al. 2016): a BatchNorm layer normalises with the mean and variance it
  saw in training, i.e. the *source's* statistics. Re-estimate them on the target, with no
  gradient step: ``adabn(model, x_target)``.
- **Information maximisation** (the core of SHOT, Liang et al. 2020): freeze the classifier
  head and train the feature extractor so that the predictions on target images are
  confident one by one (low entropy) and diverse over the batch (high entropy of the mean
  prediction), optionally adding SHOT's clustering pseudo-labels:
  ``information_maximisation(model, x_target)``.
"""

import numpy as np

N_CLASSES = 10


def _check_images(x, name="x_target"):
    if not hasattr(x, "ndim") or x.ndim != 4 or len(x) == 0:
        shape = getattr(x, "shape", type(x).__name__)
        raise ValueError(f"{name} must be a non-empty (n, height, width, channels) array, got {shape}")


def _check_positive_int(value, name):
    if int(value) != value or value < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")


def batchnorm_layers(model):
    """The model's ``BatchNormalization`` layers, in the order data flows through them.

    Layers inside nested sub-models are included, in place of the sub-model.
    """
    import keras

    found = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            found.append(layer)
        elif isinstance(layer, keras.Model):
            found.extend(batchnorm_layers(layer))
    return found


def copy_model(model):
    """A new, independent model with the same architecture and weights (uncompiled)."""
    import keras

    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return clone


def _reduce_axes(layer, ndim):
    axes = layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis]
    keep = {a % ndim for a in axes}
    return tuple(a for a in range(ndim) if a not in keep)


def input_statistics(predict_inputs, x, layer, batch_size):
    """Mean and (population) variance of a BatchNorm layer's input over all of ``x``.

    Args:
        predict_inputs: a model mapping ``x`` to the layer's input.
        layer: the ``BatchNormalization`` layer (its ``axis`` says what is per channel).

    Returns:
        ``(mean, variance)``, float64 arrays with one value per normalised channel,
        computed exactly over all the images (batch results merged with Chan's formula).
    """
    count, mean, m2 = 0, None, None
    for start in range(0, len(x), batch_size):
        h = np.asarray(predict_inputs(x[start:start + batch_size], training=False), dtype="float64")
        axes = _reduce_axes(layer, h.ndim)
        n = int(np.prod([h.shape[a] for a in axes]))
        batch_mean = h.mean(axis=axes)
        batch_m2 = ((h - h.mean(axis=axes, keepdims=True)) ** 2).sum(axis=axes)
        if mean is None:
            count, mean, m2 = n, batch_mean, batch_m2
            continue
        delta = batch_mean - mean
        total = count + n
        mean = mean + delta * n / total
        m2 = m2 + batch_m2 + delta ** 2 * count * n / total
        count = total
    return mean, m2 / count


def reestimate_batchnorm(model, x_target, batch_size=500):
    """AdaBN in place: set every BatchNorm layer's moving mean and variance to the target's.

    The layers are visited in data-flow order, and each one's statistics are measured on
    the inputs it receives once the layers before it already use the target's statistics.
    No gradient step is taken; every other weight (including BatchNorm's gamma and beta)
    is left as it was.

    Args:
        model: a functional or Sequential Keras model (nested sub-models are handled).
        x_target: (n, height, width, channels) unlabelled target images.
        batch_size: images per forward pass (memory, not the result, depends on it).

    Returns:
        ``model``, for chaining.

    Raises:
        ValueError: the model has no BatchNormalization layer, or ``x_target`` is not a batch of images.
    """
    import keras

    _check_images(x_target)
    _check_positive_int(batch_size, "batch_size")
    if len(model.inputs) != 1:
        raise ValueError(f"model {model.name!r} has {len(model.inputs)} inputs; AdaBN here needs a one-input model")
    if not batchnorm_layers(model):
        raise ValueError(f"model {model.name!r} has no BatchNormalization layer: AdaBN has nothing to re-estimate")
    _reestimate(model, x_target, batch_size, keras)
    return model


def _reestimate(model, x, batch_size, keras):
    for layer in model.layers:
        is_bn = isinstance(layer, keras.layers.BatchNormalization)
        is_nested = isinstance(layer, keras.Model) and batchnorm_layers(layer)
        if not (is_bn or is_nested):
            continue
        predict_inputs = keras.Model(model.inputs[0], layer.input)
        if is_bn:
            mean, variance = input_statistics(predict_inputs, x, layer, batch_size)
            layer.moving_mean.assign(mean.astype("float32"))
            layer.moving_variance.assign(variance.astype("float32"))
        else:
            inner = np.concatenate([np.asarray(predict_inputs(x[s:s + batch_size], training=False))
                                    for s in range(0, len(x), batch_size)])
            _reestimate(layer, inner, batch_size, keras)


def adabn(model, x_target, batch_size=500):
    """AdaBN (Li et al. 2016): a copy of ``model`` with BatchNorm statistics from the target.

    Args:
        model: a trained Keras model with BatchNormalization layers; left unchanged.
        x_target: (n, height, width, channels) unlabelled target images. No labels, no source data.

    Returns:
        the adapted copy (uncompiled).
    """
    return reestimate_batchnorm(copy_model(model), x_target, batch_size=batch_size)


def information_maximisation_loss(probabilities, diversity_weight=1.0, epsilon=1e-6):
    """SHOT's information-maximisation loss of a batch of predictions (a scalar tensor).

    .. math::
        L = \\underbrace{\\tfrac{1}{n}\\sum_i H(p_i)}_{\\text{confident}}
            - \\lambda \\underbrace{H(\\bar p)}_{\\text{diverse}},\\qquad
        \\bar p = \\tfrac{1}{n}\\sum_i p_i,\\quad H(p) = -\\sum_k p_k \\log p_k

    Args:
        probabilities: (batch, n_classes) softmax outputs.
        diversity_weight: lambda; 0 gives plain entropy minimisation, which can collapse
            every image into one class.

    Returns:
        a scalar: lowest (``-lambda log K``) when each prediction is one-hot and the batch
        uses all K classes equally; high for uniform predictions (``log K``) and for
        collapsed ones (0 when every image gets the same one-hot prediction).
    """
    from keras import ops

    p = ops.clip(probabilities, epsilon, 1.0)
    per_sample = -ops.mean(ops.sum(p * ops.log(p), axis=1))
    mean = ops.mean(p, axis=0)
    diversity = -ops.sum(mean * ops.log(mean))
    return per_sample - diversity_weight * diversity


def cluster_pseudo_labels(features, probabilities, iterations=2):
    """SHOT's clustering pseudo-labels: nearest class centroid in feature space (cosine).

    The centroids start as the prediction-weighted means of the features, then are refined
    ``iterations`` times as the means of the images assigned to them.

    Args:
        features: (n, d) feature vectors of the target images.
        probabilities: (n, n_classes) the model's predictions for them.

    Returns:
        (n,) int64 labels.
    """
    if len(features) != len(probabilities):
        raise ValueError(f"features has {len(features)} rows but probabilities has {len(probabilities)}")
    f = np.asarray(features, dtype="float64")
    f = np.concatenate([f, np.ones((len(f), 1))], axis=1)  # as in SHOT: a bias dimension
    f /= np.linalg.norm(f, axis=1, keepdims=True)
    weights = np.asarray(probabilities, dtype="float64")
    labels = None
    for _ in range(iterations + 1):
        centroids = weights.T @ f / (weights.sum(axis=0)[:, None] + 1e-8)
        centroids /= np.linalg.norm(centroids, axis=1, keepdims=True) + 1e-8
        labels = np.argmax(f @ centroids.T, axis=1)
        weights = np.eye(probabilities.shape[1])[labels]
    return labels.astype("int64")


def information_maximisation(model, x_target, epochs=5, batch_size=128, learning_rate=1e-3,
                             diversity_weight=1.0, cluster_weight=0.0, head="head",
                             feature_layer="features_relu", seed=0, progress="information maximisation"):
    """Adapt a copy of ``model`` to the target by information maximisation (SHOT-style).

    Starts from AdaBN (target BatchNorm statistics), freezes the ``head`` layer (the
    source's classifier stays the hypothesis), and trains everything before it for
    ``epochs`` on unlabelled target batches with :func:`information_maximisation_loss`.
    With ``cluster_weight > 0`` it adds ``cluster_weight`` times the cross-entropy with
    :func:`cluster_pseudo_labels`, recomputed at the start of every epoch. The BatchNorm
    statistics are re-estimated on the whole target set at the end.

    Args:
        model: the trained source model; left unchanged. No source data is needed or accepted.
        x_target: (n, height, width, channels) unlabelled target images.
        head: name of the classifier layer to freeze.
        feature_layer: name of the layer whose output is clustered (only used with
            ``cluster_weight > 0``).

    Returns:
        ``(adapted_model, history)``: history is a dict of per-epoch lists, ``"loss"``.
    """
    import keras

    from course_lib.models import compile_built
    from course_lib.progress import ProgressLine

    _check_images(x_target)
    _check_positive_int(epochs, "epochs")
    _check_positive_int(batch_size, "batch_size")
    if learning_rate <= 0:
        raise ValueError(f"learning_rate must be > 0, got {learning_rate}")
    if diversity_weight < 0 or cluster_weight < 0:
        raise ValueError(f"diversity_weight and cluster_weight must be >= 0, "
                         f"got {diversity_weight} and {cluster_weight}")
    names = [layer.name for layer in model.layers]
    if head not in names:
        raise ValueError(f"model has no layer {head!r} to freeze; its layers: {', '.join(names)}")
    if cluster_weight > 0 and feature_layer not in names:
        raise ValueError(f"model has no layer {feature_layer!r} to cluster; its layers: {', '.join(names)}")

    keras.utils.set_random_seed(seed)
    adapted = adabn(model, x_target)
    adapted.get_layer(head).trainable = False

    def loss(pseudo_labels, probabilities):
        value = information_maximisation_loss(probabilities, diversity_weight)
        if cluster_weight > 0:
            value = value + cluster_weight * keras.ops.mean(
                keras.losses.sparse_categorical_crossentropy(pseudo_labels, probabilities))
        return value

    compile_built(adapted, keras.optimizers.Adam(learning_rate), loss=loss)
    if cluster_weight > 0:
        features = keras.Model(adapted.inputs, [adapted.get_layer(feature_layer).output, adapted.output])
    callback = ProgressLine(progress, keys=("loss",)) if progress else None
    history = {"loss": []}
    for epoch in range(epochs):
        if cluster_weight > 0:
            f, p = features.predict(x_target, batch_size=500, verbose=0)
            targets = cluster_pseudo_labels(f, p)
        else:
            targets = np.zeros(len(x_target), dtype="int64")  # ignored by the loss
        fit = adapted.fit(x_target, targets, epochs=epoch + 1, initial_epoch=epoch, batch_size=batch_size,
                          shuffle=True, verbose=0, callbacks=[callback] if callback else [])
        history["loss"] += fit.history["loss"]
    reestimate_batchnorm(adapted, x_target)
    return adapted, history
