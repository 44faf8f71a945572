"""Chapter 07's experiments (plumbing, with small stand-in networks), exercises and plots."""

import numpy as np
import pytest

from course_lib import experiments as registry
from course_lib.chapters.ch07_when_transfer_helps import exercises as ex
from course_lib.chapters.ch07_when_transfer_helps import experiments as chapter
from course_lib.chapters.ch07_when_transfer_helps import plots
from course_lib.core.cnn import BLOCKS, build_cnn
from course_lib.experiments import Measured, Measurements, Report
from course_lib.methods import target_data, transferability
from reports import fake_report

FEW = 2  # gradient steps in the plumbing tests


@pytest.fixture
def untrained_sources(monkeypatch):
    """Every recipe gives an untrained CNN of the recipe's width at once (no source training)."""
    def stand_in(recipe, progress=None):
        return build_cnn(n_classes=len(recipe.classes), seed=recipe.seed, name=recipe.name)

    monkeypatch.setattr(chapter, "trained", stand_in)


def test_the_chapter_registers_its_experiments_and_lists_its_recipes():
    names = {"label_budget", "negative_transfer", "transferability_scores", "overfitting", "class_imbalance",
             "label_mismatch", "layer_transferability"}
    assert names <= set(registry.registry())
    assert all(registry.get(n).claims for n in names)
    assert chapter.SHUFFLED_SOURCE.shuffled_labels and chapter.SHUFFLED_SOURCE.images == chapter.SHUFFLED_IMAGES
    assert chapter.TASK_A_SOURCE.classes == chapter.TASK_A
    assert {r.seed for r in chapter.RECIPES} == {0}
    assert chapter.for_seed(chapter.TASK_A_SOURCE, 6).seed == 6


def test_every_experiment_in_the_notebook_has_a_results_file_over_five_seeds():
    from course_lib import results

    for name in ("label_budget", "negative_transfer", "transferability_scores", "overfitting", "class_imbalance",
                 "label_mismatch", "layer_transferability"):
        report = results.load(name)
        assert report.seeds == [0, 1, 2, 3, 4]
        assert all(report.claims().values()), (name, report.claims())


def test_train_start_starts_only_the_chapters_ways(untrained_sources):
    """The ways to start are ``methods.fine_tuning.build``'s (tested there); the chapter trains four."""
    source = chapter.trained(chapter.SOURCE)
    with pytest.raises(ValueError, match="allowed: 'scratch'"):
        chapter.train_start("top", source, (np.zeros((2, 28, 28, 1)), np.zeros(2, int)))


def test_a_new_head_trained_on_features_leaves_the_source_alone(untrained_sources):
    source = chapter.trained(chapter.SOURCE)
    before = [w.copy() for w in source.get_weights()]
    train, test = chapter.target_task("digits", 2, seed=0)
    model = chapter.train_new_head(source, train, steps=FEW)
    assert model.input_shape == source.input_shape and model.output_shape == (None, 10)
    assert all(np.array_equal(a, b) for a, b in zip(before, source.get_weights()))
    # The extractor computes the source's features; only the new head differs.
    from course_lib.core.evaluation import layer_output, predict

    assert np.allclose(layer_output(model, "features_relu", test[0][:8]),
                       layer_output(source, "features_relu", test[0][:8]), atol=1e-6)
    assert not np.allclose(predict(model, test[0][:8]), predict(source, test[0][:8]))


def test_label_budget_records_its_runs_by_field_and_reads_gaps(untrained_sources):
    measured = chapter.label_budget(0, targets=("digits",), budgets=(1, 2), strategies=("scratch", "full"), steps=FEW)
    assert [m.record("target_accuracy") | {"value": 0, "seconds": 0} for m in measured] == [
        {"arm": arm, "domain": "digits", "labels_per_class": n, "metric": "target_accuracy", "value": 0, "seconds": 0}
        for n in (1, 2) for arm in ("scratch", "full")]
    runs = [("scratch", "digits", 1, 0.6), ("full", "digits", 1, 0.85), ("scratch", "digits", 5, 0.88),
            ("full", "digits", 5, 0.9), ("scratch", "mnist_m", 1, 0.2), ("full", "mnist_m", 1, 0.45),
            ("head", "digits", 5, 0.7)]
    values = Measurements([Measured(arm, v, domain=d, labels_per_class=n) for arm, d, n, v in runs], "target_accuracy")
    assert chapter.budget_gaps(values, "digits") == pytest.approx({1: 0.25, 5: 0.02})
    assert chapter.budget_gaps(values, "digits", strategy="head") == pytest.approx({5: -0.18})
    with pytest.raises(ValueError, match="no budget has both"):
        chapter.budget_gaps(values, "svhn")
    report = Report("label_budget", "target_accuracy", [0, 1], [m.record("target_accuracy", seed) for seed in (0, 1)
                                                               for m in values])
    assert chapter.budget_gaps(report, "mnist_m") == pytest.approx({1: 0.25})


def test_catch_up_wants_every_later_gap_within_tolerance():
    assert chapter.catch_up({1: 0.3, 2: 0.01, 5: 0.05, 10: 0.0}, 0.02) == 10
    assert chapter.catch_up({10: 0.0, 1: 0.3}, 0.02) == 10
    assert chapter.catch_up({1: 0.3, 2: 0.2}, 0.02) is None
    assert chapter.catch_up({1: -0.1, 2: 0.02}, 0.02) == 1


def test_negative_transfer_runs_the_arms_asked(untrained_sources):
    measured = chapter.negative_transfer(0, transfers=[("new_head", "shuffled")], probed=("random",), steps=FEW)
    assert [(m.arm, m.metric, m.fields) for m in measured] == [
        ("new_head", "target_accuracy", {"source": "shuffled"}), ("probe", "probe_accuracy", {"source": "random"})]
    assert 0.0 <= measured.value("probe", "probe_accuracy", source="random") <= 1.0
    with pytest.raises(ValueError, match=r"unknown \(arm, source\).*allowed: \('scratch', None\)"):
        chapter.negative_transfer(0, transfers=[("full", "imagenet")])
    with pytest.raises(ValueError, match="probed network"):
        chapter.negative_transfer(0, transfers=(), probed=("imagenet",))


def test_overfitting_chooses_on_validation_and_keeps_the_runs(untrained_sources):
    train, val, test = chapter.overfitting_data(0)
    assert len(train[1]) == 10 * chapter.TRAIN_PER_CLASS and np.array_equal(np.bincount(val[1]), [5] * 10)
    train_rows = {train[0][i].tobytes() for i in range(len(train[0]))}
    assert not any(val[0][i].tobytes() in train_rows for i in range(len(val[0])))
    runs = {}
    measured = chapter.overfitting(0, arms=("plain", "augmented+early_stopping"), steps=2 * 25, runs=runs)
    assert set(runs) == {"plain", "augmented+early_stopping"}
    assert runs["plain"].best_epoch is None and runs["augmented+early_stopping"].best_epoch in (0, 1)
    assert not [layer for layer in runs["augmented+early_stopping"].model.layers if "augment" in layer.name]
    chosen = chapter.choose(runs)
    assert measured.value("chosen") == measured.value(chosen)
    assert runs[chosen].validation == max(run.validation for run in runs.values())
    assert measured.value(chosen, "validation_accuracy") == runs[chosen].validation
    assert measured.value("plain", "steps") == runs["plain"].steps == 2 * 25
    assert measured.value("augmented+early_stopping", "steps") <= 2 * 25
    assert [m.metric for m in measured[:4]] == ["train_accuracy", "validation_accuracy", "steps", "target_accuracy"]
    with pytest.raises(ValueError, match="allowed: plain, early_stopping"):
        chapter.train_overfitting_arm("dropout", train, val)


def test_class_imbalance_measures_every_digit(untrained_sources):
    measured = chapter.class_imbalance(0, schemes=("as_sampled", "class_weighted"), steps=FEW)
    fields = [{"digit": c} for c in range(10)] + [{"classes": group} for group in ("rare", "common", "all")]
    assert [(m.arm, m.fields) for m in measured] == [(scheme, f) for scheme in ("as_sampled", "class_weighted")
                                                     for f in fields]
    digits = [measured.value("as_sampled", "class_accuracy", digit=c) for c in range(10)]
    assert measured.value("as_sampled", classes="all") == pytest.approx(np.mean(digits))
    assert measured.value("as_sampled", classes="rare") == pytest.approx(np.mean(digits[5:]))


def test_label_mismatch_restricting_never_hurts(untrained_sources):
    measured = chapter.label_mismatch(0)
    assert measured.value("restricted") >= measured.value("ten_way")
    assert measured.value("ten_way") <= 1 - measured.value("ten_way", "outside_share") + 1e-9


def test_layer_transferability_arms_and_the_bnb_control(untrained_sources):
    measured = chapter.layer_transferability(0, frozen_ks=(3,), fine_tuned_ks=(), bnb_ks=(1,), steps=FEW)
    assert [(m.arm, m.fields) for m in measured] == [("scratch", {}), ("frozen", {"blocks": 3}), ("bnb", {"blocks": 1})]
    with pytest.raises(ValueError, match="k = 0 copies nothing"):
        chapter.layer_transferability(0, frozen_ks=(0,), fine_tuned_ks=(), bnb_ks=(), steps=FEW)
    train, test = chapter.task_b(0, n_per_class=3)
    assert np.array_equal(np.bincount(train[1]), [3] * 5) and len(test[1]) == 500


# ----------------------------------------------------------------------------- exercise 1

def _right_catch_up(gaps, tolerance):
    worst = {n: max(g) for n, g in gaps.items()}
    budgets = sorted(worst)
    for i, n in enumerate(budgets):
        if all(worst[m] <= tolerance for m in budgets[i:]):
            return n
    return None


def _one_gap_each(gaps, tolerance, of=np.median):
    """Exercise 1 as it was, fed one number per budget: here the median seed's."""
    single = {n: float(of(g)) for n, g in gaps.items()}
    budgets = sorted(single)
    return next((n for i, n in enumerate(budgets) if all(single[m] <= tolerance for m in budgets[i:])), None)


def test_exercise_1_accepts_a_right_answer(capsys):
    assert ex.check_worst_seed_catch_up(_right_catch_up)
    assert capsys.readouterr().out.startswith("Correct")


def test_exercise_1_refuses_the_course_function_with_a_hint(capsys):
    assert not ex.check_worst_seed_catch_up(lambda gaps, t: chapter.catch_up({n: max(g) for n, g in gaps.items()}, t))
    out = capsys.readouterr().out
    assert "uses the course's own catch_up" in out and ex.INSTEAD[1] in out


@pytest.mark.parametrize("wrong", [
    _one_gap_each,                                                                     # the median seed
    lambda gaps, t: _one_gap_each(gaps, t, of=np.mean),                                 # the mean
    lambda gaps, t: _one_gap_each(gaps, t, of=np.min),                                  # the best seed
    lambda gaps, t: next((n for n in sorted(gaps) if max(gaps[n]) <= t), None),          # first dip
    lambda gaps, t: _right_catch_up(gaps, t - 1e-9),                                    # strictly below
    lambda gaps, t: 10,                                                                 # a number read off
    lambda gaps, t: 1 / 0,
    None,
])
def test_exercise_1_rejects_wrong_answers(wrong, capsys):
    assert not ex.check_worst_seed_catch_up(wrong)
    assert capsys.readouterr().out.startswith("Not yet")


def test_exercise_1_names_the_median(capsys):
    ex.check_worst_seed_catch_up(_one_gap_each)
    assert "the median seed catches up; every seed must" in capsys.readouterr().out


# ----------------------------------------------------------------------------- exercise 2

def _right_weights(y, beta):
    classes, counts = np.unique(y, return_counts=True)
    raw = (1 - beta) / (1 - beta ** counts) if beta else np.ones(len(counts))
    return {c: w for c, w in zip(classes, raw * len(classes) / raw.sum())}


def test_exercise_2_accepts_a_right_answer(capsys):
    assert ex.check_effective_weights(_right_weights)


def test_exercise_2_refuses_the_course_weights_with_a_hint(capsys):
    def from_the_course(y, beta):
        return target_data.class_weights(y)

    assert not ex.check_effective_weights(from_the_course)
    out = capsys.readouterr().out
    assert "uses the course's own class_weights" in out and ex.INSTEAD[2] in out


@pytest.mark.parametrize("wrong, says", [
    (lambda y, b: {c: len(y) / (len(np.unique(y)) * k) for c, k in zip(*np.unique(y, return_counts=True))},
     "inverse-frequency weights"),
    (lambda y, b: {c: (1 - b) / (1 - b ** k) for c, k in zip(*np.unique(y, return_counts=True))}, "not right"),
    (lambda y, b: {c: _right_weights(y, b).get(c, 1.0) for c in range(10)}, "exactly the classes present"),
    (lambda y, b: [1.0] * 10, "return a dict"),
    (lambda y, b: None, "returned None"),
])
def test_exercise_2_rejects_wrong_answers(wrong, says, capsys):
    assert not ex.check_effective_weights(wrong)
    assert says in capsys.readouterr().out


# ----------------------------------------------------------------------------- exercise 3

def _right_transplant(base, blocks, n_classes):
    model = build_cnn(n_classes=n_classes, seed=7)
    for name in (n for block in blocks for n in BLOCKS[block] if model.get_layer(n).weights):
        model.get_layer(name).set_weights(base.get_layer(name).get_weights())
        model.get_layer(name).trainable = False
    return model


def test_exercise_3_accepts_a_right_answer(capsys):
    assert ex.check_transplant(_right_transplant)
    assert capsys.readouterr().out.startswith("Correct")


def test_exercise_3_refuses_the_course_transplant_with_a_hint(capsys):
    def first_blocks(base, blocks, n_classes):
        k = max(transferability.TRANSFER_BLOCKS.index(b) for b in blocks) + 1
        model = transferability.transplant(base, k, n_classes)
        return model

    assert not ex.check_transplant(first_blocks)
    out = capsys.readouterr().out
    assert "uses the course's own transplant" in out and ex.INSTEAD[3] in out


def _a_itself_with_blocks_frozen(base, blocks, n_classes):
    for name in (n for block in blocks for n in BLOCKS[block]):
        base.get_layer(name).trainable = False
    return base


def _new_head_on_a(base, blocks, n_classes):
    from course_lib.core.layers import freeze, with_new_head

    model = with_new_head(base, n_classes)
    freeze(model, names=[n for block in blocks for n in BLOCKS[block] if model.get_layer(n).weights])
    return model


def _shared_layers(base, blocks, n_classes):
    import keras

    from course_lib.core.layers import cut

    body = cut(base, "dropout")
    return keras.Model(body.input, keras.layers.Dense(n_classes, activation="softmax", name="head")(body.output))


def _first_k(base, blocks, n_classes):
    """Exercise 3 as it was: the first len(blocks) blocks, whichever were named."""
    return _right_transplant(base, ("block1", "block2", "features")[:len(blocks)], n_classes)


@pytest.mark.parametrize("wrong, says", [
    (lambda base, blocks, n: transferability.copied_layers(base, 1) and None, "course's own copied_layers"),
    (_a_itself_with_blocks_frozen, "task-A network itself"),
    (_new_head_on_a, "must start fresh"),
    (_shared_layers, "shares the layers"),
    (lambda base, blocks, n: _right_transplant(base, blocks, 5), "head has 5 outputs"),
    (_first_k, "must be copies"),
    (lambda base, blocks, n: build_cnn(n_classes=n), "must be copies"),
    (lambda base, blocks, n: None, "returned None"),
    (lambda base, blocks, n: "a model", "Keras model"),
])
def test_exercise_3_rejects_shortcuts_and_wrong_answers(wrong, says, capsys):
    assert not ex.check_transplant(wrong)
    assert says in capsys.readouterr().out


def test_exercise_3_rejects_copies_left_trainable_and_fresh_layers_frozen(capsys):
    def fine_tuned(base, blocks, n_classes):
        model = _right_transplant(base, blocks, n_classes)
        for layer in model.layers:
            layer.trainable = True
        return model

    def all_frozen(base, blocks, n_classes):
        model = _right_transplant(base, blocks, n_classes)
        model.get_layer("features").trainable = False
        return model

    assert not ex.check_transplant(fine_tuned)
    assert "AnB+" in capsys.readouterr().out
    assert not ex.check_transplant(all_frozen)
    assert "must train on B" in capsys.readouterr().out


def test_show_hint_prints_each_hint(capsys):
    for n in (1, 2, 3):
        ex.show_hint(n)
    out = capsys.readouterr().out
    assert out.count("Hint: ") == 3 and "np.unique" in out and "set_weights" in out


# ----------------------------------------------------------------------------- plots

def _fake_report(selections):
    rng = np.random.default_rng(0)
    return fake_report("fake", [(s, rng.uniform(0.5, 1.0, 3)) for s in selections])


def _live(*runs):
    return Measurements([Measured(value=value, **s) for s, value in runs], "target_accuracy")


def test_budget_curves_draw_every_strategy_on_both_targets():
    selections = [{"arm": s, "domain": t, "labels_per_class": n} for t in chapter.TARGETS.values()
                  for s in chapter.STRATEGIES for n in (1, 10)]
    live = _live(({"arm": "full", "domain": "digits", "labels_per_class": 1}, 0.9),
                 ({"arm": "scratch", "domain": "digits", "labels_per_class": 10}, 0.8))
    fig = plots.budget_curves(_fake_report(selections), live=live)
    assert len(fig.axes) == 2
    first = fig.axes[0]
    assert len(first.lines) == len(chapter.STRATEGIES) + 2 and len(first.collections) == len(chapter.STRATEGIES)
    assert len(fig.axes[1].lines) == len(chapter.STRATEGIES)


def test_transfer_curves_skip_modes_the_report_lacks():
    selections = [{"arm": "scratch"}] + [{"arm": m, "blocks": k} for m in ("frozen", "fine-tuned") for k in (1, 2, 3)]
    ax = plots.transfer_curves(_fake_report(selections), live=_live(({"arm": "scratch"}, 0.9),
                                                                    ({"arm": "frozen", "blocks": 3}, 0.7)))
    assert len(ax.collections) == 2 and len(ax.lines) == 2 + 2  # two bands' medians, two live markers


def test_the_diagram_and_the_bars_draw():
    fig = plots.transplant_diagram(k=2)
    hatched = [p for p in fig.axes[0].patches if p.get_hatch()]
    assert len(hatched) == 4  # AnB's and BnB's two frozen blocks
    ax = plots.per_class_bars({"as sampled": np.linspace(0, 1, 10), "oversampled": np.ones(10)},
                              counts=[40] * 5 + [3] * 5)
    assert len(ax.patches) == 20
    with pytest.raises(ValueError, match="per_class is empty"):
        plots.per_class_bars({})
    measured = _live(({"arm": "scratch", "domain": "digits"}, 0.8), ({"arm": "new_head", "source": "shuffled"}, 0.6))
    measured += [Measured("probe", 0.7, metric="probe_accuracy", source=s) for s in ("source", "random")]
    left, right = plots.negative_transfer_bars(measured).axes
    assert [t.get_text() for t in left.get_xticklabels()] == ["scratch", "shuffled\nnew_head"]
    assert [t.get_text() for t in right.get_xticklabels()] == ["source", "random"]


def test_negative_transfers_scratch_is_label_budgets_run_at_its_budget(untrained_sources):
    """The notebook reuses section 1's run as section 2's scratch arm: they must be the same run."""
    budget = chapter.label_budget(0, targets=(chapter.NEGATIVE_TARGET,), budgets=(chapter.NEGATIVE_PER_CLASS,),
                                  strategies=("scratch",), steps=FEW)
    negative = chapter.negative_transfer(0, transfers=[("scratch", None)], probed=(), steps=FEW)
    assert budget.value("scratch", domain=chapter.NEGATIVE_TARGET,
                        labels_per_class=chapter.NEGATIVE_PER_CLASS) == negative.value("scratch")


def test_overfitting_curves_draw_the_full_runs_and_mark_where_early_stopping_went_back():
    history = {"accuracy": [0.5, 0.9, 1.0], "val_accuracy": [0.4, 0.8, 0.8], "loss": [1, 0.5, 0.1],
               "val_loss": [1, 0.6, 0.7]}
    runs = {"plain": chapter.OverfittingRun(None, history, None, 0.8),
            "early_stopping": chapter.OverfittingRun(None, history, 1, 0.8)}
    ax = plots.overfitting_curves(runs)
    assert len(ax.lines) == 3  # training, validation, and the dotted line at epoch 2
    assert list(ax.lines[2].get_xdata()) == [2, 2]


def test_evidence_prints_the_arms_asked_and_every_claim(capsys):
    from course_lib.chapters.ch07_when_transfer_helps import evidence

    report = evidence.summary("overfitting", arm="plain", metric=["target_accuracy", "steps"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("overfitting, target_accuracy, seeds 0, 1, 2, 3, 4")
    assert lines[1].split()[:4] == ["plain:", "steps", "median", "400"]
    assert lines[2].split()[:3] == ["plain:", "target_accuracy", "median"]
    assert sum(line.startswith("holds on seeds") for line in lines) == len(report.claims())
