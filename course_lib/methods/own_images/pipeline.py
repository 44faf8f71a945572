"""The input pipeline: ``tf.data`` datasets of ``(images, labels)`` batches read from a folder.

The order of the steps is the whole lesson::

    files, labels -> map: read, decode, crop, resize    in parallel (AUTOTUNE), in file order
                  -> cache                              decoded uint8 images: in memory, or a
                                                        file on disk when they do not fit
                  -> shuffle (every image)              a new order every epoch (training only)
                  -> batch -> float32 -> prefetch        the next batch is made while the model trains

Decoding is the expensive step, so it runs in parallel and only once: the cache keeps its
result. Shuffling and batching come *after* the cache, so every epoch draws new batches.
(Caching *after* shuffling and batching, as ``.cache()`` after
``keras.utils.image_dataset_from_directory`` does, since it shuffles and batches inside,
stores the first epoch's batches and serves the same ones every epoch after.)

TensorFlow's decoders ignore a photo's EXIF orientation tag: a phone photo taken upright
may come out lying on its side, in training and in prediction alike.

Every image is cropped to a square at its centre (nothing is squashed) and resized. A large
JPEG is decoded straight to 1/2, 1/4 or 1/8 of its size (``folder.decode_file``: several times
faster), and an image still more than twice the target size is shrunk with antialiasing (a
4000-pixel photo shrunk to 96 pixels without it shimmers with aliasing).
"""

import dataclasses
import time

import numpy as np

from course_lib.core import checks
from course_lib.core.data import validation_split
from course_lib.methods.own_images.folder import decode_file

#: The smallest side the ``keras.applications`` MobileNets accept, in pixels.
MIN_IMAGE_SIZE = 32
#: The largest image side the course trains on (a batch of 32 at 512 pixels is 100 MB of floats).
MAX_IMAGE_SIZE = 512
#: Images shrunk by more than this factor are resized with antialiasing (slower; without it a large
#: photo shrunk to 96 pixels shimmers); smaller factors look the same without.
ANTIALIAS_ABOVE = 2
#: Decoded images up to this many bytes are cached in memory; more go to a file on disk.
MEMORY_CACHE_BYTES = 512 * 2**20
CACHES = ("auto", "memory", "disk")


def check_image_size(image_size):
    """``image_size`` as an int, if it is a whole number from ``MIN_IMAGE_SIZE`` to ``MAX_IMAGE_SIZE``."""
    try:
        return checks.whole_number(image_size, "image_size", minimum=MIN_IMAGE_SIZE, maximum=MAX_IMAGE_SIZE)
    except ValueError as error:
        raise ValueError(f"{error} (the MobileNets take at least {MIN_IMAGE_SIZE} pixels; more than "
                         f"{MAX_IMAGE_SIZE} costs memory without helping them)") from None


def load_image(path, image_size):
    """One image file as training sees it: (image_size, image_size, 3) uint8, centre-cropped, resized.

    A TensorFlow function of a path tensor, so ``Dataset.map`` can run it in parallel.
    """
    import tensorflow as tf

    image = decode_file(path, min_side=image_size)  # a large JPEG decodes straight to 1/2 to 1/8
    height, width = tf.shape(image)[0], tf.shape(image)[1]
    side = tf.minimum(height, width)
    image = tf.image.crop_to_bounding_box(image, (height - side) // 2, (width - side) // 2, side, side)
    image = tf.cond(side > ANTIALIAS_ABOVE * image_size,  # shrinking more than this much aliases
                    lambda: tf.image.resize(image, (image_size, image_size), antialias=True),
                    lambda: tf.image.resize(image, (image_size, image_size)))
    image = tf.cast(tf.clip_by_value(tf.round(image), 0, 255), tf.uint8)
    image.set_shape((image_size, image_size, 3))
    return image


def load_images(paths, image_size):
    """Image files as (n, image_size, image_size, 3) float32 pixels 0-255, as training sees them."""
    import tensorflow as tf

    image_size = check_image_size(image_size)
    return np.stack([load_image(tf.constant(str(p)), image_size).numpy() for p in paths]).astype("float32")


@dataclasses.dataclass
class Split:
    """One part of a folder: its files and their labels (class indices)."""

    paths: list
    labels: np.ndarray

    def __len__(self):
        return len(self.paths)


def split_files(report, validation_share=0.2, test_share=0.2, seed=0):
    """Split a checked folder's files into training, validation and test sets, class by class.

    The validation and test sets are class-balanced: each holds the same number of images of
    every class, ``share`` times the smallest class's count (at least 1), so every class counts
    equally in their accuracy. The rest trains. Choices (the best epoch) are made on the
    validation set; the test set gives the final numbers, once.

    Args:
        report: a ``folder.FolderReport``.

    Returns:
        ``{"train": Split, "validation": Split, "test": Split}``.
    """
    validation_share = checks.share(validation_share, "validation_share")
    test_share = checks.share(test_share, "test_share")
    if not (0 < validation_share and 0 < test_share and validation_share + test_share < 1):
        raise ValueError("validation_share and test_share must each be above 0, and together below 1 "
                         f"(something must be left to train on); got {validation_share} and {test_share}")
    paths, labels = report.files_and_labels()
    smallest = min(report.counts.values())
    index = np.arange(len(paths))
    rest, test = validation_split(index, np.asarray(labels), max(1, round(test_share * smallest)), seed)
    train, validation = validation_split(*rest, max(1, round(validation_share * smallest)), seed)

    def part(rows):
        return Split([paths[i] for i in rows[0]], np.asarray(rows[1], dtype="int64"))

    return {"train": part(train), "validation": part(validation), "test": part(test)}


def cache_place(n_images, image_size, cache="auto", memory_bytes=MEMORY_CACHE_BYTES):
    """Where decoded images are kept: ``"memory"`` or ``"disk"``.

    ``"auto"`` keeps them in memory when ``n_images`` decoded images (uint8) take at most
    ``memory_bytes``, else on disk.
    """
    checks.choice(cache, "cache", CACHES)
    if cache != "auto":
        return cache
    return "memory" if n_images * image_size * image_size * 3 <= memory_bytes else "disk"


def dataset(split, image_size, batch_size, training, seed=0, cache_file="", replicas=1):
    """A ``tf.data.Dataset`` of ``(images, labels)`` batches: float32 pixels 0-255, int64 labels.

    Args:
        split: a ``Split``.
        batch_size: images per batch (the global batch, under a distribution strategy).
        training: shuffle every epoch, and drop a last, smaller batch (a batch of one
            has no variance; and every replica of a distributed run needs images).
        cache_file: ``""`` caches the decoded images in memory; a path caches them in files
            starting with that path (give a new one per dataset: TensorFlow refuses to
            share them).
        replicas: the replicas that share each batch of a set that is not for training.
            Keras 3 averages a distributed run's first batch over the replicas to build the
            model, which fails unless it splits evenly, and a replica given no image fails
            too; so a set smaller than one batch comes in a batch that splits evenly, and a
            last batch smaller than ``replicas`` is left out (at most ``replicas - 1`` images).
    """
    import tensorflow as tf

    image_size = check_image_size(image_size)
    batch_size = checks.whole_number(batch_size, "batch_size")
    if len(split) == 0:
        raise ValueError("no images to make a dataset of")
    data = tf.data.Dataset.from_tensor_slices(([str(p) for p in split.paths], split.labels))
    data = data.map(lambda path, label: (load_image(path, image_size), label),
                    num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    data = data.cache(str(cache_file))
    if training:
        data = data.shuffle(len(split), seed=seed, reshuffle_each_iteration=True)
        data = data.batch(min(batch_size, len(split)), drop_remainder=True)
    else:
        replicas = checks.whole_number(replicas, "replicas")
        if len(split) < replicas:
            raise ValueError(f"{len(split)} images cannot be shared by {replicas} replicas")
        if len(split) < batch_size:
            batch_size = len(split) - len(split) % replicas
        data = data.batch(batch_size)
        if replicas > 1 and len(split) % batch_size:
            kept = len(split) // batch_size + (len(split) % batch_size >= replicas)
            data = data.filter(lambda images, labels: tf.shape(images)[0] >= replicas)
            data = data.apply(tf.data.experimental.assert_cardinality(kept))
    data = data.map(lambda images, labels: (tf.cast(images, tf.float32), labels))
    options = tf.data.Options()  # a multi-worker run gives each worker every n-th batch
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return data.prefetch(tf.data.AUTOTUNE).with_options(options)


def images_per_second(data, epochs=2):
    """Read ``data`` ``epochs`` times; the images per second of each pass.

    The first pass decodes (and fills the cache); later passes read the cache.
    """
    rates = []
    for _ in range(checks.whole_number(epochs, "epochs")):
        start, count = time.perf_counter(), 0
        for images, _ in data:
            count += int(images.shape[0])
        rates.append(count / (time.perf_counter() - start))
    return rates
