"""The three data domains: shapes, ranges, balance, determinism and every error path."""

import numpy as np
import pytest

from course_lib.core import data
from course_lib.core.environment import offline_status


@pytest.mark.parametrize("name", data.DOMAINS)
@pytest.mark.parametrize("channels", [1, 3])
def test_domains_are_float_images_in_unit_range(name, channels):
    x, y = data.load_domain(name, "test", channels=channels)
    assert x.dtype == np.float32 and y.dtype == np.int64
    assert x.shape[1:] == (28, 28, channels) and len(x) == len(y)
    assert 0.0 <= x.min() and x.max() <= 1.0 and x.max() > 0.5
    assert set(np.unique(y)) == set(range(10))


def test_split_sizes_and_class_balance():
    for name, (n_train, n_test) in {"mnist": (4000, 1000), "mnist_m": (4000, 1000),
                                    "digits": (1437, 360)}.items():
        x_train, y_train = data.load_domain(name, "train")
        x_test, y_test = data.load_domain(name, "test")
        assert (len(x_train), len(x_test)) == (n_train, n_test)
        counts = np.bincount(y_test, minlength=10)
        assert counts.max() - counts.min() <= 2, f"{name} test split is not stratified: {counts}"
    assert (np.bincount(data.load_domain("mnist", "train")[1]) == 400).all()


def test_train_and_test_are_disjoint_and_cover_everything():
    labels = data._raw("mnist")[1]
    train = data.split_indices(labels, "train", seed=0)
    test = data.split_indices(labels, "test", seed=0)
    assert not set(train) & set(test)
    assert len(train) + len(test) == len(labels)


def test_same_seed_same_data_other_seed_other_split():
    a_x, a_y = data.load_domain("digits", "train", seed=4)
    b_x, b_y = data.load_domain("digits", "train", seed=4)
    c_x, c_y = data.load_domain("digits", "train", seed=5)
    np.testing.assert_array_equal(a_x, b_x)
    np.testing.assert_array_equal(a_y, b_y)
    assert not np.array_equal(a_y, c_y)


def test_mnist_m_is_made_from_the_same_digits_in_the_same_order():
    x_grey, y_grey = data.load_domain("mnist", "test", seed=2)
    x_colour, y_colour = data.load_domain("mnist_m", "test", seed=2, channels=3)
    np.testing.assert_array_equal(y_grey, y_colour)
    # Where the digit has full ink, |photo - 1| = 1 - photo: the colour image is not grey.
    assert np.abs(x_colour[..., 0] - x_colour[..., 1]).mean() > 0.01


def test_blend_with_photos_is_the_mnist_m_formula():
    digits = np.zeros((3, 28, 28), "float32")
    digits[:, 10:18, 10:18] = 1.0
    photo = np.full((40, 50, 3), 0.25, "float32")
    out = data.blend_with_photos(digits, [photo], seed=0)
    assert out.shape == (3, 28, 28, 3)
    np.testing.assert_allclose(out[:, 0, 0], 0.25)      # background: |0.25 - 0|
    np.testing.assert_allclose(out[:, 12, 12], 0.75)    # ink: |0.25 - 1|


def test_mnist_m_cache_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path))
    data._raw_mnist_m.cache_clear()
    data._raw_mnist.cache_clear()
    try:
        built, _ = data._raw_mnist_m()
        assert len(list(tmp_path.glob("mnist_m_*.npz"))) == 1
        data._raw_mnist_m.cache_clear()
        loaded, _ = data._raw_mnist_m()
        np.testing.assert_array_equal(built, loaded)
        assert not loaded.flags.writeable
    finally:
        data._raw_mnist_m.cache_clear()
        data._raw_mnist.cache_clear()


def test_to_channels():
    grey = np.random.default_rng(0).random((2, 28, 28, 1)).astype("float32")
    rgb = data.to_channels(grey, 3)
    assert rgb.shape == (2, 28, 28, 3)
    np.testing.assert_array_equal(rgb[..., 2], grey[..., 0])
    np.testing.assert_allclose(data.to_channels(rgb, 1), grey, rtol=1e-6)
    with pytest.raises(ValueError, match="1 .grey. or 3"):
        data.to_channels(grey, 2)


def test_few_shot_takes_n_of_every_class():
    x, y = data.load_domain("digits", "train")
    x5, y5 = data.few_shot(x, y, 5, seed=1)
    assert len(x5) == 50 and (np.bincount(y5) == 5).all()
    again = data.few_shot(x, y, 5, seed=1)
    np.testing.assert_array_equal(x5, again[0])


@pytest.mark.parametrize("n, message", [(0, ">= 1"), (2.5, "whole number"), (500, "at most"),
                                        (float("nan"), "whole number")])
def test_few_shot_errors(n, message):
    x, y = data.load_domain("digits", "test")
    with pytest.raises(ValueError, match=message):
        data.few_shot(x, y, n)


def test_few_shot_rejects_mismatched_lengths_empty_sets_and_one_hot_labels():
    x, y = data.load_domain("digits", "test")
    with pytest.raises(ValueError, match="same number of rows"):
        data.few_shot(x[:10], y, 1)
    with pytest.raises(ValueError, match="empty"):
        data.few_shot(x[:0], y[:0], 1)
    with pytest.raises(ValueError, match="one-hot.*argmax"):
        data.few_shot(x, np.eye(10)[y], 1)


def test_validation_split_is_class_balanced_and_disjoint():
    x, y = data.load_domain("digits", "train")
    (x_train, y_train), (x_val, y_val) = data.validation_split(x, y, 5, seed=2)
    assert (np.bincount(y_val) == 5).all() and len(x_train) + len(x_val) == len(x)
    assert not set(map(bytes, x_val)) & set(map(bytes, x_train[:200]))
    with pytest.raises(ValueError, match="n_val_per_class must be below"):
        data.validation_split(x[:30], y[:30], 10)


def test_class_subset_relabels_in_the_given_order():
    x, y = data.load_domain("mnist", "test")
    xs, ys = data.class_subset(x, y, [5, 6, 7, 8, 9])
    assert len(xs) == 500 and set(ys) == {0, 1, 2, 3, 4}
    _, kept = data.class_subset(x, y, [9, 5], relabel=False)
    assert set(kept) == {5, 9}
    _, relabelled = data.class_subset(x, y, [9, 5])
    assert (relabelled[kept == 9] == 0).all()


@pytest.mark.parametrize("classes, message", [([], "empty"), ([1, 1], "repeated"),
                                              ([3, 11], "do not occur")])
def test_class_subset_errors(classes, message):
    x, y = data.load_domain("digits", "test")
    with pytest.raises(ValueError, match=message):
        data.class_subset(x, y, classes)


def test_class_subset_rejects_mismatched_lengths():
    x, y = data.load_domain("digits", "test")
    with pytest.raises(ValueError, match="same number of rows"):
        data.class_subset(x[:5], y, [1, 2])


def test_unknown_domain_split_and_seed_say_what_is_allowed():
    with pytest.raises(ValueError, match="'mnist', 'digits', 'mnist_m'"):
        data.load_domain("svhn")
    with pytest.raises(ValueError, match="'train', 'test'"):
        data.load_domain("mnist", "validation")
    with pytest.raises(ValueError, match="seed must be a whole number from 0"):
        data.load_domain("mnist", "test", seed=-1)
    with pytest.raises(ValueError, match="between 0 and 1"):
        data.split_indices(np.arange(10) % 2, "test", test_fraction=1.5)


def test_offline_status_covers_every_domain():
    status = offline_status()
    assert set(status) == set(data.DOMAINS)
    assert all(s.startswith("ok") for s in status.values())


def test_photo_names_match_the_photos():
    names, photos = data.photo_names(), data.load_photos()
    assert len(names) == len(photos) == len(set(names))
    assert all(p.ndim == 3 and p.shape[2] == 3 and 0 <= p.min() and p.max() <= 1 for p in photos)
