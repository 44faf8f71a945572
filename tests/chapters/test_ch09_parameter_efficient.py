"""Chapter 09's pieces: its task, its arms and what each trains, LoRA on the chapter's own models
(merged = unmerged; the layers' outputs against NumPy's W + (alpha/r) A B), its results file and
claims, its exercise checks (right answers pass, shortcuts and wrong answers do not, nothing
raises) and its figure."""

import keras
import matplotlib
import numpy as np
import pytest

import course_lib

course_lib.setup(0)
matplotlib.use("Agg")

import keras  # noqa: E402

from course_lib import results  # noqa: E402
from course_lib.chapters.ch09_parameter_efficient import experiments as ex  # noqa: E402
from course_lib.chapters.ch09_parameter_efficient import exercises  # noqa: E402
from course_lib.chapters.ch09_parameter_efficient import plots  # noqa: E402
from course_lib.core.cnn import build_cnn  # noqa: E402
from course_lib.core.evaluation import layer_output, predict  # noqa: E402
from course_lib.core.pretrained import SOURCE  # noqa: E402
from course_lib.experiments import Measured, Report, registry  # noqa: E402
from course_lib.results.report import fields_of  # noqa: E402
from course_lib.methods import parameter_efficient as pe  # noqa: E402


@pytest.fixture(scope="module")
def source():
    """A trained-looking stand-in for the source model: the course CNN at its real size."""
    return build_cnn(seed=0)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).random((12, 28, 28, 1), dtype=np.float32)


# ----------------------------------------------------------------------------- the task and the arms

def test_the_task_splits_the_labelled_images_into_train_and_validation():
    task = ex.load_task(seed=3)
    (x_train, y_train), (x_val, y_val) = task["train"], task["validation"]
    assert np.bincount(y_train).tolist() == [10] * 10 and np.bincount(y_val).tolist() == [10] * 10
    assert x_train.shape[1:] == (28, 28, 1) and task["test"][0].shape == (1000, 28, 28, 1)
    flat = lambda x: {row.tobytes() for row in x}  # noqa: E731
    assert not flat(x_train) & flat(x_val), "an image is both a training and a validation image"


def test_the_experiment_is_registered_with_its_recipe_and_claims():
    found = registry()["parameter_efficient"]
    assert found.claims and ex.RECIPES == (SOURCE,)


def test_every_arm_but_the_probe_starts_as_the_source_model(source, images):
    for arm in ex.ARMS:
        model = ex.arm_model(**arm, source=source)
        same = np.allclose(predict(model, images), predict(source, images), atol=1e-5)
        assert same == (arm["arm"] != "probe"), arm


def test_the_budgets_count_what_each_arm_trains(source):
    budgets = ex.budgets(source)
    assert list(budgets.index) == [(a["arm"], a.get("rank", ""), a.get("layers", "")) for a in ex.ARMS]
    trainable, share = budgets["trainable"], budgets["share"]
    assert share["full", "", ""] == share["LP-FT", "", ""] == 1.0
    conv_ranks = [trainable["LoRA", r, "convs"] for r in ex.RANKS]
    assert conv_ranks == sorted(conv_ranks) and share["LoRA", 16, "convs"] < 0.05
    # LoRA r on the convolutions: A (3, 3, c_in, r), B (r, c_out) and the bias of each.
    kernels = [source.get_layer(n).kernel.shape for n in ex.CONVS]
    for r in ex.RANKS:
        want = sum(int(np.prod(k[:-1])) * r + r * k[-1] + k[-1] for k in kernels)
        assert trainable["LoRA", r, "convs"] == want
    biases = sum(int(np.prod(v.shape)) for v in source.weights if v.name == "bias")
    assert trainable["BitFit", "", ""] == biases
    assert trainable["BitFit + BatchNorm", "", ""] > biases
    assert budgets["bytes_per_task"]["BitFit", "", ""] == 4 * biases


def test_an_unknown_arm_or_wrong_fields_are_refused(source):
    with pytest.raises(ValueError, match="unknown arm 'LoRA r2 convs'"):
        ex.arm_model("LoRA r2 convs", source)
    with pytest.raises(ValueError, match="unknown LoRA layers 'attention'"):
        ex.arm_model("LoRA", source, rank=2, layers="attention")
    with pytest.raises(ValueError, match="LoRA takes the fields rank and layers; got rank"):
        ex.arm_model("LoRA", source, rank=2)
    with pytest.raises(ValueError, match="has no fields; got rank"):
        ex.arm_model("BitFit", source, rank=2)


# ----------------------------------------------------------------------------- LoRA, on the chapter's models

def lora_arm_with_an_update(arm, source, seed=1):
    """The arm's LoRA model with B set to random values, so that the update shows."""
    model = ex.arm_model(**arm, source=source)
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if getattr(layer, "lora_enabled", False):
            layer.lora_kernel_b.assign(0.1 * rng.normal(size=layer.lora_kernel_b.shape).astype("float32"))
    return model


@pytest.mark.parametrize("arm", [ex.lora(4), ex.lora(4, "dense")], ids=["convs", "dense"])
def test_the_merged_lora_model_predicts_as_the_unmerged_one(arm, source, images, tmp_path):
    model = lora_arm_with_an_update(arm, source)
    assert not np.allclose(predict(model, images), predict(source, images), atol=1e-4)
    model.save(tmp_path / "lora.keras")
    loaded = keras.models.load_model(tmp_path / "lora.keras")
    # Keras 3.10 reloads a cloned model expecting its input in a list: rewrap it as one tensor in.
    merged = keras.Model(loaded.inputs[0], loaded.outputs[0])
    for name in ex.LORA_LAYERS[arm["layers"]]:
        assert not merged.get_layer(name).lora_kernel_b.numpy().any(), "loading should zero B"
    np.testing.assert_allclose(predict(merged, images), predict(model, images), rtol=1e-4, atol=1e-5)
    model.save_weights(tmp_path / "lora.weights.h5")
    plain = keras.models.clone_model(source)
    plain.load_weights(tmp_path / "lora.weights.h5")  # the architecture without LoRA
    np.testing.assert_allclose(predict(plain, images), predict(model, images), rtol=1e-4, atol=1e-5)


def numpy_merged(layer):
    """``W + (alpha / r) A B`` in NumPy (A B over the last axis of A)."""
    a, b = layer.lora_kernel_a.numpy(), layer.lora_kernel_b.numpy()
    return layer._kernel.numpy() + (layer.lora_alpha / layer.lora_rank) * np.tensordot(a, b, axes=(-1, 0))


def test_the_lora_dense_layer_computes_x_times_w_plus_scaled_ab_plus_bias(source, images):
    model = lora_arm_with_an_update(ex.lora(4, "dense"), source)
    layer = model.get_layer("features")
    assert layer.lora_alpha == pe.LORA_ALPHA_PER_RANK * layer.lora_rank == 8
    x = layer_output(model, "flatten", images)
    want = x @ numpy_merged(layer) + layer.bias.numpy()
    np.testing.assert_allclose(layer_output(model, "features", images), want, rtol=1e-4, atol=1e-4)


def test_the_lora_conv_layer_convolves_with_w_plus_scaled_ab(source, images):
    model = lora_arm_with_an_update(ex.lora(4), source)
    layer = model.get_layer("block1_conv")
    kernel, k = numpy_merged(layer), layer.kernel_size[0]
    patches = np.lib.stride_tricks.sliding_window_view(images, (k, k), axis=(1, 2))  # n, 26, 26, c, k, k
    want = np.einsum("nijcab,abco->nijo", patches, kernel) + layer.bias.numpy()
    got = layer_output(model, "block1_conv", images)
    np.testing.assert_allclose(got, want.reshape(len(images), -1), rtol=1e-4, atol=1e-4)


# ----------------------------------------------------------------------------- results and claims

def test_the_saved_results_cover_every_arm_on_seeds_0_to_4_and_hold_their_claims():
    report = results.load("parameter_efficient")
    assert report.seeds == [0, 1, 2, 3, 4] and [s["record"] for s in report.series()] == [
        {**arm, "metric": "target_accuracy"} for arm in ex.ARMS]
    assert all(0 <= r["value"] <= 1 for r in report.records)
    holds = report.claims()
    assert all(holds.values()), {claim: ok for claim, ok in holds.items() if not ok}


def test_the_notebooks_live_arms_are_read_beside_the_file_by_their_fields():
    report = results.load("parameter_efficient")
    file_value = report.values(**ex.lora(16))[0]
    lines = results.beside(report, [Measured("BitFit", 1.0), Measured(value=file_value, **ex.lora(16))]).splitlines()
    assert lines[0].startswith("BitFit  ") and "OUTSIDE it" in lines[0]
    assert lines[1].startswith("LoRA (rank=16, layers=convs)  this run") and lines[1].endswith("within it")


def test_the_claims_fail_when_their_arms_say_otherwise():
    report = results.load("parameter_efficient")
    for arm, low in ((ex.lora(4), 0.0), ({"arm": "probe"}, 1.0), ({"arm": "BitFit"}, 1.0), (ex.lora(4, "dense"), 1.0)):
        fields = {k: v for k, v in arm.items() if k != "arm"}
        changed = [{**r, "value": low} if r["seed"] == 0 and r["arm"] == arm["arm"] and fields_of(r) == fields else r
                   for r in report.records]  # seed 0 only
        assert changed != report.records
        fake = Report("parameter_efficient", "target_accuracy", report.seeds, changed, checks=report.checks)
        assert not all(fake.claims().values()), arm


# ----------------------------------------------------------------------------- the figure

def test_the_figure_puts_each_arm_at_its_share_on_a_log_axis(source):
    report = results.load("parameter_efficient")
    shares = ex.budgets(source)["share"]
    fig = plots.accuracy_vs_share(report, shares, live=[Measured("BitFit", 0.6), Measured(value=0.8, **ex.lora(16))])
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and len(ax.texts) == len(shares)
    assert "LoRA (rank 16, layers convs)" in [t.get_text() for t in ax.texts]
    stars = [line for line in ax.lines if line.get_marker() == "*"]
    assert [(line.get_xdata()[0], line.get_ydata()[0]) for line in stars] == [
        (shares["BitFit", "", ""], 0.6), (shares["LoRA", 16, "convs"], 0.8)]
    assert ax.get_legend() is not None
    with pytest.raises(ValueError, match="shares"):
        plots.accuracy_vs_share(report, shares.iloc[:0])


# ----------------------------------------------------------------------------- exercise 1

KEPT = ("bias", "gamma", "beta")


def my_bitfit_batchnorm(model):
    model.trainable = True
    for layer in model.layers:
        layer.trainable = any(v.name in KEPT for v in layer.weights)
        for variable in layer.trainable_weights:
            variable.trainable = variable.name in KEPT
    return model


def keeps_kernels(model):
    model.trainable = True
    for layer in model.layers:
        layer.trainable = any(v.name in KEPT for v in layer.weights)
    return model


def forgets_the_model_flag(model):
    for layer in model.layers:
        layer.trainable = any(v.name in KEPT for v in layer.weights)
        for variable in layer.trainable_weights:
            variable.trainable = variable.name in KEPT
    return model


def biases_alone_as_shown(model):  # the notebook's section 3 cell, copied
    model = keras.models.clone_model(model)
    for layer in model.layers:
        layer.trainable = any(v.name == "bias" for v in layer.weights)
        for v in layer.trainable_weights:
            v.trainable = v.name == "bias"
    return model


def test_exercise_1_accepts_biases_gammas_and_betas(capsys):
    assert exercises.check_bitfit_batchnorm(my_bitfit_batchnorm)
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize("answer, says", [
    (lambda model: pe.bitfit(model, batchnorm=True), "uses the course's own bitfit"),
    (biases_alone_as_shown, "do not train"),  # the shown cell answers a different question
    (keeps_kernels, "neither biases nor gamma/beta"),
    (forgets_the_model_flag, "do not train"),
    (lambda model: 1 / 0, "ZeroDivisionError"),
    (lambda model: "bias", "return the Keras model"),
    (None, "define the function"),
])
def test_exercise_1_rejects_shortcuts_and_wrong_answers(answer, says, capsys):
    assert not exercises.check_bitfit_batchnorm(answer)
    out = capsys.readouterr().out
    assert "Not yet" in out and says in out


# ----------------------------------------------------------------------------- exercise 2

def my_merge(layer):
    update = np.matmul(layer.lora_kernel_a.numpy(), layer.lora_kernel_b.numpy())
    return layer._kernel.numpy() + (layer.lora_alpha / layer.lora_rank) * update


def test_exercise_2_accepts_the_merged_kernel(capsys):
    assert exercises.check_merge(my_merge)
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize("answer, says", [
    (lambda layer: layer.kernel.numpy(), "Keras's own"),
    (lambda layer: layer._kernel.numpy(), "frozen kernel W alone"),
    (lambda layer: layer._kernel.numpy() + layer.lora_kernel_a.numpy() @ layer.lora_kernel_b.numpy(),
     "alpha / rank"),
    (lambda layer: my_merge(layer)[..., :1], "shape"),
    (lambda layer: None, "returned None"),
])
def test_exercise_2_rejects_shortcuts_and_wrong_answers(answer, says, capsys):
    assert not exercises.check_merge(answer)
    out = capsys.readouterr().out
    assert "Not yet" in out and says in out


# ----------------------------------------------------------------------------- exercise 3

def my_count(model, layers, rank):
    count = 0
    for name in layers:
        shape = model.get_layer(name).kernel.shape
        count += int(np.prod(shape[:-1])) * rank + rank * shape[-1] + shape[-1]
    return count


def test_exercise_3_accepts_a_count_from_the_shapes(capsys):
    assert exercises.check_lora_count(my_count)
    assert "Correct" in capsys.readouterr().out


def without_biases(model, layers, rank):
    return my_count(model, layers, rank) - sum(model.get_layer(n).kernel.shape[-1] for n in layers)


@pytest.mark.parametrize("answer, says", [
    (lambda model, layers, rank: pe.budget(pe.with_lora(model, rank=rank, layers=layers), model).trainable,
     "uses the course's own"),
    (without_biases, "the biases train too"),
    (lambda model, layers, rank: 852, "is not the number"),  # the notebook's count, typed in
    (lambda model, layers, rank: "many", "is not the number"),
])
def test_exercise_3_rejects_shortcuts_and_wrong_answers(answer, says, capsys):
    assert not exercises.check_lora_count(answer)
    out = capsys.readouterr().out
    assert "Not yet" in out and says in out
