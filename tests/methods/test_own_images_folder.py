"""Chapter 08's folder checks and sample folders, without training.

Issue 19's faults each have a test here: the sample folder never deletes what it did not make;
phone photos (MPO) are accepted; why files were skipped reaches the learner; a decompression
bomb is skipped with a reason that names it; sizes are bounded.
"""

import json

import numpy as np
import pytest
from PIL import Image

import course_lib

course_lib.setup(0)

from course_lib.methods.own_images import folder, pipeline, samples  # noqa: E402
from course_lib.methods.own_images.folder import FolderError, check_folder, unreadable_reason  # noqa: E402
from methods.own_images_fixtures import make_squares, save_bomb, save_mpo  # noqa: E402


@pytest.fixture()
def squares(tmp_path):
    return make_squares(tmp_path / "squares")


# ----------------------------------------------------------------------------- folder errors

def test_missing_folder(tmp_path):
    with pytest.raises(FolderError, match="does not exist.*one sub-folder per class"):
        check_folder(tmp_path / "nowhere")


def test_a_file_is_not_a_folder(tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"x")
    with pytest.raises(FolderError, match="is a file, not a folder"):
        check_folder(path)


def test_empty_folder(tmp_path):
    (tmp_path / "loose.jpg").write_bytes(b"x")
    (tmp_path / ".hidden").mkdir()  # hidden folders are not classes
    with pytest.raises(FolderError, match=r"no class sub-folders \(1 loose files\)"):
        check_folder(tmp_path)


def test_only_one_class(tmp_path):
    make_squares(tmp_path, colours={"blue": (30, 60, 220)})
    with pytest.raises(FolderError, match="only one class \\('blue'\\).*at least 2"):
        check_folder(tmp_path)


def test_too_few_images_names_the_class_and_the_minimum(tmp_path):
    make_squares(tmp_path, per_class=folder.MIN_IMAGES_PER_CLASS)
    for path in sorted((tmp_path / "orange").iterdir())[:3]:
        path.unlink()
    with pytest.raises(FolderError, match=r"at least 10 images TensorFlow decodes.*\{'orange': 7\}"):
        check_folder(tmp_path)
    assert check_folder(tmp_path, min_per_class=7).counts == {"blue": 10, "orange": 7, "purple": 10}


# ----------------------------------------------------------------------------- what is skipped, and why

def _spoil(root):
    """Six files training cannot use, and a WebP that it can, in class folders; one loose file."""
    (root / "purple" / "notes.txt").write_text("not an image")
    (root / "purple" / "._purple_000.png").write_bytes(b"\x00\x05\x16\x07 macOS resource fork")
    good = (root / "blue" / "blue_000.png").read_bytes()
    (root / "blue" / "truncated.png").write_bytes(good[: len(good) // 2])
    Image.open(root / "blue" / "blue_001.png").save(root / "purple" / "download.jpg", quality=90)
    jpeg = (root / "purple" / "download.jpg").read_bytes()
    (root / "purple" / "download.jpg").write_bytes(jpeg[: len(jpeg) * 3 // 4])  # cut off: a partial download
    (root / "blue" / "empty.jpg").write_bytes(b"")
    Image.new("RGB", (40, 40), "white").save(root / "orange" / "scan.tif", format="TIFF")
    Image.new("RGB", (40, 40), "white").save(root / "orange" / "really_webp.jpg", format="WEBP")
    (root / "README.txt").write_text("my classes")


def _tensorflow_reads_webp():
    """TensorFlow decodes WebP from 2.20 on (constraints/floor.txt's 2.19 does not)."""
    import io

    import tensorflow as tf

    webp = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(webp, format="WEBP")
    try:
        tf.io.decode_image(webp.getvalue(), channels=3)
    except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError):
        return False
    return True


WEBP = int(_tensorflow_reads_webp())  # the WebP counts when this TensorFlow decodes it, as training does


def test_files_training_cannot_use_are_skipped_each_with_its_reason(squares):
    _spoil(squares)
    report = check_folder(squares)
    assert report.counts == {"blue": 12, "orange": 12 + WEBP, "purple": 12}
    reasons = {p.name: why for p, why in report.skipped}
    assert set(reasons) == {"notes.txt", "._purple_000.png", "truncated.png", "download.jpg", "empty.jpg",
                            "scan.tif", "README.txt"} | (set() if WEBP else {"really_webp.jpg"})
    assert reasons["notes.txt"].startswith("not an image TensorFlow recognises")
    assert reasons["._purple_000.png"].startswith("hidden file")
    assert reasons["truncated.png"].startswith("damaged image: TensorFlow could not decode it")
    assert reasons["download.jpg"] == ("damaged image: TensorFlow could not decode it (jpeg::Uncompress failed. "
                                       "Invalid JPEG data or crop window.)")  # found at 1/8 of its size too
    assert reasons["empty.jpg"] == "empty file (0 bytes)"
    assert reasons["scan.tif"].startswith("TIFF image, which TensorFlow does not decode")
    assert reasons["README.txt"] == "not inside a class sub-folder"
    text = report.text()
    assert f"skipped {8 - WEBP} file(s)" in text and "\n  1 x empty file (0 bytes): blue/empty.jpg\n" in text  # grouped


def test_every_file_the_check_accepts_is_one_training_decodes(squares):
    _spoil(squares)
    paths, labels = check_folder(squares).files_and_labels()
    decoded = [pipeline.load_image(str(p), 32).numpy() for p in paths]
    assert len(decoded) == 36 + WEBP and all(image.shape == (32, 32, 3) for image in decoded)
    assert labels == [0] * 12 + [1] * (12 + WEBP) + [2] * 12
    assert unreadable_reason(paths[0]) is None


def test_phone_photos_with_a_second_image_are_accepted(tmp_path):
    """Issue 19: JPEGs that carry a second image (Pillow: "MPO") used to be refused, and the
    learner saw only {'cats': 0, 'dogs': 0}; TensorFlow decodes them."""
    rng = np.random.default_rng(0)
    for name in ("cats", "dogs"):
        (tmp_path / name).mkdir()
        for i in range(10):
            save_mpo(tmp_path / name / f"IMG_{i:04d}.jpg", rng)
    with Image.open(tmp_path / "cats" / "IMG_0000.jpg") as image:
        assert image.format == "MPO"
    report = check_folder(tmp_path)
    assert report.counts == {"cats": 10, "dogs": 10} and report.skipped == []
    assert pipeline.load_image(str(tmp_path / "cats" / "IMG_0000.jpg"), 32).shape == (32, 32, 3)


def test_why_files_were_skipped_reaches_the_error(tmp_path):
    """Issue 19: when skipping leaves a class too small, the error says why they were skipped."""
    for name in ("cats", "dogs"):
        (tmp_path / name).mkdir()
        for i in range(10):
            Image.new("RGB", (20, 20), "white").save(tmp_path / name / f"IMG_{i}.tif", format="TIFF")
    with pytest.raises(FolderError) as error:
        check_folder(tmp_path)
    message = str(error.value)
    assert "{'cats': 0, 'dogs': 0}" in message
    assert "skipped 20 file(s)" in message
    assert "\n  20 x TIFF image, which TensorFlow does not decode (it reads JPEG, PNG, GIF, BMP, WebP, JPEG XL): " \
           "convert it, e.g. to JPEG: cats/IMG_0.tif and 19 more\n" in message
    assert error.value.report.counts == {"cats": 0, "dogs": 0}


def test_a_decompression_bomb_is_skipped_by_name_before_decoding(squares):
    """Issue 19: a 27 KB PNG of 15000 x 15000 pixels raised Pillow's DecompressionBombError,
    uncaught and naming no file. It is skipped, with its size, and never decoded."""
    bomb = save_bomb(squares / "blue" / "scan.png")
    assert bomb.stat().st_size < 30_000
    report = check_folder(squares)
    assert report.counts["blue"] == 12
    assert report.skipped == [(bomb, "too large to decode safely (over 64,000,000 pixels; the limit is "
                                     "64,000,000): shrink it with any photo editor")]


def test_an_image_over_the_course_limit_is_skipped_with_its_size(squares):
    big = squares / "orange" / "panorama.png"
    Image.new("1", (8200, 8000)).save(big)  # 65.6 million pixels: Pillow alone would decode it
    reason = unreadable_reason(big)
    assert reason.startswith("too large to decode safely (8200x8000 = 65,600,000 pixels; the limit is 64,000,000)")
    assert check_folder(squares).counts["orange"] == 12


@pytest.mark.parametrize("size", [31, 513, 10**5, 96.5, "96"])
def test_image_size_is_bounded(size):
    with pytest.raises(ValueError, match="image_size must be a whole number"):
        pipeline.check_image_size(size)
    assert pipeline.check_image_size(512) == 512 and pipeline.check_image_size(32) == 32


# ----------------------------------------------------------------------------- the sample folders

def test_sample_folder_is_made_once_and_reused(tmp_path):
    root = samples.make_sample_folder(tmp_path / "sample", per_class=10, image_size=48)
    report = check_folder(root)
    assert report.class_names == sorted(samples.SAMPLE_CLASSES) and set(report.counts.values()) == {10}
    assert report.skipped == []  # the marker is a hidden file at the top: not a class, not reported
    stamp = (root / "cat" / "cat_000.jpg").stat().st_mtime_ns
    assert samples.make_sample_folder(tmp_path / "sample", per_class=10, image_size=48) == root
    assert (root / "cat" / "cat_000.jpg").stat().st_mtime_ns == stamp  # reused, not rewritten
    new = samples.make_new_images(tmp_path / "new", per_class=1, image_size=48)
    assert [p.name for p in new] == [f"{c}_000.jpg" for c in sorted(samples.SAMPLE_CLASSES)]
    assert not list(tmp_path.glob(".*writing*"))  # no temporary folder left


@pytest.mark.parametrize("make", [samples.make_sample_folder, samples.make_new_images])
def test_a_folder_the_course_did_not_make_is_never_touched(tmp_path, make):
    """Issue 19: pointed at an existing folder, these deleted it with shutil.rmtree, photos and all."""
    mine = tmp_path / "my_photos"
    (mine / "holiday").mkdir(parents=True)
    Image.new("RGB", (20, 20), "blue").save(mine / "holiday" / "beach.jpg")
    before = (mine / "holiday" / "beach.jpg").read_bytes()
    with pytest.raises(ValueError, match="already exists and was not made by the course"):
        make(mine, per_class=2, image_size=32)
    assert sorted(p.relative_to(mine).as_posix() for p in mine.rglob("*")) == ["holiday", "holiday/beach.jpg"]
    assert (mine / "holiday" / "beach.jpg").read_bytes() == before


def test_a_course_folder_made_with_other_settings_is_refused_not_rewritten(tmp_path):
    root = samples.make_sample_folder(tmp_path / "sample", per_class=2, image_size=32)
    marker = (root / samples.MARKER).read_text()
    with pytest.raises(ValueError, match="made by the course with other settings"):
        samples.make_sample_folder(root, per_class=3, image_size=32)
    assert (root / samples.MARKER).read_text() == marker and json.loads(marker)["per_class"] == 2


def test_an_empty_folder_is_filled(tmp_path):
    (tmp_path / "empty").mkdir()
    root = samples.make_sample_folder(tmp_path / "empty", per_class=2, image_size=32)
    assert check_folder(root, min_per_class=2).counts == dict.fromkeys(sorted(samples.SAMPLE_CLASSES), 2)


def test_a_write_stopped_halfway_leaves_nothing(tmp_path, monkeypatch):
    def fail_halfway(folder, recipe, sub_folders):
        (folder / "cat").mkdir()
        (folder / "cat" / "cat_000.jpg").write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(samples, "_write_crops", fail_halfway)
    with pytest.raises(KeyboardInterrupt):
        samples.make_sample_folder(tmp_path / "sample", per_class=2, image_size=32)
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- issue 27

@pytest.mark.parametrize("size", [(1, 1), (3000, 1), (1, 500)])
def test_a_tiny_or_degenerate_image_is_skipped_and_counted(squares, size):
    """Issue 27: a 1x1 image or a 3000x1 strip was trained on without a word."""
    for i in range(2):
        Image.new("RGB", size, "white").save(squares / "blue" / f"strip_{i}.png")
    report = check_folder(squares)
    assert report.counts["blue"] == 12
    assert dict(report.skipped)[squares / "blue" / "strip_0.png"] == (
        f"image too small to train on ({size[0]}x{size[1]} pixels; the shorter side must be at least 16)")
    assert "skipped 2 file(s) that training cannot use:" in report.text()


def test_many_short_classes_are_summarised_not_listed(tmp_path):
    """Issue 27: every short class was listed in one dict (6,000 characters for a photo library)."""
    for k in range(40):
        (tmp_path / f"album_{k:02d}").mkdir()
        Image.new("RGB", (20, 20), "white").save(tmp_path / f"album_{k:02d}" / "IMG_0.png")
    with pytest.raises(FolderError) as error:
        check_folder(tmp_path)
    first = str(error.value).splitlines()[0]
    assert first == ("every class needs at least 10 images TensorFlow decodes; 40 of 40 classes have fewer: "
                     "album_00 (1), album_01 (1), album_02 (1), album_03 (1), album_04 (1) and 35 more "
                     "(every class's count: the error's report.counts).")
    assert len(error.value.report.counts) == 40


@pytest.mark.parametrize("make", [samples.make_sample_folder, samples.make_new_images])
def test_a_folder_holding_only_jupyters_checkpoints_is_used(tmp_path, make):
    """Issue 27: JupyterLab shows a folder holding only .ipynb_checkpoints/ as empty; it was refused."""
    (tmp_path / "mine" / ".ipynb_checkpoints").mkdir(parents=True)
    made = make(tmp_path / "mine", per_class=1, image_size=48)
    root = made if make is samples.make_sample_folder else made[0].parent
    assert root == tmp_path / "mine" and (root / samples.MARKER).is_file()
    assert make(tmp_path / "mine", per_class=1, image_size=48) == made  # and reused after
