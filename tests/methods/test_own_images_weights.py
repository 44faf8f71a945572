"""Chapter 08's ImageNet weights: Keras's cache, one download with a deadline, the hash check.

Nothing here touches the network: downloads are monkeypatched, or go to a server on this
machine. Issue 19: a damaged weights file used to count as "ImageNet weights" (a test even
asserted that 8 bytes of b"stand-in" did); now every use checks the published hash.
"""

import hashlib
import io
import socket
import threading
import time
import urllib.error

import numpy as np
import pytest

import course_lib

course_lib.setup(0)

import keras  # noqa: E402

from course_lib.methods.own_images import backbone as bb  # noqa: E402
from course_lib.methods.own_images import download as dl  # noqa: E402
from course_lib.methods.own_images import recipe, weights  # noqa: E402
from course_lib.methods.own_images.cli import main  # noqa: E402


@pytest.fixture()
def offline(tmp_path, monkeypatch):
    """An empty Keras cache and a network that refuses every connection (the calls are kept)."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    calls = []

    def refuse(url, timeout):
        calls.append((url, timeout))
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(dl, "_open_url", refuse)
    return calls


def test_the_hashes_are_the_ones_keras_applications_checks():
    from keras.src.applications import mobilenet_v3

    assert bb.BACKBONES["MobileNetV3Small"].weights_md5 == mobilenet_v3.WEIGHTS_HASHES["small_224_1.0_float"][1]
    assert bb.BACKBONES["MobileNetV3Large"].weights_md5 == mobilenet_v3.WEIGHTS_HASHES["large_224_1.0_float"][1]
    assert weights.weights_file().url == ("https://storage.googleapis.com/tensorflow/keras-applications/"
                                          "mobilenet_v3/weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5")


@pytest.mark.parametrize("call", [bb.check_name, weights.weights_file, weights.imagenet_weights,
                                  bb.build_backbone])
def test_unknown_backbone_lists_the_allowed_ones(call):
    with pytest.raises(ValueError, match="unknown backbone 'MobileNetV2'; allowed: MobileNetV3Small, MobileNetV3Large"):
        call("MobileNetV2")


def test_offline_weights_fail_fast_with_a_clear_message(offline):
    start = time.perf_counter()
    status = weights.imagenet_weights("MobileNetV3Small", timeout=3)
    assert time.perf_counter() - start < 2
    assert offline == [(weights.weights_file().url, 3)]  # one try, with the timeout
    assert status.path is None and not status.transfer and status.how == weights.UNAVAILABLE
    assert status.label == weights.NOT_TRANSFER == "random init, not transfer"
    for words in ("NO IMAGENET WEIGHTS", "Name or service not known", weights.FETCH_COMMAND,
                  "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5", "RANDOMLY INITIALISED",
                  "NOT transfer learning"):
        assert words in status.message


def test_no_download_when_asked_not_to(offline):
    status = weights.imagenet_weights("MobileNetV3Large", download_missing=False)
    assert status.path is None and "download not tried" in status.message and offline == []


def test_a_damaged_file_in_keras_cache_is_reported_and_kept(offline):
    """Issue 19: 8 bytes of b"stand-in" used to be reported as "ImageNet weights", and then the
    model failed to open them. Now: damaged, random init, and the file is left where it was."""
    path = weights.weights_file().path
    path.parent.mkdir(parents=True)
    path.write_bytes(b"stand-in")
    status = weights.imagenet_weights("MobileNetV3Small")
    assert status.how == weights.DAMAGED and status.path is None and status.label == weights.NOT_TRANSFER
    assert hashlib.md5(b"stand-in").hexdigest() in status.message
    assert "d3e8ec802a04aa4fc771ee12a9a9b836" in status.message and "delete" in status.message
    assert path.read_bytes() == b"stand-in" and offline == []  # not deleted, not replaced
    with pytest.raises(weights.WeightsDamaged, match="is not MobileNetV3Small's ImageNet weights file"):
        recipe.build_transfer_model(2, "MobileNetV3Small", 32, path)  # checked on every use, not only on download


def _stand_in_weights(path):
    """MobileNetV3Small weights in the legacy HDF5 layout of Keras's real file (perturbed, so
    that loading them is visible); returns the model they came from."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    source = keras.applications.MobileNetV3Small(input_shape=(224, 224, 3), include_top=False, weights=None)
    rng = np.random.default_rng(0)
    for w in source.weights:
        w.assign(np.asarray(w) + rng.normal(scale=0.01, size=w.shape).astype("float32"))
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, source)
    return source


def test_a_sound_weights_file_in_keras_cache_is_loaded_into_the_backbone(offline, monkeypatch):
    """The online path without the network: a weights file whose hash is the expected one is
    found in Keras's cache, checked, and loaded into the backbone, weight for weight."""
    path = weights.weights_file().path
    source = _stand_in_weights(path)
    info = bb.BACKBONES["MobileNetV3Small"]
    monkeypatch.setitem(bb.BACKBONES, "MobileNetV3Small",
                        bb.Backbone(info.constructor, info.weights_file, dl.md5(path)))
    status = weights.imagenet_weights("MobileNetV3Small")
    assert status.transfer and status.how == weights.FOUND and "MD5 hash checked" in status.message
    model = recipe.build_transfer_model(3, image_size=32, weights_path=status.path)
    loaded = recipe.get_backbone(model).weights
    assert len(loaded) == len(source.weights)
    assert all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(source.weights, loaded))
    assert offline == []


class _Response(io.BytesIO):
    pass


def test_a_download_is_kept_only_with_the_right_hash(offline, tmp_path, monkeypatch):
    monkeypatch.setattr(dl, "_open_url", lambda url, timeout: _Response(b"weights bytes"))
    status = weights.imagenet_weights("MobileNetV3Small")
    assert status.how == weights.UNAVAILABLE and "arrived damaged or changed" in status.message
    assert list(weights.keras_models_dir().iterdir()) == []  # nothing half-written, nothing wrong kept
    target = tmp_path / "file.bin"
    assert dl.download("http://x/file.bin", target, hashlib.md5(b"weights bytes").hexdigest()) == target
    assert target.read_bytes() == b"weights bytes"


def test_timeout_is_honoured_when_the_server_never_answers(offline, monkeypatch):
    release = threading.Event()

    def hang(url, timeout):  # e.g. a name lookup that hangs: no socket timeout covers it
        release.wait(30)
        raise urllib.error.URLError("too late")

    monkeypatch.setattr(dl, "_open_url", hang)
    start = time.perf_counter()
    status = weights.imagenet_weights("MobileNetV3Small", timeout=0.3)
    elapsed = time.perf_counter() - start
    release.set()
    assert elapsed < 1.5 and status.path is None and "within 0.3 s" in status.message


def test_socket_timeout_on_a_silent_local_server(tmp_path, monkeypatch):
    """A real connection (to this machine only) that is accepted and then never answered."""
    monkeypatch.setattr(dl, "_open_url", dl.urllib.request.urlopen)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    start = time.perf_counter()
    try:
        with pytest.raises(dl.DownloadFailed, match="within 0.5 s|timed out"):
            dl.download(f"http://127.0.0.1:{port}/w.h5", tmp_path / "w.h5", "0" * 32, timeout=0.5)
    finally:
        server.close()
    assert time.perf_counter() - start < 2.5
    deadline = time.monotonic() + 5
    while list(tmp_path.iterdir()) and time.monotonic() < deadline:  # the abandoned thread cleans up
        time.sleep(0.1)
    assert list(tmp_path.iterdir()) == []  # no half-written file left behind


def test_fetch_command_exit_codes(offline, capsys):
    assert main(["fetch-weights"]) == 1
    assert "FAILED: MobileNetV3Small's ImageNet weights cannot be used" in capsys.readouterr().out
