"""The source text's code example (its section 4), kept to show why it cannot run.

Its two models are built as its code builds them, minus the target's Dense layers: the
"AlexNet" target is built only up to its ``Flatten``, because its first Dense(4096)
layer would hold ``alexnet_dense_params()`` weights, more memory than Binder has, and
the transfer loop fails before it reaches that layer.
"""

import numpy as np

#: The target's input as the source text builds it: AlexNet's 227x227 colour images.
ALEXNET_INPUT = (227, 227, 3)
#: Units of the target's first Dense layer in the source text.
ALEXNET_DENSE_UNITS = 4096
#: The target's conv blocks in the source text: (filters, kernel size, followed by pooling).
ALEXNET_BLOCKS = ((96, 3, True), (256, 5, True), (384, 3, False), (384, 3, False), (256, 3, True))
#: Bytes of one float32 weight.
FLOAT32_BYTES = 4


def _alexnet_block(filters, size, pool):
    """One conv block as the source text writes it: Conv(ReLU) -> BatchNorm -> ReLU (-> pool)."""
    from keras import layers

    block = [layers.Conv2D(filters, (size, size), activation="relu", padding="same"),
             layers.BatchNormalization(), layers.ReLU()]
    return block + ([layers.MaxPooling2D(pool_size=(3, 3), strides=(2, 2))] if pool else [])


def source_text_models(seed=0):
    """The source text's source ("VGG, 16 layers", in fact 2 convs) and target ("AlexNet") models.

    Returns:
        ``(source_classifier, target_classifier)``, Keras ``Sequential`` models; the target
        stops at its ``Flatten`` (see the module docstring).
    """
    import keras
    from keras import layers

    from course_lib.core.environment import seed_everything

    seed_everything(seed)
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
    blocks = [layer for spec in ALEXNET_BLOCKS for layer in _alexnet_block(*spec)]
    target_classifier = keras.Sequential([keras.Input(ALEXNET_INPUT), *blocks, layers.Flatten()])
    return source_classifier, target_classifier


def alexnet_dense_params(target_classifier):
    """Weights of the source text's first Dense(4096) layer on its target's conv output (an int).

    Args:
        target_classifier: the target model from ``source_text_models`` (up to its ``Flatten``).
    """
    return int(np.prod(target_classifier.output_shape[1:])) * ALEXNET_DENSE_UNITS + ALEXNET_DENSE_UNITS


def alexnet_dense_gigabytes(target_classifier):
    """The memory those weights take as float32, in GB."""
    return alexnet_dense_params(target_classifier) * FLOAT32_BYTES / 1e9


def source_text_transfer(source_classifier, target_classifier):
    """The source text's weight-transfer loop, verbatim. It cannot work.

    It puts the source's *last Dense* kernel, shape (128, 10), into every conv layer of
    the target, and indexes that 2-D array with 4 indices.
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
        a dict: ``error`` (the exception), ``kernel`` (the shape the loop copies from)
        and ``wanted`` (the shape the first target conv needs).
    """
    source_classifier, target_classifier = source_text_models()
    found = {"error": None,
             "kernel": source_classifier.layers[-1].get_weights()[0].shape,
             "wanted": target_classifier.layers[0].get_weights()[0].shape}
    try:
        source_text_transfer(source_classifier, target_classifier)
    except Exception as error:  # noqa: BLE001 - showing whatever it raises is the point
        found["error"] = error
    return found


def first_block(model):
    """The layers of the source text's target model up to its first pooling, as it stacks them.

    Returns:
        a list of strings, e.g. ``"Conv2D (activation relu)"``, ``"BatchNormalization"``.
    """
    names = []
    for layer in model.layers:
        activation = getattr(layer, "activation", None)
        suffix = f" (activation {activation.__name__})" if activation is not None else ""
        names.append(type(layer).__name__ + suffix)
        if type(layer).__name__ == "MaxPooling2D":
            break
    return names
