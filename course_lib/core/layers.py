"""Model surgery: pick, freeze, count, cut, copy and re-head the layers of a Keras model.

Freezing a layer (``layer.trainable = False``) keeps its weights fixed; Keras reads the
flags when a model is compiled, and ``training.fit`` compiles every time it trains. A
frozen ``BatchNormalization`` layer also runs in inference mode: it normalises with its
stored moving statistics and leaves them alone (see ``methods.batchnorm``).
"""

import re

import numpy as np

from course_lib.core import checks
from course_lib.core.cnn import BLOCKS


def require_layer(model, name):
    """``model``'s layer called ``name``; the error lists the layers it has."""
    names = [layer.name for layer in model.layers]
    if name not in names:
        raise ValueError(f"model {model.name!r} has no layer {name!r}; its layers: {', '.join(names)}")
    return model.get_layer(name)


def select_layers(model, names=None, pattern=None, indices=None, blocks=None):
    """Names of the layers picked by exactly one selector, in model order.

    Args:
        names: layer names, e.g. ``["block1_conv", "head"]``.
        pattern: a regular expression matched against the start of each name, e.g. ``"block1_"``.
        indices: ``(start, stop)`` positions in ``model.layers`` (stop excluded, like a slice).
        blocks: course blocks from ``cnn.BLOCKS``, e.g. ``["block2", "head"]``.

    Raises:
        ValueError: no selector or several; an unknown name or block (the message lists the
            ones that exist); a pattern that matches nothing; indices out of range.
    """
    given = {k: v for k, v in dict(names=names, pattern=pattern, indices=indices,
                                   blocks=blocks).items() if v is not None}
    if len(given) != 1:
        raise ValueError("give exactly one of names=, pattern=, indices=, blocks=; "
                         f"got {sorted(given) or 'none'}")
    all_names = [layer.name for layer in model.layers]
    if names is not None:
        names = [names] if isinstance(names, str) else list(names)
        for name in names:
            require_layer(model, name)
        return [n for n in all_names if n in names]
    if pattern is not None:
        picked = [n for n in all_names if re.match(pattern, n)]
        if not picked:
            raise ValueError(f"pattern {pattern!r} matches no layer; layers: {', '.join(all_names)}")
        return picked
    if indices is not None:
        start, stop = indices
        if not 0 <= start < stop <= len(all_names):
            raise ValueError(f"indices must satisfy 0 <= start < stop <= {len(all_names)}, "
                             f"got {tuple(indices)}")
        return all_names[start:stop]
    blocks = [blocks] if isinstance(blocks, str) else list(blocks)
    for block in blocks:
        checks.choice(block, "block", tuple(BLOCKS))
    wanted = {n for b in blocks for n in BLOCKS[b]}
    return [n for n in all_names if n in wanted]


def set_trainable(model, trainable, **selector):
    """Set ``layer.trainable`` for the layers ``select_layers(model, **selector)`` picks.

    Returns:
        the names of the layers changed.
    """
    picked = select_layers(model, **selector)
    for name in picked:
        model.get_layer(name).trainable = bool(trainable)
    return picked


def freeze(model, **selector):
    """Freeze the selected layers (see ``select_layers``); returns their names."""
    return set_trainable(model, False, **selector)


def unfreeze(model, **selector):
    """Unfreeze the selected layers (see ``select_layers``); returns their names."""
    return set_trainable(model, True, **selector)


def train_only(model, blocks=None):
    """Make only ``blocks`` trainable (None: every layer); returns the trainable layer names."""
    for layer in model.layers:
        layer.trainable = blocks is None
    if blocks is not None:
        unfreeze(model, blocks=blocks)
    return [layer.name for layer in model.layers if layer.trainable and layer.weights]


def _size(variables):
    return int(sum(np.prod(v.shape) for v in variables))


def parameter_counts(model):
    """``(trainable, frozen)`` parameter totals of ``model``."""
    return _size(model.trainable_weights), _size(model.non_trainable_weights)


def trainable_summary(model):
    """Trainable and frozen parameters per layer that owns weights, plus a ``total`` row.

    BatchNorm's moving mean and variance are always counted as frozen: they are
    averaged from batches, never learned by gradients (Keras counts them the same way).

    Returns:
        a ``pandas.DataFrame``: ``layer``, ``trainable`` (the flag), ``trainable_params``,
        ``frozen_params``.
    """
    import pandas as pd

    rows = [{"layer": layer.name, "trainable": layer.trainable,
             "trainable_params": _size(layer.trainable_weights),
             "frozen_params": _size(layer.non_trainable_weights)}
            for layer in model.layers if layer.weights]
    table = pd.DataFrame(rows)
    trainable, frozen = parameter_counts(model)
    total = {"layer": "total", "trainable": None, "trainable_params": trainable,
             "frozen_params": frozen}
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)


def copy_model(model, name=None, seed=0):
    """An independent copy of a functional ``model``: same architecture, weights and trainable flags.

    The copy is made right after seeding with ``seed``: its random layers (Dropout) take their
    seeds from that state, so a copy trained with the same seed drops the same units at every
    step, whatever the process ran before it. (Unseeded, a Dropout layer draws its seed from
    Python's ``random``, which every earlier arm has moved.)
    """
    import keras

    from course_lib.core.environment import seed_everything

    seed_everything(seed)
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    for original, copied in zip(model.layers, clone.layers):
        copied.trainable = original.trainable
    if name:
        clone.name = name
    return clone


def cut(model, layer, name=None):
    """A view of ``model`` from its inputs to ``layer``'s output, **sharing** its weights.

    Returns:
        a ``keras.Model``; training it changes ``model`` too (freeze it to prevent that).
    """
    import keras

    output = require_layer(model, layer).output
    return keras.Model(model_inputs(model), output, name=name or f"{model.name}_to_{layer}")


def model_inputs(model):
    """``model``'s input tensor, or the list of them when it has several (as Keras expects them
    when a new model is built on them and later called)."""
    return model.inputs[0] if len(model.inputs) == 1 else model.inputs


def split(model, layer, seed=0):
    """Independent copies of the part of ``model`` up to ``layer`` and the part after it.

    Returns:
        ``(extractor, classifier)``: images -> (batch, d) features and features ->
        probabilities, both trainable, starting from ``model``'s weights (a warm start).
    """
    import keras

    require_layer(model, layer)
    clone = copy_model(model, seed=seed)
    clone.trainable = True
    extractor = cut(clone, layer, name="extractor")
    names = [lay.name for lay in clone.layers]
    features = keras.Input(extractor.output.shape[1:], name="features_in")
    h = features
    for name in names[names.index(layer) + 1:]:
        h = clone.get_layer(name)(h)
    return extractor, keras.Model(features, h, name="classifier")


def with_new_head(model, n_classes=10, seed=0, below="dropout"):
    """A copy of ``model`` whose ``head`` is a new, randomly initialised softmax layer.

    The new head reads the output of layer ``below``. Every layer of the copy is trainable.

    Returns:
        an uncompiled ``keras.Model``.
    """
    import keras

    from course_lib.core.environment import seed_everything

    base = copy_model(model, seed=seed)
    seed_everything(seed)
    head = keras.layers.Dense(checks.whole_number(n_classes, "n_classes", minimum=2),
                              activation="softmax", name="head")
    new = keras.Model(model_inputs(base), head(require_layer(base, below).output),
                      name=f"{model.name}_new_head")
    for layer in new.layers:
        layer.trainable = True
    return new


def batchnorm_layers(model):
    """The model's ``BatchNormalization`` layers in the order data flows through them,
    including those inside nested sub-models."""
    import keras

    found = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            found.append(layer)
        elif isinstance(layer, keras.Model):
            found.extend(batchnorm_layers(layer))
    return found
