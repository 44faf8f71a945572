"""``keras.applications`` backbones and their ImageNet weights, online or off.

``keras.applications.MobileNetV3Small(weights="imagenet")`` downloads its weights
with ``keras.utils.get_file``, which has no timeout: offline it can hang or fail
deep inside Keras. Here the weights file is looked up in Keras's own cache
(``~/.keras/models``, or ``$KERAS_HOME/models``) first; if it is not there, one
download is tried with ``urllib`` and a short timeout, into that same cache, and the
file's path is passed to ``weights=``. When both fail, ``imagenet_weights`` says
what is missing and how to get it, and the chapter goes on with a randomly
initialised backbone: that is *not* transfer learning, and everything it shows
is labelled so.

Fetch the weights ahead of time (Binder's ``postBuild`` does)::

    python -m course_lib.own_images.backbone --fetch
"""

import argparse
import dataclasses
import hashlib
import os
import sys
import threading
import time
import urllib.request
from pathlib import Path

DEFAULT_BACKBONE = "MobileNetV3Small"
#: Seconds to wait for the server to answer (and for each read) before giving up.
DEFAULT_TIMEOUT = 5.0
#: Seconds a whole download may take once the server has answered.
DOWNLOAD_DEADLINE = 120.0
FETCH_COMMAND = "python -m course_lib.own_images.backbone --fetch"
NOT_TRANSFER = "random init, not transfer"
TRANSFER = "ImageNet weights"

_V3 = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v3/"
_V2 = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/"


def _v3_file(image_size):
    name = "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5"
    return name, _V3 + name, "d3e8ec802a04aa4fc771ee12a9a9b836"  # md5, as keras.applications checks


def _v2_file(image_size):
    rows = image_size if image_size in (96, 128, 160, 192, 224) else 224  # the sizes trained
    name = f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_{rows}_no_top.h5"
    return name, _V2 + name, None  # keras.applications publishes no hash for these


#: name -> the keras.applications constructor, how inputs are preprocessed, the weights file.
BACKBONES = {
    "MobileNetV3Small": {
        "constructor": "MobileNetV3Small",
        "preprocessing": "inside the model (a Rescaling layer maps 0-255 to [-1, 1])",
        "weights_file": _v3_file,
    },
    "MobileNetV2": {
        "constructor": "MobileNetV2",
        "preprocessing": "keras.applications.mobilenet_v2.preprocess_input (0-255 to [-1, 1])",
        "weights_file": _v2_file,
    },
}


def check_name(name):
    """Raise ``ValueError`` listing the supported backbones if ``name`` is not one."""
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; allowed: {', '.join(BACKBONES)}")
    return name


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


@dataclasses.dataclass
class WeightsFile:
    """One backbone's ImageNet weights (without the classifier top)."""

    backbone: str
    file_name: str
    url: str
    md5: str  # None when Keras publishes no hash

    @property
    def path(self):
        """Where Keras's cache keeps it."""
        return keras_models_dir() / self.file_name


def weights_file(name=DEFAULT_BACKBONE, image_size=224):
    """The ``WeightsFile`` for ``name`` at ``image_size`` (MobileNetV2 has one per size)."""
    file_name, url, md5 = BACKBONES[check_name(name)]["weights_file"](int(image_size))
    return WeightsFile(name, file_name, url, md5)


class WeightsUnavailable(RuntimeError):
    """The ImageNet weights are neither in Keras's cache nor downloadable now."""


def _open_url(url, timeout):
    """``urllib.request.urlopen`` (tests replace this to stay off the network)."""
    return urllib.request.urlopen(url, timeout=timeout)


def _md5(path):
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(weights, timeout=DEFAULT_TIMEOUT, deadline=DOWNLOAD_DEADLINE):
    """Download ``weights`` into Keras's cache; never wait longer than ``timeout`` for an answer.

    The connection runs in a background thread, so that even a name lookup that hangs
    (which a socket timeout does not cover) is abandoned after ``timeout`` seconds.
    The file is written next to its final name and renamed only when complete and, where
    Keras publishes one, its MD5 hash matches.

    Args:
        weights: a ``WeightsFile``.
        timeout: seconds to wait for the server to answer, and for each read.
        deadline: seconds the whole download may take.

    Returns:
        the ``Path`` of the downloaded file.

    Raises:
        WeightsUnavailable: no answer in time, a network error, a wrong hash.
    """
    target = weights.path
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.part{os.getpid()}")
    answered, done = threading.Event(), threading.Event()
    outcome = {}

    def work():
        try:
            with _open_url(weights.url, timeout=timeout) as response, open(tmp, "wb") as f:
                answered.set()
                for chunk in iter(lambda: response.read(1 << 16), b""):
                    f.write(chunk)
                    if time.monotonic() > start + deadline:
                        raise TimeoutError(f"download took longer than {deadline:.0f} s")
            if weights.md5 and _md5(tmp) != weights.md5:
                raise WeightsUnavailable(f"{weights.file_name} arrived damaged (MD5 mismatch)")
            tmp.replace(target)
            outcome["path"] = target
        except BaseException as error:  # reported to the caller below
            outcome["error"] = error
        finally:
            answered.set()
            done.set()
            if tmp.exists():
                tmp.unlink()

    start = time.monotonic()
    threading.Thread(target=work, daemon=True, name="weights-download").start()
    if not answered.wait(timeout):
        raise WeightsUnavailable(f"no answer from {weights.url} within {timeout:g} s")
    if not done.wait(max(0.0, deadline - (time.monotonic() - start)) + 1.0):
        raise WeightsUnavailable(f"download of {weights.url} took longer than {deadline:.0f} s")
    if "error" in outcome:
        error = outcome["error"]
        reason = getattr(error, "reason", None) or error
        raise WeightsUnavailable(f"could not download {weights.url}: {reason}") from error
    return outcome["path"]


@dataclasses.dataclass
class WeightsStatus:
    """Where a backbone's weights come from.

    Attributes:
        backbone: the backbone's name.
        path: the ImageNet weights file, or None (random initialisation).
        how: "found in Keras's cache", "downloaded" or "unavailable".
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


def offline_message(weights, reason):
    """What is missing, how to get it, and what the chapter does instead."""
    return (
        f"NO IMAGENET WEIGHTS: {weights.backbone}'s ImageNet weights are not in Keras's cache "
        f"({weights.path}) and could not be downloaded ({reason}).\n"
        f"To get them, run this once on a machine with internet (Binder does it when it builds):\n"
        f"    {FETCH_COMMAND} --backbone {weights.backbone}\n"
        f"or copy {weights.file_name} from {weights.url} into {weights.path.parent}.\n"
        f"This run goes on with a RANDOMLY INITIALISED {weights.backbone}: the same code and "
        f"recipe, but NOT transfer learning (nothing learned on ImageNet is reused), so expect far "
        f"lower accuracy than with the weights. Every result below is labelled "
        f"\"{NOT_TRANSFER}\"."
    )


def imagenet_weights(name=DEFAULT_BACKBONE, image_size=224, download_missing=True,
                     timeout=DEFAULT_TIMEOUT):
    """Find (or fetch once) ``name``'s ImageNet weights; never raises for the network.

    Args:
        download_missing: try one download when the file is not in Keras's cache.
        timeout: seconds to wait for the server (see ``download``).

    Returns:
        a ``WeightsStatus``; its ``path`` is None when the weights are unavailable and
        its ``message`` says what is missing, how to get it, and what happens instead.
    """
    weights = weights_file(name, image_size)
    if weights.path.exists():
        return WeightsStatus(name, weights.path, "found in Keras's cache",
                             f"ImageNet weights for {name}: found in Keras's cache ({weights.path}).")
    if not download_missing:
        return WeightsStatus(name, None, "unavailable", offline_message(weights, "download not tried"))
    try:
        path = download(weights, timeout=timeout)
    except WeightsUnavailable as error:
        return WeightsStatus(name, None, "unavailable", offline_message(weights, error))
    return WeightsStatus(name, path, "downloaded",
                         f"ImageNet weights for {name}: downloaded once into {path}.")


def build_backbone(name=DEFAULT_BACKBONE, image_size=96, weights_path=None):
    """The backbone without its ImageNet classifier, named ``"backbone"``.

    Args:
        weights_path: an ImageNet weights file (see ``imagenet_weights``) or None for a
            random initialisation.

    Returns:
        a ``keras.Model`` from (batch, image_size, image_size, 3) to a feature map,
        e.g. (batch, 3, 3, 576) for MobileNetV3Small at 96x96. MobileNetV3Small takes
        pixel values 0-255 (it rescales them itself); MobileNetV2 takes [-1, 1]
        (see ``preprocessing_layer``).
    """
    import keras

    check_name(name)
    constructor = getattr(keras.applications, BACKBONES[name]["constructor"])
    options = {"include_preprocessing": True} if name == "MobileNetV3Small" else {}
    return constructor(input_shape=(image_size, image_size, 3), include_top=False,
                       weights=None if weights_path is None else str(weights_path),
                       name="backbone", **options)


def preprocessing_layer(name=DEFAULT_BACKBONE):
    """The layer that turns 0-255 pixels into what the backbone expects, or None.

    MobileNetV3Small has it built in. For MobileNetV2 it is a ``Rescaling`` layer that
    computes exactly ``keras.applications.mobilenet_v2.preprocess_input`` (x / 127.5 - 1),
    as a layer rather than a ``Lambda`` so that the saved ``.keras`` model loads safely.
    """
    import keras

    if check_name(name) == "MobileNetV3Small":
        return None
    return keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="preprocess")


def fetch(names=(DEFAULT_BACKBONE,), image_size=96, timeout=30.0):
    """Make sure the ImageNet weights of ``names`` are in Keras's cache; True if all are."""
    ok = True
    for name in names:
        status = imagenet_weights(name, image_size, timeout=timeout)
        print(status.message if status.transfer else
              f"FAILED: {name}'s ImageNet weights could not be fetched.\n{status.message}")
        ok &= status.transfer
    return ok


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m course_lib.own_images.backbone",
                                     description="Fetch ImageNet weights into Keras's cache.")
    parser.add_argument("--fetch", action="store_true", help="download the weights if missing")
    parser.add_argument("--backbone", nargs="+", default=[DEFAULT_BACKBONE], choices=list(BACKBONES))
    parser.add_argument("--image-size", type=int, default=96)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for an answer")
    args = parser.parse_args(argv)
    if not args.fetch:
        for name in args.backbone:
            w = weights_file(name, args.image_size)
            print(f"{name}: {'in' if w.path.exists() else 'NOT in'} Keras's cache ({w.path})")
        return 0
    return 0 if fetch(args.backbone, args.image_size, args.timeout) else 1


if __name__ == "__main__":
    sys.exit(main())
