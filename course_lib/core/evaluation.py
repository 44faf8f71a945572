"""Measuring a trained model: predictions, accuracy, accuracy per class, a layer's output.

Every function runs the model in inference mode (``training=False``: BatchNorm uses its
moving statistics, dropout is off), batch by batch, calling the model directly: cheaper
to start than ``model.predict``, so it can run after every epoch.
"""

import numpy as np

from course_lib.core import checks
from course_lib.core.training import check_inputs

#: Images per forward pass when predicting (memory, not the result, depends on it).
INFERENCE_BATCH = 256


def predict(model, x, batch_size=INFERENCE_BATCH):
    """The model's outputs for ``x``: an array (n, ...) (class probabilities for a classifier).

    Args:
        x: inputs (n, ...), or a list of such arrays for a model with several inputs.
    """
    check_inputs(x, model)
    inputs = [np.asarray(part) for part in x] if isinstance(x, (list, tuple)) else [np.asarray(x)]
    n = checks.same_length(**{f"input {i}": part for i, part in enumerate(inputs)})
    if n == 0:
        raise ValueError("no inputs to predict: x is empty")
    batches = []
    for start in range(0, n, batch_size):
        batch = [part[start:start + batch_size] for part in inputs]
        batches.append(np.asarray(model(batch if len(batch) > 1 else batch[0], training=False)))
    return np.concatenate(batches)


def predicted_labels(model, x):
    """Arg-max class of every input: (n,) int64."""
    return predict(model, x).argmax(axis=1).astype("int64")


def accuracy(model, x, y):
    """Share of ``x`` whose arg-max prediction equals ``y`` (n,), in [0, 1]."""
    y = checks.labels(y)
    check_inputs(x, model)
    n = checks.same_length(x=x[0] if isinstance(x, (list, tuple)) else x, y=y)
    if n == 0:
        raise ValueError("cannot compute accuracy on an empty set")
    return float(np.mean(predicted_labels(model, x) == y))


def per_class_accuracy(y_true, y_pred, n_classes=10):
    """Accuracy on the images of each class (the recall of each class).

    Args:
        y_true, y_pred: (n,) integer labels and predictions.

    Returns:
        (n_classes,) float array; NaN for a class with no image in ``y_true``.
    """
    y_true, y_pred = checks.labels(y_true, n_classes, "y_true"), checks.labels(y_pred, n_classes, "y_pred")
    checks.same_length(y_true=y_true, y_pred=y_pred)
    out = np.full(n_classes, np.nan)
    for c in range(n_classes):
        mine = y_true == c
        if mine.any():
            out[c] = float(np.mean(y_pred[mine] == c))
    return out


def layer_output(model, layer, x):
    """The output of ``model``'s layer ``layer`` for ``x``, flattened: (n, d) float32."""
    from course_lib.core.layers import cut

    out = predict(cut(model, layer), x)
    return out.reshape(len(out), -1).astype("float32")


def evaluate_on_domains(model, domains=("mnist", "digits", "mnist_m"), split="test", seed=0):
    """Accuracy of ``model`` on each domain's split.

    Returns:
        a ``pandas.DataFrame`` with one row per domain: ``domain``, ``images``, ``accuracy``.
    """
    import pandas as pd

    from course_lib.core.data import load_domain

    channels = model.input_shape[-1]
    rows = []
    for name in domains:
        x, y = load_domain(name, split, seed=seed, channels=channels)
        rows.append({"domain": name, "images": len(x), "accuracy": accuracy(model, x, y)})
    return pd.DataFrame(rows)
