"""Source-free adaptation: AdaBN (methods.batchnorm) and information maximisation (methods.source_free)."""

import inspect

import keras
import numpy as np
import pytest

from course_lib.core import training
from course_lib.core.cnn import build_cnn
from course_lib.core.layers import batchnorm_layers
from course_lib.methods import batchnorm, source_free


def _images(n=96, seed=0, shift=0.0):
    rng = np.random.default_rng(seed)
    return (rng.random((n, 28, 28, 1)) * 0.5 + shift).astype("float32")


def _weights_by_name(model):
    return {f"{layer.name}/{w.name}": w.numpy().copy() for layer in model.layers for w in layer.weights}


def _bn_input_stats(model, layer, x):
    h = np.asarray(keras.Model(model.input, layer.input)(x, training=False), dtype="float64")
    axes = tuple(range(h.ndim - 1))
    return h.mean(axis=axes), h.var(axis=axes)


def test_adabn_sets_every_batchnorm_to_the_target_statistics_and_changes_nothing_else():
    model = build_cnn(seed=0)
    x = _images(shift=0.3)
    before = _weights_by_name(model)
    adapted = batchnorm.adabn(model, x)
    bns = batchnorm_layers(adapted)
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
    drift = batchnorm.statistics_drift(batchnorm.moving_statistics(model),
                                       batchnorm.moving_statistics(adapted))
    assert set(drift) == {"block1_bn", "block2_bn", "features_bn"} and min(drift.values()) > 0


@pytest.mark.parametrize("bad, message", [
    (lambda x: np.round(x[..., 0] * 255).astype("uint8"), r"x_target has dtype uint8.*/ 255"),  # keras.datasets
    (lambda x: np.repeat(x, 3, axis=-1), r"x_target has 3-channel images.*data.to_channels\(x_target, 1\)"),
])
def test_adabn_refuses_0_255_and_rgb_images_in_one_line(bad, message):
    """Issue 27: AdaBN took (n, 28, 28) 0-255 images and re-estimated the statistics on them."""
    with pytest.raises(ValueError, match=message) as error:
        batchnorm.adabn(build_cnn(filters=(4, 4), units=8), bad(_images(8)))
    assert "\n" not in str(error.value) and len(str(error.value)) < 300


def test_plain_keras_adabn_with_momentum_zero_gives_the_same_statistics():
    """What the notebook shows: one training-mode pass in one batch, momentum 0."""
    model = build_cnn(seed=1)
    x = _images(64, seed=4, shift=0.2)
    want = batchnorm.moving_statistics(batchnorm.adabn(model, x))
    for layer in batchnorm_layers(model):
        layer.momentum = 0.0
    model(x, training=True)
    got = batchnorm.moving_statistics(model)
    for name in want:
        np.testing.assert_allclose(got[name][0], want[name][0], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(got[name][1], want[name][1], rtol=1e-3, atol=1e-5)


def test_information_maximisation_loss_prefers_confident_and_diverse_predictions():
    k = 10
    eye = np.eye(k, dtype="float32")
    confident_diverse = eye[np.arange(50) % k]
    uniform = np.full((50, k), 1 / k, dtype="float32")
    collapsed = eye[np.zeros(50, dtype=int)]
    loss = lambda p, w=1.0: float(source_free.information_maximisation_loss(p, w))  # noqa: E731
    np.testing.assert_allclose(loss(confident_diverse), -np.log(k), atol=1e-3)
    np.testing.assert_allclose(loss(uniform), 0.0, atol=1e-4)  # log K - log K
    np.testing.assert_allclose(loss(collapsed), 0.0, atol=1e-3)
    # Without the diversity term, collapse looks as good as the right answer.
    np.testing.assert_allclose(loss(collapsed, 0.0), loss(confident_diverse, 0.0), atol=1e-4)
    np.testing.assert_allclose(float(source_free.entropy(uniform[0])), np.log(k), rtol=1e-5)


@pytest.mark.parametrize("call, message", [
    (lambda: source_free.information_maximisation_loss(np.ones(10) / 10), "batch, n_classes"),
    (lambda: source_free.information_maximisation_loss(np.ones((4, 10)) / 10, -1.0), "diversity_weight"),
])
def test_information_maximisation_loss_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


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
    with pytest.raises(ValueError, match="same number of rows"):
        source_free.cluster_pseudo_labels(features[:5], noisy)


def _shot_labels(features, probabilities, reclusterings):
    """SHOT's pseudo-labels as the paper's reference code computes them (tim-learn/SHOT,
    ``obtain_label``), written out in NumPy: a constant 1 appended, L2-normalised features,
    prediction-weighted centroids, the nearest by cosine distance, then hard-label centroids;
    only classes with at least one image (by the predictions, then by the clusters) have one."""
    f = np.hstack([features, np.ones((len(features), 1))])
    f = f / np.sqrt((f ** 2).sum(axis=1, keepdims=True))
    weights, labels = probabilities, probabilities.argmax(axis=1)
    for _ in range(reclusterings + 1):
        kept = np.flatnonzero(np.bincount(labels, minlength=probabilities.shape[1]) > 0)
        centroids = (weights.T @ f / (1e-8 + weights.sum(axis=0)[:, None]))[kept]
        cosine = f @ centroids.T / np.sqrt((centroids ** 2).sum(axis=1))[None, :]
        labels = kept[np.argmin(1 - cosine, axis=1)]
        weights = np.eye(probabilities.shape[1])[labels]
    return labels


def test_cluster_pseudo_labels_recluster_once_as_the_reference_code():
    rng = np.random.default_rng(0)
    features, probabilities = rng.normal(size=(12, 2)), rng.dirichlet(np.ones(3), size=12)
    once = _shot_labels(features, probabilities, reclusterings=1)
    assert (once != _shot_labels(features, probabilities, reclusterings=2)).any()  # the count matters here
    np.testing.assert_array_equal(source_free.cluster_pseudo_labels(features, probabilities), once)


def test_a_class_no_image_is_given_has_no_centroid():
    """An image far from every centroid (negative cosine to all) went to a class with no
    image, whose centroid was zero (similarity 0); the reference keeps only classes with images."""
    features = np.array([[10.0, 0], [10, 1], [9, 0], [0, 10], [1, 10], [0, 9], [-10, -10]])
    probabilities = np.array([[0.9, 0.1, 0]] * 3 + [[0.1, 0.9, 0]] * 3 + [[0.6, 0.4, 0]])
    want = _shot_labels(features, probabilities, reclusterings=1)
    assert set(want) == {0, 1}
    np.testing.assert_array_equal(source_free.cluster_pseudo_labels(features, probabilities), want)


def test_information_maximisation_trains_through_fit_with_its_own_step(monkeypatch):
    calls = []
    real_fit = training.fit
    monkeypatch.setattr(training, "fit",
                        lambda *a, **k: calls.append(type(a[0]).__name__) or real_fit(*a, **k))
    model = build_cnn(seed=0)
    adapted, history = source_free.information_maximisation(model, _images(128, seed=3), epochs=3,
                                                            batch_size=32, progress=None)
    assert calls == ["InformationMaximisation"]
    assert set(history) == {"loss", "entropy", "diversity"}
    assert history["entropy"][-1] < history["entropy"][0]  # the predictions grew surer
    np.testing.assert_allclose(np.array(history["loss"]),
                               np.array(history["entropy"]) - np.array(history["diversity"]), atol=1e-4)
    for a, b in zip(adapted.get_layer("head").get_weights(), model.get_layer("head").get_weights()):
        np.testing.assert_array_equal(a, b)  # the head is the source's hypothesis: frozen
    kernel = lambda m: m.get_layer("block1_conv").get_weights()[0]  # noqa: E731
    assert np.abs(kernel(adapted) - kernel(model)).max() > 0


def test_shot_cluster_labels_are_recomputed_and_logged():
    model = build_cnn(seed=2)
    x = _images(64, seed=5)
    adapted = batchnorm.adabn(model, x)
    trainer = source_free.InformationMaximisation(adapted, len(x), cluster_weight=0.3)
    trainer.update_cluster_labels(x)
    labels = trainer.cluster_labels.numpy()
    assert labels.shape == (64,) and len(np.unique(labels)) > 1
    _, history = source_free.information_maximisation(model, x, epochs=2, batch_size=32,
                                                      cluster_weight=0.3, progress=None)
    assert set(history) == {"loss", "entropy", "diversity", "cluster_loss"}
    assert all(np.isfinite(v) and v > 0 for v in history["cluster_loss"])


def test_callbacks_see_cluster_labels_made_before_each_epoch_from_the_current_model():
    x = _images(64, seed=6)
    seen = []

    class Check(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            features, probabilities = self.model.features_and_predictions(x, training=False)
            want = source_free.cluster_pseudo_labels(np.asarray(features), np.asarray(probabilities))
            seen.append(np.array_equal(self.model.cluster_labels.numpy(), want))

    source_free.information_maximisation(build_cnn(seed=3), x, epochs=2, batch_size=32, cluster_weight=0.1,
                                         callbacks=[Check()], progress=None)
    assert seen == [True, True]


def test_the_step_refuses_data_without_the_image_index():
    trainer = source_free.InformationMaximisation(build_cnn(seed=0), 8)
    training.compile_for_training(trainer)
    with pytest.raises(ValueError, match="'image'"):
        trainer.train_step(_images(8))


@pytest.mark.parametrize("kwargs, message", [
    ({"epochs": 0}, "epochs"), ({"learning_rate": 0}, "learning_rate"),
    ({"diversity_weight": -1}, "diversity_weight"), ({"head": "classifier"}, "no layer 'classifier'"),
    ({"cluster_weight": 0.3, "feature_layer": "nope"}, "no layer 'nope'"),
])
def test_information_maximisation_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        source_free.information_maximisation(build_cnn(), _images(8), progress=None, **kwargs)


def test_information_maximisation_refuses_0_255_images():
    with pytest.raises(ValueError, match="divide by 255"):
        source_free.information_maximisation(build_cnn(), _images(8) * 255, progress=None)


def test_source_free_methods_take_no_source_data(monkeypatch):
    """No source argument and no labels; no data set is loaded."""
    for function in (batchnorm.adabn, batchnorm.reestimate, source_free.information_maximisation):
        names = list(inspect.signature(function).parameters)
        assert names[:2] == ["model", "x_target"]
        assert not [n for n in names if "source" in n or n.startswith("y")], names

    def no_data(*args, **kwargs):
        raise AssertionError("a source-free method loaded a data set")

    monkeypatch.setattr("course_lib.core.data.load_domain", no_data)
    monkeypatch.setattr("course_lib.core.data._raw", no_data)
    adapted, history = source_free.information_maximisation(build_cnn(), _images(64, seed=3), epochs=1,
                                                            batch_size=32, cluster_weight=0.3, progress=None)
    assert len(history["loss"]) == 1 and np.isfinite(history["loss"][0])
