"""The input checks say what was wrong and what is allowed."""

import numpy as np
import pytest

from course_lib.core import checks


@pytest.mark.parametrize("value, message", [(0, ">= 1"), (2.5, "whole number"), (True, "whole number"),
                                            (float("inf"), "whole number"), ("3", "whole number")])
def test_whole_number(value, message):
    with pytest.raises(ValueError, match=message):
        checks.whole_number(value, "n")
    assert checks.whole_number(3.0, "n") == 3 and isinstance(checks.whole_number(3.0, "n"), int)


@pytest.mark.parametrize("value", [0, -1e-3, float("nan"), float("inf"), None])
def test_positive_number_refuses_zero_negative_and_non_finite(value):
    with pytest.raises(ValueError, match="learning_rate"):
        checks.positive_number(value, "learning_rate")
    assert checks.positive_number(0, "weight", allow_zero=True) == 0.0


def test_unit_images_refuses_pixels_nan_and_empty_whatever_the_rank():
    x = np.random.default_rng(0).random((4, 28, 28, 1)).astype("float32")
    assert checks.unit_images(x) is x
    for images in (x, x[..., 0], x[0, ..., 0]):  # a batch, a batch without channels, one image
        with pytest.raises(ValueError, match=r"x has dtype uint8.*astype\('float32'\) / 255"):
            checks.unit_images((images * 255).astype("uint8"))
        with pytest.raises(ValueError, match="0-255 pixels: divide by 255"):
            checks.unit_images(images * 255)
    bad = x.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="1 NaN or infinite"):
        checks.unit_images(bad)
    with pytest.raises(ValueError, match="x holds no images"):
        checks.unit_images(x[:0])


@pytest.mark.parametrize("images, message", [
    (lambda x: x > 0.5, r"dtype bool.*astype\('float32'\)$"),
    (lambda x: (x > 0.5).astype("int32"), r"dtype int32.*astype\('float32'\)$"),  # 0/1: no / 255
    (lambda x: (x * 255).astype("int64"), r"dtype int64.*/ 255 for 0-255 pixels"),
    (lambda x: x.astype(str), "dtype <U.*array of numbers"),
])
def test_unit_images_says_how_to_convert_other_dtypes(images, message):
    x = np.random.default_rng(0).random((4, 28, 28)).astype("float32")
    with pytest.raises(ValueError, match=message):
        checks.unit_images(images(x))
    assert checks.unit_images(x.astype("float16")).dtype == np.float16


def test_labels_refuses_one_hot_negative_fractional_and_too_large():
    assert checks.labels([0, 1, 2], n_classes=3).dtype == np.int64
    with pytest.raises(ValueError, match="one-hot"):
        checks.labels(np.eye(3))
    with pytest.raises(ValueError, match="negative"):
        checks.labels([0, -1])
    with pytest.raises(ValueError, match="whole-number"):
        checks.labels([0.5, 1.0])
    with pytest.raises(ValueError, match="dtype <U4 .first label 'five'.; map class names to numbers"):
        checks.labels(["five", "six"])
    with pytest.raises(ValueError, match="label 10, but the model has 10 outputs .labels 0 to 9."):
        checks.labels([0, 10], n_classes=10)


def test_same_length_names_every_array():
    with pytest.raises(ValueError, match="x has 3, y has 2"):
        checks.same_length(x=[1, 2, 3], y=[1, 2])
