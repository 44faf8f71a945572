"""Feature extraction: cutting, freezing, cached features, heads; the chapter's checks and widget."""

import keras
import numpy as np
import pytest

from course_lib import feature_extraction as fx
from course_lib.experiments import Measured
from course_lib.models import build_cnn


@pytest.fixture(scope="module")
def cnn():
    keras.utils.set_random_seed(0)
    return build_cnn(channels=1, n_classes=10, filters=(4, 4), units=8)


def _images(n, seed=0):
    return np.random.default_rng(seed).random((n, 28, 28, 1)).astype("float32")


def test_cut_is_frozen_and_shares_weights(cnn):
    extractor = fx.cut(cnn, "features_relu")
    assert not extractor.trainable and extractor.trainable_weights == []
    assert extractor.output_shape == (None, 8)
    x = _images(3)
    probe = keras.Model(cnn.input, cnn.get_layer("features_relu").output)
    np.testing.assert_allclose(extractor.predict(x, verbose=0), probe.predict(x, verbose=0))
    assert cnn.trainable, "cutting must not freeze the original model"
    with pytest.raises(ValueError, match="no layer 'conv9'"):
        fx.cut(cnn, "conv9")


def test_features_are_flat_and_cached_once(cnn):
    x = _images(5)
    f = fx.features(fx.cut(cnn, "block2_pool"), x)
    assert f.shape == (5, 5 * 5 * 4) and f.dtype == np.float32
    cache = fx.FeatureCache(cnn)
    first = cache.get("block2_pool", "train", x)
    second = cache.get("block2_pool", "train", x)
    assert first is second and cache.computed == 1
    np.testing.assert_allclose(first, f)
    with pytest.raises(ValueError, match="empty"):
        fx.features(fx.cut(cnn), x[:0])


def test_linear_head_learns_separable_features():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    f = (np.eye(3)[y] * 3 + 0.3 * rng.normal(size=(60, 3))).astype("float32")
    head = fx.train_head(f, y, 3, epochs=100, seed=0)
    assert fx.head_accuracy(head, f, y) == 1.0
    assert len(head.layers) == 2, "a linear probe has only an input and one Dense layer"


def test_train_head_rejects_bad_input():
    f = np.zeros((4, 2), "float32")
    with pytest.raises(ValueError, match="rows"):
        fx.train_head(f, np.zeros(3, "int64"), 2)
    with pytest.raises(ValueError, match="labels must be in 0..1"):
        fx.train_head(f, np.array([0, 1, 2, 0]), 2)
    with pytest.raises(ValueError, match="empty"):
        fx.head_accuracy(None, f[:0], np.zeros(0))


def test_layer_scores_one_number_per_layer(cnn):
    x, y = _images(20), np.arange(20) % 2
    scores = fx.layer_scores(cnn, x, y, x, y, ["block1_pool", "features_relu"], 2)
    assert list(scores) == ["block1_pool", "features_relu"]
    assert all(0.0 <= v <= 1.0 for v in scores.values())
    with pytest.raises(ValueError, match="layers is empty"):
        fx.layer_scores(cnn, x, y, x, y, [], 2)


# ---------------------------------------------------------------- the exercise checks

def test_check_coral_accepts_the_formula_and_rejects_wrong_ones(capsys):
    from course_lib.exercises import feature_extraction as ex

    def right(a, b):
        d = a.shape[1]
        return np.sum((np.cov(a, rowvar=False) - np.cov(b, rowvar=False)) ** 2) / (4 * d * d)

    assert ex.check_coral(right) is True
    assert ex.check_coral(lambda a, b: np.sum((np.cov(a.T) - np.cov(b.T)) ** 2)) is False
    assert ex.check_coral(lambda a, b: 1 / 0) is False
    assert ex.check_coral(None) is False
    assert "ZeroDivisionError" in capsys.readouterr().out


def test_check_best_layer():
    from course_lib.exercises import feature_extraction as ex

    scores = {"block1_pool": 0.5, "features_relu": 0.8}
    assert ex.check_best_layer("features_relu", scores) is True
    assert ex.check_best_layer("block1_pool", scores) is False
    assert ex.check_best_layer(None, scores) is False


# ---------------------------------------------------------------- the widget's logic

def test_adaptation_lab_runs_validates_and_sorts():
    from course_lib.widgets.adaptation import AdaptationLab, adaptation_widget

    calls = []

    def runner(method, weight, epochs):
        calls.append((method, weight, epochs))
        return Measured(0.5 + weight / 10, 1.0)

    lab = AdaptationLab(runner, epochs=1)
    lab.add("source_only", 0.0, 0, 0.55)
    row = lab.run("mmd", 2.0)
    assert row["target_accuracy"] == 0.7 and calls == [("mmd", 2.0, 1)]
    assert list(lab.table()["method"]) == ["mmd", "source_only"]
    with pytest.raises(ValueError, match="unknown method"):
        lab.run("adabn", 0.1)
    with pytest.raises(ValueError, match="must be in"):
        lab.run("dann", 3.0)
    with pytest.raises(ValueError, match="epochs"):
        AdaptationLab(runner, epochs=0)
    panel = adaptation_widget(lab)  # builds without a browser, trains nothing
    assert len(calls) == 1 and panel.children


def test_scratch_model_learns_its_training_images():
    from course_lib import data, models

    x, y = data.few_shot(*data.load_domain("digits", "train"), 10, seed=0)
    model = fx.scratch_model(x, y, n_classes=10, epochs=30, seed=0)
    assert model.output_shape == (None, 10)
    assert models.accuracy(model, x, y) > 0.8


def test_subtask_source_model_names_the_allowed_domains():
    with pytest.raises(ValueError, match="mnist_m"):
        fx.subtask_source_model((0, 1), domain="svhn")
