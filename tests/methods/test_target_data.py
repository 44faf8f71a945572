"""course_lib.methods.target_data: augmentation, early stopping, imbalance, class weights, label mismatch."""

import keras
import numpy as np
import pytest

from course_lib.core.cnn import build_cnn
from course_lib.core.training import fit
from course_lib.methods import target_data as td


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.random((100, 28, 28, 1), dtype=np.float32)
    y = np.repeat(np.arange(10), 10)
    return x, y


def test_augmenter_changes_training_images_only(data):
    x = data[0][:4]
    augment = td.augmenter(seed=0)
    assert np.allclose(np.asarray(augment(x, training=False)), x)
    assert not np.allclose(np.asarray(augment(x, training=True)), x)
    with pytest.raises(ValueError, match="rotation must be below 0.5"):
        td.augmenter(rotation=0.6)
    with pytest.raises(ValueError, match="zoom must be >= 0"):
        td.augmenter(zoom=-0.1)


def test_with_augmentation_trains_the_wrapped_model(data):
    model = build_cnn(seed=0)
    before = model.get_layer("block1_conv").get_weights()[0].copy()
    wrapped = td.with_augmentation(model, td.augmenter(seed=0))
    assert wrapped.get_layer("augment") and wrapped.input_shape == model.input_shape
    fit(wrapped, data, steps=2, batch_size=16)
    assert not np.allclose(model.get_layer("block1_conv").get_weights()[0], before)


def test_early_stopping_goes_back_to_the_lowest_validation_loss():
    stopper = td.early_stopping(patience=2)
    assert isinstance(stopper, keras.callbacks.EarlyStopping)
    assert stopper.monitor == "val_loss" and stopper.patience == 2 and stopper.restore_best_weights
    with pytest.raises(ValueError, match="patience"):
        td.early_stopping(-1)


def test_imbalanced_subset_takes_the_counts_asked(data):
    x, y = td.imbalanced_subset(*data, {0: 7, 3: 2}, seed=1)
    assert sorted(np.bincount(y, minlength=10)[[0, 3]]) == [2, 7] and len(y) == 9
    with pytest.raises(ValueError, match="class 0 has 10 images, asked for 11"):
        td.imbalanced_subset(*data, {0: 11})
    with pytest.raises(ValueError, match="whole number"):
        td.imbalanced_subset(*data, {0: 0})
    with pytest.raises(ValueError, match="counts is empty"):
        td.imbalanced_subset(*data, {})


def test_balanced_resample_repeats_the_rare_classes(data):
    x, y = td.imbalanced_subset(*data, {0: 8, 1: 2, 2: 4}, seed=0)
    xb, yb = td.balanced_resample(x, y, seed=0)
    assert np.array_equal(np.bincount(yb), [8, 8, 8])
    rows = {x[i].tobytes() for i in range(len(x))}
    assert all(xb[i].tobytes() in rows for i in range(len(xb)))  # only images it was given


def test_class_weights_give_every_class_the_same_total():
    y = np.array([0] * 6 + [1] * 3 + [4] * 1)
    weights = td.class_weights(y)
    assert weights == pytest.approx({0: 10 / 18, 1: 10 / 9, 4: 10 / 3})
    totals = [weights[c] * np.sum(y == c) for c in weights]
    assert totals == pytest.approx([10 / 3] * 3)
    assert np.mean([weights[c] for c in y]) == pytest.approx(1.0)


def test_class_weighted_loss_is_what_keras_class_weight_computes():
    rng = np.random.default_rng(0)
    y = np.array([0, 0, 0, 1, 2, 2])
    p = rng.dirichlet(np.ones(3), size=6).astype("float32")
    weights = {0: 0.5, 1: 3.0, 2: 1.0}
    ours = float(td.ClassWeightedLoss(weights, n_classes=3)(y, p))
    per_image = -np.log(p[np.arange(6), y])
    assert ours == pytest.approx(np.mean([weights[c] * v for c, v in zip(y, per_image)]), rel=1e-5)
    plain = keras.losses.SparseCategoricalCrossentropy()(y, p, sample_weight=np.array([weights[c] for c in y]))
    assert ours == pytest.approx(float(plain), rel=1e-5)


def test_class_weighted_loss_rejects_bad_weights():
    with pytest.raises(ValueError, match="weight of class 1"):
        td.ClassWeightedLoss({1: 0.0}, n_classes=3)
    with pytest.raises(ValueError, match="a class in weights"):
        td.ClassWeightedLoss({5: 1.0}, n_classes=3)


def test_outside_share_and_restricted_predictions():
    p = np.array([[0.6, 0.1, 0.3], [0.1, 0.2, 0.7], [0.2, 0.5, 0.3], [0.1, 0.1, 0.8]])
    assert td.outside_share(p, [0, 1]) == 0.5
    assert np.array_equal(td.restrict_predictions(p, [0, 1]), [0, 1, 1, 0])
    with pytest.raises(ValueError, match="outputs of the model"):
        td.outside_share(p, [0, 3])
    with pytest.raises(ValueError, match="without repeats"):
        td.restrict_predictions(p, [1, 1])
    with pytest.raises(ValueError, match=r"\(n, K\)"):
        td.outside_share(np.array([0.2, 0.8]), [0])
