"""course_lib.target_data: validation split, augmentation, imbalance, label mismatch."""

import numpy as np
import pytest

from course_lib import target_data as td


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.random((100, 28, 28, 1), dtype=np.float32)
    y = np.repeat(np.arange(10), 10)
    return x, y


def test_validation_split_is_balanced_and_disjoint(data):
    (xt, yt), (xv, yv) = td.validation_split(*data, n_val_per_class=3)
    assert np.array_equal(np.bincount(yv), [3] * 10) and len(yt) == 70
    rows = lambda a: {a[i].tobytes() for i in range(len(a))}  # noqa: E731
    assert not rows(xt) & rows(xv)
    with pytest.raises(ValueError, match="must be below"):
        td.validation_split(*data, n_val_per_class=10)


def test_augmenter_changes_training_images_only(data):
    x = data[0][:4]
    aug = td.augmenter(seed=0)
    assert np.allclose(np.asarray(aug(x, training=False)), x)
    assert not np.allclose(np.asarray(aug(x, training=True)), x)
    with pytest.raises(ValueError, match="rotation"):
        td.augmenter(rotation=0.7)


def test_with_augmentation_shares_the_weights():
    from course_lib.models import build_cnn

    model = build_cnn(filters=(4, 8), units=16)
    wrapped = td.with_augmentation(model)
    assert wrapped.output_shape == model.output_shape
    assert wrapped.count_params() == model.count_params()


def test_early_stopping_restores_the_best_weights():
    cb = td.early_stopping(3)
    assert cb.patience == 3 and cb.restore_best_weights and cb.monitor == "val_loss"
    with pytest.raises(ValueError):
        td.early_stopping(-1)


def test_imbalanced_subset_takes_the_counts(data):
    x, y = td.imbalanced_subset(*data, {0: 8, 1: 2, 5: 1})
    assert sorted(np.unique(y, return_counts=True)[1].tolist()) == [1, 2, 8]
    with pytest.raises(ValueError, match="class 1 has 10 images, asked for 11"):
        td.imbalanced_subset(*data, {1: 11})
    with pytest.raises(ValueError, match=">= 1"):
        td.imbalanced_subset(*data, {1: 0})
    with pytest.raises(ValueError, match="empty"):
        td.imbalanced_subset(*data, {})


def test_per_class_accuracy_and_missing_classes():
    acc = td.per_class_accuracy([0, 0, 1, 1], [0, 1, 1, 1], n_classes=3)
    assert acc[0] == 0.5 and acc[1] == 1.0 and np.isnan(acc[2])
    with pytest.raises(ValueError, match="same length"):
        td.per_class_accuracy([0, 1], [0])


def test_balanced_resample_equalises_the_classes(data):
    x, y = td.imbalanced_subset(*data, {0: 8, 1: 2})
    xb, yb = td.balanced_resample(x, y)
    assert np.array_equal(np.bincount(yb), [8, 8])
    with pytest.raises(ValueError, match="non-empty"):
        td.balanced_resample(x[:0], y[:0])


def test_label_mismatch_helpers():
    p = np.array([[0.1, 0.2, 0.7], [0.6, 0.3, 0.1], [0.2, 0.5, 0.3]])
    assert td.outside_share(p, [0, 1]) == pytest.approx(1 / 3)
    assert td.restrict_predictions(p, [0, 1]).tolist() == [1, 0, 1]
    with pytest.raises(ValueError, match="outputs of the model"):
        td.restrict_predictions(p, [0, 3])
    with pytest.raises(ValueError, match="non-empty"):
        td.outside_share(p, [])


def test_imbalance_plot_draws_every_class():
    ax = td.imbalance_plot({"a": np.linspace(0, 1, 10), "b": np.ones(10)}, counts=np.arange(10))
    assert len(ax.patches) == 20
    with pytest.raises(ValueError):
        td.imbalance_plot({})
