"""Chapter 07's exercise checks accept right answers and reject the shortcuts and the usual mistakes."""

import numpy as np
import pytest
import tensorflow as tf

import course_lib

course_lib.setup(0)

from course_lib.chapters.ch07_your_own_images import exercises  # noqa: E402
from course_lib.chapters.ch07_your_own_images.experiments import RECIPES, SETTINGS  # noqa: E402
from course_lib.own_images.pipeline import dataset  # noqa: E402
from course_lib.own_images.recipe import confident_mistakes  # noqa: E402

AUTO = tf.data.AUTOTUNE


def right_pipeline(files, decode, batch_size, seed):
    return files.map(decode, num_parallel_calls=AUTO).cache().shuffle(len(files), seed=seed).batch(batch_size)


WRONG_PIPELINES = {
    "cache after shuffle and batch": (lambda f, d, b, s: f.map(d).shuffle(len(f), seed=s).batch(b).cache(),
                                      "every epoch has the same batches"),
    "no cache": (lambda f, d, b, s: f.map(d).shuffle(len(f), seed=s).batch(b), "decode ran 144 times"),
    "cache before decoding": (lambda f, d, b, s: f.cache().map(d).shuffle(len(f), seed=s).batch(b),
                              "decode ran 144 times"),
    "shuffled batches": (lambda f, d, b, s: f.map(d).cache().batch(b).shuffle(10, seed=s),
                         "every epoch has the same batches"),
    "a tiny shuffle buffer": (lambda f, d, b, s: f.map(d).cache().shuffle(2, seed=s).batch(b),
                              "files that sit close together"),
    "batches of the wrong size": (lambda f, d, b, s: f.map(d).cache().shuffle(len(f), seed=s).batch(b + 1),
                                  "batches of batch_size"),
    "a list, not a dataset": (lambda f, d, b, s: [1, 2], "return a tf.data.Dataset"),
    "the course's own": (lambda f, d, b, s: _asks_the_course(f, d, b, s), "calls the course's own dataset"),
    "an error while reading": (lambda f, d, b, s: f.map(d).map(lambda x: tf.io.decode_png(tf.strings.as_string(x))),
                               "reading your data set raised"),
}


def _asks_the_course(files, decode, batch_size, seed):
    """A learner who tries the course's own pipeline first."""
    try:
        dataset(None, 32, batch_size, True)
    except Exception:  # noqa: BLE001 (whatever it raised, it was called)
        pass
    return right_pipeline(files, decode, batch_size, seed)


def test_pipeline_check_accepts_the_right_order(capsys):
    assert exercises.check_pipeline(right_pipeline)
    with_prefetch = lambda f, d, b, s: right_pipeline(f, d, b, s).prefetch(AUTO)  # noqa: E731
    assert exercises.check_pipeline(with_prefetch)
    assert "Correct: decode ran once per file (48 times in 3 epochs)" in capsys.readouterr().out


@pytest.mark.parametrize("name", WRONG_PIPELINES)
def test_pipeline_check_rejects_the_usual_mistakes(name, capsys):
    function, words = WRONG_PIPELINES[name]
    assert not exercises.check_pipeline(function)
    out = capsys.readouterr().out
    assert out.startswith("Not yet:") and words in out


def my_mistakes(probabilities, labels, k):
    wrong = np.flatnonzero(probabilities.argmax(axis=1) != labels)
    return wrong[np.argsort(-probabilities[wrong].max(axis=1), kind="stable")][:k]


@pytest.mark.parametrize("function, words", [
    (None, "define the function first"),
    (lambda p, y, k: confident_mistakes(p, y, k), "calls the course's own confident_mistakes"),
    (lambda p, y, k: [0], "are not the most confident mistakes"),
    (lambda p, y, k: np.flatnonzero(p.argmax(axis=1) != y)[:k], "are not the most confident mistakes"),  # unsorted
    (lambda p, y, k: np.argsort(-p.max(axis=1))[:k], "are not the most confident mistakes"),  # right ones too
    (lambda p, y, k: np.flatnonzero(p.argmax(1) != y)[np.argsort(p.max(1)[p.argmax(1) != y])][:k],
     "are not the most confident mistakes"),  # least confident first
    (lambda p, y, k: 1 / 0, "ZeroDivisionError"),
    (lambda p, y, k: "three", "return the indices"),
])
def test_mistakes_check_rejects_wrong_answers(function, words, capsys):
    assert not exercises.check_confident_mistakes(function)
    assert words in capsys.readouterr().out


def test_mistakes_check_accepts_a_right_answer(capsys):
    assert exercises.check_confident_mistakes(my_mistakes)
    assert capsys.readouterr().out.startswith("Correct:")


def test_hints_exist_before_a_first_try(capsys):
    for n in (1, 2):
        exercises.show_hint(n)
    out = capsys.readouterr().out
    assert out.count("Hint: ") == 2 and "cache" in out and "argsort" in out


def test_the_chapter_lists_no_source_models_and_measures_random_init():
    assert RECIPES == () and SETTINGS.pretrained is False and SETTINGS.fine_epochs > 0
