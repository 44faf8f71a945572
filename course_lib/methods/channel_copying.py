"""Channel copying: reuse a source model's weights in a target model with other input channels.

A conv kernel has shape (kh, kw, in_channels, filters). A grey source model's
first kernel has ``in_channels = 1``; a colour target model's has 3. The rule
used here keeps the layer's output unchanged when every input channel carries
the same image:

* N -> M channels: sum the kernel over its N input channels, then give each of
  the M new input channels that sum divided by M.
* grey -> RGB (N = 1): replicate the kernel 3 times, divide by 3.
  A grey image repeated to RGB gives exactly the grey model's activations.
* RGB -> grey (M = 1): sum over the 3 input channels.
  The grey image equal to R = G = B gives exactly the RGB model's activations.

The same idea one dimension up inflates a 2-D kernel into a 3-D (video) one
(Carreira & Zisserman 2017, I3D): repeat it ``depth`` times along time and
divide by ``depth``, so a video of one still frame gives the 2-D activations.

``transfer_weights`` copies every other layer by name where the shapes match,
and returns a report that lists every layer of the target model.
"""

import numpy as np

#: What ``transfer_weights`` did to a layer (the report's ``status`` column).
STATUSES = ("copied", "adapted", "new", "no weights")
MISMATCH_CHOICES = ("raise", "new")


def adapt_kernel(kernel, in_channels):
    """Adapt a conv kernel to ``in_channels`` input channels, keeping outputs on repeated inputs.

    Args:
        kernel: array (..., n_in, filters), e.g. (3, 3, 1, 16) for a grey 3x3 conv.
        in_channels: M, the target's number of input channels (>= 1).

    Returns:
        float32 array (..., M, filters): the sum over the n_in input channels,
        repeated M times and divided by M.
    """
    kernel = np.asarray(kernel, dtype="float32")
    if kernel.ndim < 3:
        raise ValueError(
            f"kernel must have shape (..., in_channels, filters) with at least 3 axes, "
            f"e.g. (3, 3, 1, 16); got shape {kernel.shape}"
        )
    if int(in_channels) != in_channels or in_channels < 1:
        raise ValueError(f"in_channels must be a whole number >= 1, got {in_channels!r}")
    summed = kernel.sum(axis=-2, keepdims=True)
    return np.repeat(summed, int(in_channels), axis=-2) / float(in_channels)


def inflate_kernel(kernel, depth):
    """Inflate a 2-D conv kernel (kh, kw, c, f) into a 3-D one (depth, kh, kw, c, f).

    The 2-D kernel is repeated ``depth`` times along the new (time) axis and
    divided by ``depth``: a video whose frames all equal one image gives, at
    every time step, the 2-D conv's output on that image.
    """
    kernel = np.asarray(kernel, dtype="float32")
    if kernel.ndim != 4:
        raise ValueError(f"inflate_kernel needs a 2-D conv kernel (kh, kw, in, filters); "
                         f"got shape {kernel.shape}")
    if int(depth) != depth or depth < 1:
        raise ValueError(f"depth must be a whole number >= 1, got {depth!r}")
    return np.repeat(kernel[None], int(depth), axis=0) / float(depth)


def _reads_model_input(layer, model):
    """True when ``layer`` is applied directly to one of ``model``'s inputs."""
    inputs = {id(t) for t in model.inputs}
    return any(id(node_input) in inputs
               for node in getattr(layer, "_inbound_nodes", [])
               for node_input in node.input_tensors)


def _is_conv(layer):
    from keras import layers

    return isinstance(layer, layers.Conv1D | layers.Conv2D | layers.Conv3D)


def _adaptable(layer, model, source_weights, target_weights):
    """Whether only the input-channel axis of a first conv's kernel differs."""
    if not (_is_conv(layer) and _reads_model_input(layer, model)):
        return False
    kernel_s, kernel_t = source_weights[0], target_weights[0]
    same_but_channels = (kernel_s.ndim == kernel_t.ndim
                         and kernel_s.shape[:-2] == kernel_t.shape[:-2]
                         and kernel_s.shape[-1] == kernel_t.shape[-1])
    others_match = all(s.shape == t.shape for s, t in zip(source_weights[1:], target_weights[1:]))
    return same_but_channels and others_match and len(source_weights) == len(target_weights)


def _shapes(weights):
    return " + ".join(str(tuple(w.shape)) for w in weights) or "-"


def transfer_weights(source, target, on_mismatch="raise"):
    """Copy ``source``'s weights into ``target`` layer by layer (matched by name), in place.

    * same name, same weight shapes: copied as they are (conv, BatchNorm, Dense);
    * a conv layer reading the model input whose kernel differs only in its
      input channels: adapted with ``adapt_kernel`` (bias copied);
    * a name the source does not have: left as initialised ("new");
    * a layer without weights (ReLU, pooling, ...): "no weights".

    Args:
        source: a built Keras model, e.g. the grey source CNN.
        target: a built Keras model, e.g. ``models.build_cnn(channels=3)``.
        on_mismatch: ``"raise"`` (default): a ValueError naming the layer and
            both shapes when same-named weights cannot be reused; ``"new"``:
            leave such a layer as initialised (e.g. a head with other classes).

    Returns:
        a ``pandas.DataFrame`` with one row per target layer, in order:
        ``layer``, ``status`` (one of ``STATUSES``), ``source_shapes``, ``target_shapes``.
    """
    import pandas as pd

    if on_mismatch not in MISMATCH_CHOICES:
        raise ValueError(f"on_mismatch must be one of {MISMATCH_CHOICES}, got {on_mismatch!r}")
    source_layers = {layer.name: layer for layer in source.layers}
    rows = []
    for layer in target.layers:
        target_weights = layer.get_weights()
        row = {"layer": layer.name, "source_shapes": "-", "target_shapes": _shapes(target_weights)}
        source_layer = source_layers.get(layer.name)
        if not target_weights:
            row["status"] = "no weights"
        elif source_layer is None:
            row["status"] = "new"
        else:
            source_weights = source_layer.get_weights()
            row["source_shapes"] = _shapes(source_weights)
            if [w.shape for w in source_weights] == [w.shape for w in target_weights]:
                layer.set_weights(source_weights)
                row["status"] = "copied"
            elif _adaptable(layer, target, source_weights, target_weights):
                in_channels = target_weights[0].shape[-2]
                layer.set_weights([adapt_kernel(source_weights[0], in_channels), *source_weights[1:]])
                row["status"] = "adapted"
            elif on_mismatch == "new":
                row["status"] = "new"
            else:
                raise ValueError(
                    f"layer {layer.name!r}: the source's weights have shapes "
                    f"{row['source_shapes']} but the target's have {row['target_shapes']}; "
                    "only a conv layer reading the model input may differ (in its input "
                    "channels). Pass on_mismatch='new' to leave such layers freshly initialised."
                )
        rows.append(row)
    return pd.DataFrame(rows, columns=["layer", "status", "source_shapes", "target_shapes"])


def copied_model(source, channels, seed=0):
    """The course CNN for ``channels`` input channels, initialised from ``source``.

    Returns:
        ``(model, report)``: the new model and ``transfer_weights``'s report.
    """
    import keras

    from course_lib.models import build_cnn

    keras.utils.set_random_seed(seed)
    target = build_cnn(channels=channels, n_classes=source.output_shape[-1], name="copied_cnn")
    return target, transfer_weights(source, target)


def random_model(channels, n_classes=10, seed=0):
    """The same CNN with fresh random weights (the baseline)."""
    import keras

    from course_lib.models import build_cnn

    keras.utils.set_random_seed(seed)
    return build_cnn(channels=channels, n_classes=n_classes, name="random_cnn")


def train_with_curve(model, x, y, x_test, y_test, epochs, batch_size=32, learning_rate=1e-3,
                     seed=0, progress=None):
    """Train ``model`` on (x, y) and record its test accuracy before and after every epoch.

    Returns:
        a float array of ``epochs + 1`` test accuracies: index 0 before any
        training, index e after e epochs.
    """
    import keras

    from course_lib.models import accuracy, compile_classifier
    from course_lib.progress import ProgressLine

    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    curve = [accuracy(model, x_test, y_test)]
    callbacks = [keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: curve.append(accuracy(model, x_test, y_test)))]
    if progress:
        callbacks.append(ProgressLine(progress))
    keras.utils.set_random_seed(seed)
    compile_classifier(model, learning_rate)
    model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0, callbacks=callbacks,
              shuffle=True)
    return np.array(curve)


def epochs_to_reach(curve, level):
    """The first epoch (index of ``curve``) whose accuracy is at least ``level``; None if never."""
    reached = np.flatnonzero(np.asarray(curve) >= level)
    return int(reached[0]) if len(reached) else None


def plot_curves(curves, ax=None, short_epochs=None):
    """Test accuracy per epoch for each arm, ``{label: curve}``; epoch 0 is before training."""
    import matplotlib.pyplot as plt

    from course_lib.plots import FONT_SIZE, style_axes

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    for i, (label, curve) in enumerate(curves.items()):
        ax.plot(np.arange(len(curve)), curve, "-o", color=f"C{i}", label=label)
    if short_epochs is not None:
        ax.axvline(short_epochs, color="grey", linestyle=":", label=f"after {short_epochs} epochs")
    ax.axhline(0.1, color="grey", linestyle="--", label="chance")
    ax.set_xlabel("epochs of training on the few target labels")
    ax.set_ylabel("target test accuracy")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=FONT_SIZE - 2)
    style_axes(ax)
    return ax


def _filter_image(kernel):
    """(kh, kw, c) kernel -> image in [0, 1]: grey (c = 1) or RGB (c = 3), zero at 0.5."""
    scale = np.abs(kernel).max() or 1.0
    image = 0.5 + 0.5 * kernel / scale
    return image[..., 0] if image.shape[-1] == 1 else image


def plot_filters(kernels, n=8):
    """Show the first ``n`` first-layer filters of each model, one row per model.

    Args:
        kernels: ``{label: kernel}`` with kernels (3, 3, 1 or 3, filters).
            Grey kernels are drawn grey, RGB ones in colour; mid-grey is 0.

    Returns:
        the matplotlib ``Figure``.
    """
    import matplotlib.pyplot as plt

    from course_lib.plots import FONT_SIZE

    if not kernels:
        raise ValueError("kernels is empty; pass {label: kernel}")
    fig, axes = plt.subplots(len(kernels), n, figsize=(1.2 * n + 2, 1.4 * len(kernels)),
                             squeeze=False)
    for row, (label, kernel) in zip(axes, kernels.items()):
        kernel = np.asarray(kernel)
        if kernel.ndim != 4 or kernel.shape[-2] not in (1, 3) or kernel.shape[-1] < n:
            raise ValueError(f"{label!r}: need a (kh, kw, 1 or 3, >= {n}) kernel, got {kernel.shape}")
        for i, ax in enumerate(row):
            image = _filter_image(kernel[..., i])
            ax.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(label, fontsize=FONT_SIZE, rotation=0, ha="right", va="center")
    fig.tight_layout()
    return fig


def _source_text_models():
    """The source text's two models, as its code builds them, minus the target's Dense layers.

    The target ("AlexNet") is built only up to its ``Flatten``: its first
    Dense(4096) layer would hold ``alexnet_dense_params()`` weights, more
    memory than Binder has, and the transfer loop fails before reaching it.
    """
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    source_classifier = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(filters=32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Conv2D(filters=64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D((2, 2)),
        layers.Flatten(),
        layers.Dense(units=128, activation="relu"),
        layers.Dropout(rate=0.5),
        layers.Dense(units=10, activation="softmax"),
    ])
    target_classifier = keras.Sequential([keras.Input((227, 227, 3))] + [
        layer
        for filters, size, pool in ((96, 3, True), (256, 5, True), (384, 3, False),
                                    (384, 3, False), (256, 3, True))
        for layer in [layers.Conv2D(filters, (size, size), activation="relu", padding="same"),
                      layers.BatchNormalization(), layers.ReLU()]
        + ([layers.MaxPooling2D(pool_size=(3, 3), strides=(2, 2))] if pool else [])
    ] + [layers.Flatten()])
    return source_classifier, target_classifier


def alexnet_dense_params():
    """Weights of the source text's first Dense(4096) layer on its 227x227x3 input (int)."""
    _, target_convs = _source_text_models()
    return int(np.prod(target_convs.output_shape[1:])) * 4096 + 4096


def source_text_transfer(source_classifier, target_classifier):
    """The source text's weight-transfer loop, verbatim (section 4). It cannot work.

    It puts the source's *last Dense* kernel, shape (128, 10), into every conv
    layer of the target, and indexes that 2-D array with 4 indices.
    """
    for layer in target_classifier.layers[:-1]:
        if 'batch' not in layer.name and 'dense' not in layer.name:
            weights = source_classifier.get_layer(index=-1).get_weights()[0]
            bias = source_classifier.get_layer(index=-1).get_weights()[1]
            new_weight = []
            for i in range(int(weights.shape[-1] / len(bias))):
                w = [weights[:, :, :, i][:, :] for _ in range(len(bias))]
                new_weight.append(np.stack(w, axis=-1))
            new_weight = np.concatenate(new_weight, axis=-1)
            layer.set_weights([new_weight, bias])


def source_text_failure():
    """Run ``source_text_transfer`` on the source text's models and catch what it raises.

    Returns:
        a dict: ``error`` (the exception), ``kernel`` (the shape the loop copies
        from) and ``wanted`` (the shape the first target conv needs).
    """
    source_classifier, target_classifier = _source_text_models()
    found = {"error": None,
             "kernel": source_classifier.layers[-1].get_weights()[0].shape,
             "wanted": target_classifier.layers[0].get_weights()[0].shape}
    try:
        source_text_transfer(source_classifier, target_classifier)
    except Exception as error:  # noqa: BLE001 - showing whatever it raises is the point
        found["error"] = error
    return found
