"""The course's sample folder, made offline: random crops of colour photos, one class per photo.

Each class is one colour photo that ships with scikit-image or scikit-learn (``SAMPLE_CLASSES``);
its images are random square crops of that photo (30-70 % of its shorter side), resized, some
mirrored, saved as JPEG. Telling crops of different photos apart is a small but real
image-classification task, made in about a second.

A folder is written whole or not at all: into a hidden temporary folder beside it, renamed
into place when complete, with a marker file saying which recipe made it. A folder that
already exists is reused only if that marker says the course made it with the same recipe;
anything else there is refused, never deleted or overwritten.
"""

import json
from pathlib import Path

import numpy as np

from course_lib.core import checks
from course_lib.core.cache import entry_path, key
from course_lib.methods.own_images.publish import missing_or_empty, publish_folder

#: The sample folder's classes: class name -> the photo its crops are cut from.
SAMPLE_CLASSES = {"cat": "chelsea", "coffee": "coffee", "flower": "flower", "rocket": "rocket"}
#: Bump when the sample recipe changes, so that an old folder is not reused.
SAMPLE_VERSION = 2
#: The marker file in every folder this module writes.
MARKER = ".made_by_course_lib.json"
#: Range of a crop's side, as a share of the photo's shorter side.
CROP_SCALE = (0.3, 0.7)
JPEG_QUALITY = 90
#: Smallest side of a saved crop in pixels (the MobileNets take 32 and up).
MIN_SIDE = 32


def _photos_by_name():
    """``{name: (h, w, 3) uint8}`` for the photos in ``core.data.load_photos``."""
    from course_lib.core import data

    return {n: np.round(p * 255).astype("uint8") for n, p in zip(data.photo_names(), data.load_photos())}


def random_crops(photo, n, size, rng, scale=CROP_SCALE):
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


def _write_crops(folder, recipe, sub_folders):
    from PIL import Image

    photos = _photos_by_name()
    rng = np.random.default_rng(recipe["seed"])
    for name, photo in SAMPLE_CLASSES.items():
        target = folder / name if sub_folders else folder
        target.mkdir(exist_ok=True)
        for i, crop in enumerate(random_crops(photos[photo], recipe["per_class"], recipe["image_size"], rng)):
            Image.fromarray(crop).save(target / f"{name}_{i:03d}.jpg", quality=JPEG_QUALITY)


def _made_here(root, recipe):
    """True if ``root`` holds this recipe's complete folder; raise if it holds anything else."""
    marker = root / MARKER
    if marker.is_file():
        try:
            found = json.loads(marker.read_text())
        except (OSError, ValueError):
            found = None
        if found == recipe:
            return True
        raise ValueError(f"{root} was made by the course with other settings ({found}); give "
                         "another folder (the course does not delete it: delete it yourself if you "
                         "no longer need it)")
    if missing_or_empty(root):
        return False  # nothing in it to lose
    raise ValueError(f"{root} already exists and was not made by the course; give a folder that "
                     "does not exist yet (the course never writes into, overwrites or deletes a "
                     "folder it did not make)")


def _publish(root, recipe, sub_folders):
    """Write the recipe's crops into ``root`` whole, or reuse them; returns ``root``."""
    root = Path(root).expanduser()
    if root.exists() and _made_here(root, recipe):
        return root

    def write(folder):
        _write_crops(folder, recipe, sub_folders)
        (folder / MARKER).write_text(json.dumps(recipe))

    try:
        return publish_folder(root, write)
    except OSError:
        if root.exists() and _made_here(root, recipe):  # another kernel made it meanwhile: reuse
            return root
        raise


def _recipe(kind, per_class, image_size, seed):
    return {"kind": kind, "version": SAMPLE_VERSION, "classes": SAMPLE_CLASSES,
            "per_class": checks.whole_number(per_class, "per_class"),
            "image_size": checks.whole_number(image_size, "image_size", minimum=MIN_SIDE),
            "seed": checks.seed(seed)}


def make_sample_folder(root=None, per_class=40, image_size=128, seed=0):
    """The course's sample folder (written once, reused after).

    Args:
        root: a folder that does not exist yet (or is empty, or was made by this function with
            the same settings); default: one in the course's cache folder.
        per_class: images per class.
        image_size: side of the saved images in pixels (the pipeline resizes them again).

    Returns:
        the folder's ``Path`` (one sub-folder per class).

    Raises:
        ValueError: ``root`` exists and holds anything this function did not write.
    """
    recipe = _recipe("sample folder", per_class, image_size, seed)
    return _publish(root or entry_path(f"own_images_sample_{key(recipe)}"), recipe, sub_folders=True)


def make_new_images(root=None, per_class=2, image_size=128, seed=1):
    """A flat folder of new crops (not in the sample folder), named ``<class>_<i>.jpg``.

    They stand for "new photos" to predict on. They are new crops of the *same* photos,
    so they are easier than truly new photos would be. ``root`` as for ``make_sample_folder``.

    Returns:
        the list of image paths, sorted.
    """
    recipe = _recipe("new images", per_class, image_size, seed)
    root = _publish(root or entry_path(f"own_images_new_{key(recipe)}"), recipe, sub_folders=False)
    return sorted(root.glob("*.jpg"))
