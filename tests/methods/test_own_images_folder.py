"""Chapter 06 without training: the folder checks, the weights (network monkeypatched), the
exercise check. Nothing here touches the network."""

import io
import socket
import threading
import time
import urllib.error

import numpy as np
import pytest
from PIL import Image

import course_lib

course_lib.setup(0)

from course_lib.exercises import own_images as exercises  # noqa: E402
from course_lib.own_images import backbone as bb  # noqa: E402
from course_lib.own_images import folder  # noqa: E402
from course_lib.own_images.recipe import confident_mistakes  # noqa: E402

COLOURS = {"blue": (30, 60, 220), "green": (40, 200, 60), "red": (220, 40, 40)}


def make_squares(root, per_class=12, size=32, colours=COLOURS, seed=0):
    """One sub-folder per colour, ``per_class`` PNGs of a coloured square on grey noise."""
    rng = np.random.default_rng(seed)
    for name, rgb in colours.items():
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            image = rng.integers(90, 160, size=(size, size, 3)).astype("uint8")
            side = int(rng.integers(size // 3, size // 2 + 1))
            top, left = rng.integers(0, size - side, size=2)
            image[top:top + side, left:left + side] = rgb
            Image.fromarray(image).save(root / name / f"{name}_{i:02d}.png")
    return root


@pytest.fixture()
def squares(tmp_path):
    return make_squares(tmp_path / "squares")


@pytest.fixture()
def offline(tmp_path, monkeypatch):
    """An empty Keras cache and a network that refuses every connection."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    calls = []

    def refuse(url, timeout):
        calls.append((url, timeout))
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(bb, "_open_url", refuse)
    return calls


# ----------------------------------------------------------------------------- folder errors

def test_missing_folder(tmp_path):
    with pytest.raises(ValueError, match="does not exist.*one sub-folder per class"):
        folder.check_folder(tmp_path / "nowhere")


def test_a_file_is_not_a_folder(tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"x")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        folder.load_folder(path)


def test_empty_folder(tmp_path):
    (tmp_path / "loose.jpg").write_bytes(b"x")
    (tmp_path / ".hidden").mkdir()  # hidden folders are not classes
    with pytest.raises(ValueError, match=r"no class sub-folders \(1 loose files\)"):
        folder.check_folder(tmp_path)


def test_only_one_class(tmp_path):
    make_squares(tmp_path, colours={"red": (220, 40, 40)})
    with pytest.raises(ValueError, match="only one class \\('red'\\).*at least 2"):
        folder.load_folder(tmp_path)


def test_too_few_images_names_the_class_and_the_minimum(tmp_path):
    make_squares(tmp_path, per_class=folder.MIN_IMAGES_PER_CLASS)
    for path in sorted((tmp_path / "green").iterdir())[:3]:
        path.unlink()
    with pytest.raises(ValueError, match=r"at least 10 readable images.*\{'green': 7\}"):
        folder.check_folder(tmp_path)
    folder.check_folder(tmp_path, min_per_class=7)  # the minimum is a parameter


@pytest.mark.parametrize("kwargs, message", [
    ({"image_size": 16}, "image_size must be a whole number >= 32"),
    ({"validation_split": 0.0}, "validation_split must be between 0 and 1"),
    ({"validation_split": 1.0}, "validation_split must be between 0 and 1"),
])
def test_bad_loading_options(squares, kwargs, message):
    with pytest.raises(ValueError, match=message):
        folder.load_folder(squares, **kwargs)


# ----------------------------------------------------------------------------- unreadable files

def _spoil(root):
    """Four bad files in class folders: three with image extensions, one text file."""
    (root / "red" / "notes.txt").write_text("not an image")
    (root / "red" / "._red_00.png").write_bytes(b"\x00\x05\x16\x07 macOS resource fork")
    good = (root / "blue" / "blue_00.png").read_bytes()
    (root / "blue" / "truncated.png").write_bytes(good[: len(good) // 2])
    Image.new("RGB", (40, 40), "white").save(root / "green" / "really_webp.jpg", format="WEBP")


def test_unreadable_files_are_skipped_with_a_count(squares):
    _spoil(squares)
    report = folder.check_folder(squares)
    assert report.counts == {"blue": 12, "green": 12, "red": 12}
    reasons = {p.name: why for p, why in report.skipped}
    assert set(reasons) == {"notes.txt", "._red_00.png", "truncated.png", "really_webp.jpg"}
    assert "not an image file" in reasons["notes.txt"]
    assert "not an image Pillow recognises" in reasons["._red_00.png"]
    assert "damaged" in reasons["truncated.png"]
    assert "WEBP" in reasons["really_webp.jpg"]
    assert len(report.unreadable) == 3
    assert "skipped 4 file(s)" in report.text()


def test_keras_alone_would_crash_on_them_but_load_folder_does_not(squares):
    import keras
    import tensorflow as tf

    _spoil(squares)
    raw = keras.utils.image_dataset_from_directory(squares, image_size=(32, 32), batch_size=64,
                                                   verbose=False)
    with pytest.raises(tf.errors.InvalidArgumentError):
        for _ in raw:
            pass
    train, validation, report = folder.load_folder(squares, image_size=32, seed=0)
    x, y = folder.to_arrays(train)
    xv, yv = folder.to_arrays(validation)
    assert len(x) + len(xv) == 36 and len(report.skipped) == 4
    assert x.shape[1:] == (32, 32, 3) and x.dtype == np.float32 and x.max() > 1.0  # pixels 0-255
    assert set(np.unique(np.concatenate([y, yv]))) == {0, 1, 2}


def test_unreadable_files_can_leave_a_class_too_small(squares):
    for i in range(3):
        (squares / "red" / f"red_{i:02d}.png").write_bytes(b"broken")
    with pytest.raises(ValueError, match=r"\{'red': 9\}"):
        folder.load_folder(squares)


def test_clean_folder_loads_in_place_with_a_split(squares):
    train, validation, report = folder.load_folder(squares, image_size=40, validation_split=0.25)
    assert report.skipped == [] and report.class_names == ["blue", "green", "red"]
    assert len(folder.to_arrays(train)[0]) == 27 and len(folder.to_arrays(validation)[0]) == 9
    assert "skipped 0 files" in report.text()


def test_sample_folder_is_made_once_and_loads(tmp_path):
    root = folder.make_sample_folder(tmp_path / "sample", per_class=10, image_size=48)
    report = folder.check_folder(root)
    assert report.class_names == sorted(folder.SAMPLE_CLASSES) and set(report.counts.values()) == {10}
    stamp = (root / "cat" / "cat_000.jpg").stat().st_mtime_ns
    folder.make_sample_folder(tmp_path / "sample", per_class=10, image_size=48)
    assert (root / "cat" / "cat_000.jpg").stat().st_mtime_ns == stamp  # reused, not rewritten
    new = folder.make_new_images(tmp_path / "new", per_class=1, image_size=48)
    assert [p.name for p in new] == [f"{c}_000.jpg" for c in sorted(folder.SAMPLE_CLASSES)]


# ----------------------------------------------------------------------------- backbones and weights

@pytest.mark.parametrize("call", [bb.check_name, bb.weights_file, bb.preprocessing_layer,
                                  bb.imagenet_weights])
def test_unknown_backbone_lists_the_allowed_ones(call):
    with pytest.raises(ValueError, match="unknown backbone 'ResNet50'; allowed: MobileNetV3Small, MobileNetV2"):
        call("ResNet50")


def test_offline_weights_fail_fast_with_a_clear_message(offline):
    start = time.perf_counter()
    status = bb.imagenet_weights("MobileNetV3Small", 96, timeout=3)
    assert time.perf_counter() - start < 2
    assert offline == [(bb.weights_file().url, 3)]  # one try, with the timeout
    assert status.path is None and not status.transfer and status.how == "unavailable"
    assert status.label == bb.NOT_TRANSFER == "random init, not transfer"
    for words in ("NO IMAGENET WEIGHTS", "Name or service not known", bb.FETCH_COMMAND,
                  "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5", "RANDOMLY INITIALISED",
                  "NOT transfer learning"):
        assert words in status.message


def test_no_download_when_asked_not_to(offline):
    status = bb.imagenet_weights("MobileNetV2", 96, download_missing=False)
    assert status.path is None and "download not tried" in status.message and offline == []


def test_weights_in_keras_cache_are_used_without_the_network(offline):
    weights = bb.weights_file("MobileNetV2", 128)
    assert weights.file_name == "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_128_no_top.h5"
    weights.path.parent.mkdir(parents=True)
    weights.path.write_bytes(b"stand-in")
    status = bb.imagenet_weights("MobileNetV2", 128)
    assert status.path == weights.path and status.transfer and status.label == "ImageNet weights"
    assert offline == []  # never asked the network


def test_timeout_is_honoured_when_the_server_never_answers(offline, monkeypatch):
    release = threading.Event()

    def hang(url, timeout):  # e.g. a name lookup that hangs: no socket timeout covers it
        release.wait(30)
        raise urllib.error.URLError("too late")

    monkeypatch.setattr(bb, "_open_url", hang)
    start = time.perf_counter()
    status = bb.imagenet_weights("MobileNetV3Small", 96, timeout=0.3)
    elapsed = time.perf_counter() - start
    release.set()
    assert elapsed < 1.5 and status.path is None and "within 0.3 s" in status.message


def test_socket_timeout_on_a_silent_local_server(offline, monkeypatch):
    """A real connection (to this machine only) that is accepted and then never answered."""
    monkeypatch.setattr(bb, "_open_url", bb.urllib.request.urlopen)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    silent = bb.WeightsFile("MobileNetV3Small", "w.h5", f"http://127.0.0.1:{port}/w.h5", None)
    start = time.perf_counter()
    try:
        with pytest.raises(bb.WeightsUnavailable, match="within 0.5 s|timed out"):
            bb.download(silent, timeout=0.5)
    finally:
        server.close()
    assert time.perf_counter() - start < 2.5
    assert not list(silent.path.parent.glob("w.h5*"))  # no half-written file left behind


class _Response(io.BytesIO):
    pass


def test_download_checks_the_hash_and_keeps_a_good_file(offline, monkeypatch):
    monkeypatch.setattr(bb, "_open_url", lambda url, timeout: _Response(b"weights bytes"))
    status = bb.imagenet_weights("MobileNetV3Small", 96)  # its MD5 is known: a mismatch
    assert status.path is None and "MD5 mismatch" in status.message
    assert not bb.weights_file().path.exists()
    status = bb.imagenet_weights("MobileNetV2", 96)  # no published hash
    assert status.how == "downloaded" and status.path.read_bytes() == b"weights bytes"


def test_fetch_command_exit_codes(offline, capsys):
    assert bb.main(["--fetch"]) == 1
    assert "FAILED" in capsys.readouterr().out
    assert bb.main([]) == 0
    assert "NOT in Keras's cache" in capsys.readouterr().out


def test_mobilenet_v2_preprocessing_is_preprocess_input():
    import keras

    x = np.random.default_rng(0).uniform(0, 255, size=(2, 8, 8, 3)).astype("float32")
    expected = keras.applications.mobilenet_v2.preprocess_input(x.copy())
    np.testing.assert_allclose(np.asarray(bb.preprocessing_layer("MobileNetV2")(x)), expected,
                               rtol=1e-6, atol=1e-6)
    assert bb.preprocessing_layer("MobileNetV3Small") is None  # built into the backbone


# ----------------------------------------------------------------------------- mistakes and the exercise

def test_confident_mistakes_order_and_edge_cases():
    p = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    y = np.array([1, 1, 1, 0])  # wrong: 0 (0.9), 2 (0.6), 3 (0.7)
    assert confident_mistakes(p, y, k=2).tolist() == [0, 3]
    assert confident_mistakes(p, y, k=10).tolist() == [0, 3, 2]
    assert confident_mistakes(p, p.argmax(axis=1)).tolist() == []
    with pytest.raises(ValueError, match="probabilities"):
        confident_mistakes(p, y[:3])


def test_exercise_check(capsys):
    assert not exercises.check_confident_mistakes(None)
    assert not exercises.check_confident_mistakes(lambda p, y, k: [0])
    assert "Not yet" in capsys.readouterr().out
    assert not exercises.check_confident_mistakes(lambda p, y, k: 1 / 0)
    assert "ZeroDivisionError" in capsys.readouterr().out
    assert exercises.check_confident_mistakes(confident_mistakes)
    assert "Correct" in capsys.readouterr().out
