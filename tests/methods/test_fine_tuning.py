"""Freezing helpers, trainable_summary, the strategies, the probability mapping, BatchNorm."""

import numpy as np
import pytest

import course_lib

course_lib.setup(0)

from course_lib import batchnorm, fine_tuning as ft  # noqa: E402
from course_lib.models import build_cnn  # noqa: E402


@pytest.fixture()
def cnn():
    return build_cnn(channels=1, filters=(4, 8), units=16)


@pytest.fixture(scope="module")
def toy_data():
    rng = np.random.default_rng(0)
    x = rng.random((64, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, size=64)
    return x, y


def test_select_layers_by_each_selector(cnn):
    assert ft.select_layers(cnn, names=["head", "block1_conv"]) == ["block1_conv", "head"]
    assert ft.select_layers(cnn, pattern="block2_") == ["block2_conv", "block2_bn", "block2_relu",
                                                        "block2_pool"]
    assert ft.select_layers(cnn, indices=(1, 3)) == ["block1_conv", "block1_bn"]
    assert ft.select_layers(cnn, blocks="head") == ["head"]


@pytest.mark.parametrize("kwargs, message", [
    ({}, "exactly one"),
    ({"names": ["head"], "pattern": "x"}, "exactly one"),
    ({"names": ["conv9"]}, "block1_conv"),  # the message lists the names that exist
    ({"pattern": "nothing"}, "matches no layer"),
    ({"indices": (5, 2)}, "0 <= start < stop"),
    ({"blocks": ["block7"]}, "block1, block2"),
])
def test_select_layers_rejects_bad_input(cnn, kwargs, message):
    with pytest.raises(ValueError, match=message):
        ft.select_layers(cnn, **kwargs)


def test_freeze_and_unfreeze_change_flags_and_counts(cnn):
    total = cnn.count_params()
    trainable, frozen = ft.parameter_counts(cnn)
    assert trainable + frozen == total
    ft.freeze(cnn, blocks=["block1", "block2", "features"])
    after, _ = ft.parameter_counts(cnn)
    assert after == cnn.get_layer("head").count_params()
    assert not cnn.get_layer("block1_conv").trainable
    ft.unfreeze(cnn, names="block2_conv")
    conv2 = cnn.get_layer("block2_conv").count_params()
    assert ft.parameter_counts(cnn)[0] == after + conv2


def test_trainable_summary_counts_per_layer_and_total(cnn):
    ft.train_only(cnn, ["head"])
    table = ft.trainable_summary(cnn).set_index("layer")
    assert list(table.index[:-1]) == ft.weighted_layers(cnn)
    assert table.loc["head", "trainable_params"] == cnn.get_layer("head").count_params()
    assert table.loc["block1_conv", "trainable_params"] == 0
    # BatchNorm's 4 vectors: all frozen here; moving stats frozen always
    assert table.loc["block1_bn", "frozen_params"] == 4 * 4
    assert table.loc["total", "trainable_params"] + table.loc["total", "frozen_params"] == \
        cnn.count_params()
    ft.train_only(cnn, None)
    table = ft.trainable_summary(cnn).set_index("layer")
    assert table.loc["block1_bn", "trainable_params"] == 2 * 4


@pytest.mark.parametrize("strategy, trainable", [
    ("head", {"head"}),
    ("top", {"block2_conv", "block2_bn", "features", "features_bn", "head"}),
    ("full", {"block1_conv", "block1_bn", "block2_conv", "block2_bn", "features",
              "features_bn", "head"}),
])
def test_build_freezes_as_the_strategy_says(cnn, strategy, trainable):
    model = ft.build(strategy, cnn, seed=0)
    assert {layer.name for layer in model.layers if layer.trainable and layer.weights} == trainable
    # same ten classes: every source weight is kept, the head too
    for name in ("block1_conv", "head"):
        np.testing.assert_array_equal(model.get_layer(name).get_weights()[0],
                                      cnn.get_layer(name).get_weights()[0])


def test_new_head_is_new_and_alone_trainable(cnn):
    model = ft.build("new_head", cnn, seed=0)
    assert [n for n in ft.weighted_layers(model) if model.get_layer(n).trainable] == ["head"]
    assert not np.allclose(model.get_layer("head").get_weights()[0],
                           cnn.get_layer("head").get_weights()[0])
    five = ft.build("full", cnn, n_classes=5, seed=0)  # other classes: a new head anyway
    assert five.output_shape == (None, 5)


def test_build_rejects_unknown_strategy_and_missing_source(cnn):
    with pytest.raises(ValueError, match="allowed: head, top, full, scratch, new_head, mapping"):
        ft.build("everything", cnn)
    with pytest.raises(ValueError, match="needs the source model"):
        ft.build("head", None)


def test_probability_mapping_starts_as_the_source_classifier(cnn, toy_data):
    x, _ = toy_data
    model = ft.probability_mapping_model(cnn, n_classes=10, alpha=1.0)
    assert ft.parameter_counts(model)[0] == 10 * 10 + 10
    p_source = np.asarray(cnn(x, training=False))
    p = np.asarray(model(x, training=False))
    np.testing.assert_allclose(p, np.exp(p_source) / np.exp(p_source).sum(1, keepdims=True),
                               rtol=1e-5)
    with pytest.raises(ValueError, match="alpha"):
        ft.probability_mapping_model(cnn, alpha=0)


def test_fit_trains_only_unfrozen_layers(cnn, toy_data):
    model = ft.build("new_head", cnn, seed=0)
    conv_before = model.get_layer("block2_conv").get_weights()[0].copy()
    head_before = model.get_layer("head").get_weights()[0].copy()
    ft.fit(model, *toy_data, learning_rate=1e-2, steps=4)
    np.testing.assert_array_equal(model.get_layer("block2_conv").get_weights()[0], conv_before)
    assert not np.allclose(model.get_layer("head").get_weights()[0], head_before)


def test_schedule_keeps_the_step_budget():
    assert ft.schedule(150) == (6, 25)
    assert ft.schedule(4) == (1, 4)
    for bad in (0, 2.5):
        with pytest.raises(ValueError, match="steps"):
            ft.schedule(bad)
    with pytest.raises(ValueError, match="non-empty"):
        ft.training_stream(np.zeros((0, 2)), np.zeros(0))


def test_frozen_batchnorm_keeps_its_moving_statistics(cnn, toy_data):
    ft.train_only(cnn, ["head"])
    before = batchnorm.moving_statistics(cnn)
    ft.fit(cnn, *toy_data, learning_rate=1e-2, steps=4)
    drift = batchnorm.statistics_drift(before, batchnorm.moving_statistics(cnn))
    assert max(drift.values()) == 0.0
    assert batchnorm.inference_mode_gap(cnn, toy_data[0][:8]) == 0.0


def test_trainable_batchnorm_moves_its_statistics(cnn, toy_data):
    """The contrast: the mistake (BatchNorm left trainable) changes the statistics."""
    assert "block1_bn" in batchnorm.freeze_all_but_batchnorm(cnn)
    before = batchnorm.moving_statistics(cnn)
    ft.fit(cnn, *toy_data, learning_rate=1e-2, steps=4)
    drift = batchnorm.statistics_drift(before, batchnorm.moving_statistics(cnn))
    assert min(drift.values()) > 0.01
    assert batchnorm.inference_mode_gap(cnn, toy_data[0][:8]) > 1e-3


def test_batchnorm_helpers_reject_models_without_batchnorm():
    import keras

    plain = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="no BatchNormalization"):
        batchnorm.moving_statistics(plain)
    with pytest.raises(ValueError, match="different layers"):
        batchnorm.statistics_drift({"a": None}, {"b": None})


def test_forgetting_table_subtracts_from_before():
    table = ft.forgetting_table([{"strategy": "full", "target_accuracy": 0.7,
                                  "source_accuracy": 0.8}], source_before=0.95)
    assert table.loc[0, "forgotten"] == pytest.approx(0.15)


def test_experiments_are_registered_and_the_curve_plots():
    import matplotlib

    matplotlib.use("Agg")
    from course_lib.experiments import EXPERIMENTS, labels_per_class

    assert {"fine_tuning_strategies", "labels_per_class"} <= set(EXPERIMENTS)
    ax = labels_per_class.curve_plot({"full@3": 0.6, "full@10": 0.7, "scratch@3": 0.3,
                                      "scratch@10": 0.5})
    assert len(ax.lines) == 2


def test_exercise_checks_accept_the_answer_and_never_raise(cnn, capsys):
    from course_lib.exercises import fine_tuning as ex
    from course_lib.learning_rates import layerwise_rates

    assert not ex.check_top_freezing(cnn)  # everything trains
    assert not ex.check_top_freezing("not a model")
    ft.train_only(cnn, ["block2", "features", "head"])
    assert ex.check_top_freezing(cnn)
    for wrong in ({}, None, {"block1": 1e-4, "block2": 1e-2, "features": 1e-3, "head": 1e-3},
                  {"block1": "x", "block2": 1, "features": 1, "head": 1e-3},
                  layerwise_rates(1e-3, factor=2.0)):
        assert not ex.check_rates(wrong)
    assert ex.check_rates(layerwise_rates(1e-3, factor=10 ** (1 / 3)))
    assert "Not yet" in capsys.readouterr().out


def test_feature_change_is_relative_and_checks_shapes():
    assert batchnorm.feature_change(np.ones((2, 3)), np.ones((2, 3))) == 0.0
    assert batchnorm.feature_change(np.ones((2, 3)), 1.5 * np.ones((2, 3))) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="shape"):
        batchnorm.feature_change(np.ones((2, 3)), np.ones((3, 2)))
