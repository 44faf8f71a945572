"""A folder of images with one sub-folder per class: make one, check one, load one.

The layout ``keras.utils.image_dataset_from_directory`` reads::

    my_photos/
        cats/       img001.jpg  img002.png ...
        dogs/       ...

The class names are the sub-folder names (sorted; hidden ones, starting with ".",
are skipped), and every image below a class sub-folder belongs to that class.
Keras only looks at the file extension, so a damaged ``.jpg`` (or a macOS
``._img001.jpg``) stops training with a decoding error halfway through an epoch.
``check_folder`` opens every file with Pillow first; ``load_folder`` leaves out the
ones that fail and says how many.
"""

import contextlib
import dataclasses
import hashlib
import io
import os
import shutil
from pathlib import Path

import numpy as np

from course_lib.environment import cache_dir

#: The extensions ``image_dataset_from_directory`` reads (case-insensitive).
IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
#: The formats TensorFlow can decode, as Pillow names them.
DECODABLE_FORMATS = ("BMP", "GIF", "JPEG", "PNG")
#: Fewest usable images a class may have (with a 20 % validation split, about 2 of them
#: land in validation).
MIN_IMAGES_PER_CLASS = 10
#: The smallest side ``keras.applications`` MobileNets accept, in pixels.
MIN_IMAGE_SIZE = 32
DEFAULT_IMAGE_SIZE = 96

#: The sample folder's classes: class name -> the photo its crops are cut from.
SAMPLE_CLASSES = {"cat": "chelsea", "coffee": "coffee", "flower": "flower", "rocket": "rocket"}
#: Bump when the sample recipe changes, so that an old sample folder is not reused.
SAMPLE_VERSION = 1


# ----------------------------------------------------------------------------- the sample folder

def _photos_by_name():
    """``{name: (h, w, 3) uint8}`` for the photos in ``course_lib.data.load_photos``."""
    from course_lib import data

    return {n: np.round(p * 255).astype("uint8") for n, p in zip(data.photo_names(), data.load_photos())}


def random_crops(photo, n, size, rng, scale=(0.3, 0.7)):
    """``n`` random square crops of ``photo``, resized to ``size`` x ``size``.

    Args:
        photo: (h, w, 3) uint8 RGB.
        scale: range of the crop's side as a share of the photo's shorter side.
        rng: a ``numpy.random.Generator``; half the crops are mirrored left-right.

    Returns:
        (n, size, size, 3) uint8.
    """
    from PIL import Image

    image = Image.fromarray(photo)
    h, w = photo.shape[:2]
    out = np.empty((n, size, size, 3), dtype="uint8")
    for i in range(n):
        side = int(rng.uniform(*scale) * min(h, w))
        top, left = int(rng.integers(h - side + 1)), int(rng.integers(w - side + 1))
        crop = image.crop((left, top, left + side, top + side)).resize((size, size), Image.BILINEAR)
        if rng.random() < 0.5:
            crop = crop.transpose(Image.FLIP_LEFT_RIGHT)
        out[i] = np.asarray(crop)
    return out


def _write_crops(folder, classes, per_class, size, seed, sub_folders):
    photos = _photos_by_name()
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    from PIL import Image

    for name, photo in classes.items():
        target = folder / name if sub_folders else folder
        target.mkdir(exist_ok=True)
        for i, crop in enumerate(random_crops(photos[photo], per_class, size, rng)):
            path = target / f"{name}_{i:03d}.jpg"
            Image.fromarray(crop).save(path, quality=90)
            paths.append(path)
    return paths


def make_sample_folder(root=None, per_class=40, image_size=128, seed=0):
    """Write the course's sample folder (once; later calls reuse it).

    Each class is one photo from scikit-image or scikit-learn (``SAMPLE_CLASSES``);
    its images are random square crops of that photo (30-70 % of its shorter side),
    resized, some mirrored, saved as JPEG. Telling crops of different photos apart is
    a small, real image-classification task, made offline in about a second.

    Args:
        root: where to write it; default ``cache_dir() / "own_images_sample_v1_..."``.
        per_class: images per class.
        image_size: side of the saved images in pixels (the loader resizes again).

    Returns:
        the folder's ``Path`` (one sub-folder per class).
    """
    if root is None:
        root = cache_dir() / f"own_images_sample_v{SAMPLE_VERSION}_{per_class}x{image_size}_s{seed}"
    root = Path(root)
    done = root / ".complete"
    if not done.exists():
        shutil.rmtree(root, ignore_errors=True)
        _write_crops(root, SAMPLE_CLASSES, per_class, image_size, seed, sub_folders=True)
        done.write_text("written by course_lib.own_images.folder.make_sample_folder\n")
    return root


def make_new_images(root=None, per_class=2, image_size=128, seed=1):
    """A flat folder of new crops (not in the sample folder), named ``<class>_<i>.jpg``.

    They stand for "new photos" to predict on. They are new crops of the *same*
    photos, so they are easier than truly new photos would be.

    Returns:
        the list of image paths, sorted.
    """
    if root is None:
        root = cache_dir() / f"own_images_new_v{SAMPLE_VERSION}_{per_class}x{image_size}_s{seed}"
    root = Path(root)
    if not (root / ".complete").exists():
        shutil.rmtree(root, ignore_errors=True)
        _write_crops(root, SAMPLE_CLASSES, per_class, image_size, seed, sub_folders=False)
        (root / ".complete").write_text("written by make_new_images\n")
    return sorted(root.glob("*.jpg"))


# ----------------------------------------------------------------------------- checking a folder

def unreadable_reason(path):
    """Why TensorFlow could not read ``path`` as an image, or None if it can.

    Opens the file with Pillow and decodes every pixel: catches empty files, text
    renamed to ``.jpg``, truncated downloads and formats TensorFlow cannot decode
    (WebP, TIFF, HEIC...) under an image extension.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            kind = image.format
            image.load()
    except UnidentifiedImageError:
        return "not an image Pillow recognises"
    except (OSError, ValueError, SyntaxError) as error:  # truncated or damaged
        return f"damaged image ({error})"
    if kind not in DECODABLE_FORMATS:
        return f"{kind} image; TensorFlow reads only {', '.join(DECODABLE_FORMATS)}"
    return None


@dataclasses.dataclass
class FolderReport:
    """What ``check_folder`` found.

    Attributes:
        root: the folder checked.
        class_names: the classes, sorted (the label of an image is its index here).
        images: ``{class: [usable image paths]}``.
        skipped: ``[(path, reason)]`` for files left out (not an image, or unreadable).
    """

    root: Path
    class_names: list
    images: dict
    skipped: list

    @property
    def counts(self):
        """``{class: number of usable images}``."""
        return {name: len(self.images[name]) for name in self.class_names}

    @property
    def unreadable(self):
        """The skipped files that have an image extension (Keras would try to read them)."""
        return [p for p, _ in self.skipped if p.suffix.lower() in IMAGE_EXTENSIONS]

    def text(self, show=5):
        """A few lines for the learner: classes, counts, and what was skipped."""
        counts = ", ".join(f"{k} {v}" for k, v in self.counts.items())
        lines = [f"{self.root}: {len(self.class_names)} classes, "
                 f"{sum(self.counts.values())} usable images ({counts})"]
        if self.skipped:
            lines.append(f"skipped {len(self.skipped)} file(s) that are not readable images:")
            lines += [f"  {p.relative_to(self.root)}: {why}" for p, why in self.skipped[:show]]
            if len(self.skipped) > show:
                lines.append(f"  ... and {len(self.skipped) - show} more")
        else:
            lines.append("skipped 0 files: every file is a readable image")
        return "\n".join(lines)


def check_folder(root, min_per_class=MIN_IMAGES_PER_CLASS):
    """Check a folder of class sub-folders and open every file in it.

    Args:
        root: the folder; one sub-folder per class, images anywhere below them.
        min_per_class: fewest readable images a class may have.

    Returns:
        a ``FolderReport``.

    Raises:
        ValueError: the folder is missing or not a folder; it has no class
            sub-folders (files directly inside it count for nothing); it has only
            one class; a class has fewer than ``min_per_class`` readable images.
            Each message says what was found and what is needed.
    """
    root = Path(root).expanduser()
    layout = "one sub-folder per class, e.g. my_photos/cats/*.jpg and my_photos/dogs/*.jpg"
    if not root.exists():
        raise ValueError(f"image folder {root} does not exist; expected a folder with {layout}")
    if not root.is_dir():
        raise ValueError(f"{root} is a file, not a folder; expected a folder with {layout}")
    class_names = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_names:
        loose = sum(1 for p in root.iterdir() if p.is_file())
        raise ValueError(f"image folder {root} has no class sub-folders ({loose} loose files); "
                         f"expected {layout}")
    if len(class_names) == 1:
        raise ValueError(f"image folder {root} has only one class ({class_names[0]!r}); a classifier "
                         f"needs at least 2 class sub-folders: {layout}")
    images, skipped = {}, []
    for name in class_names:
        images[name] = []
        for folder, _, files in sorted(os.walk(root / name), key=lambda entry: entry[0]):
            for file_name in sorted(files):
                path = Path(folder) / file_name
                if not file_name.lower().endswith(IMAGE_EXTENSIONS):
                    skipped.append((path, f"not an image file (allowed: {', '.join(IMAGE_EXTENSIONS)})"))
                    continue
                reason = unreadable_reason(path)
                if reason:
                    skipped.append((path, reason))
                else:
                    images[name].append(path)
    report = FolderReport(root, class_names, images, skipped)
    short = {k: v for k, v in report.counts.items() if v < min_per_class}
    if short:
        raise ValueError(f"every class needs at least {min_per_class} readable images; these have "
                         f"fewer (class: count): {short}. Add images, or remove those sub-folders.")
    return report


# ----------------------------------------------------------------------------- loading a folder

def _clean_copy(report):
    """A mirror of ``report.root`` holding only its readable images (symbolic links,
    or copies where links are not allowed), under the course's cache folder."""
    key = hashlib.sha1(str(report.root.resolve()).encode()).hexdigest()[:10]
    mirror = cache_dir() / "own_images_readable" / key
    shutil.rmtree(mirror, ignore_errors=True)
    for name, paths in report.images.items():
        for path in paths:
            target = mirror / name / path.relative_to(report.root / name)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                target.symlink_to(path.resolve())
            except OSError:
                shutil.copy2(path, target)
    return mirror


def load_folder(root, image_size=DEFAULT_IMAGE_SIZE, validation_split=0.2, batch_size=32, seed=0,
                min_per_class=MIN_IMAGES_PER_CLASS):
    """Check ``root`` and load it as a training and a validation ``tf.data.Dataset``.

    Uses ``keras.utils.image_dataset_from_directory``: each image is cropped to a square
    in its centre (no squashing) and resized to ``image_size``; the split is by file,
    shuffled with ``seed``. Both datasets are cached in memory after the first pass and
    prefetched; the training set's batches are reshuffled every epoch.

    Args:
        image_size: side in pixels, at least ``MIN_IMAGE_SIZE``.
        validation_split: share of the images held out, between 0 and 1.

    Returns:
        ``(train, validation, report)``: datasets of ``(images, labels)`` batches, images
        float32 (batch, image_size, image_size, 3) with values 0-255, labels int32 class
        indices into ``report.class_names``; ``report`` a ``FolderReport`` (what was skipped).

    Raises:
        ValueError: the folder problems ``check_folder`` lists, an image size below
            ``MIN_IMAGE_SIZE``, or a split outside (0, 1).
    """
    import keras
    import tensorflow as tf

    if int(image_size) != image_size or image_size < MIN_IMAGE_SIZE:
        raise ValueError(f"image_size must be a whole number >= {MIN_IMAGE_SIZE} (the smallest input "
                         f"the MobileNets accept), got {image_size!r}")
    if not 0.0 < validation_split < 1.0:
        raise ValueError(f"validation_split must be between 0 and 1, got {validation_split}")
    report = check_folder(root, min_per_class=min_per_class)
    source = _clean_copy(report) if report.unreadable else report.root
    with contextlib.redirect_stdout(io.StringIO()):
        train, validation = keras.utils.image_dataset_from_directory(
            source, labels="inferred", label_mode="int", class_names=report.class_names,
            color_mode="rgb", batch_size=batch_size, image_size=(image_size, image_size),
            shuffle=True, seed=seed, validation_split=validation_split, subset="both",
            crop_to_aspect_ratio=True, verbose=False)
    autotune = tf.data.AUTOTUNE
    n_batches = int(train.cardinality())
    train = train.cache().shuffle(max(n_batches, 1), seed=seed).prefetch(autotune)
    validation = validation.cache().prefetch(autotune)
    return train, validation, report


def to_arrays(dataset):
    """All ``(images, labels)`` of a dataset as NumPy arrays (fine for a few hundred images)."""
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in dataset])
    return np.concatenate(xs), np.concatenate(ys)
