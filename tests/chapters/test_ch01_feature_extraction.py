"""Chapter 01: the task data, the experiment's arms, and the exercise checks with their shortcuts."""

import keras
import numpy as np
import pytest

from course_lib.chapters.ch01_feature_extraction import exercises, experiments as chapter
from course_lib.core.layers import cut, parameter_counts
from course_lib.methods.feature_extraction import build_head, frozen_extractor


def test_task_data_splits_twenty_labels_per_class_into_train_and_validation():
    train, validation, test = chapter.task_data(seed=0)
    for x, y in (train, validation):
        assert np.array_equal(np.bincount(y), [chapter.TRAIN_PER_CLASS] * 5)
    assert not set(map(bytes, train[0][:, 14, :, 0])) & set(map(bytes, validation[0][:, 14, :, 0]))
    assert set(np.unique(test[1])) == set(range(5)) and len(test[0]) > 400


def right_extractor(model, layer_name):
    pooled = keras.layers.GlobalAveragePooling2D()(model.get_layer(layer_name).output)
    extractor = keras.Model(model.input, pooled)
    extractor.trainable = False
    return extractor


def shown_extractor(model, layer_name):
    """The notebook's plain-Keras extractor, copied: the feature map, not its channel means."""
    extractor = keras.Model(model.input, model.get_layer(layer_name).output)
    extractor.trainable = False
    return extractor


def copied_extractor(model, layer_name):
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return right_extractor(clone, layer_name)


def unfrozen_extractor(model, layer_name):
    pooled = keras.layers.GlobalAveragePooling2D()(model.get_layer(layer_name).output)
    return keras.Model(model.input, pooled)


def frozen_model_too(model, layer_name):
    model.trainable = False
    return unfrozen_extractor(model, layer_name)


def test_extractor_check_accepts_plain_keras(capsys):
    assert exercises.check_pooled_extractor(right_extractor)
    assert capsys.readouterr().out.startswith("Correct")


def test_extractor_check_refuses_the_course_extractor_with_a_hint(capsys):
    assert exercises.check_pooled_extractor(
        lambda model, layer: keras.Model(model.input, keras.ops.mean(cut(model, layer).output, axis=(1, 2)))) is False
    out = capsys.readouterr().out
    assert "uses the course's own cut" in out and exercises.INSTEAD[1] in out


@pytest.mark.parametrize("answer, says", [
    (lambda model, layer: frozen_extractor(model, layer), "frozen_extractor"),
    (shown_extractor, "outputs the feature map"),
    (unfrozen_extractor, "trainable weights"),
    (copied_extractor, "weights of its own"),
    (frozen_model_too, "froze the original model"),
    (lambda model, layer: right_extractor(model, "block1_pool"), "differ"),
    (lambda model, layer: None, "returned None"),
    (None, "define the function"),
])
def test_extractor_check_rejects_shortcuts_and_mistakes(answer, says, capsys):
    assert exercises.check_pooled_extractor(answer) is False
    out = capsys.readouterr().out
    assert out.startswith("Not yet") and says in out


def right_head_parameters(shape, hidden, k):
    d = int(np.prod(shape))
    return d * hidden + hidden + 2 * hidden + hidden * k + k, 2 * hidden


def test_head_parameter_check(capsys):
    assert exercises.check_head_parameters(right_head_parameters)
    for wrong in (lambda shape, h, k: (int(np.prod(shape)) * k + k, 0),      # the linear head of before
                  lambda shape, h, k: (sum(right_head_parameters(shape, h, k)), 0),  # statistics as trained
                  lambda shape, h, k: (4005, 0),                                    # a number off the notebook
                  lambda shape, h, k: 1 / 0):
        assert exercises.check_head_parameters(wrong) is False
    out = capsys.readouterr().out
    assert "raised ZeroDivisionError" in out and "moving mean and variance are not trained" in out


def test_head_parameter_check_refuses_the_course_head_and_counts(capsys):
    def course_head(shape, hidden, k):
        return parameter_counts(build_head(int(np.prod(shape)), k, hidden_units=hidden))

    assert exercises.check_head_parameters(course_head) is False
    out = capsys.readouterr().out
    assert "uses the course's own build_head, parameter_counts" in out and exercises.INSTEAD[2] in out


def test_hints_exist_for_both_exercises(capsys):
    for n in (1, 2):
        exercises.show_hint(n)
    assert capsys.readouterr().out.count("Hint:") == 2


def test_the_cut_diagram_freezes_up_to_the_cut_and_adds_a_new_head():
    from course_lib.chapters.ch01_feature_extraction import plots as chapter_plots

    fig = chapter_plots.cut_diagram(("block1_pool", "features_relu"))
    first, last = ([t.get_text() for t in ax.texts] for ax in fig.axes)
    assert (first.count("frozen"), first.count("cut off"), first.count("new, trains")) == (1, 2, 1)
    assert (last.count("frozen"), last.count("cut off")) == (3, 0)
    with pytest.raises(ValueError, match="cannot cut after 'head'"):
        chapter_plots.cut_diagram(("head",))
    with pytest.raises(ValueError, match="state 'melted'"):
        from course_lib.core.plots import block_diagram
        block_diagram({"a": [("block1", "melted")]})


def test_the_experiment_returns_the_series_of_its_results_file_in_its_order(monkeypatch):
    """Training stubbed out: only what the records are (arm, fields, metric) is checked."""
    from course_lib import results
    from course_lib.experiments import series_key

    class Cache:
        def __init__(self, source):
            pass

        def get(self, layer, split, x):
            return x

    scores = {layer: 0.5 for layer in chapter.CANDIDATE_LAYERS}
    monkeypatch.setattr(chapter, "trained", lambda recipe: None)
    monkeypatch.setattr(chapter, "task_data", lambda seed, new_task: ((None, None),) * 3)
    monkeypatch.setattr(chapter, "layer_scores", lambda *args, **kwargs: scores)
    monkeypatch.setattr(chapter, "FeatureCache", Cache)
    monkeypatch.setattr(chapter, "train_head", lambda *args, **kwargs: None)
    monkeypatch.setattr(chapter, "scratch_model", lambda *args, **kwargs: None)
    monkeypatch.setattr(chapter, "accuracy", lambda *args: 0.5)
    monkeypatch.setattr(chapter, "parameter_counts", lambda model: (10, 10))
    measured = chapter.feature_extraction(0)
    assert [series_key(m.record(None)) for m in measured] == [
        series_key(s["record"]) for s in results.load("feature_extraction").series()]
