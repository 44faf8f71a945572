"""Channel copying: the identities, the report, the errors."""

import numpy as np
import pytest

from course_lib.core.cnn import build_cnn
from course_lib.core.evaluation import predict
from course_lib.methods import channel_copying as cc


def _conv(kernel, rank=2):
    import keras

    conv = {2: keras.layers.Conv2D, 3: keras.layers.Conv3D}[rank](kernel.shape[-1], kernel.shape[:-2])
    conv.build((None,) + (9,) * rank + (kernel.shape[-2],))
    conv.set_weights([kernel, np.zeros(kernel.shape[-1], "float32")])
    return conv


def _images(channels, n=4, seed=0):
    return np.random.default_rng(seed).random((n, 9, 9, channels)).astype("float32")


def test_grey_to_rgb_identity_is_exact():
    kernel = np.random.default_rng(1).normal(size=(3, 3, 1, 5)).astype("float32")
    grey = _images(1)
    rgb_kernel = cc.adapt_kernel(kernel, 3)
    assert rgb_kernel.shape == (3, 3, 3, 5)
    np.testing.assert_allclose(rgb_kernel[..., 0, :], kernel[..., 0, :] / 3)
    out_grey = np.asarray(_conv(kernel)(grey))
    out_rgb = np.asarray(_conv(rgb_kernel)(np.repeat(grey, 3, axis=-1)))
    np.testing.assert_allclose(out_rgb, out_grey, rtol=1e-5, atol=1e-5)


def test_rgb_to_grey_and_n_to_m_keep_outputs_on_repeated_inputs():
    rng = np.random.default_rng(2)
    rgb_kernel = rng.normal(size=(3, 3, 3, 4)).astype("float32")
    grey = _images(1)
    np.testing.assert_allclose(cc.adapt_kernel(rgb_kernel, 1), rgb_kernel.sum(axis=-2, keepdims=True))
    out_rgb = np.asarray(_conv(rgb_kernel)(np.repeat(grey, 3, axis=-1)))
    out_grey = np.asarray(_conv(cc.adapt_kernel(rgb_kernel, 1))(grey))
    np.testing.assert_allclose(out_grey, out_rgb, rtol=1e-5, atol=1e-5)
    kernel_2 = rng.normal(size=(3, 3, 2, 4)).astype("float32")
    out_2 = np.asarray(_conv(kernel_2)(np.repeat(grey, 2, axis=-1)))
    out_5 = np.asarray(_conv(cc.adapt_kernel(kernel_2, 5))(np.repeat(grey, 5, axis=-1)))
    np.testing.assert_allclose(out_5, out_2, rtol=1e-5, atol=1e-5)


def test_inflated_kernel_gives_2d_output_on_a_still_video():
    kernel = np.random.default_rng(3).normal(size=(3, 3, 2, 4)).astype("float32")
    images = _images(2)
    video = np.repeat(images[:, None], 9, axis=1)  # (n, time, 9, 9, 2): one frame repeated
    inflated = cc.inflate_kernel(kernel, 3)
    assert inflated.shape == (3, 3, 3, 2, 4)
    out_2d = np.asarray(_conv(kernel)(images))
    out_3d = np.asarray(_conv(inflated, rank=3)(video))
    for t in range(out_3d.shape[1]):
        np.testing.assert_allclose(out_3d[:, t], out_2d, rtol=1e-5, atol=1e-5)


def test_adapt_and_inflate_reject_bad_input():
    with pytest.raises(ValueError, match="in_channels must be"):
        cc.adapt_kernel(np.zeros((3, 3, 1, 2)), 0)
    with pytest.raises(ValueError, match="at least 3 axes"):
        cc.adapt_kernel(np.zeros((3, 2)), 3)
    with pytest.raises(ValueError, match="2-D conv kernel"):
        cc.inflate_kernel(np.zeros((3, 3, 2)), 3)
    with pytest.raises(ValueError, match="depth must be"):
        cc.inflate_kernel(np.zeros((3, 3, 1, 2)), 1.5)


def test_copied_model_matches_the_grey_model_and_reports_every_layer():
    source = build_cnn(channels=1, name="source")
    target, report = cc.copied_model(source, channels=3, seed=1)
    assert list(report["layer"]) == [layer.name for layer in target.layers]
    status = dict(zip(report["layer"], report["status"]))
    assert status["block1_conv"] == "adapted"
    assert {status[n] for n in ("block1_bn", "block2_conv", "features", "head")} == {"copied"}
    assert status["block1_relu"] == "no weights"
    assert set(report["status"]) <= set(cc.STATUSES)
    grey = _images(1, n=6).repeat(4, axis=1).repeat(4, axis=2)[:, :28, :28]
    np.testing.assert_allclose(predict(target, np.repeat(grey, 3, axis=-1)), predict(source, grey),
                               rtol=1e-4, atol=1e-5)


def test_mismatch_names_the_layer_and_both_shapes_or_leaves_it_new():
    source = build_cnn(channels=1, n_classes=10)
    target = build_cnn(channels=1, n_classes=5)
    with pytest.raises(ValueError, match=r"'head'.*\(128, 10\).*\(128, 5\)"):
        cc.transfer_weights(source, target)
    report = cc.transfer_weights(source, target, on_mismatch="new")
    assert dict(zip(report["layer"], report["status"]))["head"] == "new"
    with pytest.raises(ValueError, match="'block1_conv'"):
        cc.transfer_weights(build_cnn(channels=1, filters=(8, 32)), build_cnn(channels=3))
    with pytest.raises(ValueError, match="unknown on_mismatch"):
        cc.transfer_weights(source, target, on_mismatch="skip")


def test_layers_missing_from_the_source_stay_new():
    import keras

    source = build_cnn(channels=1)
    inputs = keras.Input((28, 28, 3))
    x = keras.layers.Conv2D(16, 3, name="block1_conv")(inputs)
    x = keras.layers.Conv2D(4, 3, name="extra_conv")(x)
    report = cc.transfer_weights(source, keras.Model(inputs, x))
    assert list(report["status"]) == ["no weights", "adapted", "new"]


def test_a_failed_transfer_leaves_the_target_as_it_was():
    source = build_cnn(channels=1, n_classes=10, seed=0)
    target = build_cnn(channels=1, n_classes=5, seed=1)
    before = [w.copy() for w in target.get_weights()]
    with pytest.raises(ValueError, match="'head'"):
        cc.transfer_weights(source, target)
    assert all(np.array_equal(a, b) for a, b in zip(before, target.get_weights()))


def test_copied_model_is_reproducible_and_holds_the_source_head():
    source = build_cnn(channels=1, seed=0)
    a, _ = cc.copied_model(source, channels=3, seed=1)
    b, _ = cc.copied_model(source, channels=3, seed=1)
    for x, y in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(a.get_layer("head").get_weights()[0],
                                  source.get_layer("head").get_weights()[0])


def test_kernels_with_nan_are_refused():
    kernel = np.zeros((3, 3, 1, 2), "float32")
    kernel[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        cc.adapt_kernel(kernel, 3)
