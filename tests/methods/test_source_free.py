"""AdaBN and information maximisation: source-free adaptation."""

import inspect

import keras
import numpy as np
import pytest

from course_lib import models, source_free


def _images(n=96, seed=0, shift=0.0):
    rng = np.random.default_rng(seed)
    return (rng.random((n, 28, 28, 1)) * 0.5 + shift).astype("float32")


def _weights_by_name(model):
    return {f"{layer.name}/{w.name}": w.numpy().copy() for layer in model.layers for w in layer.weights}


def _bn_input_stats(model, layer, x):
    h = keras.Model(model.inputs, layer.input).predict(x, verbose=0).astype("float64")
    axes = tuple(range(h.ndim - 1))
    return h.mean(axis=axes), h.var(axis=axes)


def test_adabn_sets_every_batchnorm_to_the_target_statistics_and_changes_nothing_else():
    keras.utils.set_random_seed(0)
    model = models.build_cnn()
    x = _images(shift=0.3)
    before = _weights_by_name(model)
    adapted = source_free.adabn(model, x, batch_size=40)  # batches that do not divide n
    bns = source_free.batchnorm_layers(adapted)
    assert [b.name for b in bns] == ["block1_bn", "block2_bn", "features_bn"]
    for layer in bns:
        mean, var = _bn_input_stats(adapted, layer, x)
        np.testing.assert_allclose(layer.moving_mean.numpy(), mean, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(layer.moving_variance.numpy(), var, rtol=1e-3, atol=1e-5)
        assert not np.allclose(layer.moving_mean.numpy(), 0.0)  # really moved from the initial 0
    after = _weights_by_name(adapted)
    assert after.keys() == before.keys()
    for name, value in after.items():
        if "moving_" not in name:
            np.testing.assert_array_equal(value, before[name])
    for name, value in _weights_by_name(model).items():  # adabn works on a copy
        np.testing.assert_array_equal(value, before[name])


def test_reestimate_handles_batchnorm_inside_a_nested_model():
    keras.utils.set_random_seed(1)
    inner = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(4, 3),
                              keras.layers.BatchNormalization(name="inner_bn")], name="inner")
    inputs = keras.Input((28, 28, 1))
    h = keras.layers.BatchNormalization(name="outer_bn")(keras.layers.Flatten()(inner(inputs)))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(h))
    x = _images(64, seed=2)
    source_free.reestimate_batchnorm(model, x)
    inner_bn = inner.get_layer("inner_bn")
    mean, _ = _bn_input_stats(inner, inner_bn, x)
    np.testing.assert_allclose(inner_bn.moving_mean.numpy(), mean, rtol=1e-4, atol=1e-5)
    outer_bn = model.get_layer("outer_bn")
    mean, var = _bn_input_stats(model, outer_bn, x)
    np.testing.assert_allclose(outer_bn.moving_variance.numpy(), var, rtol=1e-3, atol=1e-5)


def test_adabn_bad_input():
    no_bn = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="no BatchNormalization"):
        source_free.adabn(no_bn, _images(8))
    with pytest.raises(ValueError, match="x_target"):
        source_free.adabn(models.build_cnn(), np.zeros((0, 28, 28, 1), "float32"))
    with pytest.raises(ValueError, match="x_target"):
        source_free.adabn(models.build_cnn(), np.zeros((5, 28, 28), "float32"))
    with pytest.raises(ValueError, match="batch_size"):
        source_free.adabn(models.build_cnn(), _images(8), batch_size=0)


def test_information_maximisation_loss_prefers_confident_and_diverse_predictions():
    k = 10
    eye = np.eye(k, dtype="float32")
    confident_diverse = eye[np.arange(50) % k]
    uniform = np.full((50, k), 1 / k, dtype="float32")
    collapsed = eye[np.zeros(50, dtype=int)]
    loss = lambda p: float(source_free.information_maximisation_loss(p))  # noqa: E731
    assert loss(confident_diverse) < loss(uniform) - 1.0
    assert loss(confident_diverse) < loss(collapsed) - 1.0
    np.testing.assert_allclose(loss(confident_diverse), -np.log(k), atol=1e-3)
    np.testing.assert_allclose(loss(uniform), 0.0, atol=1e-4)  # log K - log K
    # Without the diversity term, collapse looks as good as the right answer.
    plain = lambda p: float(source_free.information_maximisation_loss(p, diversity_weight=0.0))  # noqa: E731
    np.testing.assert_allclose(plain(collapsed), plain(confident_diverse), atol=1e-4)


def test_cluster_pseudo_labels_recover_separated_clusters():
    rng = np.random.default_rng(0)
    centres = np.eye(3) * 5
    labels = np.repeat(np.arange(3), 20)
    features = centres[labels] + rng.normal(0, 0.3, (60, 3))
    noisy = np.full((60, 3), 0.2)
    noisy[np.arange(60), labels] = 0.6
    noisy[:10] = noisy[:10][:, [1, 2, 0]]  # 10 predictions wrong, the clusters fix them
    assert np.mean(noisy.argmax(1) == labels) < 0.9
    np.testing.assert_array_equal(source_free.cluster_pseudo_labels(features, noisy), labels)
    with pytest.raises(ValueError, match="rows"):
        source_free.cluster_pseudo_labels(features[:5], noisy)


@pytest.mark.parametrize("kwargs, message", [
    ({"epochs": 0}, "epochs"), ({"learning_rate": 0}, "learning_rate"),
    ({"diversity_weight": -1}, "diversity_weight"), ({"head": "classifier"}, "no layer 'classifier'"),
    ({"cluster_weight": 0.3, "feature_layer": "nope"}, "no layer 'nope'"),
])
def test_information_maximisation_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        source_free.information_maximisation(models.build_cnn(), _images(8), progress=None, **kwargs)


def test_source_free_methods_take_no_source_data(monkeypatch):
    """No source argument, no data set loaded; information maximisation moves the extractor, not the head."""
    for function in (source_free.adabn, source_free.reestimate_batchnorm,
                     source_free.information_maximisation):
        names = list(inspect.signature(function).parameters)
        assert names[:2] == ["model", "x_target"]
        assert not [n for n in names if "source" in n or n.startswith("y")], names

    def no_data(*args, **kwargs):
        raise AssertionError("a source-free method loaded a data set")

    monkeypatch.setattr("course_lib.data.load_domain", no_data)
    monkeypatch.setattr("course_lib.data._raw", no_data)
    keras.utils.set_random_seed(0)
    model = models.build_cnn()
    adapted, history = source_free.information_maximisation(model, _images(64, seed=3), epochs=2,
                                                            batch_size=32, cluster_weight=0.3, progress=None)
    assert len(history["loss"]) == 2 and all(np.isfinite(history["loss"]))
    for a, b in zip(adapted.get_layer("head").get_weights(), model.get_layer("head").get_weights()):
        np.testing.assert_array_equal(a, b)
    changed = adapted.get_layer("block1_conv").get_weights()[0] - model.get_layer("block1_conv").get_weights()[0]
    assert np.abs(changed).max() > 0
