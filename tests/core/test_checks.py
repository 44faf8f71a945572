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


def test_unit_images_refuses_pixels_nan_and_wrong_shapes():
    x = np.random.default_rng(0).random((4, 28, 28, 1)).astype("float32")
    assert checks.unit_images(x) is x
    with pytest.raises(ValueError, match="dtype uint8.*/ 255"):
        checks.unit_images((x * 255).astype("uint8"))
    with pytest.raises(ValueError, match="0-255 pixels: divide by 255"):
        checks.unit_images(x * 255)
    bad = x.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="1 NaN or infinite"):
        checks.unit_images(bad)
    with pytest.raises(ValueError, match="batch of images"):
        checks.unit_images(x[0])


def test_labels_refuses_one_hot_negative_fractional_and_too_large():
    assert checks.labels([0, 1, 2], n_classes=3).dtype == np.int64
    with pytest.raises(ValueError, match="one-hot"):
        checks.labels(np.eye(3))
    with pytest.raises(ValueError, match="negative"):
        checks.labels([0, -1])
    with pytest.raises(ValueError, match="whole-number"):
        checks.labels([0.5, 1.0])
    with pytest.raises(ValueError, match="label 10, but the model has 10 outputs .labels 0 to 9."):
        checks.labels([0, 10], n_classes=10)


def test_same_length_names_every_array():
    with pytest.raises(ValueError, match="x has 3, y has 2"):
        checks.same_length(x=[1, 2, 3], y=[1, 2])
