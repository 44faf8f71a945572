"""The course CNN, the cached source model and evaluation on domains."""

import numpy as np
import pytest

from course_lib import data, models


def test_cnn_layers_carry_the_block_names_in_order():
    model = models.build_cnn()
    names = [layer.name for layer in model.layers[1:]]
    assert names == [n for block in models.BLOCKS.values() for n in block]
    assert model.output_shape == (None, 10)
    assert models.FEATURE_LAYER in names


def test_cnn_for_rgb_and_other_class_counts():
    model = models.build_cnn(channels=3, n_classes=5)
    assert model.input_shape == (None, 28, 28, 3) and model.output_shape == (None, 5)


@pytest.mark.parametrize("kwargs, message", [({"channels": 2}, "channels"), ({"n_classes": 1}, "n_classes")])
def test_cnn_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        models.build_cnn(**kwargs)


def test_block_table_counts_every_parameter():
    model = models.build_cnn()
    table = models.block_table(model)
    assert list(table["block"]) == list(models.BLOCKS)
    assert table["params"].sum() == model.count_params()


def test_source_model_trains_once_then_loads_from_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path))
    monkeypatch.setitem(models.SOURCE_RECIPE, "epochs", 1)
    first = models.source_model(seed=3, progress=None)
    assert first.source_cached is False
    assert len(list(tmp_path.glob("source_model_*.keras"))) == 1
    second = models.source_model(seed=3, progress=None)
    assert second.source_cached is True
    x, y = data.load_domain("mnist", "test", seed=3)
    np.testing.assert_allclose(first.predict(x[:64], verbose=0), second.predict(x[:64], verbose=0),
                               atol=1e-5)
    assert models.accuracy(second, x, y) > 0.3  # well above chance after one epoch
    # A different recipe is a different cache entry.
    monkeypatch.setitem(models.SOURCE_RECIPE, "epochs", 2)
    assert models._source_path(1, 3) != models._source_path(1, 4)
    assert not models._source_path(1, 3).exists()


def test_accuracy_and_evaluate_on_domains():
    model = models.build_cnn()
    x, y = data.load_domain("digits", "test")
    value = models.accuracy(model, x, y)
    assert 0.0 <= value <= 1.0
    with pytest.raises(ValueError, match="empty"):
        models.accuracy(model, x[:0], y[:0])
    with pytest.raises(ValueError, match="360 images but y has 10"):
        models.accuracy(model, x, y[:10])
    table = models.evaluate_on_domains(model, domains=("digits",))
    assert list(table.columns) == ["domain", "images", "accuracy"]
    assert table.loc[0, "images"] == 360


def test_accuracy_of_a_two_input_model_matches_a_direct_count():
    import keras

    left, right = keras.Input((4,)), keras.Input((4,))
    output = keras.layers.Dense(3, activation="softmax")(keras.layers.Concatenate()([left, right]))
    model = keras.Model([left, right], output)
    rng = np.random.default_rng(0)
    x = [rng.normal(size=(50, 4)).astype("float32") for _ in range(2)]
    y = rng.integers(0, 3, size=50)
    expected = np.mean(np.asarray(model(x)).argmax(axis=1) == y)
    assert models.accuracy(model, x, y, batch_size=16) == pytest.approx(expected)
    with pytest.raises(ValueError, match="different lengths"):
        models.accuracy(model, [x[0], x[1][:10]], y)


def test_cached_model_trains_once_then_loads(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path))
    calls = []

    def train():
        calls.append(1)
        return models.build_cnn(filters=(2, 2), units=4)

    first, loaded_first = models.cached_model("tiny", ("recipe", 1), train)
    second, loaded_second = models.cached_model("tiny", ("recipe", 1), train)
    assert (loaded_first, loaded_second, len(calls)) == (False, True, 1)
    np.testing.assert_array_equal(first.get_layer("head").get_weights()[0],
                                  second.get_layer("head").get_weights()[0])
    models.cached_model("tiny", ("recipe", 2), train)  # another recipe: trained again
    assert len(calls) == 2 and not list(tmp_path.glob("*.tmp*"))


def test_compile_classifier_builds_the_optimizer_so_fit_traces_its_step_once():
    import keras

    model = models.build_cnn(n_classes=3)
    for layer in model.layers[:4]:
        layer.trainable = False
    models.compile_classifier(model)
    assert model.optimizer.built
    # Adam keeps two moments for each trainable weight, none for the frozen ones.
    slots = [v for v in model.optimizer.variables if v.name.endswith(("_momentum", "_velocity"))]
    assert len(slots) == 2 * len(model.trainable_variables)

    traces = []

    class CountingModel(keras.Model):
        def train_step(self, data):
            traces.append(1)
            return super().train_step(data)

    counted = CountingModel(model.inputs, model.outputs)
    models.compile_classifier(counted)
    x = np.zeros((8, 28, 28, 1), "float32")
    counted.fit(x, np.zeros(8, "int64"), batch_size=4, epochs=2, verbose=0)
    assert len(traces) == 1, f"the training step was traced {len(traces)} times"
