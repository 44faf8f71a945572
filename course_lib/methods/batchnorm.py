"""BatchNorm and transfer: its statistics, freezing it right, and re-estimating it on the target (AdaBN).

A BatchNorm layer has two kinds of state: gamma and beta, learned by gradients, and the
moving mean and variance, averaged from the batches it sees in training mode. At test time
it normalises with the moving statistics, so they are the statistics *of the domain it
was trained on*.

* Fine-tuning: a frozen layer (``trainable = False``) runs in inference mode in Keras 3,
  even inside ``fit``, and leaves its statistics alone: that is what freezing should mean.
  Freezing the conv and dense layers but not the BatchNorm layers between them lets each
  small target batch overwrite the statistics, so the "frozen" features change (chapter 03).
* AdaBN (Li et al. 2016): re-estimate the moving statistics on unlabelled target images,
  with no gradient step: ``adabn(model, x_target)`` (chapter 05; chapter 06 uses it too).
"""

import numpy as np

from course_lib.core import checks
from course_lib.core.layers import batchnorm_layers, copy_model, cut, model_inputs

#: Images per forward pass while measuring statistics (memory, not the result, depends on it).
STATISTICS_BATCH = 500


def moving_statistics(model):
    """Copies of every BatchNorm layer's moving statistics.

    Returns:
        ``{layer name: (moving_mean, moving_variance)}``, NumPy arrays of shape (channels,).
    """
    layers = batchnorm_layers(model)
    if not layers:
        raise ValueError(f"model {model.name!r} has no BatchNormalization layer")
    return {layer.name: (layer.moving_mean.numpy().copy(), layer.moving_variance.numpy().copy())
            for layer in layers}


def statistics_drift(before, after):
    """How far the moving statistics moved between two ``moving_statistics`` snapshots.

    Returns:
        ``{layer name: mean |change of moving mean| / mean sqrt(moving variance before)}``:
        the shift in units of the features' typical spread (0 = did not move).
    """
    if set(before) != set(after):
        raise ValueError(f"snapshots cover different layers: {sorted(before)} vs {sorted(after)}")
    return {name: float(np.mean(np.abs(after[name][0] - before[name][0]))
                        / np.mean(np.sqrt(before[name][1])))
            for name in before}


def _reduce_axes(layer, ndim):
    axes = layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis]
    keep = {a % ndim for a in axes}
    return tuple(a for a in range(ndim) if a not in keep)


def input_statistics(inputs_of_layer, x, layer, batch_size=STATISTICS_BATCH):
    """Mean and (population) variance of a BatchNorm layer's input over all of ``x``.

    Args:
        inputs_of_layer: a model mapping ``x`` to the layer's input.
        layer: the ``BatchNormalization`` layer (its ``axis`` says what is per channel).

    Returns:
        ``(mean, variance)``, float64 arrays with one value per normalised channel,
        computed exactly over all the images (batch results merged with Chan's formula).
    """
    count, mean, m2 = 0, None, None
    for start in range(0, len(x), batch_size):
        h = np.asarray(inputs_of_layer(x[start:start + batch_size], training=False), dtype="float64")
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


def reestimate(model, x_target, batch_size=STATISTICS_BATCH):
    """AdaBN in place: set every BatchNorm layer's moving mean and variance to the target's.

    The layers are visited in data-flow order, and each one's statistics are measured on
    the inputs it receives once the layers before it already use the target's statistics.
    No gradient step is taken; every other weight (BatchNorm's gamma and beta too) stays.

    Args:
        model: a functional or Sequential Keras model (nested sub-models are handled).
        x_target: (n, height, width, channels) unlabelled target images.

    Returns:
        ``model``, for chaining.

    Raises:
        ValueError: the model has no BatchNormalization layer, or ``x_target`` is not a batch of images.
    """
    import keras

    from course_lib.core.training import check_inputs

    check_inputs(x_target, model, "x_target")  # images in [0, 1], shaped as the model takes them
    if np.asarray(x_target).ndim != 4 or len(x_target) == 0:
        raise ValueError(f"x_target must be a non-empty batch of images (n, height, width, "
                         f"channels), got shape {np.shape(x_target)}")
    batch_size = checks.whole_number(batch_size, "batch_size")
    if len(model.inputs) != 1:
        raise ValueError(f"model {model.name!r} has {len(model.inputs)} inputs; AdaBN here needs a one-input model")
    if not batchnorm_layers(model):
        raise ValueError(f"model {model.name!r} has no BatchNormalization layer: AdaBN has nothing to re-estimate")
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            mean, variance = input_statistics(keras.Model(model_inputs(model), layer.input), x_target,
                                              layer, batch_size)
            layer.moving_mean.assign(mean.astype("float32"))
            layer.moving_variance.assign(variance.astype("float32"))
        elif isinstance(layer, keras.Model) and batchnorm_layers(layer):
            inputs_of_layer = keras.Model(model_inputs(model), layer.input)
            inner = np.concatenate([np.asarray(inputs_of_layer(x_target[s:s + batch_size], training=False))
                                    for s in range(0, len(x_target), batch_size)])
            reestimate(layer, inner, batch_size)
    return model


def adabn(model, x_target, seed=0):
    """AdaBN (Li et al. 2016): a copy of ``model`` with BatchNorm statistics from the target.

    Args:
        model: a trained Keras model with BatchNormalization layers; left unchanged.
        x_target: (n, height, width, channels) unlabelled target images. No labels, no source data.
        seed: seeds the copy's dropout, for when the copy trains on (``layers.copy_model``).

    Returns:
        the adapted copy (uncompiled).
    """
    return reestimate(copy_model(model, seed=seed), x_target)


def inference_mode_gap(model, x, layer):
    """Largest |training-mode - inference-mode| difference of ``layer``'s output on ``x``.

    0 when every BatchNorm layer below ``layer`` is frozen: the frozen part computes the
    same thing inside ``fit`` as at test time. (Choose a layer below any dropout, which is
    random in training mode whatever is frozen.)
    """
    features = cut(model, layer)
    return float(np.max(np.abs(np.asarray(features(x, training=True))
                               - np.asarray(features(x, training=False)))))
