"""The backbones' ImageNet weights: found in Keras's cache or fetched once, always hash-checked.

A weights file is used only after its MD5 hash matches the one ``keras.applications``
publishes for it: a download cut off halfway, a damaged disk or a different file of the same
name is reported as what it is, and the run goes on without ImageNet weights, saying so.
This is checked **every time** the weights are used, not only when they are downloaded.

The course offers only backbones whose weights have a published hash (``backbone.BACKBONES``):
``keras.applications`` publishes none for MobileNetV2, whose weights could therefore not be
told apart from a damaged file, so the course no longer offers it.

The file is looked up in Keras's own cache (``~/.keras/models`` or ``$KERAS_HOME/models``);
if it is not there, one download is tried (``download.download``) with a short timeout.
Offline, the run goes on with a randomly initialised backbone: that is *not* transfer
learning, and everything it shows is labelled so. Fetch the weights ahead of time (Binder's
``postBuild`` does)::

    python -m course_lib.methods.own_images fetch-weights
"""

import dataclasses
import os
from pathlib import Path

from course_lib.methods.own_images import download as dl
from course_lib.methods.own_images.backbone import BACKBONES, DEFAULT_BACKBONE, check_name

FETCH_COMMAND = "python -m course_lib.methods.own_images fetch-weights"
NOT_TRANSFER = "random init, not transfer"
TRANSFER = "ImageNet weights"
#: ``WeightsStatus.how`` values.
FOUND, DOWNLOADED, DAMAGED, UNAVAILABLE = "found in Keras's cache", "downloaded", "damaged", "unavailable"
NOT_ASKED = "not asked for"


class WeightsDamaged(ValueError):
    """A weights file whose hash is not the published one."""


def keras_models_dir():
    """Keras's cache of downloaded weights: ``$KERAS_HOME/models`` or ``~/.keras/models``.

    (The same rule as Keras's own: ``/tmp/.keras`` when the home folder is read-only.)
    """
    if "KERAS_HOME" in os.environ:
        home = Path(os.environ["KERAS_HOME"])
    else:
        base = Path.home() if os.access(Path.home(), os.W_OK) else Path("/tmp")
        home = base / ".keras"
    return home.expanduser() / "models"


@dataclasses.dataclass(frozen=True)
class WeightsFile:
    """One backbone's ImageNet weights without the classifier top."""

    backbone: str
    file_name: str
    url: str
    md5: str

    @property
    def path(self):
        """Where Keras's cache keeps it."""
        return keras_models_dir() / self.file_name


def weights_file(name=DEFAULT_BACKBONE):
    """The ``WeightsFile`` of backbone ``name``."""
    info = BACKBONES[check_name(name)]
    return WeightsFile(name, info.weights_file, info.weights_url, info.weights_md5)


def verify(path, weights):
    """Raise ``WeightsDamaged`` unless the file ``path`` has ``weights``' published MD5 hash."""
    found = dl.md5(path)
    if found != weights.md5:
        raise WeightsDamaged(f"{path} is not {weights.backbone}'s ImageNet weights file: its MD5 hash "
                             f"is {found}, the published one is {weights.md5} (a download cut off "
                             "halfway, a damaged disk, or another file of the same name)")
    return Path(path)


def verified_path(name, path):
    """``path`` if it holds backbone ``name``'s ImageNet weights (``verify``), else raise."""
    return verify(path, weights_file(name))


@dataclasses.dataclass
class WeightsStatus:
    """Where a backbone's weights come from.

    Attributes:
        backbone: the backbone's name.
        path: the verified ImageNet weights file, or None (random initialisation).
        how: ``FOUND``, ``DOWNLOADED``, ``DAMAGED``, ``UNAVAILABLE`` or ``NOT_ASKED``.
        message: what to tell the learner.
    """

    backbone: str
    path: Path
    how: str
    message: str

    @property
    def transfer(self):
        """True when the backbone starts from ImageNet weights."""
        return self.path is not None

    @property
    def label(self):
        """``"ImageNet weights"`` or ``"random init, not transfer"``, for titles and tables."""
        return TRANSFER if self.transfer else NOT_TRANSFER


def _instead(weights):
    return (f"This run goes on with a RANDOMLY INITIALISED {weights.backbone}: the same code and "
            "recipe, but NOT transfer learning (nothing learned on ImageNet is reused), so expect far "
            f"lower accuracy than with the weights. Every result is labelled \"{NOT_TRANSFER}\".")


def offline_message(weights, reason):
    """What is missing, how to get it, and what the chapter does instead."""
    return (f"NO IMAGENET WEIGHTS: {weights.backbone}'s ImageNet weights are not in Keras's cache "
            f"({weights.path}) and could not be downloaded ({reason}).\n"
            "To get them, run this once on a machine with internet (Binder does it when it builds):\n"
            f"    {FETCH_COMMAND} --backbone {weights.backbone}\n"
            f"or copy {weights.file_name} from {weights.url} into {weights.path.parent}.\n"
            + _instead(weights))


def damaged_message(weights, error):
    """The weights file is there but is not the right file."""
    return (f"DAMAGED IMAGENET WEIGHTS: {error}.\nThe course does not delete files it did not "
            f"make: delete {weights.path} yourself, then fetch it again:\n"
            f"    {FETCH_COMMAND} --backbone {weights.backbone}\n" + _instead(weights))


def random_init(name=DEFAULT_BACKBONE):
    """The status of a backbone asked to start from random weights (no ImageNet weights looked for)."""
    return WeightsStatus(check_name(name), None, NOT_ASKED,
                         f"{name} starts from random weights, as asked: {_instead(weights_file(name))}")


def imagenet_weights(name=DEFAULT_BACKBONE, download_missing=True, timeout=dl.DEFAULT_TIMEOUT):
    """Find (or fetch once) ``name``'s ImageNet weights and check their hash; never raises for
    the network or a damaged file.

    Args:
        download_missing: try one download when the file is not in Keras's cache.
        timeout: seconds to wait for the server (see ``download.download``).

    Returns:
        a ``WeightsStatus``; its ``path`` is None when the weights cannot be used, and its
        ``message`` says why, how to get them, and what happens instead.
    """
    weights = weights_file(name)
    if weights.path.exists():
        try:
            verify(weights.path, weights)
        except (WeightsDamaged, OSError) as error:
            return WeightsStatus(name, None, DAMAGED, damaged_message(weights, error))
        return WeightsStatus(name, weights.path, FOUND, f"ImageNet weights for {name}: found in "
                             f"Keras's cache ({weights.path}), MD5 hash checked.")
    if not download_missing:
        return WeightsStatus(name, None, UNAVAILABLE, offline_message(weights, "download not tried"))
    try:
        path = dl.download(weights.url, weights.path, weights.md5, timeout=timeout)
    except dl.DownloadFailed as error:
        return WeightsStatus(name, None, UNAVAILABLE, offline_message(weights, error))
    return WeightsStatus(name, path, DOWNLOADED, f"ImageNet weights for {name}: downloaded once "
                         f"into {path}, MD5 hash checked.")


def fetch(names=(DEFAULT_BACKBONE,), timeout=30.0):
    """Make sure the ImageNet weights of ``names`` are in Keras's cache and sound; True if all are."""
    ok = True
    for name in names:
        status = imagenet_weights(name, timeout=timeout)
        print(status.message if status.transfer else
              f"FAILED: {name}'s ImageNet weights cannot be used.\n{status.message}")
        ok &= status.transfer
    return ok
