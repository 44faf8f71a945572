"""Parameter-efficient fine-tuning: Keras's LoRA checked against NumPy, saving merges it, adapters
start as the identity, BitFit trains only biases, and the counts of what each method trains."""

import numpy as np
import pytest

import course_lib

course_lib.setup(0)

import keras  # noqa: E402

from course_lib.core.cnn import build_cnn  # noqa: E402
from course_lib.core.evaluation import predict  # noqa: E402
from course_lib.methods import parameter_efficient as pe  # noqa: E402


@pytest.fixture()
def cnn():
    return build_cnn(channels=1, filters=(4, 8), units=16, seed=0)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).random((16, 28, 28, 1), dtype=np.float32)


def trainable_paths(model):
    """``{"<layer>/<weight>"}`` of the weights that train."""
    return {f"{layer.name}/{v.name}" for layer in model.layers for v in layer.trainable_weights}


def randomise_lora(layer, seed=1):
    """Give B non-zero values (it starts at zero), so the update shows in the output."""
    rng = np.random.default_rng(seed)
    layer.lora_kernel_b.assign(rng.normal(size=layer.lora_kernel_b.shape).astype("float32"))


def test_dense_lora_output_is_x_times_w_plus_scaled_ab_plus_bias():
    layer = keras.layers.Dense(5)
    layer.build((None, 7))
    w, b = layer.kernel.numpy().copy(), np.arange(5, dtype="float32")
    layer.bias.assign(b)
    layer.enable_lora(3, lora_alpha=6)
    randomise_lora(layer)
    a, bb = layer.lora_kernel_a.numpy(), layer.lora_kernel_b.numpy()
    x = np.random.default_rng(2).normal(size=(4, 7)).astype("float32")
    expected = x @ (w + (6 / 3) * a @ bb) + b
    np.testing.assert_allclose(np.asarray(layer(x)), expected, rtol=1e-4, atol=1e-4)


def numpy_conv2d_valid(x, kernel, bias):
    """A 'valid' 2-D convolution (cross-correlation, stride 1) in plain NumPy: (n, h, w, c_in) ->
    (n, h - k + 1, w - k + 1, c_out)."""
    k = kernel.shape[0]
    n, h, w, _ = x.shape
    out = np.zeros((n, h - k + 1, w - k + 1, kernel.shape[-1]))
    for i in range(h - k + 1):
        for j in range(w - k + 1):
            out[:, i, j] = np.einsum("nabc,abcd->nd", x[:, i:i + k, j:j + k], kernel)
    return out + bias


def test_conv_lora_output_is_the_convolution_with_w_plus_scaled_ab():
    layer = keras.layers.Conv2D(4, 3)
    layer.build((None, 6, 6, 2))
    w, b = layer.kernel.numpy().copy(), np.linspace(-1, 1, 4).astype("float32")
    layer.bias.assign(b)
    layer.enable_lora(2, lora_alpha=1)
    randomise_lora(layer)
    a, bb = layer.lora_kernel_a.numpy(), layer.lora_kernel_b.numpy()
    assert a.shape == (3, 3, 2, 2) and bb.shape == (2, 4)
    merged = w + (1 / 2) * np.einsum("hwcr,ro->hwco", a, bb)
    x = np.random.default_rng(3).normal(size=(2, 6, 6, 2)).astype("float32")
    np.testing.assert_allclose(np.asarray(layer(x)), numpy_conv2d_valid(x, merged, b), rtol=1e-4, atol=1e-4)


def test_enable_lora_freezes_the_kernel_only_and_unfreezing_the_model_trains_it_again():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, name="d")])
    model.get_layer("d").enable_lora(2)
    assert trainable_paths(model) == {"d/bias", "d/lora_kernel_a", "d/lora_kernel_b"}
    model.trainable = False
    model.trainable = True  # the flag changes: every variable the layer made trains again
    assert "d/kernel" in trainable_paths(model)


def test_dense_constructor_drops_lora_alpha_but_enable_lora_keeps_it():
    """Keras 3.10-3.15: Dense.build calls enable_lora(rank) without the alpha; Conv passes it."""
    dense = keras.layers.Dense(4, lora_rank=2, lora_alpha=8)
    dense.build((None, 3))
    conv = keras.layers.Conv2D(4, 3, lora_rank=2, lora_alpha=8)
    conv.build((None, 8, 8, 3))
    assert (dense.lora_alpha, conv.lora_alpha) == (2, 8)
    assert pe.with_lora(build_cnn(filters=(4, 8), units=16), rank=2, alpha=8,
                        layers=["features"]).get_layer("features").lora_alpha == 8


def test_saved_lora_model_is_merged_and_predicts_as_the_unmerged_one(cnn, images, tmp_path):
    model = pe.with_lora(cnn, rank=2, alpha=4, layers=["block1_conv", "features", "head"])
    for name in ("block1_conv", "features", "head"):
        randomise_lora(model.get_layer(name), seed=len(name))
    unmerged = predict(model, images)
    assert not np.allclose(unmerged, predict(cnn, images), atol=1e-3)  # the update is there
    model.save(tmp_path / "lora.keras")
    loaded = keras.saving.load_model(tmp_path / "lora.keras")
    # Keras 3.10 reloads a cloned model expecting its input in a list: rewrap it as one tensor in.
    reloaded = keras.Model(loaded.inputs[0], loaded.outputs[0])
    np.testing.assert_allclose(predict(reloaded, images), unmerged, rtol=1e-5, atol=1e-6)
    features = model.get_layer("features")
    w = features._kernel.numpy()
    merged = w + (4 / 2) * features.lora_kernel_a.numpy() @ features.lora_kernel_b.numpy()
    loaded = reloaded.get_layer("features")
    np.testing.assert_allclose(loaded._kernel.numpy(), merged, rtol=1e-5, atol=1e-6)
    assert not loaded.lora_kernel_b.numpy().any()  # the update now lives in the kernel


def test_a_lora_weights_file_loads_into_the_plain_architecture(cnn, images, tmp_path):
    """The file holds W + (alpha/r) A B as the kernel: a model without LoRA reads it as it is."""
    model = pe.with_lora(cnn, rank=2, layers=["block2_conv", "features"])
    randomise_lora(model.get_layer("features"))
    model.save_weights(tmp_path / "lora.weights.h5")
    plain = build_cnn(channels=1, filters=(4, 8), units=16, seed=1)
    plain.load_weights(tmp_path / "lora.weights.h5")
    np.testing.assert_allclose(predict(plain, images), predict(model, images), rtol=1e-5, atol=1e-6)


def test_with_lora_starts_as_the_source_and_trains_only_a_b_and_biases(cnn, images):
    model = pe.with_lora(cnn, rank=2, layers=["block2_conv", "features"])
    np.testing.assert_array_equal(predict(model, images), predict(cnn, images))
    assert trainable_paths(model) == {f"{n}/{v}" for n in ("block2_conv", "features")
                                      for v in ("bias", "lora_kernel_a", "lora_kernel_b")}
    assert cnn.get_layer("features").lora_enabled is False  # the source is untouched
    with pytest.raises(ValueError, match="allowed: block1_conv, block2_conv, features, head"):
        pe.with_lora(cnn, layers=["block1_bn"])


def test_adapters_start_as_the_identity_and_alone_train(cnn, images):
    model = pe.with_adapters(cnn, bottleneck=3)
    np.testing.assert_array_equal(predict(model, images), predict(cnn, images))
    assert {v.path.split("/")[0] for v in model.trainable_weights} == {
        f"{name}_adapter" for name in pe.ADAPTER_AFTER}
    channels = {"block1_pool": 4, "block2_pool": 8, "features_relu": 16}
    expected = sum(c * 3 + 3 + 3 * c + c for c in channels.values())
    assert pe.budget(model, cnn).trainable == expected
    with pytest.raises(ValueError, match="allowed: block1_conv"):
        pe.with_adapters(cnn, after=["nowhere"])


def test_adapter_is_a_residual_bottleneck():
    adapter = pe.Adapter(2)
    h = np.random.default_rng(4).normal(size=(3, 5)).astype("float32")
    adapter.build(h.shape)
    adapter.up.kernel.assign(np.ones((2, 5), dtype="float32"))
    down_w, down_b = adapter.down.kernel.numpy(), adapter.down.bias.numpy()
    expected = h + np.maximum(h @ down_w + down_b, 0) @ np.ones((2, 5))
    np.testing.assert_allclose(np.asarray(adapter(h)), expected, rtol=1e-5, atol=1e-5)
    assert pe.Adapter.from_config(adapter.get_config()).bottleneck == 2


@pytest.mark.parametrize("batchnorm, names", [(False, ("bias",)), (True, ("bias", "gamma", "beta"))])
def test_bitfit_trains_only_what_it_says(cnn, images, batchnorm, names):
    model = pe.bitfit(cnn, batchnorm=batchnorm)
    assert {v.path.split("/")[-1] for v in model.trainable_weights} == set(names)
    np.testing.assert_array_equal(predict(model, images), predict(cnn, images))
    biases = 4 + 8 + 16 + 10
    scale_offset = 2 * (4 + 8 + 16)
    assert pe.budget(model, cnn).trainable == biases + (scale_offset if batchnorm else 0)


def test_bitfit_changes_biases_and_leaves_kernels(cnn, images):
    labels = np.arange(16) % 10
    chosen = pe.tune("bitfit", cnn, (images, labels), (images, labels), steps=4, rates=(1e-1,))
    model = chosen.model
    for name in ("block1_conv", "features", "head"):
        np.testing.assert_array_equal(model.get_layer(name).kernel.numpy(),
                                      cnn.get_layer(name).kernel.numpy())
    assert not np.array_equal(model.get_layer("head").bias.numpy(), cnn.get_layer("head").bias.numpy())
    np.testing.assert_array_equal(model.get_layer("block1_bn").moving_mean.numpy(),
                                  cnn.get_layer("block1_bn").moving_mean.numpy())


def test_budget_counts_share_and_bytes(cnn):
    learnable = sum(int(np.prod(v.shape)) for v in cnn.weights
                    if v.path.split("/")[-1] not in ("moving_mean", "moving_variance"))
    assert pe.learnable_size(cnn) == learnable
    full = pe.budget(pe.build("full", cnn), cnn)
    moving = 2 * (4 + 8 + 16)  # a mean and a variance per BatchNorm channel
    assert (full.trainable, full.share, full.bytes_per_task) == (learnable, 1.0, 4 * (learnable + moving))
    probe = pe.budget(pe.build("probe", cnn), cnn)
    assert probe.trainable == 16 * 10 + 10 and probe.bytes_per_task == 4 * probe.trainable
    lora = pe.budget(pe.with_lora(cnn, rank=2, layers=["features"]), cnn)
    d_in = 5 * 5 * 8
    assert lora.trainable == d_in * 2 + 2 * 16 + 16
    assert lora.share == pytest.approx(lora.trainable / learnable)


def test_lp_ft_fine_tunes_every_weight_from_the_trained_probe(cnn, images):
    labels = np.arange(16) % 10
    data = (images, labels)
    probe = pe.tune("probe", cnn, data, data, steps=3, rates=(1e-2,))
    chosen = pe.tune("lp_ft", cnn, data, data, steps=3, rates=(1e-3,), probe=probe)
    assert pe.budget(chosen.model, cnn).share == 1.0
    assert not np.array_equal(chosen.model.get_layer("block1_conv").kernel.numpy(),
                              cnn.get_layer("block1_conv").kernel.numpy())
    assert chosen.model is not probe.model


def test_build_rejects_unknown_methods(cnn):
    with pytest.raises(ValueError, match="allowed: 'probe', 'full', 'bitfit', 'lora', 'adapters'"):
        pe.build("prompt", cnn)


def test_a_task_file_holds_what_the_task_changed_and_restores_it(cnn, images, tmp_path):
    model = pe.with_lora(cnn, rank=2, layers=["features", "head"])
    randomise_lora(model.get_layer("features"))
    model.get_layer("head").bias.assign(np.linspace(0, 1, 10).astype("float32"))
    path = pe.save_task_weights(model, tmp_path / "task.npz")
    with np.load(path) as stored:
        assert sum(stored[name].nbytes for name in stored.files) == pe.budget(model, cnn).bytes_per_task
    fresh = pe.with_lora(cnn, rank=2, layers=["features", "head"])
    assert not np.allclose(predict(fresh, images), predict(model, images), atol=1e-4)
    pe.load_task_weights(fresh, path)
    np.testing.assert_array_equal(predict(fresh, images), predict(model, images))
    with pytest.raises(ValueError, match="does not fit this model"):
        pe.load_task_weights(pe.with_adapters(cnn), path)
    with pytest.raises(ValueError, match="must end in .npz"):
        pe.save_task_weights(model, tmp_path / "task.keras")


def test_an_adapted_model_saves_and_loads_with_its_adapters(cnn, images, tmp_path):
    model = pe.with_adapters(cnn, bottleneck=3, after=["block2_pool"])
    model.get_layer("block2_pool_adapter").up.kernel.assign(np.full((3, 8), 0.5, dtype="float32"))
    model.save(tmp_path / "adapters.keras")
    loaded = keras.saving.load_model(tmp_path / "adapters.keras")
    reloaded = keras.Model(loaded.inputs[0], loaded.outputs[0])  # Keras 3.10: see the LoRA test
    np.testing.assert_allclose(predict(reloaded, images), predict(model, images), rtol=1e-5, atol=1e-6)
