"""Chapter 08's exercise checks accept right answers and reject the shortcuts and the usual mistakes."""

import numpy as np
import pytest
import tensorflow as tf

import course_lib

course_lib.setup(0)

from course_lib.chapters.ch08_your_own_images import exercises  # noqa: E402
from course_lib.chapters.ch08_your_own_images.experiments import RECIPES, SETTINGS  # noqa: E402
from course_lib.methods.own_images.pipeline import dataset  # noqa: E402
from course_lib.methods.own_images.recipe import confident_mistakes  # noqa: E402

AUTO = tf.data.AUTOTUNE


def right_pipeline(files, decode, augment, batch_size, seed):
    decoded = files.map(decode, num_parallel_calls=AUTO).cache()
    return decoded.map(augment).shuffle(len(files), seed=seed).batch(batch_size)


def shown_pipeline(files, decode, augment, batch_size, seed):
    """The notebook's plain tf.data pipeline, copied: it never augments."""
    data = files.map(decode, num_parallel_calls=AUTO)
    data = data.cache()
    return data.shuffle(len(files), seed=seed).batch(batch_size, drop_remainder=True).prefetch(AUTO)


WRONG_PIPELINES = {
    "the notebook's, without augmentation": (shown_pipeline, "never augments"),
    "augmentation cached": (lambda f, d, a, b, s: f.map(d).map(a).cache().shuffle(len(f), seed=s).batch(b),
                            "augment ran 48 times"),
    "augmentation of batches": (lambda f, d, a, b, s: f.map(d).cache().shuffle(len(f), seed=s).batch(b).map(a),
                                "augment single images"),
    "cache after shuffle and batch": (lambda f, d, a, b, s: f.map(d).map(a).shuffle(len(f), seed=s).batch(b).cache(),
                                      "every epoch has the same batches"),
    "no cache": (lambda f, d, a, b, s: f.map(d).map(a).shuffle(len(f), seed=s).batch(b), "decode ran 144 times"),
    "cache before decoding": (lambda f, d, a, b, s: f.cache().map(d).map(a).shuffle(len(f), seed=s).batch(b),
                              "decode ran 144 times"),
    "a tiny shuffle buffer": (lambda f, d, a, b, s: f.map(d).cache().map(a).shuffle(2, seed=s).batch(b),
                              "files that sit close together"),
    "batches of the wrong size": (lambda f, d, a, b, s: right_pipeline(f, d, a, b + 1, s), "batches of batch_size"),
    "a list, not a dataset": (lambda f, d, a, b, s: [1, 2], "return a tf.data.Dataset"),
    "an error while reading": (lambda f, d, a, b, s: f.map(d).map(lambda x: tf.io.decode_png(tf.strings.as_string(x))),
                               "reading your data set raised"),
}


def _asks_the_course(files, decode, augment, batch_size, seed):
    """A learner who tries the course's own pipeline first."""
    try:
        dataset(None, 32, batch_size, True)
    except Exception:  # noqa: BLE001 (whatever it raised, it was called)
        pass
    return right_pipeline(files, decode, augment, batch_size, seed)


def test_pipeline_check_accepts_the_right_order(capsys):
    assert exercises.check_pipeline(right_pipeline)
    with_prefetch = lambda f, d, a, b, s: right_pipeline(f, d, a, b, s).prefetch(AUTO)  # noqa: E731
    assert exercises.check_pipeline(with_prefetch)
    assert "Correct: decode ran once per file (48 times in 3 epochs), augment once per image and epoch" \
        in capsys.readouterr().out


def test_pipeline_check_refuses_the_course_pipeline_with_a_hint(capsys):
    assert not exercises.check_pipeline(_asks_the_course)
    out = capsys.readouterr().out
    assert "uses the course's own dataset" in out and exercises.INSTEAD[1] in out


@pytest.mark.parametrize("name", WRONG_PIPELINES)
def test_pipeline_check_rejects_the_usual_mistakes(name, capsys):
    function, words = WRONG_PIPELINES[name]
    assert not exercises.check_pipeline(function)
    out = capsys.readouterr().out
    assert out.startswith("Not yet:") and words in out


def my_top_losses(probabilities, labels, k):
    loss = -np.log(probabilities[np.arange(len(labels)), labels])
    return np.argsort(-loss, kind="stable")[:k]


def test_top_losses_check_refuses_the_course_function_with_a_hint(capsys):
    def mistakes_first(p, y, k):
        return confident_mistakes(p, y, k)

    assert not exercises.check_top_losses(mistakes_first)
    out = capsys.readouterr().out
    assert "uses the course's own confident_mistakes" in out and exercises.INSTEAD[2] in out


@pytest.mark.parametrize("function, words", [
    (None, "define the function first"),
    (lambda p, y, k: [0], "are not the largest losses"),
    (lambda p, y, k: np.flatnonzero(p.argmax(1) != y)[np.argsort(-p.max(1)[p.argmax(1) != y], kind="stable")][:k],
     "Those are the most confident mistakes"),
    (lambda p, y, k: np.argsort(p[np.arange(len(y)), y])[:k], "are not the largest losses"),  # unstable ties
    (lambda p, y, k: my_top_losses(p, y, k)[::-1], "are not the largest losses"),
    (lambda p, y, k: 1 / 0, "ZeroDivisionError"),
    (lambda p, y, k: "three", "return the indices"),
])
def test_top_losses_check_rejects_wrong_answers(function, words, capsys):
    assert not exercises.check_top_losses(function)
    assert words in capsys.readouterr().out


def test_top_losses_check_accepts_a_right_answer(capsys):
    assert exercises.check_top_losses(my_top_losses)
    assert capsys.readouterr().out.startswith("Correct:")


def test_hints_exist_before_a_first_try(capsys):
    for n in (1, 2):
        exercises.show_hint(n)
    out = capsys.readouterr().out
    assert out.count("Hint: ") == 2 and "cache" in out and "argsort" in out


def test_the_chapter_lists_no_source_models_and_measures_random_init():
    assert RECIPES == () and SETTINGS.pretrained is False and SETTINGS.fine_epochs > 0


def test_the_experiment_returns_the_series_of_its_results_file_in_its_order(monkeypatch):
    """Training stubbed out: only what the records are (arm, metric) is checked."""
    from types import SimpleNamespace

    from course_lib import results
    from course_lib.chapters.ch08_your_own_images import experiments as chapter
    from course_lib.experiments import series_key

    run = SimpleNamespace(head_only=SimpleNamespace(accuracy=0.5), final=SimpleNamespace(accuracy=0.7))
    monkeypatch.setattr(chapter, "sample_folder", lambda: None)
    monkeypatch.setattr(chapter, "train_folder", lambda *args, **kwargs: run)
    measured = chapter.own_images_two_stage(0)
    assert [series_key(m.record(None)) for m in measured] == [
        series_key(s["record"]) for s in results.load("own_images_two_stage").series()]
    assert measured.value(chapter.TWO_STAGES) == 0.7
