"""Chapter 08's input pipeline: the split, decoding once, new batches every epoch, the cache.

Issue 17: ``image_dataset_from_directory(...).cache()`` cached shuffled *batches*, so every
epoch after the first served the first epoch's batches again; here the cache holds decoded
images, and shuffling and batching come after it.
"""

import numpy as np
import pytest
from PIL import Image

import course_lib

course_lib.setup(0)

from course_lib.methods.own_images import pipeline  # noqa: E402
from course_lib.methods.own_images.folder import check_folder  # noqa: E402
from methods.own_images_fixtures import make_squares  # noqa: E402


@pytest.fixture()
def report(tmp_path):
    return check_folder(make_squares(tmp_path / "squares", per_class=20, size=24))


def _contents(batch):
    """A batch as a set of image fingerprints (their pixel sums)."""
    return frozenset(np.asarray(batch).reshape(len(batch), -1).sum(axis=1).tolist())


def test_split_is_class_balanced_disjoint_and_complete(report):
    splits = pipeline.split_files(report, validation_share=0.2, test_share=0.25, seed=3)
    assert {name: len(s) for name, s in splits.items()} == {"train": 33, "validation": 12, "test": 15}
    assert np.bincount(splits["validation"].labels).tolist() == [4, 4, 4]
    assert np.bincount(splits["test"].labels).tolist() == [5, 5, 5]
    every = [p for s in splits.values() for p in s.paths]
    assert sorted(every) == sorted(report.files_and_labels()[0])  # each file in exactly one part
    for split in splits.values():  # each file keeps its own class
        assert all(report.class_names[k] == p.parent.name for p, k in zip(split.paths, split.labels))
    again = pipeline.split_files(report, validation_share=0.2, test_share=0.25, seed=3)
    assert again["test"].paths == splits["test"].paths


@pytest.mark.parametrize("shares", [(0.0, 0.2), (0.5, 0.5), (0.2, 1.5)])
def test_split_rejects_shares_that_leave_nothing(report, shares):
    with pytest.raises(ValueError, match="share"):
        pipeline.split_files(report, *shares)


def test_every_epoch_gives_every_image_once_in_new_batches(report):
    split = pipeline.split_files(report, seed=0)["train"]
    data = pipeline.dataset(split, 32, batch_size=8, training=True, seed=0)
    epochs = [[_contents(x) for x, _ in data] for _ in range(3)]
    n_batches = len(split) // 8
    for batches in epochs:
        assert len(batches) == n_batches and all(len(b) == 8 for b in batches)
        assert len(frozenset().union(*batches)) == n_batches * 8  # no image twice in an epoch
    assert not set(epochs[0]) & set(epochs[1]) and not set(epochs[1]) & set(epochs[2])


def test_images_are_decoded_once_then_read_from_the_cache(report, tmp_path):
    """After the first epoch the files can go: the later epochs never read them again."""
    split = pipeline.split_files(report, seed=0)["train"]
    for cache_file in ("", str(tmp_path / "cache" / "train")):
        (tmp_path / "cache").mkdir(exist_ok=True)
        data = pipeline.dataset(split, 32, batch_size=6, training=True, cache_file=cache_file)
        assert len(split) % 6 == 0  # no image left out of an epoch
        first = sorted(v for x, _ in data for v in _contents(x))
        saved = {p: p.read_bytes() for p in split.paths}
        for p in split.paths:
            p.write_bytes(b"gone")
        try:
            again = sorted(v for x, _ in data for v in _contents(x))
        finally:
            for p, content in saved.items():
                p.write_bytes(content)
        assert again == first
    assert sorted(p.name for p in (tmp_path / "cache").iterdir())[:1] == ["train.data-00000-of-00001"]


def test_validation_batches_split_evenly_over_replicas(report):
    split = pipeline.split_files(report, validation_share=0.45, test_share=0.1, seed=0)["validation"]
    assert len(split) == 27
    sizes = [len(x) for x, _ in pipeline.dataset(split, 32, batch_size=8, training=False, replicas=2)]
    assert sizes == [8, 8, 8, 3]  # every batch has an image for each replica
    sizes = [len(x) for x, _ in pipeline.dataset(split, 32, batch_size=64, training=False, replicas=2)]
    assert sizes == [26]  # a set smaller than a batch: a first batch that splits evenly (one image left out)
    assert [len(x) for x, _ in pipeline.dataset(split, 32, batch_size=64, training=False)] == [27]


def test_images_are_cropped_at_the_centre_and_resized(tmp_path):
    wide = np.zeros((40, 120, 3), "uint8")
    wide[:, :40] = (255, 0, 0)   # left third: cropped away
    wide[:, 40:80] = (0, 0, 255)  # the centre square
    wide[:, 80:] = (0, 255, 0)   # right third: cropped away
    Image.fromarray(wide).save(tmp_path / "wide.png")
    image = pipeline.load_image(str(tmp_path / "wide.png"), 32).numpy()
    assert image.shape == (32, 32, 3) and image.dtype == np.uint8
    assert (image[..., 2] == 255).all() and image[..., :2].max() == 0
    loaded = pipeline.load_images([tmp_path / "wide.png"], 32)
    assert loaded.dtype == np.float32 and np.array_equal(loaded[0], image)


def test_the_cache_goes_to_disk_when_the_images_do_not_fit_in_memory():
    assert pipeline.cache_place(1000, 96) == "memory"  # 28 MB
    assert pipeline.cache_place(50_000, 96) == "disk"  # 1.4 GB
    assert pipeline.cache_place(50_000, 96, cache="memory") == "memory"
    with pytest.raises(ValueError, match="unknown cache 'ram'"):
        pipeline.cache_place(10, 96, cache="ram")


def test_images_per_second_counts_every_pass(report):
    split = pipeline.split_files(report, seed=0)["train"]
    rates = pipeline.images_per_second(pipeline.dataset(split, 32, 8, training=True), epochs=2)
    assert len(rates) == 2 and min(rates) > 0


def test_a_large_jpeg_is_decoded_small_and_looks_the_same(tmp_path):
    """A 1600 x 1200 photo for 96-pixel training decodes at 1/8 (200 x 150 pixels to make, not
    1600 x 1200) and gives the image a full decode and an antialiased resize give."""
    import tensorflow as tf

    from course_lib.methods.own_images.folder import decode_file

    yy, xx = np.mgrid[:1200, :1600]
    smooth = np.stack([xx / 1600 * 255, yy / 1200 * 255, (xx + yy) % 400 / 400 * 255], axis=-1)
    Image.fromarray(smooth.astype("uint8")).save(tmp_path / "photo.jpg", quality=95)
    assert decode_file(tmp_path / "photo.jpg", min_side=96).shape == (150, 200, 3)
    assert decode_file(tmp_path / "photo.jpg").shape == (1200, 1600, 3)
    full = tf.image.resize(decode_file(tmp_path / "photo.jpg")[:, 200:1400], (96, 96), antialias=True)
    fast = pipeline.load_image(str(tmp_path / "photo.jpg"), 96).numpy().astype("float32")
    assert np.abs(fast - full.numpy()).mean() < 2.0  # of 255 levels
