"""BatchNorm when fine-tuning: frozen BatchNorm layers must run in inference mode.

A BatchNorm layer has two kinds of state: gamma and beta, learned by gradients, and
the moving mean and variance, averaged from the batches it sees in training mode.
In Keras 3 a layer with ``trainable = False`` runs in inference mode even inside
``fit``: it normalises with its stored statistics and leaves them alone. That is what
freezing should mean.

The classic mistake is to freeze the conv and dense layers but not the BatchNorm
layers between them (for example freezing "every layer with a kernel", or, in
PyTorch, calling ``model.train()`` on a frozen backbone). Then each small target
batch overwrites the moving statistics (momentum 0.9: about 10 batches are enough),
so the "frozen" features change under the head and the source task is damaged.
``wrong_freezing_demo`` measures it. (Re-estimating the statistics on the target on
purpose is a different, useful method, AdaBN: chapter 04.)
"""

import numpy as np

from course_lib.models import FEATURE_LAYER


def batchnorm_layers(model):
    """The model's ``BatchNormalization`` layers, in model order."""
    import keras

    return [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]


def moving_statistics(model):
    """Copies of every BatchNorm layer's moving statistics.

    Returns:
        ``{layer name: (moving_mean, moving_variance)}``, NumPy arrays of shape (channels,).
    """
    layers = batchnorm_layers(model)
    if not layers:
        raise ValueError(f"model {model.name!r} has no BatchNormalization layer")
    return {layer.name: (np.array(layer.moving_mean), np.array(layer.moving_variance))
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


def freeze_all_but_batchnorm(model):
    """The mistake: freeze every layer except the BatchNorm layers (and the head).

    Returns:
        the names of the layers left trainable.
    """
    import keras

    left = []
    for layer in model.layers:
        keep = isinstance(layer, keras.layers.BatchNormalization) or layer.name == "head"
        layer.trainable = keep
        if keep:
            left.append(layer.name)
    return left


def inference_mode_gap(model, x, layer=FEATURE_LAYER):
    """Largest |training-mode - inference-mode| difference of ``layer``'s output on ``x``.

    0 when every BatchNorm layer below ``layer`` is frozen: the frozen part computes
    the same thing inside ``fit`` as at test time. (The default layer sits below the
    dropout, which is random in training mode whatever is frozen.)
    """
    import keras

    features = keras.Model(model.input, model.get_layer(layer).output)
    train = np.asarray(features(x, training=True))
    infer = np.asarray(features(x, training=False))
    return float(np.max(np.abs(train - infer)))


def feature_change(before, after):
    """Mean |after - before| / mean |before| of two (n, units) feature arrays (0 = unchanged)."""
    before, after = np.asarray(before), np.asarray(after)
    if before.shape != after.shape:
        raise ValueError(f"feature arrays differ in shape: {before.shape} vs {after.shape}")
    return float(np.mean(np.abs(after - before)) / np.mean(np.abs(before)))


def features_of(model, x, layer=FEATURE_LAYER):
    """``layer``'s output for ``x`` in inference mode: (n, units) float32."""
    import keras

    return np.asarray(keras.Model(model.input, model.get_layer(layer).output).predict(
        x, batch_size=500, verbose=0))


def wrong_freezing_demo(source, task, seed=0, steps=50):
    """Head-only fine-tuning twice: BatchNorm frozen (right) and BatchNorm left trainable (wrong).

    Args:
        source: the trained source model.
        task: from ``fine_tuning.load_task`` (``target_train``, ``target_test``, ``source_test``).

    Returns:
        a ``pandas.DataFrame``, one row per way: ``freezing``, ``statistics_drift`` (mean over
        the BatchNorm layers, see ``statistics_drift``), ``source_feature_change`` (how much
        the "frozen" features of the source test images changed, see ``feature_change``),
        ``source_accuracy``, ``target_accuracy``.
    """
    import pandas as pd

    from course_lib import fine_tuning as ft
    from course_lib.models import accuracy

    rows = []
    for way in ("BatchNorm frozen (right)", "BatchNorm left trainable (wrong)"):
        model = ft.with_new_head(source, seed=seed)
        if way.startswith("BatchNorm frozen"):
            ft.train_only(model, ["head"])
        else:
            freeze_all_but_batchnorm(model)
        before = moving_statistics(model)
        features_before = features_of(model, task["source_test"][0])
        ft.fit(model, *task["target_train"], learning_rate=ft.default_learning_rate("head"),
               steps=steps, seed=seed)
        drift = statistics_drift(before, moving_statistics(model))
        rows.append({"freezing": way,
                     "statistics_drift": round(float(np.mean(list(drift.values()))), 3),
                     "source_feature_change": round(feature_change(
                         features_before, features_of(model, task["source_test"][0])), 3),
                     "source_accuracy": round(accuracy(model, *task["source_test"]), 3),
                     "target_accuracy": round(accuracy(model, *task["target_test"]), 3)})
    return pd.DataFrame(rows)
