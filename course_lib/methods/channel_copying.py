"""Channel copying: reuse a source model's weights in a target model with other input channels.

A conv kernel has shape (kh, kw, in_channels, filters). A grey source model's first
kernel has ``in_channels = 1``; a colour target model's has 3. The rule used here keeps
the layer's output unchanged when every input channel carries the same image:

* N -> M channels: sum the kernel over its N input channels, then give each of the M new
  input channels that sum divided by M.
* grey -> RGB (N = 1): replicate the kernel 3 times, divide by 3. A grey image repeated
  to RGB gives exactly the grey model's activations.
* RGB -> grey (M = 1): sum over the 3 input channels. The grey image equal to R = G = B
  gives exactly the RGB model's activations.

The same idea one dimension up inflates a 2-D kernel into a 3-D (video) one (Carreira &
Zisserman 2017, I3D): repeat it ``depth`` times along time and divide by ``depth``, so a
video of one still frame gives the 2-D activations.

``transfer_weights`` copies every other layer by name where the shapes match, and returns
a report that lists every layer of the target model. In plain Keras the copy is a loop of
``layer.set_weights(source.get_layer(layer.name).get_weights())``.
"""

import numpy as np

from course_lib.core import checks

#: What ``transfer_weights`` did to a layer (the report's ``status`` column).
STATUSES = ("copied", "adapted", "new", "no weights")
#: What ``transfer_weights`` does with same-named weights that cannot be reused.
MISMATCH_CHOICES = ("raise", "new")
#: A kernel has at least these axes: one spatial axis, input channels, filters.
MIN_KERNEL_AXES = 3
#: A 2-D conv kernel's axes: height, width, input channels, filters.
CONV2D_KERNEL_AXES = 4


def adapt_kernel(kernel, in_channels):
    """Adapt a conv kernel to ``in_channels`` input channels, keeping outputs on repeated inputs.

    Args:
        kernel: array (..., n_in, filters), e.g. (3, 3, 1, 16) for a grey 3x3 conv.
        in_channels: M, the target's number of input channels (>= 1).

    Returns:
        float32 array (..., M, filters): the sum over the n_in input channels, repeated
        M times and divided by M.
    """
    kernel = checks.finite(np.asarray(kernel, dtype="float32"), "kernel")
    if kernel.ndim < MIN_KERNEL_AXES:
        raise ValueError(f"kernel must have shape (..., in_channels, filters) with at least "
                         f"{MIN_KERNEL_AXES} axes, e.g. (3, 3, 1, 16); got shape {kernel.shape}")
    in_channels = checks.whole_number(in_channels, "in_channels")
    summed = kernel.sum(axis=-2, keepdims=True)
    return np.repeat(summed, in_channels, axis=-2) / float(in_channels)


def inflate_kernel(kernel, depth):
    """Inflate a 2-D conv kernel (kh, kw, c, f) into a 3-D one (depth, kh, kw, c, f).

    The 2-D kernel is repeated ``depth`` times along the new (time) axis and divided by
    ``depth``: a video whose frames all equal one image gives, at every time step, the
    2-D conv's output on that image.
    """
    kernel = checks.finite(np.asarray(kernel, dtype="float32"), "kernel")
    if kernel.ndim != CONV2D_KERNEL_AXES:
        raise ValueError(f"inflate_kernel needs a 2-D conv kernel (kh, kw, in, filters); "
                         f"got shape {kernel.shape}")
    depth = checks.whole_number(depth, "depth")
    return np.repeat(kernel[None], depth, axis=0) / float(depth)


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
    if len(source_weights) != len(target_weights):
        return False
    kernel_s, kernel_t = source_weights[0], target_weights[0]
    same_but_channels = (kernel_s.ndim == kernel_t.ndim
                         and kernel_s.shape[:-2] == kernel_t.shape[:-2]
                         and kernel_s.shape[-1] == kernel_t.shape[-1])
    others_match = all(s.shape == t.shape for s, t in zip(source_weights[1:], target_weights[1:]))
    return same_but_channels and others_match


def _shapes(weights):
    return " + ".join(str(tuple(w.shape)) for w in weights) or "-"


def _transfer_layer(layer, source_layer, target, on_mismatch):
    """Copy or adapt one layer's weights from ``source_layer``; its status and source shapes."""
    target_weights = layer.get_weights()
    if not target_weights:
        return "no weights", "-"
    if source_layer is None:
        return "new", "-"
    source_weights = source_layer.get_weights()
    shapes = _shapes(source_weights)
    if [w.shape for w in source_weights] == [w.shape for w in target_weights]:
        layer.set_weights(source_weights)
        return "copied", shapes
    if _adaptable(layer, target, source_weights, target_weights):
        in_channels = target_weights[0].shape[-2]
        layer.set_weights([adapt_kernel(source_weights[0], in_channels), *source_weights[1:]])
        return "adapted", shapes
    if on_mismatch == "new":
        return "new", shapes
    raise ValueError(
        f"layer {layer.name!r}: the source's weights have shapes {shapes} but the target's "
        f"have {_shapes(target_weights)}; only a conv layer reading the model input may differ "
        "(in its input channels). Pass on_mismatch='new' to leave such layers freshly initialised.")


def transfer_weights(source, target, on_mismatch="raise"):
    """Copy ``source``'s weights into ``target`` layer by layer (matched by name), in place.

    * same name, same weight shapes: copied as they are (conv, BatchNorm, Dense);
    * a conv layer reading the model input whose kernel differs only in its input
      channels: adapted with ``adapt_kernel`` (bias copied);
    * a name the source does not have: left as initialised ("new");
    * a layer without weights (ReLU, pooling, ...): "no weights".

    On an error ``target`` gets its own weights back: nothing is left half-copied.

    Args:
        source: a built Keras model, e.g. the grey source CNN.
        target: a built Keras model, e.g. ``core.cnn.build_cnn(channels=3)``.
        on_mismatch: ``"raise"`` (default): a ValueError naming the layer and both shapes
            when same-named weights cannot be reused; ``"new"``: leave such a layer as
            initialised (e.g. a head with other classes).

    Returns:
        a ``pandas.DataFrame`` with one row per target layer, in order: ``layer``,
        ``status`` (one of ``STATUSES``), ``source_shapes``, ``target_shapes``.
    """
    import pandas as pd

    checks.choice(on_mismatch, "on_mismatch", MISMATCH_CHOICES)
    source_layers = {layer.name: layer for layer in source.layers}
    saved = target.get_weights()
    rows = []
    try:
        for layer in target.layers:
            shapes = _shapes(layer.get_weights())
            status, source_shapes = _transfer_layer(layer, source_layers.get(layer.name), target,
                                                    on_mismatch)
            rows.append({"layer": layer.name, "status": status, "source_shapes": source_shapes,
                         "target_shapes": shapes})
    except ValueError:
        target.set_weights(saved)  # nothing half-written
        raise
    return pd.DataFrame(rows, columns=["layer", "status", "source_shapes", "target_shapes"])


def copied_model(source, channels, seed=0):
    """The course CNN for ``channels`` input channels, initialised from the course CNN ``source``.

    Returns:
        ``(model, report)``: the new model (uncompiled) and ``transfer_weights``'s report.
    """
    from course_lib.core.cnn import build_cnn

    target = build_cnn(channels=channels, n_classes=source.output_shape[-1], seed=seed,
                       name="copied_cnn")
    return target, transfer_weights(source, target)
