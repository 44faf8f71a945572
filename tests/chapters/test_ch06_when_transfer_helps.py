"""Chapter 05's experiments (label_budget, negative_transfer, layer_transferability) and exercises."""

import numpy as np
import pytest

from course_lib.experiments import EXPERIMENTS, label_budget, labels_per_class
from course_lib.experiments import layer_transferability, negative_transfer
from course_lib.exercises import when_transfer_helps as ex

MEASURED = {"digits:scratch@1": 0.60, "digits:full@1": 0.85, "digits:scratch@5": 0.88,
            "digits:full@5": 0.90, "digits:scratch@20": 0.95, "digits:full@20": 0.955,
            "mnist_m:scratch@1": 0.2, "mnist_m:full@1": 0.45}


def test_the_chapter_experiments_are_registered():
    assert {"label_budget", "negative_transfer", "layer_transferability"} <= set(EXPERIMENTS)
    for module in (label_budget, negative_transfer, layer_transferability):
        assert module.METRIC == "target_accuracy" and module.DESCRIPTION


def test_gaps_and_catch_up_read_the_curve():
    assert label_budget.gaps(MEASURED, "digits") == pytest.approx({1: 0.25, 5: 0.02, 20: 0.005})
    assert label_budget.catch_up(MEASURED, "digits", tolerance=0.03) == 5
    assert label_budget.catch_up(MEASURED, "digits", tolerance=0.01) == 20
    assert label_budget.catch_up(MEASURED, "mnist_m") is None
    with pytest.raises(ValueError, match="targets measured"):
        label_budget.gaps(MEASURED, "svhn")
    with pytest.raises(ValueError, match="not '<target>"):
        label_budget.split_by_target({"full@1": 0.5})


def test_curve_plots_draw_a_panel_per_target():
    fig = label_budget.curve_plots(MEASURED)
    assert len(fig.axes) == 2
    assert [len(ax.lines) for ax in fig.axes] == [2, 2]
    with pytest.raises(ValueError, match="empty"):
        labels_per_class.curve_plot({})


def test_target_task_rejects_unknown_targets_and_too_many_labels():
    with pytest.raises(ValueError, match="unknown target 'svhn'"):
        labels_per_class.target_task("svhn", 5)
    with pytest.raises(ValueError, match="at most"):
        labels_per_class.target_task("digits", 1000)
    task = labels_per_class.target_task("digits", 2)
    assert len(task["target_train"][0]) == 20 and len(task["target_test"][0]) == 360


def test_negative_transfer_rejects_unknown_arms():
    with pytest.raises(ValueError, match="unknown arm.*allowed: scratch"):
        negative_transfer.run(0, arms=["pretrained_on_imagenet"])


def test_layer_transferability_task_b_and_curve_shape():
    train, test = layer_transferability.load_task_b(0, n_per_class=3)
    assert sorted(np.unique(train[1])) == [0, 1, 2, 3, 4] and len(train[1]) == 15
    curve = layer_transferability.as_curve({"frozen@0": 0.5, "frozen@2": 0.7, "fine-tuned@2": 0.8})
    assert curve == {"frozen": {0: 0.5, 2: 0.7}, "fine-tuned": {2: 0.8}}


def test_exercise_1_catch_up(capsys):
    assert ex.check_catch_up(20, MEASURED, tolerance=0.01)
    assert not ex.check_catch_up(5, MEASURED, tolerance=0.01)
    assert not ex.check_catch_up(None, MEASURED, tolerance=0.01)
    assert ex.check_catch_up(None, MEASURED, target="mnist_m")
    assert not ex.check_catch_up(1, {"bad": 1.0})
    assert "Not yet" in capsys.readouterr().out


def test_exercise_2_class_weights(capsys):
    def right(y):
        classes, counts = np.unique(y, return_counts=True)
        return {c: len(y) / (len(classes) * k) for c, k in zip(classes, counts)}

    assert ex.check_class_weights(right)
    assert not ex.check_class_weights(lambda y: {c: 1.0 for c in np.unique(y)})
    assert not ex.check_class_weights(lambda y: None)
    assert not ex.check_class_weights(lambda y: 1 / 0)


def test_exercise_3_transplant(capsys):
    from course_lib.models import build_cnn
    from course_lib.transferability import transplant

    base = build_cnn(n_classes=5)
    assert ex.check_transplant(transplant(base, 2, n_classes=5), base, k=2)
    assert not ex.check_transplant(transplant(base, 2, n_classes=5, fine_tune=True), base, k=2)
    assert not ex.check_transplant(transplant(base, 1, n_classes=5), base, k=2)
    assert not ex.check_transplant(build_cnn(n_classes=10), base, k=2)
    assert not ex.check_transplant("a model", base, k=2)


def test_overfitting_arms_train_the_plain_cnn_and_record_validation():
    from course_lib.experiments import overfitting

    train, val, test = overfitting.load(seed=0)
    assert len(train[0]) == 10 * overfitting.TRAIN_PER_CLASS and len(val[0]) == 10 * overfitting.VAL_PER_CLASS
    model, history = overfitting.train_arm("augmented", train, val, seed=0, steps=25)
    assert [layer.name for layer in model.layers if "augment" in layer.name] == []
    assert {"accuracy", "val_accuracy", "val_loss"} <= set(history.history)
    with pytest.raises(ValueError, match="allowed: plain, early_stopping, augmented"):
        overfitting.train_arm("dropout", train, val)
