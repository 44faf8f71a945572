"""The transfer model around a ``keras.applications`` backbone, and the two-stage recipe.

The model (layer names in brackets)::

    image (0-255) -> [augmentation] random flip, rotation, zoom (training only)
                  -> [backbone]     frozen; its BatchNorm layers in both stages
                  -> [pool]         global average pooling: one vector per image
                  -> [dropout]
                  -> [head]         Dense softmax, one unit per class (float32)

The two stages (the Keras transfer-learning guide's recipe)::

    1 head   the backbone frozen; train pool-dropout-head       Adam 1e-3
    2 top    unfreeze the top blocks of the backbone, but not   Adam 1e-4: small steps,
             its BatchNorm layers; train on                     so the pretrained features
                                                                are adjusted, not wiped

Each stage keeps the weights of its epoch with the lowest validation loss (the validation
split chooses; the test split is not looked at). The backbone's BatchNorm layers stay frozen in
both stages, so they run in inference mode and normalise with their stored statistics. (Calling
the backbone with ``training=False`` is not enough in Keras 3: once its layers are unfrozen, the
``training=True`` of ``fit`` reaches them, keras-team/keras#20285; chapter 02 shows it.) Both stages train through
``core.training.fit`` (which recompiles, so Keras reads the new trainable flags), and freezing
uses ``core.layers``.
"""

import dataclasses

import numpy as np

from course_lib.core import checks
from course_lib.core import layers as surgery
from course_lib.methods.own_images import backbone as bb
from course_lib.methods.own_images import weights

HEAD_LEARNING_RATE = 1e-3
FINE_LEARNING_RATE = 1e-4
DROPOUT = 0.2
#: Augmentation: rotations up to +-36 degrees (0.1 of a turn), zooms up to +-20 %.
ROTATION, ZOOM = 0.1, 0.2
#: Images whose BatchNorm statistics a random backbone is calibrated on.
CALIBRATION_IMAGES = 64
#: Images per forward pass when predicting.
PREDICT_BATCH = 64


def augmentation(seed=0):
    """Random left-right flips, rotations and zooms; active only in training."""
    import keras
    from keras import layers

    return keras.Sequential([layers.RandomFlip("horizontal", seed=seed),
                             layers.RandomRotation(ROTATION, seed=seed),
                             layers.RandomZoom(ZOOM, seed=seed)], name="augmentation")


def build_transfer_model(n_classes, backbone=bb.DEFAULT_BACKBONE, image_size=96, weights_path=None,
                         augment=True, dropout=DROPOUT, seed=0):
    """The transfer model with the backbone frozen (ready for stage 1; uncompiled).

    Build it inside ``strategy.scope()`` to train it on several devices, and inside
    ``distribution.precision("mixed_float16")`` for mixed precision (the head stays float32).

    Args:
        n_classes: classes of the new head, at least 2.
        backbone: a name from ``backbone.BACKBONES``.
        weights_path: the ImageNet weights file (``weights.imagenet_weights(...).path``; its hash
            is checked here, on every use) or None for a randomly initialised backbone (not
            transfer).
        augment: include the augmentation layers.
        seed: the head's initialisation, the augmentation and the dropout.

    Returns:
        a ``keras.Model`` from (batch, image_size, image_size, 3) pixels 0-255 to
        (batch, n_classes) class probabilities.
    """
    import keras
    from keras import layers

    from course_lib.core.environment import seed_everything
    from course_lib.methods.own_images.pipeline import check_image_size

    n_classes = checks.whole_number(n_classes, "n_classes", minimum=2)
    image_size = check_image_size(image_size)
    seed_everything(seed)
    if weights_path is not None:
        weights_path = weights.verified_path(backbone, weights_path)
    base = bb.build_backbone(backbone, image_size, weights_path)
    base.trainable = False
    inputs = keras.Input((image_size, image_size, 3), name="image")
    x = augmentation(seed)(inputs) if augment else inputs
    x = base(x, training=False)  # stage 1: all frozen; stage 2 keeps its BatchNorm layers frozen
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    x = layers.Dropout(checks.share(dropout, "dropout"), name="dropout")(x)
    outputs = layers.Dense(n_classes, activation="softmax", dtype="float32", name="head")(x)
    return keras.Model(inputs, outputs, name=f"transfer_{backbone}")


def get_backbone(model):
    """The model's ``backbone`` layer (itself a ``keras.Model``)."""
    return surgery.require_layer(model, "backbone")


def calibrate_batchnorm(model, images):
    """Set the backbone's BatchNorm statistics to those of ``images`` (one forward pass).

    Only for a randomly initialised backbone: its moving statistics are placeholders
    (mean 0, variance 1), so its activations shrink layer after layer, to about 1e-10
    for MobileNetV3Small, and a head cannot learn from them. Measuring them on the
    learner's images (as AdaBN does in chapter 05) gives usable *random features*.
    ImageNet weights come with real statistics: keep those.

    Args:
        images: (n, h, w, 3) pixels 0-255 (``CALIBRATION_IMAGES`` of them are plenty).

    Returns:
        the number of BatchNorm layers set.
    """
    import keras

    base = get_backbone(model)
    norms = surgery.batchnorm_layers(base)
    saved = [(layer.trainable, layer.momentum) for layer in norms]
    for layer in norms:  # training mode with momentum 0: moving statistics := batch statistics
        layer.trainable, layer.momentum = True, 0.0
    try:
        base(keras.ops.convert_to_tensor(checks.finite(np.asarray(images, "float32"), "images")), training=True)
    finally:
        for layer, (trainable, momentum) in zip(norms, saved):
            layer.trainable, layer.momentum = trainable, momentum
    return len(norms)


def freeze_backbone(model):
    """Stage 1: freeze the whole backbone; the head trains. Returns the trainable layer names."""
    surgery.freeze(model, names=["backbone"])
    return [layer.name for layer in model.layers if layer.trainable and layer.trainable_weights]


def unfreeze_top_blocks(model, n_blocks=2):
    """Stage 2: unfreeze the backbone's top ``n_blocks`` blocks and the layers above them,
    except the BatchNorm layers, which stay frozen (and in inference mode).

    Returns:
        the names of the backbone layers that now train (those with weights).
    """
    base = get_backbone(model)
    first = bb.top_blocks_start(base, n_blocks)
    surgery.unfreeze(model, names=["backbone"])  # every backbone layer trainable, then:
    surgery.freeze(base, indices=(0, first))
    surgery.freeze(base, names=[layer.name for layer in surgery.batchnorm_layers(base)])
    return [layer.name for layer in base.layers[first:] if layer.trainable and layer.weights]


@dataclasses.dataclass
class Stage:
    """One stage's training.

    Attributes:
        logs: Keras's logs, ``{name: [one value per epoch]}`` (``val_loss``, ``val_accuracy``: validation).
        best_epoch: the epoch whose weights were kept (lowest validation loss), counted from 1.
        trainable: trainable parameters in this stage.
    """

    logs: dict
    best_epoch: int
    trainable: int


def train_stage(model, train, validation, epochs, learning_rate, seed=0, strategy=None, label=None):
    """Train the model's trainable layers and keep the epoch with the lowest validation loss.

    Args:
        train, validation: datasets of ``(images, labels)`` batches (``pipeline.dataset``).
        label: the progress line's label, or None for silence.

    Returns:
        a ``Stage``.
    """
    import keras

    from course_lib.core.training import fit

    epochs = checks.whole_number(epochs, "epochs")
    best = keras.callbacks.EarlyStopping(monitor="val_loss", patience=epochs, restore_best_weights=True)
    history = fit(model, train, epochs=epochs, learning_rate=learning_rate, validation_data=validation,
                  callbacks=[best], progress=label, seed=seed, strategy=strategy)
    return Stage({k: [float(v) for v in values] for k, values in history.history.items()},
                 best.best_epoch + 1, surgery.parameter_counts(model)[0])


def predict_dataset(model, data):
    """``(probabilities, labels)`` for every batch of ``data``, in inference mode."""
    parts, labels = [], []
    for images, batch_labels in data:
        parts.append(np.asarray(model(images, training=False)))
        labels.append(np.asarray(batch_labels))
    return np.concatenate(parts), np.concatenate(labels).astype("int64")


def confident_mistakes(probabilities, labels, k=8):
    """Indices of the ``k`` wrong predictions with the highest confidence, most confident first.

    Args:
        probabilities: (n, classes) predicted probabilities.
        labels: (n,) true class indices.

    Returns:
        an int array of at most ``k`` indices (fewer if there are fewer mistakes).
    """
    probabilities = np.asarray(probabilities)
    labels = checks.labels(labels, probabilities.shape[-1] if probabilities.ndim == 2 else None)
    if probabilities.ndim != 2 or len(probabilities) != len(labels):
        raise ValueError(f"need probabilities (n, classes) and labels (n,); got shapes "
                         f"{probabilities.shape} and {labels.shape}")
    k = checks.whole_number(k, "k", minimum=0)
    wrong = np.flatnonzero(probabilities.argmax(axis=1) != labels)
    order = np.argsort(-probabilities[wrong].max(axis=1), kind="stable")
    return wrong[order][:k]


def predict_files(model, paths, class_names):
    """Predict the class of image files, e.g. new photos (cropped and resized as in training).

    A file that training would skip (missing, not an image TensorFlow decodes, damaged, too
    small: ``folder.unreadable_reason``) is not predicted: its row says why, one warning names
    the first such file and counts them, and the other files are predicted.

    Args:
        paths: image files (a list of paths, or one path).
        class_names: the model's classes, in the order of its outputs.

    Returns:
        a ``pandas.DataFrame`` with a row per file, in the order given: ``file``, ``predicted``
        (class name; None for a skipped file), ``confidence`` (NaN when skipped), ``problem``
        (why it was skipped, else "").

    Raises:
        ValueError: no paths, as many class names as the model has outputs not given, or no
            file that can be predicted.
    """
    import warnings
    from pathlib import Path

    import pandas as pd

    from course_lib.core.evaluation import predict
    from course_lib.methods.own_images.folder import TENSORFLOW_FORMATS, unreadable_reason
    from course_lib.methods.own_images.pipeline import load_images

    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    if not paths:
        raise ValueError("paths is empty; give image files to predict")
    outputs = int(model.output_shape[-1])
    if len(class_names) != outputs:
        raise ValueError(f"class_names has {len(class_names)} names, but the model has {outputs} outputs; "
                         "give the class names it was trained on (run.class_names), in that order")
    problems = [unreadable_reason(path) or "" for path in paths]
    usable = [path for path, problem in zip(paths, problems) if not problem]
    names = [Path(path).name for path in paths]
    skipped = [(name, problem) for name, problem in zip(names, problems) if problem]
    if not usable:
        raise ValueError(f"none of the {len(paths)} files can be predicted (it takes {TENSORFLOW_FORMATS} "
                         f"images); e.g. {skipped[0][0]}: {skipped[0][1]}")
    if skipped:
        warnings.warn(f"predicted {len(usable)} of {len(paths)} files; skipped {len(skipped)} that training "
                      f"would skip too, e.g. {skipped[0][0]}: {skipped[0][1]} (the problem column says why "
                      "for each)", stacklevel=2)
    probabilities = iter(predict(model, load_images(usable, model.input_shape[1]), batch_size=PREDICT_BATCH))
    rows = []
    for name, problem in zip(names, problems):
        p = None if problem else next(probabilities)
        rows.append({"file": name, "predicted": None if problem else class_names[int(p.argmax())],
                     "confidence": float("nan") if problem else round(float(p.max()), 3), "problem": problem})
    return pd.DataFrame(rows, columns=["file", "predicted", "confidence", "problem"])


def export(model, path):
    """Save ``model`` to the ``.keras`` file ``path`` atomically, and load it back (safe mode).

    The file is written under a unique temporary name, loaded back from there, and renamed
    when complete: another kernel saving to the same path never mixes its file with this one,
    and what is returned is what this call saved.

    Returns:
        the loaded ``keras.Model``.
    """
    import keras

    from course_lib.core.cache import atomic_write

    if not str(path).endswith(".keras"):
        raise ValueError(f"the file name must end in .keras, got {str(path)!r}")
    loaded = []

    def save_and_load(temporary):
        model.save(temporary)
        loaded.append(keras.models.load_model(temporary, safe_mode=True))

    atomic_write(path, save_and_load)
    return loaded[0]
