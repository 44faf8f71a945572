"""Chapter 05's own pieces: the exercise checks, the experiments' data and criteria, the figures,
and the results files the notebook quotes."""

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest

from course_lib import experiments as registry
from course_lib import results
from course_lib.chapters.ch05_self_training_and_source_free import exercises
from course_lib.chapters.ch05_self_training_and_source_free import experiments as chapter
from course_lib.chapters.ch05_self_training_and_source_free import plots as chapter_plots
from reports import fake_report
from course_lib.core.layers import batchnorm_layers
from course_lib.methods import batchnorm, self_training, source_free

EXPERIMENTS = ("adabn", "self_training", "source_free", "shot_labels", "threshold_choice")


# Exercise 1: a share of each class ----------------------------------------------------------

def right_class_share(probabilities, share):
    """Sorted by class, then by confidence (highest first); the first ceil(share * n_c) of each class."""
    predicted, confidence = probabilities.argmax(axis=1), probabilities.max(axis=1)
    order = np.lexsort((-confidence, predicted))
    start = np.searchsorted(predicted[order], predicted[order])
    rank = np.arange(len(order)) - start
    size = np.bincount(predicted, minlength=probabilities.shape[1])[predicted[order]]
    return np.sort(order[rank < np.ceil(share * size)])


def test_exercise_1_accepts_a_right_answer(capsys):
    assert exercises.check_class_share(right_class_share) is True
    assert capsys.readouterr().out.startswith("Correct")


def test_exercise_1_refuses_the_course_selection_with_a_hint(capsys):
    def per_class_k(p, share):
        predicted = p.argmax(1)
        return np.concatenate([np.flatnonzero(predicted == c)[self_training.select_class_balanced(
            p[predicted == c], int(np.ceil(share * np.sum(predicted == c))))] for c in np.unique(predicted)])

    assert exercises.check_class_share(per_class_k) is False
    out = capsys.readouterr().out
    assert "uses the course's own select_class_balanced" in out and exercises.INSTEAD[1] in out


@pytest.mark.parametrize("answer, says", [
    (lambda p, share: self_training.pseudo_labels(p, "balanced", k=5)[0], "course's own pseudo_labels"),
    (lambda p, share: self_training.select_class_balanced(p, 12), "course's own select_class_balanced"),
    (lambda p, share: np.argsort(-p.max(axis=1))[:int(share * len(p))], "ceil(share x its number of rows)"),
    (lambda p, share: np.sort(np.concatenate([np.flatnonzero(p.argmax(1) == c)[:int(np.ceil(share * np.sum(p.argmax(1) == c)))]
                                              for c in range(p.shape[1])])), "not the most confident"),
    (lambda p, share: None, "returned None"),
    (lambda p, share: 1 / 0, "ZeroDivisionError"),
    (None, "define the function"),
])
def test_exercise_1_rejects_shortcuts_and_wrong_answers(answer, says, capsys):
    assert exercises.check_class_share(answer) is False
    out = capsys.readouterr().out
    assert out.startswith("Not yet") and says in out


# Exercise 2: the information-maximisation loss, with a divergence ------------------------------

def right_im_loss(p, beta):
    q = np.clip(p, 1e-6, 1.0)
    mean = q.mean(axis=0)
    return -np.sum(q * np.log(q), axis=1).mean() + beta * np.sum(mean * np.log(mean * q.shape[1]))


def test_exercise_2_accepts_a_right_answer():
    assert exercises.check_im_kl_loss(right_im_loss) is True


def test_exercise_2_refuses_the_course_loss_with_a_hint(capsys):
    def course_plus_constant(p, beta):
        return float(source_free.information_maximisation_loss(p, beta)) + beta * np.log(p.shape[1])

    assert exercises.check_im_kl_loss(course_plus_constant) is False
    out = capsys.readouterr().out
    assert "uses the course's own information_maximisation_loss" in out and exercises.INSTEAD[2] in out


@pytest.mark.parametrize("answer, says", [
    (lambda p, b: float(np.mean(source_free.entropy(p))) + b * (np.log(10) - float(source_free.entropy(p.mean(0)))),
     "entropy"),
    (lambda p, b: right_im_loss(p, b) - b * np.log(p.shape[1]), "the chapter's loss"),
    (lambda p, b: -np.sum(p * np.log(np.clip(p, 1e-6, 1)), axis=1).mean(), "plus beta KL"),
    (lambda p, b: right_im_loss(p, 1.0), "plus beta KL"),
    (lambda p, b: "low", "return one number"),
])
def test_exercise_2_rejects_shortcuts_and_wrong_answers(answer, says, capsys):
    assert exercises.check_im_kl_loss(answer) is False
    assert says in capsys.readouterr().out


# Exercise 3: AdaBN blended with the source ----------------------------------------------------

def right_blended_adabn(model, x, alpha):
    """The other way: AdaBN layer by layer (each measured on what it receives once the layers before
    it use the target's statistics), then every layer blended with the statistics it had."""
    layers = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    source = [(layer.moving_mean.numpy(), layer.moving_variance.numpy()) for layer in layers]
    for layer in layers:
        h = np.asarray(keras.Model(model.input, layer.input)(x, training=False))
        layer.moving_mean.assign(h.mean(axis=tuple(range(h.ndim - 1))))
        layer.moving_variance.assign(h.var(axis=tuple(range(h.ndim - 1))))
    for layer, (mean, variance) in zip(layers, source):
        layer.moving_mean.assign((1 - alpha) * mean + alpha * layer.moving_mean.numpy())
        layer.moving_variance.assign((1 - alpha) * variance + alpha * layer.moving_variance.numpy())
    return model


def test_exercise_3_accepts_a_right_answer():
    assert exercises.check_blended_adabn(right_blended_adabn) is True


def copied_cell(model, x, alpha):
    """Section 2's plain-Keras AdaBN cell, copied (alpha ignored)."""
    bn_layers = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    for layer in bn_layers:
        layer.momentum = 0.0  # moving statistic := this batch's statistic
    model(x, training=True)  # one forward pass, no gradient step
    for layer in bn_layers:
        layer.momentum = 0.9
    return model


def test_exercise_3_refuses_the_notebooks_cell_with_a_hint(capsys):
    assert exercises.check_blended_adabn(copied_cell) is False
    out = capsys.readouterr().out
    assert "copies the code the notebook shows at `" in out and exercises.INSTEAD[3] in out


def _trains(model, x, alpha):
    from course_lib.core.training import fit

    fit(model, (x, np.zeros(len(x), "int64")), epochs=1, batch_size=len(x))
    return model


def _leaves_momentum_changed(model, x, alpha):
    for layer in batchnorm_layers(model):
        layer.momentum = 1 - alpha
    model(x, training=True)
    return model


@pytest.mark.parametrize("answer, says", [
    (lambda model, x, alpha: batchnorm.adabn(model, x), "course's own adabn"),
    (lambda model, x, alpha: batchnorm.reestimate(model, x), "reestimate"),
    (lambda model, x, alpha: model, "is not (1 - alpha)"),
    (_leaves_momentum_changed, "momentum back"),
    (_trains, "changed"),
    (lambda model, x, alpha: 3, "return the Keras model"),
])
def test_exercise_3_rejects_shortcuts_and_wrong_answers(answer, says, capsys):
    assert exercises.check_blended_adabn(answer) is False
    assert says in capsys.readouterr().out


def test_every_exercise_has_a_hint(capsys):
    for n in (1, 2, 3):
        exercises.show_hint(n)
    assert capsys.readouterr().out.count("Hint: ") == 3


# The experiments ------------------------------------------------------------------------------

def test_the_experiments_are_registered_with_claims():
    for name in EXPERIMENTS:
        found = getattr(chapter, name)
        assert isinstance(found, registry.Experiment) and registry.registry()[name] is found
        metric = "label_accuracy" if name == "shot_labels" else "target_accuracy"
        assert found.metric == metric and found.claims, name


def test_target_data_splits_the_training_images_without_overlap():
    data = chapter.target_data(seed=3)
    assert len(data.x_adapt) + len(data.x_held_out) == 4000 and len(data.x_held_out) == chapter.HELD_OUT
    assert len(data.hidden_labels) == len(data.x_adapt) and len(data.x_test) == len(data.y_test) == 1000
    flat = lambda x: {row.tobytes() for row in x.reshape(len(x), -1)}  # noqa: E731
    assert not flat(data.x_adapt) & flat(data.x_held_out)
    again = chapter.target_data(seed=3)
    np.testing.assert_array_equal(again.x_held_out, data.x_held_out)
    assert not np.array_equal(chapter.target_data(seed=4).x_held_out[:10], data.x_held_out[:10])


def test_prediction_balance_is_one_for_even_and_zero_for_collapsed_predictions():
    eye = np.eye(10)
    assert chapter.prediction_balance(eye[np.arange(100) % 10]) == pytest.approx(1.0)
    assert chapter.prediction_balance(eye[np.zeros(100, dtype=int)]) == pytest.approx(0.0, abs=1e-3)
    assert 0.3 < chapter.prediction_balance(eye[np.arange(100) % 3]) < 0.6


def test_consensus_agreement_outvotes_a_lone_mistake():
    eye = np.eye(3)
    truth = np.array([0, 1, 2, 0])
    good = eye[truth]
    odd = eye[[1, 1, 2, 0]]  # wrong on the first image
    assert chapter.consensus_agreement([good, good, odd]).tolist() == [1.0, 1.0, 0.75]


def self_training_report(balanced_round_3_seed_1):
    """A ``self_training`` report on seeds 0 and 1 whose claims hold unless the class-balanced
    third round on seed 1 is set below its second (0.68)."""
    series = [({"arm": "source model"}, [0.4, 0.4]),
              *(({"arm": "threshold from source", "threshold": 0.9, "round": r}, [0.45, 0.46]) for r in (1, 2, 3)),
              ({"arm": "AdaBN"}, [0.55, 0.6]),
              *(({"arm": "class-balanced from AdaBN", "round": r}, [0.55 + 0.05 * r, 0.6 + 0.04 * r])
                for r in (1, 2)),
              ({"arm": "class-balanced from AdaBN", "round": 3}, [0.7, balanced_round_3_seed_1])]
    return fake_report("self_training", series)


def test_the_self_training_claims_read_the_rounds():
    claims = self_training_report(0.72).claims()
    assert all(claims.values()), claims
    assert not all(self_training_report(0.6).claims().values())  # worse than round 2 on seed 1


# The figures ----------------------------------------------------------------------------------

def test_the_figures_say_what_they_show():
    fig = chapter_plots.self_training_loop()
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert "teacher" in texts and "pseudo-labels" in texts and "student" in texts
    stats = {"block1_bn": (np.zeros(4), np.ones(4))}
    fig = chapter_plots.batchnorm_statistics(stats, {"block1_bn": (np.ones(4), 4 * np.ones(4))}, "block1_bn")
    assert fig.axes[1].patches[-1].get_height() == pytest.approx(2.0)  # the target's standard deviation
    with pytest.raises(ValueError, match="no statistics"):
        chapter_plots.batchnorm_statistics(stats, stats, "block2_bn")
    ax = chapter_plots.information_maximisation_terms({"entropy": [0.6, 0.4], "diversity": [2.2, 2.25]})
    assert "no labels" in ax.get_title()
    plt.close("all")


def test_the_rounds_figure_shows_true_and_claimed_precision():
    y = np.array([0, 1, 1, 0])
    history = [self_training.Round(0, np.zeros(0, "int64"), np.zeros(0, "int64"), float("nan"),
                                   {"test_accuracy": 0.5}),
               self_training.Round(1, np.array([0, 1]), np.array([0, 0]), 0.9, {"test_accuracy": 0.6})]
    fig = chapter_plots.rounds({"run": history}, y)
    true_line, claimed_line = fig.axes[1].get_lines()[:2]
    assert list(true_line.get_ydata()) == [0.5] and list(claimed_line.get_ydata()) == [0.9]
    with pytest.raises(ValueError, match="histories is empty"):
        chapter_plots.rounds({}, y)
    plt.close("all")


# The results files the notebook quotes --------------------------------------------------------

ROUNDS = range(1, chapter.ROUNDS + 1)
#: Each experiment's series, as (arm, fields): what its results file holds, with its own metric.
SERIES = {
    "adabn": [("source only", {}), ("AdaBN", {})],
    "self_training": [("source model", {}),
                      *(("threshold from source", {"threshold": chapter.NAIVE_THRESHOLD, "round": r}) for r in ROUNDS),
                      ("AdaBN", {}), *(("class-balanced from AdaBN", {"round": r}) for r in ROUNDS)],
    "source_free": [("AdaBN", {}), ("information maximisation", {}),
                    ("information maximisation + SHOT clusters", {})],
    "shot_labels": [(labels, {"epoch": e}) for e in range(1, source_free.EPOCHS + 1)
                    for labels in ("predictions", "clusters")],
    "threshold_choice": [*(("threshold", {"threshold": t}) for t in chapter.THRESHOLDS),
                         *(("threshold", {"criterion": c}) for c in [*chapter.CRITERIA, chapter.CHEATING]),
                         (chapter.CLASS_BALANCED, {})],
}


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_results_files_cover_seeds_0_to_4_and_their_claims_hold(name):
    report = results.load(name)
    assert report.seeds == [0, 1, 2, 3, 4]
    assert [s["record"] for s in report.series()] == [
        {"arm": arm, **fields, "metric": registry.get(name).metric} for arm, fields in SERIES[name]]
    assert all(report.claims().values()), report.claims()


def test_threshold_study_results_hold_every_arm_the_plot_needs():
    report = results.load("threshold_choice")
    assert report.distinct("threshold", arm="threshold") == list(chapter.THRESHOLDS)
    cheating = report.values("threshold", criterion=chapter.CHEATING)
    for j in range(5):
        assert cheating[j] == max(report.values("threshold", threshold=t)[j] for t in chapter.THRESHOLDS)
    ax = chapter_plots.threshold_study(report, list(chapter.CRITERIA), chapter.CHEATING, chapter.CLASS_BALANCED)
    assert len(ax.get_legend().get_texts()) == 2 + len(chapter.CRITERIA) + 1 + 1
    plt.close("all")
