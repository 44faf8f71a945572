"""Feature extraction: the frozen extractor, the feature cache, heads, layer scores."""

import numpy as np
import pytest

from course_lib.core.cnn import build_cnn
from course_lib.core.layers import cut
from course_lib.methods import feature_extraction as fx


@pytest.fixture(scope="module")
def cnn():
    return build_cnn(channels=1, n_classes=10, seed=0, filters=(4, 4), units=8)


def _images(n, seed=0):
    return np.random.default_rng(seed).random((n, 28, 28, 1)).astype("float32")


def test_frozen_extractor_shares_weights_and_leaves_the_model_trainable(cnn):
    extractor = fx.frozen_extractor(cnn, "features_relu")
    assert not extractor.trainable and extractor.trainable_weights == []
    assert cnn.trainable_weights, "cutting must not freeze the original model"
    assert {id(v) for v in extractor.weights} <= {id(v) for v in cnn.weights}
    x = _images(3)
    np.testing.assert_allclose(extractor(x), cut(cnn, "features_relu")(x), rtol=1e-6)
    with pytest.raises(ValueError, match="no layer 'conv9'.*block1_conv"):
        fx.frozen_extractor(cnn, "conv9")


def test_feature_cache_runs_the_network_once_per_layer_and_set(cnn):
    x = _images(5)
    cache = fx.FeatureCache(cnn)
    first = cache.get("block2_pool", "train", x)
    second = cache.get("block2_pool", "train", x)
    assert first is second and cache.computed == 1
    assert first.shape == (5, 5 * 5 * 4) and first.dtype == np.float32
    cache.get("features_relu", "train", x)
    assert cache.computed == 2


def test_linear_head_learns_separable_features():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    f = (np.eye(3)[y] * 3 + 0.3 * rng.normal(size=(60, 3))).astype("float32")
    head = fx.train_head(f, y, 3, steps=100, seed=0)
    assert float(np.mean(head(f).numpy().argmax(axis=1) == y)) == 1.0
    assert [layer.name for layer in head.layers] == ["features_in", "new_head"]


def test_a_head_with_a_hidden_layer_has_one():
    head = fx.build_head(6, 4, hidden_units=5)
    assert [layer.name for layer in head.layers] == ["features_in", "head_hidden", "new_head"]
    assert head.count_params() == 6 * 5 + 5 + 5 * 4 + 4


@pytest.mark.parametrize("labels, message", [(np.zeros(3, "int64"), "same number of rows"),
                                             (np.array([0, 1, 2, 5]), "label 5.*2 outputs")])
def test_train_head_rejects_bad_labels(labels, message):
    with pytest.raises(ValueError, match=message):
        fx.train_head(np.zeros((4, 2), "float32"), labels, 2)


def test_layer_scores_rank_an_informative_layer_above_chance():
    rng = np.random.default_rng(3)
    y = np.repeat(np.arange(2), 30)
    x = rng.random((60, 28, 28, 1)).astype("float32") * 0.2
    x[y == 1, 10:18, 10:18, 0] += 0.8  # class 1 has a bright square
    model = build_cnn(channels=1, n_classes=2, seed=1, filters=(4, 4), units=8)
    scores = fx.layer_scores(model, (x[::2], y[::2]), (x[1::2], y[1::2]), ["block2_pool"], 2, seed=0)
    assert list(scores) == ["block2_pool"] and scores["block2_pool"] > 0.9
    assert fx.linear_probe(model, (x[::2], y[::2]), (x[1::2], y[1::2]), 2, layer="block2_pool") == \
        scores["block2_pool"]
    with pytest.raises(ValueError, match="layers is empty"):
        fx.layer_scores(model, (x, y), (x, y), [], 2)
