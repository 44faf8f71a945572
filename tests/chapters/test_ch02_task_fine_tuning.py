"""Chapter 02's pieces: its task, its experiments and their claims, its results files, its
exercise check (right answers pass, shortcuts and wrong answers do not, nothing raises) and its
figures."""

import matplotlib
import numpy as np
import pytest

import course_lib

course_lib.setup(0)
matplotlib.use("Agg")

import keras  # noqa: E402

from course_lib import results  # noqa: E402
from course_lib.chapters.ch02_task_fine_tuning import experiments as ex  # noqa: E402
from course_lib.chapters.ch02_task_fine_tuning import exercises  # noqa: E402
from course_lib.chapters.ch02_task_fine_tuning import plots  # noqa: E402
from course_lib.chapters.ch02_task_fine_tuning.task import load_task  # noqa: E402
from course_lib.core.cnn import BLOCKS  # noqa: E402
from course_lib.core.layers import train_only  # noqa: E402
from course_lib.core.pretrained import SOURCE  # noqa: E402
from course_lib.experiments import registry, series_key  # noqa: E402
from course_lib.methods import fine_tuning as ft  # noqa: E402
from reports import fake_report  # noqa: E402

EXPERIMENTS = ("fine_tuning_strategies", "labels_per_class")


# ----------------------------------------------------------------------------- the task

def test_the_task_splits_the_labelled_images_into_train_and_validation():
    task = load_task(seed=3)
    (x_train, y_train), (x_val, y_val) = task["train"], task["validation"]
    assert np.bincount(y_train).tolist() == [10] * 10 and np.bincount(y_val).tolist() == [10] * 10
    assert x_train.shape[1:] == (28, 28, 1) and task["test"][0].shape == (1000, 28, 28, 1)
    flat = lambda x: {row.tobytes() for row in x}  # noqa: E731
    assert not flat(x_train) & flat(x_val), "an image is both a training and a validation image"
    assert len(task["source_test"][1]) == 1000
    odd = load_task(7, validation_per_class=2, seed=3)
    assert len(odd["train"][1]) == 50 and len(odd["validation"][1]) == 20


@pytest.mark.parametrize("kwargs, message", [
    ({"labels_per_class": 1}, "labels_per_class"),
    ({"labels_per_class": 6, "validation_per_class": 6}, "validation_per_class"),
])
def test_the_task_rejects_impossible_splits(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_task(**kwargs)


# ----------------------------------------------------------------------------- the experiments

def test_the_experiments_are_registered_with_their_recipes():
    found = registry()
    assert set(EXPERIMENTS) <= set(found)
    assert found["fine_tuning_strategies"].claims and found["labels_per_class"].claims
    assert ex.RECIPES == (SOURCE,)


def budget_report(values):
    """A ``labels_per_class`` report from ``{(strategy, labels per class): values per seed}``."""
    return fake_report("labels_per_class", [({"arm": strategy, "labels_per_class": n}, v)
                                            for (strategy, n), v in values.items()])


def test_the_label_budget_claim_reads_the_right_arms():
    values = {(s, n): [0.5, 0.5] for s in ex.BUDGET_STRATEGIES for n in ex.BUDGETS}
    values.update({("head", 6): [0.55, 0.55], ("head", 60): [0.6, 0.6], ("full", 6): [0.7, 0.7],
                   ("scratch", 6): [0.3, 0.4], ("full", 60): [0.9, 0.9], ("scratch", 60): [0.85, 0.8],
                   ("full", 20): [0.8, 0.8], ("scratch", 20): [0.6, 0.6]})
    holds = budget_report(values).claims()
    assert all(holds.values()), holds
    values["scratch", 6] = [0.3, 0.69]  # seed 1: a smaller lead with few labels than with many
    assert not all(budget_report(values).claims().values())


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_an_experiment_returns_the_series_of_its_results_file_in_its_order(name, monkeypatch):
    """Training stubbed out: only what the records are (arm, fields, metric) is checked."""
    kept = ft.Selection(None, 1e-3, {})
    monkeypatch.setattr(ex, "source_model", lambda **kwargs: None)
    monkeypatch.setattr(ex, "load_task", lambda *args, **kwargs: {"test": (None, None), "source_test": (None, None)})
    monkeypatch.setattr(ex, "tune", lambda *args, **kwargs: kept)
    monkeypatch.setattr(ex, "accuracy", lambda *args: 0.5)
    measured = registry()[name](0)
    assert [series_key(m.record(None)) for m in measured] == [
        series_key(s["record"]) for s in results.load(name).series()]


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_the_saved_results_hold_their_claims_on_seeds_0_to_4(name):
    report = results.load(name)
    assert report.seeds == [0, 1, 2, 3, 4]
    holds = report.claims()
    assert all(holds.values()), {claim: ok for claim, ok in holds.items() if not ok}


# ----------------------------------------------------------------------------- exercise 1

def batchnorm_only(model):
    model.trainable = True
    for layer in model.layers:
        layer.trainable = isinstance(layer, keras.layers.BatchNormalization) or layer.name == "head"
    return model


def freeze_with_the_course(model):
    train_only(model, ["head"])
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = True
    return model


def forgets_the_model_flag(model):
    for layer in model.layers:
        layer.trainable = isinstance(layer, keras.layers.BatchNormalization) or layer.name == "head"
    return model


def freeze_for_top(model):
    """Exercise 1 as it was: the `top` strategy."""
    model.trainable = True
    for layer in model.layers:
        layer.trainable = not layer.name.startswith("block1_")
    return model


def test_exercise_1_accepts_plain_keras_freezing(capsys):
    assert exercises.check_batchnorm_only(batchnorm_only)
    assert "Correct" in capsys.readouterr().out


def test_exercise_1_refuses_the_course_freezing_helpers_with_a_hint(capsys):
    assert not exercises.check_batchnorm_only(freeze_with_the_course)
    out = capsys.readouterr().out
    assert "uses the course's own train_only" in out and exercises.INSTEAD[1] in out


@pytest.mark.parametrize("answer, says", [
    (lambda model: ft.build("top", model), "uses the course's own build"),
    (forgets_the_model_flag, "is the model itself still frozen"),
    (freeze_for_top, "train but should be frozen"),
    (lambda model: None, "returned None"),
    (lambda model: 1 / 0, "ZeroDivisionError"),
    (lambda model: "top", "return the Keras model"),
    (None, "define the function"),
])
def test_exercise_1_rejects_shortcuts_and_wrong_answers(answer, says, capsys):
    assert not exercises.check_batchnorm_only(answer)
    out = capsys.readouterr().out
    assert "Not yet" in out and says in out


def test_the_hint_exists(capsys):
    exercises.show_hint(1)
    assert capsys.readouterr().out.count("Hint:") == 1


# ----------------------------------------------------------------------------- figures

def test_the_strategy_diagram_says_what_trains_in_words():
    fig = plots.strategy_diagram(ft.STRATEGIES, {"head": (1290, 110000)})
    assert len(fig.axes) == 3
    words = [t.get_text() for t in fig.axes[0].texts]
    assert words.count("frozen") == len(BLOCKS) - 1 and words.count("trains") == 1
    assert "1,290 of 110,000" in fig.axes[0].get_title()
    assert [t.get_text() for t in fig.axes[2].texts].count("trains") == len(BLOCKS)
    with pytest.raises(ValueError, match="empty"):
        plots.strategy_diagram({})


def test_the_result_plots_draw_what_they_are_given():
    report = fake_report("x", [({"arm": "a"}, [0.2, 0.4, 0.3]), ({"arm": "b"}, [0.8, 0.7, 0.9])])
    ax = plots.seed_bars(report, ["a", "b"])
    assert [round(p.get_height(), 2) for p in ax.patches] == [0.3, 0.8]
    selection = ft.Selection(None, 1e-3, {1e-3: ft.validation_summary([0.4, 0.6], 50),
                                          3e-3: ft.validation_summary([0.5, 0.5], 50)})
    ax = plots.rate_curves(selection)
    assert "rate 0.001 (kept)" in [t.get_text() for t in ax.get_legend().get_texts()]
    budgets = budget_report({(s, n): [0.5, 0.6] for s in ("full", "scratch") for n in (6, 60)})
    ax = plots.budget_curve(budgets)
    assert len(ax.lines) == 2 and ax.lines[0].get_xdata().tolist() == [6, 60]
