"""Inter-modality fusion: two input branches joined in an intermediate fusion layer.

One branch is the **source branch**: the grey MNIST source model's feature
extractor, frozen, reading the grey view of an image. The other is the
**target branch**: a small CNN trained from scratch on the colour view. Their
feature vectors ``a`` (the 800 conv features) and ``b`` (64 values) meet in a fusion layer:

* ``"concat"``: ``h = [a; b]`` (Keras ``Concatenate``), then the softmax head;
* ``"gated"``: both are projected to ``d`` values, ``a' = W_a a``, ``b' = W_b b``,
  and a learned gate picks per feature how much of each to keep:
  ``g = sigmoid(W_g [a'; b'] + c)``, ``h = g * a' + (1 - g) * b'``.

The two views of one sample can be any two modalities (image and depth, RGB
and infrared); here they are the grey and colour versions of one MNIST-M image.
"""

FUSIONS = ("concat", "gated")
TARGET_FEATURES = 64
GATED_UNITS = 64


def source_branch(source, layer="flatten", name="source_branch"):
    """The source model from its input up to ``layer``: (batch, 28, 28, 1) -> (batch, features).

    The default, ``"flatten"``, gives the 800 conv features (32 maps of 5x5): more general
    than the 128 of ``"features_relu"``, which are tuned to MNIST's classes.
    """
    import keras

    names = [lay.name for lay in source.layers]
    if layer not in names:
        raise ValueError(f"the source model has no layer {layer!r}; its layers: {', '.join(names)}")
    return keras.Model(source.inputs, source.get_layer(layer).output, name=name)


def target_branch(channels=3, units=TARGET_FEATURES, seed=0, name="target_branch"):
    """A small CNN for the target view, freshly initialised: (batch, 28, 28, channels) -> (batch, units).

    Two conv blocks (16 and 32 3x3 filters with BatchNorm, ReLU, max-pooling)
    and a Dense ReLU layer.
    """
    import keras
    from keras import layers

    from course_lib.models import BN_MOMENTUM

    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grey) or 3 (RGB), got {channels!r}")
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((28, 28, channels), name="colour")
    x = inputs
    for i, filters in enumerate((16, 32), start=1):
        x = layers.Conv2D(filters, 3, name=f"t{i}_conv")(x)
        x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"t{i}_bn")(x)
        x = layers.ReLU(name=f"t{i}_relu")(x)
        x = layers.MaxPooling2D(name=f"t{i}_pool")(x)
    x = layers.Flatten(name="t_flatten")(x)
    outputs = layers.Dense(units, activation="relu", name="t_features")(x)
    return keras.Model(inputs, outputs, name=name)


def _input_like(branch, name):
    import keras

    return keras.Input(branch.input_shape[1:], name=name)


def build_fusion(source, target, fusion="concat", freeze_source=True, freeze_target=False,
                 n_classes=10, dropout=0.3, branch_dropout=0.0, seed=0):
    """Join two branches in a fusion layer and put a softmax head on top.

    Args:
        source, target: branch models (e.g. ``source_branch``, ``target_branch``),
            each mapping one input view to a feature vector.
        fusion: ``"concat"`` or ``"gated"`` (see the module docstring).
        freeze_source, freeze_target: make that branch's weights untrainable
            (its BatchNorm layers then run in inference mode).

    Returns:
        an uncompiled ``keras.Model`` with inputs ``[source view, target view]``
        and (batch, n_classes) class probabilities.
    """
    import keras
    from keras import layers

    if fusion not in FUSIONS:
        raise ValueError(f"fusion must be one of {FUSIONS}, got {fusion!r}")
    if source is target:
        raise ValueError("source and target must be two different branch models")
    keras.utils.set_random_seed(seed)
    source.trainable = not freeze_source
    target.trainable = not freeze_target
    view_s, view_t = _input_like(source, "source_view"), _input_like(target, "target_view")
    a, b = source(view_s), target(view_t)
    if branch_dropout:
        # drop a whole branch's features for a sample, so the head cannot lean on one branch
        a = layers.Dropout(branch_dropout, noise_shape=(None, 1), name="drop_source")(a)
        b = layers.Dropout(branch_dropout, noise_shape=(None, 1), name="drop_target")(b)
    if fusion == "concat":
        fused = layers.Concatenate(name="fusion_concat")([a, b])
    else:
        a = layers.Dense(GATED_UNITS, name="project_source")(a)
        b = layers.Dense(GATED_UNITS, name="project_target")(b)
        gate = layers.Dense(GATED_UNITS, activation="sigmoid", name="fusion_gate")(
            layers.Concatenate(name="gate_input")([a, b]))
        difference = layers.Subtract(name="source_minus_target")([a, b])
        # g * a' + (1 - g) * b'  ==  b' + g * (a' - b')
        fused = layers.Add(name="fusion_gated")(
            [b, layers.Multiply(name="gated_difference")([gate, difference])])
        fused = layers.ReLU(name="fusion_relu")(fused)
    x = layers.Dropout(dropout, name="dropout")(fused)
    outputs = layers.Dense(n_classes, activation="softmax", name="head")(x)
    return keras.Model([view_s, view_t], outputs, name=f"fusion_{fusion}")


def build_single(branch, freeze=False, n_classes=10, dropout=0.3, seed=0):
    """One branch alone with the same dropout and softmax head: the baseline for fusion."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    branch.trainable = not freeze
    view = _input_like(branch, "view")
    x = layers.Dropout(dropout, name="dropout")(branch(view))
    outputs = layers.Dense(n_classes, activation="softmax", name="head")(x)
    return keras.Model(view, outputs, name=f"{branch.name}_alone")
