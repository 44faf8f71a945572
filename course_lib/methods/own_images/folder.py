"""A folder of images with one sub-folder per class: check it, and list what can be trained on.

The layout::

    my_photos/
        cats/       img001.jpg  img002.png ...
        dogs/       ...

The class names are the sub-folder names (sorted; hidden ones, starting with ".", are
left out), and every file below a class sub-folder is an image of that class **if
TensorFlow decodes it**: ``check_folder`` decodes every file with the decoder the input
pipeline uses (``decode_file``; JPEGs at 1/8 of their size, which still reads every byte
of the file), so a file is accepted exactly when training can read it. Phone photos that
carry a second image (Pillow calls them "MPO"), WebP, 16-bit PNG: accepted. Text files,
truncated downloads, TIFF or HEIC photos, macOS's ``._`` files, images with a side under
``MIN_SIDE`` pixels (a 1x1 image, a 3000x1 strip): skipped, each with a reason the learner
sees, counted by reason in the report, also in the error when too few images are left.

Images too large to decode safely (more than ``MAX_PIXELS`` pixels, or files over
``MAX_FILE_BYTES``) are skipped *before* decoding: a 27 KB PNG can hold 15000x15000
pixels, 675 MB once decoded.
"""

import collections
import dataclasses
import os
import re
import warnings
from pathlib import Path

from course_lib.core import checks

#: Fewest usable images a class may have (a few for validation, a few for the test, the rest to train).
MIN_IMAGES_PER_CLASS = 10
#: Largest image decoded, in pixels: about 190 MB decoded; a 48-megapixel phone photo fits.
MAX_PIXELS = 64_000_000
#: Largest file read, in bytes.
MAX_FILE_BYTES = 256 * 2**20
#: What ``tf.io.decode_image`` reads (TensorFlow 2.21), for messages.
TENSORFLOW_FORMATS = "JPEG, PNG, GIF, BMP, WebP, JPEG XL"
#: The scales the JPEG decoder can decode at, largest reduction first (``decode_file``).
JPEG_RATIOS = (8, 4, 2)
#: The side ``check_folder`` decodes JPEGs down to: the cheapest decode that reads the whole file.
CHECK_SIDE = 1
#: How many skipped files a report lists one by one before it groups them by reason
#: (and how many short classes an error names before it counts the rest).
SHOWN_SKIPPED = 5
#: Smallest shorter side of an image training uses, in pixels: training crops the centre square
#: and resizes it, so a 1x1 image or a 3000x1 strip would become one flat colour.
MIN_SIDE = 16

LAYOUT = "one sub-folder per class, e.g. my_photos/cats/*.jpg and my_photos/dogs/*.jpg"


class FolderError(ValueError):
    """The folder cannot be trained on; ``report`` (or None) holds what was found."""

    def __init__(self, message, report=None):
        super().__init__(message)
        self.report = report


@dataclasses.dataclass
class FolderReport:
    """What ``check_folder`` found.

    Attributes:
        root: the folder checked.
        class_names: the classes, sorted (an image's label is its class's index here).
        images: ``{class: [paths TensorFlow decodes]}``, in sorted order.
        skipped: ``[(path, reason)]``: files left out, and why.
    """

    root: Path
    class_names: list
    images: dict
    skipped: list

    @property
    def counts(self):
        """``{class: number of usable images}``."""
        return {name: len(self.images[name]) for name in self.class_names}

    def files_and_labels(self):
        """``(paths, labels)``: every usable image and its class index, class by class."""
        paths = [p for name in self.class_names for p in self.images[name]]
        labels = [k for k, name in enumerate(self.class_names) for _ in self.images[name]]
        return paths, labels

    def skipped_text(self, show=SHOWN_SKIPPED):
        """The skipped files: each one when there are few, else grouped by reason."""
        if not self.skipped:
            return "skipped 0 files: every file is an image TensorFlow decodes"
        lines = [f"skipped {len(self.skipped)} file(s) that training cannot use:"]
        if len(self.skipped) <= show:
            return "\n".join(lines + [f"  {self.relative(p)}: {why}" for p, why in self.skipped])
        by_reason = collections.defaultdict(list)
        for path, why in self.skipped:
            by_reason[_kind(why)].append((path, why))
        for found in sorted(by_reason.values(), key=len, reverse=True):
            path, why = found[0]
            more = f" and {len(found) - 1} more" if len(found) > 1 else ""
            lines.append(f"  {len(found)} x {why}: {self.relative(path)}{more}")
        return "\n".join(lines)

    def text(self):
        """A few lines for the learner: classes, counts, and what was skipped."""
        counts = ", ".join(f"{k} {v}" for k, v in self.counts.items())
        return (f"{self.root}: {len(self.class_names)} classes, {sum(self.counts.values())} usable "
                f"images ({counts})\n{self.skipped_text()}")

    def relative(self, path):
        """``path`` relative to the folder, as text (for reports)."""
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)


def _kind(reason):
    """A reason without its details (the part in brackets), to group files by."""
    return re.sub(r"\s*\(.*\)$", "", reason)


def _existing_folder(root):
    root = Path(root).expanduser()
    if not root.exists():
        raise FolderError(f"image folder {root} does not exist; expected a folder with {LAYOUT}")
    if not root.is_dir():
        raise FolderError(f"{root} is a file, not a folder; expected a folder with {LAYOUT}")
    return root


def _files(folder):
    """Files below ``folder``, sorted, not entering hidden sub-folders."""
    for parent, folders, files in os.walk(folder):
        folders[:] = sorted(f for f in folders if not f.startswith("."))
        for name in sorted(files):
            yield Path(parent) / name


def _too_large(width=None, height=None):
    size = f"{width}x{height} = {width * height:,} pixels" if width else f"over {MAX_PIXELS:,} pixels"
    return (f"too large to decode safely ({size}; the limit is {MAX_PIXELS:,}): "
            "shrink it with any photo editor")


def _header_reason(path):
    """Why ``path`` is not even worth decoding (hidden, empty, too large), or None.

    Reads the file's size and its image header only (Pillow opens images lazily); a
    header Pillow does not know is left to TensorFlow to judge.
    """
    from PIL import Image, UnidentifiedImageError

    if path.name.startswith("."):
        return "hidden file (left out, as macOS's ._ files and editors' backups should be)"
    size = path.stat().st_size
    if size == 0:
        return "empty file (0 bytes)"
    if size > MAX_FILE_BYTES:
        return f"file too large ({size / 2**20:.0f} MB; the limit is {MAX_FILE_BYTES / 2**20:.0f} MB)"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
                frames = getattr(image, "n_frames", 1)
    except Image.DecompressionBombError:
        return _too_large()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None  # TensorFlow decides
    if width * height * frames > MAX_PIXELS:
        return _too_large(width, height * frames)
    if min(width, height) < MIN_SIDE:
        return (f"image too small to train on ({width}x{height} pixels; the shorter side must be at "
                f"least {MIN_SIDE})")
    return None


def _pillow_format(path):
    from PIL import Image

    try:
        with Image.open(path) as image:
            return image.format
    except Exception:  # any failure means: Pillow does not know it either
        return None


def _decode_reason(path, message):
    """The learner's reason for a file TensorFlow failed to decode, from its error message."""
    message = re.sub(r"\{\{.*?\}\}\s*|\s*\[Op:\w+\].*$", "", message.strip()).splitlines()[0]
    if "Unknown image file format" in message:
        kind = _pillow_format(path)
        if kind:
            return (f"{kind} image, which TensorFlow does not decode (it reads {TENSORFLOW_FORMATS}): "
                    "convert it, e.g. to JPEG")
        return f"not an image TensorFlow recognises (it reads {TENSORFLOW_FORMATS})"
    return f"damaged image: TensorFlow could not decode it ({message})"


def decode_file(path, min_side=None):
    """The image in ``path`` (a path, or a string tensor) as TensorFlow decodes it: (h, w, 3) uint8.

    Args:
        min_side: decode a JPEG at the smallest of 1/1, 1/2, 1/4 and 1/8 of its size whose shorter
            side is still at least ``min_side`` pixels. The JPEG decoder scales while decoding
            (averaging pixels, so nothing aliases), several times faster for a large photo: a
            12-megapixel JPEG at 1/8 has 1500 x 2000 pixels to make, not 3000 x 4000. It still
            reads every byte of the file, so a damaged file fails the same way. None: full size.
    """
    import tensorflow as tf

    contents = tf.io.read_file(path if tf.is_tensor(path) else str(path))

    def whole():
        return tf.io.decode_image(contents, channels=3, expand_animations=False)

    if min_side is None:
        return whole()

    def jpeg():
        shape = tf.io.extract_jpeg_shape(contents)
        side = tf.minimum(shape[0], shape[1])
        scaled = [(side >= ratio * min_side,
                   lambda ratio=ratio: tf.io.decode_jpeg(contents, channels=3, ratio=ratio))
                  for ratio in JPEG_RATIOS]
        return tf.case(scaled, default=lambda: tf.io.decode_jpeg(contents, channels=3))

    return tf.cond(tf.io.is_jpeg(contents), jpeg, whole)


def unreadable_reason(path):
    """Why training cannot use the file ``path`` (a sentence), or None if TensorFlow decodes it."""
    import tensorflow as tf

    path = Path(path).expanduser()
    if not path.exists():
        return "no such file"
    if not path.is_file():
        return "a folder, not an image file"
    reason = _header_reason(path)
    if reason:
        return reason
    try:
        decode_file(path, CHECK_SIDE)
    except tf.errors.OpError as error:
        return _decode_reason(path, error.message)
    return None


def _decoded(paths):
    """The positions in ``paths`` of the files TensorFlow decodes (decoded in parallel)."""
    import tensorflow as tf

    if not paths:
        return set()
    positions = tf.data.Dataset.from_tensor_slices((tf.range(len(paths)), [str(p) for p in paths]))
    decoded = positions.map(lambda i, path: (i, tf.shape(decode_file(path, CHECK_SIDE))[0]),
                            num_parallel_calls=tf.data.AUTOTUNE).ignore_errors()
    return {int(i) for i, _ in decoded.as_numpy_iterator()}


def _short_message(report, min_per_class, show=SHOWN_SKIPPED):
    short = {k: v for k, v in report.counts.items() if v < min_per_class}
    if len(short) <= show:
        found = f"these have fewer (class: count): {short}."
    else:
        first = ", ".join(f"{k} ({v})" for k, v in list(short.items())[:show])
        found = (f"{len(short)} of {len(report.counts)} classes have fewer: {first} and {len(short) - show} "
                 "more (every class's count: the error's report.counts).")
    lines = [f"every class needs at least {min_per_class} images TensorFlow decodes; {found}"]
    if report.skipped:
        lines.append(report.skipped_text())
    lines.append("Add images, convert or replace the skipped ones, or remove those sub-folders.")
    return "\n".join(lines)


def check_folder(root, min_per_class=MIN_IMAGES_PER_CLASS):
    """Check a folder of class sub-folders: decode every file in it, as training will.

    Args:
        root: the folder; one sub-folder per class, images anywhere below them.
        min_per_class: fewest usable images a class may have.

    Returns:
        a ``FolderReport``.

    Raises:
        FolderError (a ``ValueError``): the folder is missing or not a folder; it has no
            class sub-folders; it has only one class; a class has fewer than
            ``min_per_class`` usable images (the message lists why files were skipped).
    """
    root = _existing_folder(root)
    min_per_class = checks.whole_number(min_per_class, "min_per_class")
    entries = sorted(p for p in root.iterdir() if not p.name.startswith("."))
    class_names = [p.name for p in entries if p.is_dir()]
    loose = [p for p in entries if not p.is_dir()]
    if not class_names:
        raise FolderError(f"image folder {root} has no class sub-folders ({len(loose)} loose "
                          f"files); expected {LAYOUT}")
    if len(class_names) == 1:
        raise FolderError(f"image folder {root} has only one class ({class_names[0]!r}); a "
                          f"classifier needs at least 2 class sub-folders: {LAYOUT}")
    skipped = [(p, "not inside a class sub-folder") for p in loose]
    candidates = []
    for name in class_names:
        for path in _files(root / name):
            reason = _header_reason(path)
            if reason:
                skipped.append((path, reason))
            else:
                candidates.append((name, path))
    good = _decoded([path for _, path in candidates])
    images = {name: [] for name in class_names}
    for i, (name, path) in enumerate(candidates):
        reason = None if i in good else unreadable_reason(path)  # one by one: the reason
        if reason:
            skipped.append((path, reason))
        else:
            images[name].append(path)
    report = FolderReport(root, class_names, images, skipped)
    if min(report.counts.values()) < min_per_class:
        raise FolderError(_short_message(report, min_per_class), report)
    return report
