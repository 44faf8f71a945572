"""The course CNN and model surgery: select, freeze, count, cut, split, copy, new head."""

import keras
import numpy as np
import pytest

from course_lib.core import layers
from course_lib.core.cnn import BLOCKS, FEATURE_LAYER, block_table, build_cnn


@pytest.fixture
def cnn():
    return build_cnn(seed=0, filters=(4, 4), units=8)


def test_cnn_layers_carry_the_block_names_in_order():
    model = build_cnn()
    names = [layer.name for layer in model.layers[1:]]
    assert names == [n for block in BLOCKS.values() for n in block]
    assert model.output_shape == (None, 10) and FEATURE_LAYER in names
    assert model.get_layer("block1_bn").momentum == 0.9


def test_cnn_is_the_same_for_the_same_seed():
    a, b, c = build_cnn(seed=3), build_cnn(seed=3), build_cnn(seed=4)
    assert all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))
    assert not np.array_equal(a.get_weights()[0], c.get_weights()[0])


@pytest.mark.parametrize("kwargs, message", [({"channels": 2}, "channels"), ({"n_classes": 1}, "n_classes")])
def test_cnn_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_cnn(**kwargs)


def test_block_table_counts_every_parameter(cnn):
    table = block_table(cnn)
    assert list(table["block"]) == list(BLOCKS) and table["params"].sum() == cnn.count_params()


def test_select_layers_by_each_selector(cnn):
    assert layers.select_layers(cnn, names="head") == ["head"]
    assert layers.select_layers(cnn, pattern="block1_") == list(BLOCKS["block1"])
    assert layers.select_layers(cnn, indices=(1, 3)) == ["block1_conv", "block1_bn"]
    assert layers.select_layers(cnn, blocks=["head", "block2"]) == [*BLOCKS["block2"], "head"]
    for kwargs, message in (({}, "exactly one"), ({"names": ["nope"]}, "no layer 'nope'"),
                            ({"pattern": "zzz"}, "matches no layer"), ({"indices": (3, 1)}, "indices"),
                            ({"blocks": ["block9"]}, "unknown block 'block9'")):
        with pytest.raises(ValueError, match=message):
            layers.select_layers(cnn, **kwargs)


def test_train_only_and_counts(cnn):
    trainable = layers.train_only(cnn, ["head"])
    assert trainable == ["head"]
    head = cnn.get_layer("head").count_params()
    assert layers.parameter_counts(cnn) == (head, cnn.count_params() - head)
    summary = layers.trainable_summary(cnn)
    assert summary.iloc[-1]["trainable_params"] == head
    layers.train_only(cnn)
    bn_stats = sum(int(np.prod(w.shape)) for w in cnn.non_trainable_weights)
    assert layers.parameter_counts(cnn) == (cnn.count_params() - bn_stats, bn_stats)


def test_cut_shares_weights_and_split_copies_them(cnn):
    x = np.random.default_rng(0).random((3, 28, 28, 1)).astype("float32")
    view = layers.cut(cnn, "block2_pool")
    assert {id(v) for v in view.weights} <= {id(v) for v in cnn.weights}
    extractor, classifier = layers.split(cnn, FEATURE_LAYER)
    assert not {id(v) for v in extractor.weights} & {id(v) for v in cnn.weights}
    np.testing.assert_allclose(classifier(extractor(x)), cnn(x), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="no layer 'nope'"):
        layers.split(cnn, "nope")


def test_copy_keeps_weights_and_trainable_flags(cnn):
    layers.freeze(cnn, blocks=["block1"])
    copy = layers.copy_model(cnn)
    assert all(np.array_equal(a, b) for a, b in zip(copy.get_weights(), cnn.get_weights()))
    assert [lay.trainable for lay in copy.layers] == [lay.trainable for lay in cnn.layers]


def test_with_new_head_replaces_only_the_head(cnn):
    new = layers.with_new_head(cnn, n_classes=5, seed=1)
    assert new.output_shape == (None, 5)
    assert np.array_equal(new.get_layer("features").get_weights()[0], cnn.get_layer("features").get_weights()[0])
    assert all(layer.trainable for layer in new.layers)


def test_batchnorm_layers_include_nested_models(cnn):
    inputs = keras.Input((28, 28, 1))
    outer = keras.Model(inputs, cnn(inputs))
    assert [b.name for b in layers.batchnorm_layers(outer)] == ["block1_bn", "block2_bn", "features_bn"]
