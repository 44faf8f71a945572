"""Chapter 03's pieces: its experiments and their claims, its results files, the BatchNorm
demonstration's helpers, gradual unfreezing's run, its exercise checks (right answers pass,
shortcuts and wrong answers do not, nothing raises) and its figures."""

import matplotlib
import numpy as np
import pytest

import course_lib

course_lib.setup(0)
matplotlib.use("Agg")

import keras  # noqa: E402

from course_lib import results  # noqa: E402
from course_lib.chapters.ch03_fine_tuning_in_practice import experiments as ex  # noqa: E402
from course_lib.chapters.ch03_fine_tuning_in_practice import exercises  # noqa: E402
from course_lib.chapters.ch03_fine_tuning_in_practice import plots  # noqa: E402
from course_lib.core.cnn import BLOCKS, build_cnn  # noqa: E402
from course_lib.core.pretrained import SOURCE  # noqa: E402
from course_lib.experiments import registry  # noqa: E402
from course_lib.methods import fine_tuning as ft  # noqa: E402
from course_lib.methods.learning_rates import GROUP_ORDER, layerwise_rates  # noqa: E402

EXPERIMENTS = ("batchnorm_freezing", "unfreezing_schedules", "label_smoothing", "swapped_activation")


# ----------------------------------------------------------------------------- the experiments

def test_the_experiments_are_registered_with_their_claims_and_recipes():
    found = registry()
    assert set(EXPERIMENTS) <= set(found)
    assert all(found[name].claims for name in EXPERIMENTS)
    assert ex.RECIPES == (SOURCE,)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_the_saved_results_hold_their_claims_on_seeds_0_to_4(name):
    report = results.load(name)
    assert report.seeds == [0, 1, 2, 3, 4]
    holds = report.claims()
    assert all(holds.values()), {claim: ok for claim, ok in holds.items() if not ok}


def test_the_mistake_leaves_batchnorm_and_the_head_trainable():
    model = build_cnn(filters=(4, 8), units=16)
    left = ex.freeze_all_but_batchnorm(model)
    assert left == ["block1_bn", "block2_bn", "features_bn", "head"]
    assert not model.get_layer("block2_conv").trainable


def test_feature_change_is_relative_and_checks_shapes():
    assert ex.feature_change(np.ones((2, 3)), np.ones((2, 3))) == 0.0
    assert ex.feature_change(np.ones((2, 3)), 1.5 * np.ones((2, 3))) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="shape"):
        ex.feature_change(np.ones((2, 3)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="all zero"):
        ex.feature_change(np.zeros((2, 3)), np.ones((2, 3)))


def test_gradual_run_ends_at_the_last_stages_best(monkeypatch):
    monkeypatch.setattr(ex, "STEPS_PER_STAGE", 2)
    rng = np.random.default_rng(0)
    x, y = rng.random((64, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, size=64)
    task = {"train": (x[:48], y[:48]), "validation": (x[48:], y[48:])}
    summary, log = ex.gradual_run(build_cnn(filters=(4, 8), units=16), task, top_rate=1e-2)
    assert log["stage"] == [1, 2, 3, 4] and summary["steps"] == [2, 4, 6, 8]
    assert summary["best_step"] == 8 and summary["best_val_accuracy"] == log["val_accuracy"][-1]


# ----------------------------------------------------------------------------- exercise 1

def my_layer_rates(model, head_rate, decay):
    down = ["head", "features", "block2", "block1"]
    block_of = {name: block for block in down for name in BLOCKS[block]}
    return {layer.name: head_rate / decay ** down.index(block_of[layer.name])
            for layer in model.layers if layer.weights}


def rates_with_the_course(model, head_rate, decay):
    rates = layerwise_rates(head_rate, decay)
    return {name: rates[block] for block in GROUP_ORDER for name in BLOCKS[block]
            if model.get_layer(name).weights}


def test_exercise_1_accepts_a_rate_per_layer(capsys):
    assert exercises.check_layer_rates(my_layer_rates)
    assert "Correct" in capsys.readouterr().out


def test_exercise_1_refuses_the_course_rates_with_a_hint(capsys):
    assert not exercises.check_layer_rates(rates_with_the_course)
    out = capsys.readouterr().out
    assert "uses the course's own layerwise_rates" in out and exercises.INSTEAD[1] in out


@pytest.mark.parametrize("answer, says", [
    (lambda model, head, decay: {b: head / decay ** (3 - i) for i, b in enumerate(GROUP_ORDER)},
     "exactly the layers with weights"),
    (lambda model, head, decay: {layer.name: head for layer in model.layers if layer.weights}, "are not head_rate"),
    (lambda model, head, decay: {layer.name: "fast" for layer in model.layers if layer.weights}, "must be a number"),
])
def test_exercise_1_rejects_wrong_answers(answer, says, capsys):
    assert not exercises.check_layer_rates(answer)
    out = capsys.readouterr().out
    assert "Not yet" in out and says in out


# ----------------------------------------------------------------------------- exercise 2

def smooth(y, n_classes, epsilon):
    one_hot = np.eye(n_classes)[y]
    return (1 - epsilon) * one_hot + epsilon / (n_classes - 1) * (1 - one_hot)


def test_exercise_2_accepts_targets_smoothed_over_the_other_classes(capsys):
    assert exercises.check_other_class_smoothing(smooth)
    assert "Correct" in capsys.readouterr().out


def test_exercise_2_refuses_the_course_smoothing_with_a_hint(capsys):
    def from_the_course(y, k, e):
        uniform = ft.smoothed_targets(y, k, e * k / (k - 1))  # the same targets, by the course's function
        return uniform

    assert not exercises.check_other_class_smoothing(from_the_course)
    out = capsys.readouterr().out
    assert "uses the course's own smoothed_targets" in out and exercises.INSTEAD[2] in out


@pytest.mark.parametrize("answer, says", [
    (lambda y, k, e: keras.ops.convert_to_numpy(ft.SmoothedCrossentropy(e).call(y, np.eye(k)[y])),
     "uses the course's own SmoothedCrossentropy"),
    (lambda y, k, e: (1 - e) * np.eye(k)[y] + e / k, "the chapter's version"),
    (lambda y, k, e: np.eye(k)[y], "not 1 - epsilon"),
    (lambda y, k, e: (1 - e) * np.eye(k)[y] + e, "sum to"),
    (lambda y, k, e: np.eye(k)[y][:, :-1], "shape"),
])
def test_exercise_2_rejects_shortcuts_and_wrong_answers(answer, says, capsys):
    assert not exercises.check_other_class_smoothing(answer)
    out = capsys.readouterr().out
    assert "Not yet" in out and says in out


def test_hints_exist_for_every_exercise(capsys):
    for n in (1, 2):
        exercises.show_hint(n)
    assert capsys.readouterr().out.count("Hint:") == 2


# ----------------------------------------------------------------------------- figures

def test_the_schedule_diagram_gives_each_block_its_rate_and_freezes_what_waits():
    rates = layerwise_rates(3e-3, 3.0)
    fig = plots.schedule_diagram(1e-3, rates, ex.UNFREEZING_STAGES, shown_stage=2)
    assert len(fig.axes) == 3
    words = [t.get_text() for t in fig.axes[1].texts]
    assert "block1: rate 1.1e-04" in words and "head: rate 3.0e-03" in words
    gradual = [t.get_text() for t in fig.axes[2].texts]
    assert gradual.count("frozen") == 2 and gradual.count("trains") == 2
    with pytest.raises(ValueError, match="shown_stage"):
        plots.schedule_diagram(1e-3, rates, ex.UNFREEZING_STAGES, shown_stage=5)
    with pytest.raises(ValueError, match="block_rates"):
        plots.schedule_diagram(1e-3, {"head": 1e-3}, ex.UNFREEZING_STAGES)


def test_the_stage_plot_draws_each_stage():
    log = {"stage": [1, 1, 2, 2], "trainable": ["head", "head", "head+features", "head+features"],
           "val_accuracy": [0.1, 0.2, 0.3, 0.4]}
    ax = plots.stage_plot(log, steps_per_stage=50)
    assert list(ax.lines[0].get_xdata()) == [25, 50, 75, 100]
    with pytest.raises(ValueError, match="validation"):
        plots.stage_plot({"stage": [1]}, 10)
