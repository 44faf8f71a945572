"""Chapter 06's pieces: the task, the arms and how they are measured, the choice of lambda, the claims,
the exercise checks with their shortcuts, the adaptation lab (its logic and the widget) and the plots."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from course_lib import experiments as registry
from course_lib import results
from course_lib.chapters.ch06_domain_adaptation import exercises, plots, widget
from course_lib.chapters.ch06_domain_adaptation import experiments as chapter
from course_lib.core.cnn import build_cnn
from course_lib.core.data import load_domain
from course_lib.core.pretrained import SOURCE
from course_lib.methods.adaptation import DANN, DiscrepancyModel, GradientReversal, coral_loss
from course_lib.methods.adaptation.discrepancy import _covariance
from reports import fake_report


# --- the task and the arms -----------------------------------------------------------------

def test_the_experiments_are_registered_with_claims():
    found = registry.registry()
    for name in ("domain_adaptation", "choosing_lambda", "choosing_weights", "dann_adversary"):
        assert found[name].metric == "target_accuracy" and found[name].claims
    assert chapter.RECIPES == (SOURCE,)


@pytest.mark.parametrize("name", ["domain_adaptation", "choosing_lambda", "choosing_weights", "dann_adversary"])
def test_each_experiment_returns_the_records_of_its_results_file(monkeypatch, name):
    """Arms, fields (their values and types) and metrics, in the file's order; the training is faked."""
    class History:
        history = {"domain_accuracy": [0.7]}

    def fake_run_arm(arm, source, task, seed=0, weight=None, progress=None, dann_options=None):
        return chapter.Run(None, History(), _scores(0.9, 0.2, 0.5)), 1.0

    monkeypatch.setattr(chapter, "run_arm", fake_run_arm)
    monkeypatch.setattr(chapter, "load_task", lambda seed: chapter.Task(*[None] * 8))
    monkeypatch.setattr(chapter, "source_model", lambda seed: None)
    monkeypatch.setattr(chapter, "accuracy", lambda model, x, y: 0.4)

    def described(record):
        return [(k, type(v), v) for k, v in record.items() if k not in ("seed", "value", "seconds")]

    experiment = registry.get(name)
    returned = [described(m.record(experiment.metric)) for m in experiment(0)]
    report = results.load(name)
    assert returned == [described(s["record"]) for s in report.series()]


def _images(x):
    return {image.tobytes() for image in x}


@pytest.mark.parametrize("seed", [0, 11])
def test_no_test_image_nor_a_digit_behind_one_reaches_a_choice(seed):
    """Choices read the validation images only: held out of both training splits, and none of
    them a test image or (``mnist_m`` being made from MNIST digits) a digit behind one."""
    task = chapter.load_task(seed)
    assert not hasattr(task, "y_target")
    n = chapter.VALIDATION_IMAGES
    assert (len(task.x_source_val), len(task.x_target_val), len(task.x_test)) == (n, n, 1000)
    assert len(task.x_source) == len(task.x_target) == 4000 - n
    assert task.x_source.shape[1:] == task.x_target.shape[1:] == (28, 28, chapter.CHANNELS)
    mnist_test = _images(load_domain("mnist", "test", seed=seed, channels=chapter.CHANNELS)[0])
    assert not _images(task.x_source_val) & mnist_test  # the digits behind mnist_m's test images
    assert not _images(task.x_target_val) & _images(task.x_test)
    assert not _images(task.x_source_val) & _images(task.x_source)  # held out of training
    assert not _images(task.x_target_val) & _images(task.x_target)
    # the same digits held out of both domains: mnist_m's images are MNIST digits on photos
    mnist_m_train = load_domain("mnist_m", "train", seed=seed, channels=chapter.CHANNELS)[0]
    mnist_train = load_domain("mnist", "train", seed=seed, channels=chapter.CHANNELS)[0]
    held = [i for i, image in enumerate(mnist_train) if image.tobytes() in _images(task.x_source_val)]
    assert _images(mnist_m_train[held]) == _images(task.x_target_val)


def test_the_label_free_and_source_choices_never_read_the_test_split():
    scores = {w: _scores(0.97 - w / 20, 0.4 / (1 + w), 0.6) for w in (0.0, 0.3, 1.0, 3.0)}
    chosen = chapter.choose(scores)
    for w in scores:  # any target test accuracies: only the cheating choice may move
        moved = chapter.choose({v: _scores(s.source_validation, s.pad, 1.0 if v == w else 0.0)
                                for v, s in scores.items()})
        assert {k: moved[k] for k in (chapter.CHOSEN_ON_SOURCE, chapter.CHOSEN_LABEL_FREE)} == {
            k: chosen[k] for k in (chapter.CHOSEN_ON_SOURCE, chapter.CHOSEN_LABEL_FREE)}
        assert moved[chapter.CHOSEN_ON_TEST] == w


@pytest.mark.parametrize("method", ["dann", "coral", "mmd"])
def test_the_default_weights_are_the_label_free_choice_on_the_committed_seeds(method):
    report = results.load("choosing_lambda" if method == "dann" else "choosing_weights")
    assert chapter.WEIGHTS[method] == chapter.default_weight(report, method), (
        f"WEIGHTS[{method!r}] is not what the label-free criterion chose over seeds {report.seeds}")


def _small_source():
    return build_cnn(channels=1, n_classes=10, seed=0, filters=(4, 4), units=8, name="small_source")


def test_build_adapter_builds_each_arm_from_a_warm_copy():
    source = _small_source()
    x = np.random.default_rng(0).random((3, 28, 28, 1)).astype("float32")
    dann = chapter.build_adapter(source, "dann", total_steps=10, dann_options={"domain_units": (16,)})
    assert isinstance(dann, DANN) and dann.lambda_max == chapter.WEIGHTS["dann"]
    assert dann.domain_classifier.get_layer("domain_hidden1").units == 16
    none = chapter.build_adapter(source, chapter.NO_ADAPTATION)
    assert isinstance(none, DiscrepancyModel) and none.weight == 0.0
    mmd = chapter.build_adapter(source, "mmd", weight=0.5)
    assert mmd.discrepancy == "mmd" and mmd.weight == 0.5
    np.testing.assert_allclose(np.asarray(mmd(x)), np.asarray(source(x)), atol=1e-5)  # warm: the same outputs
    mmd.extractor.get_layer("features").kernel.assign(np.zeros((100, 8), "float32"))
    assert np.abs(source.get_layer("features").kernel.numpy()).sum() > 0  # a copy: the source is untouched
    with pytest.raises(ValueError, match="unknown method"):
        chapter.build_adapter(source, "coral_plus")
    with pytest.raises(ValueError, match="weight"):
        chapter.build_adapter(source, "coral", weight=-1.0)
    with pytest.raises(ValueError, match="unknown arm"):
        chapter.run_arm("source_only", source, None)


def _small_task(n=48, seed=0):
    rng = np.random.default_rng(seed)
    source = rng.random((n, 28, 28, 1)).astype("float32") * 0.5
    target = (rng.random((n, 28, 28, 1)) * 0.5 + 0.5).astype("float32")
    labels = rng.integers(0, 10, n)
    return chapter.Task(source, labels, target, source[:16], labels[:16], target[16:32], target[:16], labels[:16])


def test_measure_scores_each_domain_with_its_own_statistics_and_leaves_the_target_ones():
    task = _small_task()
    model = chapter.build_adapter(_small_source(), chapter.NO_ADAPTATION)
    scores = chapter.measure(model, task)
    assert scores.source_features.shape == scores.target_features.shape == (16, 8)
    assert -2.0 <= scores.pad <= 2.0
    # deployed state: the first BatchNorm layer holds the target's statistics
    conv = keras.Model(model.extractor.input, model.extractor.get_layer("block1_conv").output)
    mean = np.asarray(conv(task.x_target)).mean(axis=(0, 1, 2))
    np.testing.assert_allclose(model.extractor.get_layer("block1_bn").moving_mean.numpy(), mean, rtol=1e-4, atol=1e-5)
    target_predictions = np.argmax(np.asarray(model(task.x_test, training=False)), axis=1)
    assert scores.target_test == pytest.approx(np.mean(target_predictions == task.y_test))
    assert scores.source_validation == pytest.approx(np.mean(
        np.argmax(_with_statistics(model, task.x_source)(task.x_source_val), axis=1) == task.y_source_val))


def _with_statistics(model, x):
    from course_lib.methods.batchnorm import reestimate

    reestimate(model.extractor, x)
    return lambda images: np.asarray(model(images, training=False))


def _scores(source_validation, pad, target_test):
    return chapter.Scores(source_validation, target_test, pad, None, None)


def test_choose_picks_by_each_criterion_and_breaks_ties_towards_the_smaller_lambda():
    scores = {0.0: _scores(0.97, 0.40, 0.60), 0.3: _scores(0.97, 0.20, 0.70),
              1.0: _scores(0.95, 0.05, 0.78), 3.0: _scores(0.80, 0.00, 0.80)}
    chosen = chapter.choose(scores)
    assert chosen[chapter.CHOSEN_ON_SOURCE] == 0.0  # tie at 0.97: the smaller lambda
    assert chosen[chapter.CHOSEN_LABEL_FREE] == 1.0  # 0.05 + 0.025 is the lowest
    assert chosen[chapter.CHOSEN_ON_TEST] == 3.0


def _adaptation_results(dann, pads=None):
    accuracies = {"source_only": [0.40, 0.42], "source_only_bn": [0.55, 0.60],
                  "source_only_trained": [0.58, 0.59], "dann": dann, "coral": [0.65, 0.66], "mmd": [0.70, 0.71]}
    pads = pads or {}
    return ([({"arm": arm}, values) for arm, values in accuracies.items()]
            + [({"arm": arm, "metric": "proxy_a_distance"},
                pads.get(arm, [0.2, 0.2] if arm == "source_only_trained" else [0.1, 0.1]))
               for arm in ("source_only_trained", *chapter.METHODS)])


def test_domain_adaptation_claims_compare_with_the_strongest_source_only_arm():
    claims = registry.get("domain_adaptation").claims
    good = fake_report("domain_adaptation", _adaptation_results([0.70, 0.72]))
    assert all(check(good) for check in claims.values())
    assert chapter.gains_over_source_only(good, "dann") == pytest.approx([0.12, 0.12])
    # DANN above AdaBN but below the trained source-only arm on one seed: not above every source-only arm
    below_trained = fake_report("domain_adaptation", _adaptation_results([0.70, 0.595]))
    failed = [text for text, check in claims.items() if not check(below_trained)]
    assert any("every source-only arm" in text for text in failed) and any("5 points" in text for text in failed)
    coral_higher = fake_report("domain_adaptation", _adaptation_results([0.70, 0.72], {"coral": [0.1, 0.3]}))
    assert all(check(coral_higher) for check in claims.values())  # the PAD claim is DANN's and MMD's
    mmd_higher = fake_report("domain_adaptation", _adaptation_results([0.70, 0.72], {"mmd": [0.1, 0.3]}))
    assert [text for text, check in claims.items() if not check(mmd_higher)] == [
        text for text in claims if "proxy A-distance" in text]


# --- the exercises ---------------------------------------------------------------------------

def right_coral(a, b):
    c = a.shape[-1]
    rows_a, rows_b = a.reshape(-1, c), b.reshape(-1, c)
    return np.sum((np.cov(rows_a, rowvar=False) - np.cov(rows_b, rowvar=False)) ** 2) / (4 * c * c)


def test_coral_check_accepts_numpy(capsys):
    assert exercises.check_coral_maps(right_coral)
    assert capsys.readouterr().out.startswith("Correct")


def test_coral_check_refuses_the_course_loss_with_a_hint(capsys):
    def on_positions(a, b):
        c = a.shape[-1]
        return float(coral_loss(a.reshape(-1, c).astype("float32"), b.reshape(-1, c).astype("float32")))

    assert exercises.check_coral_maps(on_positions) is False
    out = capsys.readouterr().out
    assert "uses the course's own coral_loss" in out and exercises.INSTEAD[1] in out


def _coral_with(covariance, scale=lambda c: 4 * c * c, square=True, rows=lambda x: x.reshape(-1, x.shape[-1])):
    def answer(a, b):
        difference = covariance(rows(a)) - covariance(rows(b))
        total = np.sum(difference ** 2)
        return (total if square else np.sqrt(total)) / scale(a.shape[-1])
    return answer


def _old_coral(a, b):
    """The exercise as it was: CORAL of (n, d) rows, here fed the maps."""
    d = a.shape[1]
    return np.sum((np.cov(a, rowvar=False) - np.cov(b, rowvar=False)) ** 2) / (4 * d * d)


@pytest.mark.parametrize("answer, says", [
    (_coral_with(lambda x: np.asarray(_covariance(tf.constant(x)))), "_covariance"),
    (_coral_with(lambda x: np.cov(x, rowvar=False), rows=lambda x: x.mean(axis=(1, 2))), "averaged each image"),
    (_coral_with(lambda x: np.cov(x, rowvar=False, bias=True)), "by n, not n - 1"),
    (_coral_with(lambda x: np.cov(x, rowvar=False), scale=lambda c: 1), "1 / (4 c^2) is missing"),
    (_coral_with(lambda x: np.cov(x, rowvar=False), scale=lambda c: 4 * c), "4 c, not 4 c^2"),
    (_coral_with(lambda x: np.cov(x, rowvar=False), square=False), "without squaring"),
    (_coral_with(lambda x: x.T @ x / (len(x) - 1)), "not centred"),
    (lambda a, b: right_coral(a, b) + 0.1, "not CORAL's"),
    (_old_coral, "raised ValueError"),
    (lambda a, b: "0.5 please", "one number"),
    (lambda a, b: None, "returned None"),
    (None, "define the function"),
])
def test_coral_check_rejects_shortcuts_and_slips(answer, says, capsys):
    assert exercises.check_coral_maps(answer) is False
    out = capsys.readouterr().out
    assert out.startswith("Not yet") and says in out


class CustomGradientReversal(keras.layers.Layer):
    def __init__(self, lambda_, **kwargs):
        super().__init__(**kwargs)
        self.lambda_ = self.add_weight(shape=(), initializer=keras.initializers.Constant(lambda_),
                                       trainable=False)

    def call(self, x):
        lambda_ = tf.cast(self.lambda_, x.dtype)

        @tf.custom_gradient
        def reverse(inputs):
            return tf.identity(inputs), lambda upstream: -lambda_ * upstream

        return reverse(x)


def _stop_gradient_layer(forward_scale=1.0, gradient_scale=None, variable=True, trainable=False):
    """A layer with value forward_scale * x and derivative gradient_scale(lambda) (default -lambda)."""
    class Layer(keras.layers.Layer):
        def __init__(self, lambda_, **kwargs):
            super().__init__(**kwargs)
            self.lambda_ = self.add_weight(shape=(), initializer=keras.initializers.Constant(lambda_),
                                           trainable=trainable) if variable else float(lambda_)

        def call(self, x):
            lam = keras.ops.cast(self.lambda_, x.dtype)
            slope = -lam if gradient_scale is None else gradient_scale(lam)
            return tf.stop_gradient((forward_scale - slope) * x) + slope * x
    return Layer


class ShownLayer(keras.layers.Layer):
    """Section 3's plain-Keras layer, copied: lambda a Python number."""
    def __init__(self, lambda_):
        super().__init__()
        self.lambda_ = lambda_

    def call(self, x):
        return keras.ops.stop_gradient((1 + self.lambda_) * x) - self.lambda_ * x


class DelegatingLayer(keras.layers.Layer):
    def __init__(self, lambda_, **kwargs):
        super().__init__(**kwargs)
        self.inner = GradientReversal(lambda_)

    def call(self, x):
        return self.inner(x)


class CourseSubclass(GradientReversal):
    pass


@pytest.mark.parametrize("answer", [CustomGradientReversal, _stop_gradient_layer()])
def test_reversal_check_accepts_custom_gradient_and_stop_gradient(answer, capsys):
    assert exercises.check_reversal(answer)
    assert capsys.readouterr().out.startswith("Correct")


def test_reversal_check_refuses_the_notebooks_layer_with_a_hint(capsys):
    assert exercises.check_reversal(ShownLayer) is False
    out = capsys.readouterr().out
    assert "copies the code the notebook shows at `class GradientReversal`" in out and exercises.INSTEAD[2] in out


@pytest.mark.parametrize("answer, says", [
    (GradientReversal, "course's own GradientReversal"),
    (CourseSubclass, "course's own GradientReversal"),
    (DelegatingLayer, "GradientReversal"),
    (lambda lambda_: GradientReversal(lambda_), "GradientReversal"),
    (_stop_gradient_layer(variable=False), "keep lambda in a variable"),
    (_stop_gradient_layer(trainable=True), "must not be trainable"),
    (_stop_gradient_layer(gradient_scale=lambda lam: 1.0), "passes through unchanged"),
    (_stop_gradient_layer(gradient_scale=lambda lam: -1.0), "not scaled by lambda"),
    (_stop_gradient_layer(gradient_scale=lambda lam: lam), "not reversed"),
    (_stop_gradient_layer(gradient_scale=lambda lam: -2 * lam), "not -lambda times"),
    (_stop_gradient_layer(forward_scale=-1.0), "forward, it must be the identity"),
    (lambda lambda_: (lambda x: x), "keras.layers.Layer"),
    (lambda lambda_: None, "returned None"),
    (None, "define the function"),
])
def test_reversal_check_rejects_shortcuts_and_slips(answer, says, capsys):
    assert exercises.check_reversal(answer) is False
    out = capsys.readouterr().out
    assert out.startswith("Not yet") and says in out


def test_hints_print_before_a_first_try(capsys):
    for exercise in (1, 2):
        exercises.show_hint(exercise)
        assert capsys.readouterr().out.startswith("Hint: ")


# --- the adaptation lab --------------------------------------------------------------------

class _Run:
    def __init__(self, source_validation, pad, target_test):
        self.scores = _scores(source_validation, pad, target_test)


def _stub_runner(calls):
    table = {0.0: (0.97, 0.30, 0.60), 1.0: (0.96, 0.10, 0.78), 3.0: (0.90, 0.02, 0.80)}

    def runner(method, weight):
        calls.append((method, weight))
        return _Run(*table[weight]), 12.0
    return runner


def test_lab_rows_show_what_a_project_sees_apart_from_the_target_test_accuracy():
    calls = []
    lab = widget.AdaptationLab(_stub_runner(calls))
    assert "No runs yet" in lab.html()
    for weight in (0.0, 1.0, 3.0):
        lab.run("dann", weight)
    assert calls == [("dann", 0.0), ("dann", 1.0), ("dann", 3.0)]
    table = lab.table()
    assert list(table.index) == [1, 2, 3]  # in the order they ran, never sorted by the test column
    assert table.loc[2, "label_free_score"] == pytest.approx(1 - 0.96 + 0.10 / 2)
    assert lab.preferred()["run"] == 2  # 0.09 beats 0.095 and 0.18, although run 3 tests best
    page = lab.html()
    assert page.count("<tr>") == 2 + 3 and "only the course can see" in page
    assert page.index("source validation accuracy") < page.index("target test accuracy")
    assert f"2 {widget.PREFERRED}" in page and f"3 {widget.PREFERRED}" not in page


@pytest.mark.parametrize("method, weight, message", [
    ("none", 0.0, "unknown method"), ("dann", -0.5, "weight"), ("coral", 5000.0, "from 0 to 1000")])
def test_lab_refuses_what_the_widget_cannot_offer(method, weight, message):
    with pytest.raises(ValueError, match=message):
        widget.AdaptationLab(_stub_runner([])).run(method, weight)


def test_lab_runner_runs_the_registry_arm_with_its_settings(monkeypatch):
    seen = {}

    def fake_run_arm(arm, source, task, seed=0, weight=None, progress=None, dann_options=None):
        seen.update(arm=arm, source=source, task=task, seed=seed, weight=weight, options=dann_options)
        return _Run(0.9, 0.1, 0.7), 1.0

    monkeypatch.setattr(chapter, "run_arm", fake_run_arm)
    widget.AdaptationLab(widget.lab_runner("SOURCE", "TASK", seed=0)).run("mmd", 2.0)
    assert seen == {"arm": "mmd", "source": "SOURCE", "task": "TASK", "seed": 0, "weight": 2.0, "options": None}


def _click(box):
    button = box.children[0].children[2]
    button.click()
    return button


def test_widget_adds_a_row_per_click_and_shows_any_failure():
    box = widget.adaptation_widget(widget.AdaptationLab(_stub_runner([])))
    method, weight, _ = box.children[0].children
    status, table = box.children[1], box.children[2]
    assert method.value == "dann" and weight.value == chapter.WEIGHTS["dann"]
    button = _click(box)
    assert not button.disabled and "run 1" in status.value and table.value.count("<tr>") == 3
    method.value = "mmd"
    assert weight.max == widget.WEIGHT_SLIDERS["mmd"][0] and weight.value == chapter.WEIGHTS["mmd"]

    def broken(method, weight):
        raise RuntimeError("out of memory")

    failing = widget.adaptation_widget(widget.AdaptationLab(broken))
    button = _click(failing)
    assert not button.disabled and "RuntimeError" in failing.children[1].value
    assert "course-adaptation-error" in failing.children[1]._dom_classes


# --- the plots -----------------------------------------------------------------------------

def test_dann_diagram_names_every_part():
    texts = " ".join(t.get_text() for t in plots.dann_diagram().axes[0].texts)
    for part in ("feature extractor", "label classifier", "domain classifier", "gradient reversal", "$L_y$", "$L_d$"):
        assert part in texts


def test_feature_space_draws_both_domains_per_panel():
    rng = np.random.default_rng(0)
    features = (rng.normal(size=(30, 8)), rng.normal(size=(20, 8)) + 1)
    fig = plots.feature_space({"before": features, "after": features})
    assert len(fig.axes) == 2 and all(len(ax.collections) == 2 for ax in fig.axes)
    with pytest.raises(ValueError, match="same width"):
        plots.project_2d(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="panels is empty"):
        plots.feature_space({})


# --- the optional peer comparison ------------------------------------------------------------

def test_peer_comparison_says_clearly_when_adapt_is_missing(monkeypatch, capsys):
    from course_lib.chapters.ch06_domain_adaptation import peer_adapt

    monkeypatch.setattr(peer_adapt, "adapt_installed", lambda: False)
    assert peer_adapt.main(["--seeds", "0"]) == 2
    err = capsys.readouterr().err
    assert "ADAPT library is not installed" in err and "pip install adapt" in err


def test_peer_comparison_table_puts_the_course_arm_beside():
    from course_lib.chapters.ch06_domain_adaptation import peer_adapt

    course = {"accuracy": 0.79, "seconds": 18.0, "steps": 310}
    matched = {"accuracy": 0.81, "seconds": 19.0, "steps": 315}
    rows = [{"arm": "adapt_dann", "seed": seed, "accuracy": value, "accuracy_without_adabn": 0.7, "seconds": 20.0,
             "steps": 315, "course": course, "course_matched": matched} for seed, value in ((0, 0.75), (1, 0.8))]
    text = peer_adapt.table(rows)
    assert ("adapt_dann          1     0.800     0.700     20.0    315   dann           0.790     18.0    310   "
            "dann matched     0.810     19.0    315") in text
    assert ("adapt_dann       median accuracy 0.775, the course's dann 0.790, the course's dann matched 0.810, "
            "over 2 seeds") in text
    assert peer_adapt.gaps(rows) == pytest.approx({0: 6.0, 1: 1.0})
    assert peer_adapt.gaps(rows, course="course") == pytest.approx({0: 4.0, 1: -1.0})


def test_the_saved_peer_comparison_is_what_the_chapter_says():
    """Chapter 06 prints the comparison peer_adapt --save wrote (ADAPT is not installed for a learner):
    both ADAPT arms on seeds 0-4; the course's DANN matched to ADAPT's training lands on both sides
    of ADAPT's, and the course's Deep CORAL is ahead of ADAPT's on every seed."""
    from course_lib.chapters.ch06_domain_adaptation import peer_adapt

    rows = peer_adapt.load()
    assert sorted((r["arm"], r["seed"]) for r in rows) == sorted(
        (arm, seed) for arm in peer_adapt.ARMS for seed in range(5))
    matched = peer_adapt.gaps(rows).values()
    assert min(matched) < 0 < max(matched)
    assert min(peer_adapt.gaps(rows, "adapt_deepcoral", "course").values()) > 0


def test_weight_medians_reads_each_weights_records():
    series = [({"arm": "mmd", "weight": w, "metric": what}, [v + i, v + i + 0.2])
              for w, v in zip(chapter.WEIGHT_GRIDS["mmd"], (0.1, 0.2, 0.3, 0.4))
              for i, what in enumerate(chapter.WEIGHT_MEASURES)]
    series += [({"arm": "mmd", "criterion": c}, [0.5, 0.5]) for c in chapter.CRITERIA]
    table = chapter.weight_medians(fake_report("choosing_weights", series), ("mmd",))
    assert list(table.columns) == list(chapter.WEIGHT_MEASURES) and len(table) == len(chapter.WEIGHT_GRIDS["mmd"])
    assert table.loc[("mmd", chapter.WEIGHT_GRIDS["mmd"][1]), "proxy_a_distance"] == pytest.approx(1.3)
