"""Input checks shared by the course's public functions.

Each check raises ``ValueError`` with a message that says what was wrong and what
is allowed, and returns the cleaned value, so a call reads ``n = whole_number(n, "n")``.
"""

import math
import numbers

import numpy as np


def whole_number(value, name, minimum=1, maximum=None):
    """``value`` as an int, if it is a whole number in ``[minimum, maximum]``."""
    allowed = f">= {minimum}" if maximum is None else f"from {minimum} to {maximum}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) \
            or int(value) != value or value < minimum or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be a whole number {allowed}, got {value!r}")
    return int(value)


def positive_number(value, name, allow_zero=False):
    """``value`` as a float, if it is finite and above 0 (or >= 0 with ``allow_zero``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")
    return float(value)


def share(value, name):
    """``value`` as a float, if it lies in [0, 1]."""
    value = positive_number(value, name, allow_zero=True)
    if value > 1:
        raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
    return value


def seed(value):
    """A random seed: a whole number from 0 to 2**32 - 1."""
    return whole_number(value, "seed", minimum=0, maximum=2**32 - 1)


def choice(value, name, allowed):
    """``value``, if it is one of ``allowed``."""
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r}; allowed: {', '.join(map(repr, allowed))}")
    return value


def channels(value):
    """``value``, if it is 1 (grey images) or 3 (RGB images)."""
    if value not in (1, 3) or isinstance(value, bool):
        raise ValueError(f"channels must be 1 (grey) or 3 (RGB), got {value!r}")
    return int(value)


def finite(x, name="x"):
    """``x`` (an array or a list of arrays), if every float in it is finite."""
    for part in x if isinstance(x, (list, tuple)) else [x]:
        array = np.asarray(part)
        if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
            bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
            raise ValueError(f"{name} holds {bad} NaN or infinite values; clean or drop those "
                             "images before training or testing")
    return x


def unit_images(x, name="x"):
    """``x`` as an array, if it holds image pixels as floats in [0, 1], whatever its shape.

    The one check of pixel values: every entry point runs it on the images it is given
    (``data.check_images`` decides which arrays are images). The course's models take pixels
    scaled to [0, 1]; 0-255 pixels (uint8 from an image file or ``keras.datasets``, or the
    same as floats) give near-chance accuracy without any error, so they are refused.
    """
    array = np.asarray(x)
    if array.size == 0:
        raise ValueError(f"{name} holds no images (shape {array.shape}); give at least one")
    if array.dtype.kind in "iub":
        pixels = " for 0-255 pixels" if array.dtype.kind != "b" and array.max() > 1 else ""
        scale = " / 255" if pixels else ""
        raise ValueError(f"{name} has dtype {array.dtype}; the course's models take float images "
                         f"in [0, 1]: use x.astype('float32'){scale}{pixels}")
    if array.dtype.kind != "f":
        raise ValueError(f"{name} has dtype {array.dtype}; images must be an array of numbers, "
                         "float pixels in [0, 1]")
    finite(array, name)
    low, high = float(array.min()), float(array.max())
    if low < 0 or high > 1:
        hint = " (they look like 0-255 pixels: divide by 255)" if high > 1.5 else ""
        raise ValueError(f"{name} values run from {low:g} to {high:g}; the course's models take "
                         f"images in [0, 1]{hint}")
    return array


def labels(y, n_classes=None, name="y"):
    """``y`` as an int64 array, if it is a 1-D array of class indices (below ``n_classes``)."""
    array = np.asarray(y)
    if array.ndim == 2 and array.shape[1] > 1:
        raise ValueError(f"{name} looks one-hot encoded (shape {array.shape}); the course uses "
                         f"integer class labels: y.argmax(axis=1)")
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of class labels, got shape {array.shape}")
    if array.dtype.kind not in "iufb":
        first = repr(str(array.flat[0])[:40]) if array.size else "none"
        raise ValueError(f"{name} must hold whole-number class labels 0, 1, 2, ..., got dtype "
                         f"{array.dtype} (first label {first}); map class names to numbers first")
    if array.size and (array.dtype.kind not in "iub" and not np.all(np.mod(array, 1) == 0)):
        raise ValueError(f"{name} must hold whole-number class labels, got dtype {array.dtype}")
    array = array.astype("int64")
    if array.size and array.min() < 0:
        raise ValueError(f"{name} has a negative label ({array.min()}); labels are 0, 1, 2, ...")
    if n_classes is not None and array.size and array.max() >= n_classes:
        raise ValueError(f"{name} has label {array.max()}, but the model has {n_classes} outputs "
                         f"(labels 0 to {n_classes - 1}); give the model a head with more classes "
                         "or relabel (data.class_subset does)")
    return array


def same_length(**arrays):
    """The common length of ``arrays`` (name=array), if they all have the same number of rows."""
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError("these must have the same number of rows: "
                         + ", ".join(f"{name} has {n}" for name, n in lengths.items()))
    return next(iter(lengths.values()))
