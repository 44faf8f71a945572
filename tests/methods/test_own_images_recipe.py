"""Chapter 06's recipe on a generated folder of coloured squares (32x32, the smallest input
the MobileNets take), with randomly initialised backbones: no network, a few seconds each
(the two-stage run is shared by the tests that read it)."""

import numpy as np
import pytest

import course_lib

course_lib.setup(0)

import keras  # noqa: E402

from course_lib.own_images import folder, recipe  # noqa: E402
from tests.test_own_images import make_squares  # noqa: E402


@pytest.fixture(scope="module")
def squares(tmp_path_factory):
    root = make_squares(tmp_path_factory.mktemp("recipe") / "squares", per_class=16)
    train, validation, report = folder.load_folder(root, image_size=32, batch_size=16, seed=0)
    return train, validation, report


def _weights(layer):
    return [np.array(w) for w in layer.weights]


def _changed(before, after):
    return any(not np.array_equal(a, b) for a, b in zip(before, after))


def test_model_layout_and_backbone_in_inference_mode():
    model = recipe.build_transfer_model(3, image_size=32)
    assert [layer.name for layer in model.layers] == ["image", "augmentation", "backbone", "pool",
                                                      "dropout", "head"]
    assert model.output_shape == (None, 3) and not recipe.get_backbone(model).trainable
    node = next(layer for layer in model.get_config()["layers"] if layer["name"] == "backbone")
    assert node["inbound_nodes"][0]["kwargs"]["training"] is False
    augment = [type(layer).__name__ for layer in model.get_layer("augmentation").layers]
    assert augment == ["RandomFlip", "RandomRotation", "RandomZoom"]


def test_mobilenet_v2_gets_its_preprocessing_layer():
    model = recipe.build_transfer_model(2, backbone="MobileNetV2", image_size=32, augment=False)
    assert [layer.name for layer in model.layers][:3] == ["image", "preprocess", "backbone"]


@pytest.mark.parametrize("kwargs, message", [
    ({"n_classes": 1}, "n_classes must be a whole number >= 2"),
    ({"n_classes": 3, "backbone": "VGG16"}, "unknown backbone 'VGG16'; allowed: MobileNetV3Small, MobileNetV2"),
])
def test_build_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        recipe.build_transfer_model(image_size=32, **kwargs)


def test_unfreeze_top_blocks_rejects_impossible_counts():
    model = recipe.build_transfer_model(3, image_size=32)
    n = len(recipe.backbone_blocks(recipe.get_backbone(model)))
    assert n == 11  # MobileNetV3Small: expanded_conv, expanded_conv_1 ... expanded_conv_10
    for bad in (0, n + 1, 1.5):
        with pytest.raises(ValueError, match=f"from 1 to {n}"):
            recipe.unfreeze_top_blocks(model, bad)


def test_random_backbone_features_are_degenerate_until_calibrated(squares):
    x, _ = folder.to_arrays(squares[0])
    model = recipe.build_transfer_model(3, image_size=32)
    features = keras.Model(model.input, model.get_layer("pool").output)
    before = np.asarray(features(x, training=False)).std(axis=0).max()
    assert recipe.calibrate_batchnorm(model, x) == len(recipe.batchnorm_names(recipe.get_backbone(model)))
    after = np.asarray(features(x, training=False)).std(axis=0).max()
    assert before < 1e-4 < 1e-2 < after
    assert not any(layer.trainable for layer in recipe.get_backbone(model).layers)  # flags restored


def _loss(model, x, y):
    """Cross-entropy on (x, y) in inference mode (no augmentation, no dropout)."""
    p = recipe.predict_probabilities(model, x)
    return float(-np.mean(np.log(p[np.arange(len(y)), y] + 1e-7)))


class Snapshots(keras.callbacks.Callback):
    """Weights, trainable flags and the inference-mode loss when each stage starts and ends."""

    def __init__(self, model, x, y):
        super().__init__()
        self.watch, self.x, self.y = model, x, y
        self.taken = []

    def _take(self):
        base = recipe.get_backbone(self.watch)
        self.taken.append({
            "weights": {layer.name: _weights(layer) for layer in [*base.layers, self.watch.get_layer("head")]},
            "trainable": [w.path for w in self.watch.trainable_weights],
            "loss": _loss(self.watch, self.x, self.y)})

    def on_train_begin(self, logs=None):
        self._take()

    def on_train_end(self, logs=None):
        self._take()


@pytest.fixture(scope="module")
def two_stage(squares):
    train, validation, report = squares
    x, y = folder.to_arrays(train)
    model = recipe.build_transfer_model(len(report.class_names), image_size=32, seed=0)
    recipe.calibrate_batchnorm(model, x)
    snapshots = Snapshots(model, x, y)
    result = recipe.two_stage_fit(model, train, None, head_epochs=6, fine_epochs=3, top_blocks=2,
                                  head_learning_rate=3e-3, seed=0, callbacks=[snapshots])
    base = recipe.get_backbone(model)
    return dict(model=model, base=base, first=recipe.backbone_blocks(base)[-2][1], result=result,
                stages=snapshots.taken)  # stage 1 start, end, stage 2 start, end


def test_stage_1_trains_only_the_head(two_stage):
    start, end = two_stage["stages"][0], two_stage["stages"][1]
    assert start["trainable"] == ["head/kernel", "head/bias"]
    assert two_stage["result"]["trainable"]["stage 1"] == 3 * 576 + 3
    assert _changed(start["weights"]["head"], end["weights"]["head"])
    assert not any(_changed(start["weights"][n], end["weights"][n]) for n in start["weights"] if n != "head")


def test_stage_2_unfreezes_the_top_blocks_and_keeps_batchnorm_frozen(two_stage):
    base, first = two_stage["base"], two_stage["first"]
    batchnorm = set(recipe.batchnorm_names(base))
    expected = [layer.name for layer in base.layers[first:]
                if layer.weights and layer.name not in batchnorm]
    unfrozen = two_stage["result"]["unfrozen"]
    assert unfrozen == expected and unfrozen[0].startswith("expanded_conv_9_")
    assert not any(base.get_layer(name).trainable for name in batchnorm)
    assert not any(layer.trainable for layer in base.layers[:first])
    before, after = two_stage["stages"][2]["weights"], two_stage["stages"][3]["weights"]
    assert all(not _changed(before[name], after[name]) for name in batchnorm)  # statistics too
    assert all(not _changed(before[layer.name], after[layer.name]) for layer in base.layers[:first])
    assert any(_changed(before[name], after[name]) for name in expected)
    assert two_stage["result"]["trainable"]["stage 2"] > 100 * two_stage["result"]["trainable"]["stage 1"]


def test_training_reduces_the_loss(two_stage):
    loss = [stage["loss"] for stage in two_stage["stages"]]  # stage 1 start, end, stage 2 start, end
    assert loss[1] < loss[0] - 0.05, loss
    assert loss[3] < loss[2], loss
    history = two_stage["result"]["history"]
    assert two_stage["result"]["head_epochs"] == 6 and len(history["loss"]) == 9


def test_two_stage_fit_checks_its_epochs(squares):
    model = recipe.build_transfer_model(3, image_size=32, augment=False)
    with pytest.raises(ValueError, match="head_epochs >= 1"):
        recipe.two_stage_fit(model, *squares[:2], head_epochs=0)


def test_predict_export_and_reload(two_stage, squares, tmp_path):
    model = two_stage["model"]
    x, y = folder.to_arrays(squares[1])
    probabilities = recipe.predict_probabilities(model, x)
    assert probabilities.shape == (len(x), 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    loaded = recipe.export(model, tmp_path / "model.keras")
    np.testing.assert_allclose(recipe.predict_probabilities(loaded, x), probabilities, atol=1e-5)
    with pytest.raises(ValueError, match="must end in .keras"):
        recipe.export(model, tmp_path / "model.h5")
    paths = sorted(squares[2].images["red"])[:2]
    table = recipe.predict_files(model, paths, squares[2].class_names)
    assert list(table.columns) == ["file", "predicted", "confidence"] and len(table) == 2


def test_a_weights_file_in_keras_cache_is_loaded_into_the_backbone(tmp_path, monkeypatch):
    """The online path without the network: a stand-in for the ImageNet file, in the legacy
    HDF5 layout the real one has, found in Keras's cache and loaded by ``weights=path``."""
    import h5py
    from keras.src.legacy.saving import legacy_h5_format

    from course_lib.own_images import backbone as bb

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(bb, "_open_url", lambda url, timeout: pytest.fail("no download expected"))
    source = keras.applications.MobileNetV3Small(input_shape=(224, 224, 3), include_top=False, weights=None)
    rng = np.random.default_rng(0)
    for w in source.weights:
        w.assign(np.asarray(w) + rng.normal(scale=0.01, size=w.shape).astype("float32"))
    path = bb.weights_file("MobileNetV3Small").path
    path.parent.mkdir(parents=True)
    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, source)
    status = bb.imagenet_weights("MobileNetV3Small", 32)
    assert status.transfer and status.how == "found in Keras's cache"
    model = recipe.build_transfer_model(3, image_size=32, weights_path=status.path)
    loaded = recipe.get_backbone(model).weights
    assert len(loaded) == len(source.weights)
    assert all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(source.weights, loaded))
