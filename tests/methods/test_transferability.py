"""course_lib.transferability: shuffled labels, probes, transplanting k blocks, the curve."""

import numpy as np
import pytest

from course_lib import transferability as tr
from course_lib.models import build_cnn


@pytest.fixture(scope="module")
def base():
    import keras

    keras.utils.set_random_seed(1)
    return build_cnn(n_classes=5, name="task_a")


@pytest.fixture(scope="module")
def toy():
    rng = np.random.default_rng(0)
    x = rng.random((40, 28, 28, 1), dtype=np.float32)
    y = np.tile(np.arange(5), 8)
    return x, y


def test_shuffled_labels_keep_the_counts_and_lose_the_order():
    y = np.repeat(np.arange(10), 50)
    s = tr.shuffled_labels(y, seed=0)
    assert np.array_equal(np.bincount(s), np.bincount(y))
    assert np.mean(s == y) < 0.3
    assert np.array_equal(s, tr.shuffled_labels(y, seed=0))
    with pytest.raises(ValueError, match="non-empty"):
        tr.shuffled_labels(np.array([]))


@pytest.mark.parametrize("k, names", [
    (0, []), (1, ["block1_conv", "block1_bn"]),
    (3, ["block1_conv", "block1_bn", "block2_conv", "block2_bn", "features", "features_bn"])])
def test_copied_layers_follow_the_blocks(k, names):
    assert tr.copied_layers(k) == names


@pytest.mark.parametrize("k", [-1, 4, 1.5, True, "2"])
def test_k_out_of_range_is_a_clear_error(base, k):
    with pytest.raises((ValueError, TypeError)):
        tr.transplant(base, k, n_classes=5)


def test_k_error_names_the_blocks(base):
    with pytest.raises(ValueError, match="0 to 3.*block1, block2, features"):
        tr.transplant(base, 4, n_classes=5)


@pytest.mark.parametrize("fine_tune", [False, True])
def test_transplant_copies_the_first_k_blocks_only(base, fine_tune):
    model = tr.transplant(base, 2, n_classes=5, fine_tune=fine_tune, seed=3)
    for name in tr.copied_layers(2):
        for a, b in zip(model.get_layer(name).get_weights(), base.get_layer(name).get_weights()):
            assert np.array_equal(a, b)
        assert model.get_layer(name).trainable is fine_tune
    assert not np.array_equal(model.get_layer("features").get_weights()[0],
                              base.get_layer("features").get_weights()[0])
    assert model.get_layer("features").trainable and model.get_layer("head").trainable
    assert model.output_shape[-1] == 5


def test_layer_transfer_curve_shares_the_scratch_run_and_plots(base, toy):
    curve = tr.layer_transfer_curve(base, toy, toy, ks=(0, 2), steps=2)
    assert set(curve) == {"frozen", "fine-tuned"}
    assert curve["frozen"][0] == curve["fine-tuned"][0]
    assert all(0 <= v <= 1 for points in curve.values() for v in points.values())
    ax = tr.transfer_plot(curve)
    assert len(ax.lines) == 2
    with pytest.raises(ValueError, match="empty"):
        tr.transfer_plot({})
    with pytest.raises(ValueError, match="ks is empty"):
        tr.layer_transfer_curve(base, toy, toy, ks=())


def test_probe_accuracy_is_an_accuracy(toy):
    x, y = toy
    acc = tr.probe_accuracy(tr.random_cnn(0), (x, y), (x, y), n_classes=5)
    assert 0 <= acc <= 1


def test_fine_tuned_ks_limits_the_fine_tuned_runs(base, toy):
    curve = tr.layer_transfer_curve(base, toy, toy, ks=(0, 2), steps=1, fine_tuned_ks=(2,))
    assert sorted(curve["frozen"]) == [0, 2] and sorted(curve["fine-tuned"]) == [2]
    with pytest.raises(ValueError, match="must be among ks"):
        tr.layer_transfer_curve(base, toy, toy, ks=(0, 2), fine_tuned_ks=(3,))
