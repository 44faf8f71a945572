"""Inter-domain fusion: two input branches joined in an intermediate fusion layer.

One branch is the **source branch**: a source model's feature extractor, frozen, reading
one view of a sample. The other is the **target branch**: a small CNN trained from
scratch on another view. Their feature vectors ``a`` and ``b`` meet in a fusion layer:

* ``"concat"``: ``h = [a; b]`` (Keras ``Concatenate``), then the softmax head;
* ``"gated"``: both are projected to ``d`` values, ``a' = W_a a``, ``b' = W_b b``, and a
  learned gate picks per feature how much of each to keep:
  ``g = sigmoid(W_g [a'; b'] + c)``, ``h = g * a' + (1 - g) * b'``.

The two views of one sample can be any two kinds of input (image and depth, RGB and
infrared); the course uses the grey and colour versions of one MNIST-M image. In plain
Keras it is a two-input functional model::

    source_branch.trainable = False
    grey, colour = keras.Input((28, 28, 1)), keras.Input((28, 28, 3))
    h = keras.layers.Concatenate()([source_branch(grey), target_branch(colour)])
    model = keras.Model([grey, colour], keras.layers.Dense(10, activation="softmax")(h))
"""

from course_lib.core import checks
from course_lib.core.data import N_CLASSES

FUSIONS = ("concat", "gated")
#: Width of the target branch's feature vector.
TARGET_FEATURES = 64
#: Width of both projections, and of the gate, in the gated fusion.
GATED_UNITS = 64
#: Conv filters of the target branch's two blocks.
TARGET_FILTERS = (16, 32)
#: Dropout before the softmax head.
HEAD_DROPOUT = 0.3


def source_branch(source, layer="flatten", name="source_branch"):
    """A copy of ``source`` from its input up to ``layer``: images -> (batch, features).

    The copy is independent: freezing or training it leaves ``source`` as it is. The
    default, ``"flatten"``, gives the course CNN's 800 conv features (32 maps of 5x5):
    more general than the 128 of ``"features_relu"``, which are tuned to the source's classes.
    """
    from course_lib.core.layers import copy_model, cut, require_layer

    require_layer(source, layer)
    return cut(copy_model(source), layer, name=name)


def target_branch(channels=3, units=TARGET_FEATURES, seed=0, name="target_branch"):
    """A small CNN for the target view, freshly initialised: images -> (batch, units).

    Two conv blocks (16 and 32 3x3 filters with BatchNorm, ReLU, max-pooling) and a Dense
    ReLU layer; its layers are named ``target1_conv``, ..., ``target_features``.
    """
    import keras
    from keras import layers

    from course_lib.core.cnn import conv_block, image_input
    from course_lib.core.environment import seed_everything

    units = checks.whole_number(units, "units")
    seed_everything(seed)
    inputs = image_input(channels, name="view")
    x = inputs
    for i, filters in enumerate(TARGET_FILTERS, start=1):
        x = conv_block(x, filters, i, prefix="target")
    x = layers.Flatten(name="target_flatten")(x)
    outputs = layers.Dense(units, activation="relu", name="target_features")(x)
    return keras.Model(inputs, outputs, name=name)


def _input_like(branch, name):
    import keras

    return keras.Input(branch.input_shape[1:], name=name)


def _head(x, n_classes, dropout):
    from keras import layers

    x = layers.Dropout(checks.share(dropout, "dropout"), name="dropout")(x)
    n_classes = checks.whole_number(n_classes, "n_classes", minimum=2)
    return layers.Dense(n_classes, activation="softmax", name="head")(x)


def _gated(a, b):
    """``g * a' + (1 - g) * b'`` with ``a' = W_a a``, ``b' = W_b b``, ``g = sigmoid(W_g [a'; b'])``."""
    from keras import layers

    a = layers.Dense(GATED_UNITS, name="project_source")(a)
    b = layers.Dense(GATED_UNITS, name="project_target")(b)
    gate = layers.Dense(GATED_UNITS, activation="sigmoid", name="fusion_gate")(
        layers.Concatenate(name="gate_input")([a, b]))
    difference = layers.Subtract(name="source_minus_target")([a, b])
    # g * a' + (1 - g) * b'  ==  b' + g * (a' - b')
    fused = layers.Add(name="fusion_gated")([b, layers.Multiply(name="gated_difference")([gate, difference])])
    return layers.ReLU(name="fusion_relu")(fused)


def build_fusion(source, target, fusion="concat", freeze_source=True, freeze_target=False,
                 n_classes=N_CLASSES, dropout=HEAD_DROPOUT, seed=0):
    """Join two branches in a fusion layer and put a softmax head on top.

    Args:
        source, target: branch models (e.g. ``source_branch``, ``target_branch``), each
            mapping one input view to a feature vector.
        fusion: ``"concat"`` or ``"gated"`` (see the module docstring).
        freeze_source, freeze_target: make that branch's weights untrainable (its
            BatchNorm layers then run in inference mode).

    Returns:
        an uncompiled ``keras.Model`` with inputs ``[source view, target view]`` and
        (batch, n_classes) class probabilities.
    """
    import keras
    from keras import layers

    from course_lib.core.environment import seed_everything

    checks.choice(fusion, "fusion", FUSIONS)
    if source is target:
        raise ValueError("source and target must be two different branch models")
    seed_everything(seed)
    source.trainable = not freeze_source
    target.trainable = not freeze_target
    view_s, view_t = _input_like(source, "source_view"), _input_like(target, "target_view")
    a, b = source(view_s), target(view_t)
    fused = layers.Concatenate(name="fusion_concat")([a, b]) if fusion == "concat" else _gated(a, b)
    return keras.Model([view_s, view_t], _head(fused, n_classes, dropout), name=f"fusion_{fusion}")


def build_single(branch, freeze=False, n_classes=N_CLASSES, dropout=HEAD_DROPOUT, seed=0):
    """One branch alone with the same dropout and softmax head: the baseline for fusion."""
    import keras

    from course_lib.core.environment import seed_everything

    seed_everything(seed)
    branch.trainable = not freeze
    view = _input_like(branch, "view")
    return keras.Model(view, _head(branch(view), n_classes, dropout), name=f"{branch.name}_alone")
