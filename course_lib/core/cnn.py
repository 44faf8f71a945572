"""The course's small CNN, with layer names a teacher can point at::

    image -> block1_conv -> block1_bn -> block1_relu -> block1_pool     conv block 1
          -> block2_conv -> block2_bn -> block2_relu -> block2_pool     conv block 2
          -> flatten -> features -> features_bn -> features_relu        the feature layer
          -> dropout -> head                                            the classifier

BatchNorm uses momentum 0.9, where Keras's default is 0.99: a BatchNorm layer's moving
mean and variance are averages over the batches it has seen, and with 0.99 they keep
about 1 % of each new batch, so after the few hundred steps the course trains they still
remember their starting values. The model is then right in training mode (batch
statistics) and near chance in inference mode (moving statistics). With 0.9 they follow
the data within about 20 steps. Large models trained for many thousands of steps use 0.99.
"""

from course_lib.core import checks
from course_lib.core.data import IMAGE_SIZE, N_CLASSES

BLOCKS = {
    "block1": ("block1_conv", "block1_bn", "block1_relu", "block1_pool"),
    "block2": ("block2_conv", "block2_bn", "block2_relu", "block2_pool"),
    "features": ("flatten", "features", "features_bn", "features_relu", "dropout"),
    "head": ("head",),
}
#: The layer whose output is "the features": 128 numbers per image.
FEATURE_LAYER = "features_relu"
BN_MOMENTUM = 0.9


def conv_block(x, filters, index, batchnorm=True, prefix="block"):
    """Conv 3x3 -> (BatchNorm) -> ReLU -> 2x2 max-pooling, layers named ``{prefix}{index}_...``."""
    from keras import layers

    x = layers.Conv2D(filters, 3, name=f"{prefix}{index}_conv")(x)
    if batchnorm:
        x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{prefix}{index}_bn")(x)
    x = layers.ReLU(name=f"{prefix}{index}_relu")(x)
    return layers.MaxPooling2D(name=f"{prefix}{index}_pool")(x)


def image_input(channels, name="image"):
    """A ``keras.Input`` for (batch, 28, 28, channels) images, channels 1 (grey) or 3 (RGB)."""
    import keras

    checks.channels(channels)
    return keras.Input((IMAGE_SIZE, IMAGE_SIZE, channels), name=name)


def build_cnn(channels=1, n_classes=N_CLASSES, seed=0, filters=(16, 32), units=128, dropout=0.3,
              name="cnn"):
    """The course's CNN for 28x28 images, freshly initialised from ``seed`` (uncompiled).

    Args:
        channels: input channels, 1 (grey) or 3 (RGB).
        n_classes: width of the softmax ``head``.
        filters: filters of conv blocks 1 and 2 (3x3 kernels).
        units: width of the ``features`` layer.

    Returns:
        a functional ``keras.Model`` mapping (batch, 28, 28, channels) images in [0, 1]
        to (batch, n_classes) class probabilities.
    """
    import keras
    from keras import layers

    from course_lib.core.environment import seed_everything

    checks.whole_number(n_classes, "n_classes", minimum=2)
    seed_everything(seed)
    inputs = image_input(channels)
    x = inputs
    for i, f in enumerate(filters, start=1):
        x = conv_block(x, f, i)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(units, name="features")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name="features_bn")(x)
    x = layers.ReLU(name="features_relu")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="head")(x)
    return keras.Model(inputs, outputs, name=name)


def block_table(model):
    """The model's layers grouped into the course's blocks, with parameter counts.

    Returns:
        a ``pandas.DataFrame``: ``block``, ``layers`` (comma-separated names), ``params``.
        Layers outside ``BLOCKS`` (e.g. the input) are not listed.
    """
    import pandas as pd

    names = {layer.name for layer in model.layers}
    rows = []
    for block, layer_names in BLOCKS.items():
        present = [n for n in layer_names if n in names]
        if present:
            params = sum(model.get_layer(n).count_params() for n in present)
            rows.append({"block": block, "layers": ", ".join(present), "params": params})
    return pd.DataFrame(rows)
