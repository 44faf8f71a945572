"""Inputs learners bring (issue 27): every entry point refuses a bad input with one readable line.

The line names the argument and says what is allowed; it is short, has no terminal colour codes
and prints no array. 0-255 images are refused whatever their rank, as ``keras.datasets.mnist``
hands them out: (n, 28, 28) uint8.
"""

import numpy as np
import pytest

from course_lib.core import data, evaluation, training
from course_lib.core.cnn import build_cnn


def readable(error):
    """The error's message, if it is one short plain line without an array in it."""
    text = str(error.value)
    assert "\n" not in text and "\x1b" not in text and len(text) < 300, text
    assert "[[" not in text and "array(" not in text, text
    return text


@pytest.fixture(scope="module")
def grey_model():
    return build_cnn(filters=(4, 4), units=8)


def _images(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 28, 28, 1)).astype("float32"), rng.integers(0, 10, size=n)


ENTRY_POINTS = {
    "fit": lambda model, x, y: training.fit(model, (x, y), steps=1),
    "fit validation_data": lambda model, x, y: training.fit(model, _images(), steps=1, validation_data=(x, y)),
    "accuracy": lambda model, x, y: evaluation.accuracy(model, x, y),
    "predict": lambda model, x, y: evaluation.predict(model, x),
}

BAD_IMAGES = [  # (what the learner has, the message)
    (lambda x: np.round(x[..., 0] * 255).astype("uint8"), r"dtype uint8.*astype\('float32'\) / 255"),
    (lambda x: np.round(x[..., 0] * 255), "values run from 0 to 255.*divide by 255"),
    (lambda x: np.round(x * 255).astype("uint8"), r"dtype uint8.*/ 255"),
    (lambda x: x[..., 0] > 0.5, r"dtype bool.*astype\('float32'\)"),
    (lambda x: (x > 0.5).astype("int64"), r"dtype int64.*astype\('float32'\)"),
    (lambda x: data.to_channels(x, 3), r"3-channel images, but this model takes 1-channel images: "
                                       r"use data.to_channels\(\S+, 1\)"),
    (lambda x: x[..., None], r"shape \(40, 28, 28, 1, 1\); this model takes \(n, 28, 28, 1\)"),
    (lambda x: np.zeros((40, 32, 32, 3), "float32"), r"shape \(40, 32, 32, 3\); this model takes \(n, 28, 28, 1\)"),
    (lambda x: [image.tolist() for image in x], r"list of 40 items, but this model takes one array "
                                                r"\(n, 28, 28, 1\): stack them, e.g. np.stack\(\S+\)"),
]


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("bad, message", BAD_IMAGES)
def test_every_entry_point_refuses_bad_images_in_one_line(grey_model, entry, bad, message):
    x, y = _images()
    name = "validation_data[0]" if "validation" in entry else "x"
    with pytest.raises(ValueError) as error:
        ENTRY_POINTS[entry](grey_model, bad(x), y)
    assert readable(error).startswith(name)
    assert error.match(message)


def test_the_silent_wrong_result_is_gone(grey_model):
    """The images exactly as keras.datasets.mnist gives them: (n, 28, 28) uint8 0-255."""
    x, y = data.load_domain("mnist", "test")
    pixels = np.round(x[..., 0] * 255).astype("uint8")
    with pytest.raises(ValueError, match="dtype uint8"):
        evaluation.accuracy(grey_model, pixels, y)
    assert evaluation.accuracy(grey_model, pixels.astype("float32") / 255, y) == \
        pytest.approx(evaluation.accuracy(grey_model, x, y), abs=0.01)  # without the channel axis: fine


def test_an_rgb_model_given_grey_images_names_the_conversion():
    with pytest.raises(ValueError) as error:
        evaluation.predict(build_cnn(channels=3, filters=(4, 4), units=8), _images()[0][..., 0])
    assert readable(error) == ("x has 1-channel images, but this model takes 3-channel images: "
                               "use data.to_channels(x, 3)")


@pytest.mark.parametrize("single", [lambda x: x[0], lambda x: x[0, ..., 0]])
def test_one_image_is_asked_to_be_a_batch(grey_model, single):
    with pytest.raises(ValueError) as error:
        evaluation.predict(grey_model, single(_images()[0]))
    assert "x[None] is a batch of one" in readable(error)


def test_float16_images_and_images_without_a_channel_axis_are_accepted(grey_model):
    x, y = _images()
    assert evaluation.predict(grey_model, x.astype("float16")).shape == (40, 10)
    assert evaluation.predict(grey_model, x[..., 0]).shape == (40, 10)


@pytest.mark.parametrize("helper, args", [(data.few_shot, (1,)), (data.validation_split, (1,)),
                                          (data.class_subset, ([1, 2],))])
def test_the_data_helpers_refuse_0_255_images_of_any_rank(helper, args):
    x, y = data.load_domain("digits", "test")
    for pixels in (np.round(x * 255).astype("uint8"), np.round(x[..., 0] * 255)):
        with pytest.raises(ValueError) as error:
            helper(pixels, y, *args)
        assert readable(error).startswith("x ") and "255" in str(error.value)


@pytest.mark.parametrize("classes, message", [
    (["five"], r"classes must hold whole-number labels of y, got 'five'; labels present: \[0, 1, 2"),
    ([2.5], "got 2.5; labels present"),
    ("five", r"classes must be a list of labels, e.g. \[0, 1, 2, 3, 4\], got 'five'"),
])
def test_class_subset_names_the_classes_and_the_labels_present(classes, message):
    x, y = data.load_domain("digits", "test")
    with pytest.raises(ValueError, match=message) as error:
        data.class_subset(x, y, classes)
    readable(error)


def test_labels_given_as_names_are_refused_in_one_line(grey_model):
    x, _ = _images()
    with pytest.raises(ValueError, match="y must hold whole-number class labels.*'five'.*map class names") as error:
        evaluation.accuracy(grey_model, x, ["five"] * len(x))
    readable(error)


def test_a_ragged_list_is_refused_in_one_line():
    with pytest.raises(ValueError, match="x cannot be made into one array") as error:
        data.few_shot([np.zeros((28, 28)), np.zeros((5, 5))], [0, 1], 1)
    readable(error)
