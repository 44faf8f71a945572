"""The transfer model around a ``keras.applications`` backbone, and the two-stage recipe.

The model (layer names in brackets)::

    image (0-255) -> [augmentation] random flip, rotation, zoom (training only)
                  -> [preprocess]   MobileNetV2 only: to [-1, 1]
                  -> [backbone]     frozen, always called with training=False
                  -> [pool]         global average pooling: one vector per image
                  -> [dropout]
                  -> [head]         Dense softmax, one unit per class

The two stages (the Keras transfer-learning guide's recipe)::

    1 head   the backbone frozen; train pool-dropout-head      Adam 1e-3
    2 top    unfreeze the top blocks of the backbone, but not  Adam 1e-5 to 1e-4:
             its BatchNorm layers; recompile; train on          small steps, so the
                                                                pretrained features
                                                                are adjusted, not wiped

The backbone stays in inference mode in both stages (``training=False``), so its
BatchNorm layers normalise with their ImageNet statistics and never update them;
freezing them as well keeps their scale and shift too. Freezing and unfreezing use
the fine-tuning chapter's helpers (``course_lib.fine_tuning``).
"""

import re

import numpy as np

from course_lib import fine_tuning as ft
from course_lib.own_images import backbone as bb

HEAD_LEARNING_RATE = 1e-3
FINE_LEARNING_RATE = 1e-4
#: The blocks of the supported backbones are named ``expanded_conv[_N]_...`` (V3)
#: and ``expanded_conv_...`` / ``block_N_...`` (V2).
_BLOCK = re.compile(r"^(expanded_conv(?:_\d+)?|block_\d+)_")


def augmentation(seed=0):
    """Random left-right flips, rotations up to +-36 degrees and zooms up to +-20 %.

    Active only in training; in inference (``predict``, evaluation) it passes images through.
    """
    import keras
    from keras import layers

    return keras.Sequential([layers.RandomFlip("horizontal", seed=seed),
                             layers.RandomRotation(0.1, seed=seed),
                             layers.RandomZoom(0.2, seed=seed)], name="augmentation")


def build_transfer_model(n_classes, backbone=bb.DEFAULT_BACKBONE, image_size=96, weights_path=None,
                         augment=True, dropout=0.2, seed=0):
    """The transfer model, with the backbone frozen (ready for stage 1; uncompiled).

    Args:
        n_classes: classes of the new head, at least 2.
        backbone: a name from ``backbone.BACKBONES``.
        weights_path: ImageNet weights file (``backbone.imagenet_weights(...).path``) or None
            for a randomly initialised backbone (not transfer).
        augment: include the augmentation layers.

    Returns:
        a ``keras.Model`` from (batch, image_size, image_size, 3) pixels 0-255 to
        (batch, n_classes) class probabilities.
    """
    import keras
    from keras import layers

    bb.check_name(backbone)
    if int(n_classes) != n_classes or n_classes < 2:
        raise ValueError(f"n_classes must be a whole number >= 2, got {n_classes!r}")
    keras.utils.set_random_seed(seed)
    base = bb.build_backbone(backbone, image_size, weights_path)
    base.trainable = False
    inputs = keras.Input((image_size, image_size, 3), name="image")
    x = augmentation(seed)(inputs) if augment else inputs
    preprocess = bb.preprocessing_layer(backbone)
    if preprocess is not None:
        x = preprocess(x)
    x = base(x, training=False)  # inference mode, in both stages
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(int(n_classes), activation="softmax", name="head")(x)
    return keras.Model(inputs, outputs, name=f"transfer_{backbone}")


def get_backbone(model):
    """The model's ``backbone`` layer (itself a ``keras.Model``)."""
    return model.get_layer("backbone")


def backbone_blocks(backbone):
    """The backbone's blocks in order: ``[(block name, index of its first layer)]``."""
    blocks = []
    for index, layer in enumerate(backbone.layers):
        match = _BLOCK.match(layer.name)
        if match and (not blocks or blocks[-1][0] != match.group(1)):
            blocks.append((match.group(1), index))
    return blocks


def batchnorm_names(backbone):
    """Names of the backbone's BatchNormalization layers."""
    import keras

    return [layer.name for layer in backbone.layers
            if isinstance(layer, keras.layers.BatchNormalization)]


def calibrate_batchnorm(model, images, max_images=64):
    """Set the backbone's BatchNorm statistics to those of ``images`` (one forward pass).

    Only for a randomly initialised backbone: its moving statistics are placeholders
    (mean 0, variance 1), so its activations shrink layer after layer, to about 1e-10
    for MobileNetV3Small, and a head cannot learn from them. Measuring them on the
    learner's images (as AdaBN does in chapter 04) gives usable *random features*.
    ImageNet weights come with real statistics: keep those.

    Args:
        images: (n, h, w, 3) pixels 0-255; at most ``max_images`` of them are used.

    Returns:
        the number of BatchNorm layers set.
    """
    import keras

    base = get_backbone(model)
    layers = [base.get_layer(name) for name in batchnorm_names(base)]
    x = np.asarray(images[:max_images], dtype="float32")
    preprocess = [layer for layer in model.layers if layer.name == "preprocess"]
    if preprocess:
        x = np.asarray(preprocess[0](x))
    saved = [(layer.trainable, layer.momentum) for layer in layers]
    for layer in layers:  # training mode with momentum 0: moving statistics := batch statistics
        layer.trainable, layer.momentum = True, 0.0
    base(keras.ops.convert_to_tensor(x), training=True)
    for layer, (trainable, momentum) in zip(layers, saved):
        layer.trainable, layer.momentum = trainable, momentum
    return len(layers)


def freeze_backbone(model):
    """Stage 1: freeze the whole backbone; the head trains. Returns the trainable layer names."""
    ft.freeze(model, names=["backbone"])
    return [layer.name for layer in model.layers if layer.trainable and layer.trainable_weights]


def unfreeze_top_blocks(model, n_blocks=2):
    """Stage 2: unfreeze the backbone's top ``n_blocks`` blocks and the layers above them,
    except the BatchNorm layers, which stay frozen (and in inference mode).

    Returns:
        the names of the backbone layers that now train (those with weights).

    Raises:
        ValueError: ``n_blocks`` outside 1 to the number of blocks (the message says it).
    """
    base = get_backbone(model)
    blocks = backbone_blocks(base)
    if int(n_blocks) != n_blocks or not 1 <= n_blocks <= len(blocks):
        raise ValueError(f"n_blocks must be a whole number from 1 to {len(blocks)} "
                         f"(the backbone's blocks), got {n_blocks!r}")
    first = blocks[-int(n_blocks)][1]
    ft.unfreeze(model, names=["backbone"])  # sets every backbone layer trainable
    ft.freeze(base, indices=(0, first))
    ft.freeze(base, names=batchnorm_names(base))
    return [layer.name for layer in base.layers[first:] if layer.trainable and layer.weights]


def _fit(model, train, validation, learning_rate, epochs, initial_epoch, label, seed, callbacks=()):
    import keras

    from course_lib.models import compile_classifier
    from course_lib.progress import ProgressLine

    keras.utils.set_random_seed(seed)
    compile_classifier(model, learning_rate)  # recompile: Keras reads the trainable flags here
    return model.fit(train, validation_data=validation, epochs=initial_epoch + epochs,
                     initial_epoch=initial_epoch, shuffle=False,  # the dataset shuffles itself
                     verbose=0, callbacks=[ProgressLine(label), *callbacks])


def two_stage_fit(model, train, validation, head_epochs=6, fine_epochs=6, top_blocks=2,
                  head_learning_rate=HEAD_LEARNING_RATE, fine_learning_rate=FINE_LEARNING_RATE,
                  seed=0, callbacks=()):
    """Train the head with the backbone frozen, then fine-tune the top blocks as well.

    Args:
        train, validation: datasets of (images, labels) batches (``folder.load_folder``).
        top_blocks: backbone blocks unfrozen in stage 2.
        callbacks: extra Keras callbacks for both stages.

    Returns:
        a dict: ``history`` (Keras's logs of both stages joined, one entry per epoch),
        ``head_epochs``, ``trainable`` (``{"stage 1": params, "stage 2": params}``),
        ``unfrozen`` (the backbone layers that train in stage 2).
    """
    if head_epochs < 1 or fine_epochs < 0:
        raise ValueError(f"need head_epochs >= 1 and fine_epochs >= 0, got {head_epochs}, {fine_epochs}")
    freeze_backbone(model)
    trainable = {"stage 1": ft.parameter_counts(model)[0]}
    first = _fit(model, train, validation, head_learning_rate, head_epochs, 0,
                 "stage 1, head only", seed, callbacks)
    history = {k: list(v) for k, v in first.history.items()}
    unfrozen = []
    if fine_epochs:
        unfrozen = unfreeze_top_blocks(model, top_blocks)
        trainable["stage 2"] = ft.parameter_counts(model)[0]
        second = _fit(model, train, validation, fine_learning_rate, fine_epochs, head_epochs,
                      f"stage 2, top {top_blocks} blocks", seed + 1, callbacks)
        for key, values in second.history.items():
            history.setdefault(key, []).extend(values)
    return {"history": history, "head_epochs": head_epochs, "trainable": trainable,
            "unfrozen": unfrozen}


def predict_probabilities(model, images, batch_size=64):
    """Class probabilities (n, classes) for images (n, h, w, 3) 0-255, in inference mode."""
    images = np.asarray(images, dtype="float32")
    parts = [np.asarray(model(images[i:i + batch_size], training=False))
             for i in range(0, len(images), batch_size)]
    return np.concatenate(parts) if parts else np.zeros((0, model.output_shape[-1]), "float32")


def confident_mistakes(probabilities, labels, k=8):
    """Indices of the ``k`` wrong predictions with the highest confidence, most confident first.

    Args:
        probabilities: (n, classes) predicted probabilities.
        labels: (n,) true class indices.

    Returns:
        an int array of at most ``k`` indices (fewer if there are fewer mistakes).
    """
    probabilities = np.asarray(probabilities)
    labels = np.asarray(labels)
    if probabilities.ndim != 2 or len(probabilities) != len(labels):
        raise ValueError(f"need probabilities (n, classes) and labels (n,); got shapes "
                         f"{probabilities.shape} and {labels.shape}")
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    order = np.argsort(-probabilities[wrong].max(axis=1), kind="stable")
    return wrong[order][:int(k)]


def load_images(paths, image_size):
    """Image files as (n, image_size, image_size, 3) float32 0-255, centre-cropped to a square
    and resized as ``folder.load_folder`` does."""
    import keras

    return np.stack([keras.utils.img_to_array(keras.utils.load_img(
        p, color_mode="rgb", target_size=(image_size, image_size), keep_aspect_ratio=True))
        for p in paths]).astype("float32")


def predict_files(model, paths, class_names):
    """Predict the class of image files, e.g. new photos.

    Returns:
        a ``pandas.DataFrame``: ``file``, ``predicted`` (class name), ``confidence``.
    """
    import pandas as pd

    size = model.input_shape[1]
    probabilities = predict_probabilities(model, load_images(paths, size))
    return pd.DataFrame({"file": [getattr(p, "name", str(p)) for p in paths],
                         "predicted": [class_names[i] for i in probabilities.argmax(axis=1)],
                         "confidence": probabilities.max(axis=1).round(3)})


def export(model, path):
    """Save ``model`` as a ``.keras`` file and load it back (Keras's safe mode).

    Returns:
        the loaded ``keras.Model``.
    """
    import keras

    path = str(path)
    if not path.endswith(".keras"):
        raise ValueError(f"the file name must end in .keras, got {path!r}")
    model.save(path)
    return keras.models.load_model(path, safe_mode=True)
