"""Chapter 04's pieces: experiments, exercise checks, the source text's code, plots and diagrams."""

import numpy as np
import pytest

from course_lib import experiments as registry
from course_lib.chapters.ch04_transfer_networks import diagrams, exercises, plots, source_text_code
from course_lib.chapters.ch04_transfer_networks import experiments as chapter
from course_lib.core.cnn import build_cnn
from course_lib.core.evaluation import accuracy
from course_lib.methods.channel_copying import adapt_kernel
from course_lib.methods import shared_embedding as se
from course_lib.methods.shared_embedding import alignment_losses
from reports import fake_report


# --- experiments -------------------------------------------------------------------------

def test_the_experiments_are_registered_with_claims():
    found = registry.registry()
    for name in ("channel_copying", "shared_embedding", "fusion", "multimodal_transfer"):
        assert found[name].metric == "target_accuracy" and found[name].claims
    assert chapter.INK_TEACHER.images == chapter.INK_IMAGES and chapter.INK_TEACHER in chapter.RECIPES


def test_experiments_refuse_unknown_arms():
    with pytest.raises(ValueError, match="unknown arm 'both'"):
        chapter.fusion(0, arms=["both"])
    with pytest.raises(ValueError, match="unknown arm"):
        chapter.shared_embedding(0, arms=["ccsa"])
    with pytest.raises(ValueError, match="unknown mode 'sum'"):
        chapter.fusion(0, modes=["sum"])
    with pytest.raises(ValueError, match="a mode goes with the arm 'fusion' only"):
        chapter.build_fusion_arm(chapter.ARM_SOURCE_BRANCH, None, mode="concat")
    with pytest.raises(ValueError, match="a mode goes with the arm 'fusion' only"):
        chapter.build_fusion_arm(chapter.ARM_FUSION, None)


def test_epochs_to_reach_reads_the_curve():
    assert chapter.epochs_to_reach([0.1, 0.4, 0.6, 0.7], 0.6) == 2
    assert chapter.epochs_to_reach([0.1, 0.2], 0.9) is None


def test_select_and_test_keeps_the_best_validation_epoch_and_tests_it_once():
    rng = np.random.default_rng(0)
    x = rng.random((60, 28, 28, 1)).astype("float32")
    y = (x[:, :14].mean(axis=(1, 2, 3)) > x[:, 14:].mean(axis=(1, 2, 3))).astype(int)
    model = build_cnn(channels=1, n_classes=2, seed=0)
    selected = chapter.select_and_test(model, (x[:40], y[:40]), (x[40:50], y[40:50]),
                                       (x[50:], y[50:]), epochs=4, batch_size=8)
    assert len(selected.curve) == 5  # before training, then after each of 4 epochs
    assert selected.best_epoch == int(np.argmax(selected.curve[1:])) + 1
    assert accuracy(model, x[40:50], y[40:50]) == pytest.approx(selected.curve[selected.best_epoch])
    assert selected.test == pytest.approx(accuracy(model, x[50:], y[50:]))


def test_the_target_split_holds_out_a_validation_part_of_the_few_labels():
    (x, y), (x_val, y_val), (x_test, _) = chapter.target_split(0)
    per_class = chapter.LABELS_PER_CLASS - chapter.VALIDATION_PER_CLASS
    assert len(x) == 10 * per_class and np.all(np.bincount(y) == per_class)
    assert len(x_val) == 10 * chapter.VALIDATION_PER_CLASS and len(x_test) == 1000
    flat = lambda a: {row.tobytes() for row in a}  # noqa: E731
    assert not flat(x) & flat(x_val)


def test_the_target_split_can_train_on_fewer_labels_with_the_same_validation_size():
    (x, y), (x_val, y_val), _ = chapter.target_split(0, train_per_class=1)
    assert len(x) == 10 and np.all(np.bincount(y) == 1)
    assert np.all(np.bincount(y_val) == chapter.VALIDATION_PER_CLASS)
    with pytest.raises(ValueError, match="train_per_class"):
        chapter.target_split(0, train_per_class=0)


def test_the_search_tries_the_papers_values_first():
    assert chapter.SEARCH_GRID[0] == (se.ALPHA, se.MARGIN)  # the paper's values win ties
    assert "ccsa_search" in registry.registry()


def test_search_gains_counts_points_and_the_seeds_ccsa_won():
    arms = {chapter.SEARCH_BASELINE: [0.50, 0.60, 0.70], chapter.SEARCH_PAPER: [0.52, 0.59, 0.75],
            chapter.SEARCH_CHOSEN: [0.50, 0.61, 0.71]}
    other = {chapter.SEARCH_BASELINE: [0.9] * 3, chapter.SEARCH_PAPER: [0.1] * 3, chapter.SEARCH_CHOSEN: [0.1] * 3}
    report = fake_report("ccsa_search", [({"arm": arm, "labels_per_class": count}, values)
                                         for count, by_arm in ((3, arms), (5, other))
                                         for arm, values in by_arm.items()])
    table = chapter.search_gains(report)
    assert list(table.index) == [(n, arm) for n in (3, 5) for arm in (chapter.SEARCH_PAPER, chapter.SEARCH_CHOSEN)]
    assert table.loc[(5, chapter.SEARCH_PAPER), "median gain (points)"] == -80.0
    paper, chosen = table.loc[(3, chapter.SEARCH_PAPER)], table.loc[(3, chapter.SEARCH_CHOSEN)]
    assert paper["median gain (points)"] == 2.0 and paper["min"] == -1.0 and paper["max"] == 5.0
    assert paper["seeds won"] == "2 of 3: 0, 2"
    assert chosen["seeds won"] == "2 of 3: 1, 2"  # a tie is not a win


def test_paired_views_are_two_views_of_the_same_digits():
    ink, photo, y = chapter.paired_views(0)
    assert ink.shape == (2000, 28, 28, 1) and photo.shape == (2000, 28, 28, 3) and len(y) == 2000
    # a photo is |crop - digit|: over a smooth crop it follows its own digit's strokes (up or down)

    def strokes_followed(inks, photos):
        return np.mean([abs(np.corrcoef(i.ravel(), p[..., 0].ravel())[0, 1]) for i, p in zip(inks, photos)])

    assert strokes_followed(ink[:100], photo[:100]) > strokes_followed(ink[:100], photo[100:200]) + 0.3


def test_pair_split_is_disjoint_and_covers_every_pair():
    _, _, y = chapter.paired_views(0)
    (train, y_train), (val, y_val), unlabelled = chapter.pair_split(y, 0)
    assert not set(train) & set(val) and not (set(train) | set(val)) & set(unlabelled)
    assert len(train) + len(val) + len(unlabelled) == len(y)
    np.testing.assert_array_equal(y[train], y_train)
    np.testing.assert_array_equal(y[val], y_val)


# --- the source text's code ---------------------------------------------------------------

def test_source_text_code_fails_with_an_index_error():
    found = source_text_code.source_text_failure()
    assert isinstance(found["error"], IndexError)
    assert found["kernel"] == (128, 10) and found["wanted"] == (3, 3, 3, 96)


def test_source_text_target_is_too_big_and_stacks_two_relus():
    _, target = source_text_code.source_text_models()
    assert target.output_shape == (None, 27 * 27 * 256)  # three 3x3 stride-2 poolings: 227 -> 113 -> 56 -> 27
    assert source_text_code.alexnet_dense_params(target) == 27 * 27 * 256 * 4096 + 4096
    assert source_text_code.alexnet_dense_gigabytes(target) > 1.0
    assert source_text_code.first_block(target) == [
        "Conv2D (activation relu)", "BatchNormalization", "ReLU", "MaxPooling2D"]


# --- exercise 1: the luminance kernel ----------------------------------------------------

LUMINANCE = np.array([0.299, 0.587, 0.114])


@pytest.mark.parametrize("answer", [
    lambda k: k * LUMINANCE[:, None],
    lambda k: np.concatenate([0.299 * k, 0.587 * k, 0.114 * k], axis=2),
])
def test_exercise_1_accepts_correct_answers(answer, capsys):
    assert exercises.check_grey_to_luminance(answer) is True
    assert capsys.readouterr().out.startswith("Correct")


def test_exercise_1_refuses_the_course_kernel_rule_with_a_hint(capsys):
    assert exercises.check_grey_to_luminance(lambda k: adapt_kernel(k, 3) * 3 * LUMINANCE[:, None]) is False
    out = capsys.readouterr().out
    assert "uses the course's own adapt_kernel" in out and exercises.INSTEAD[1] in out


@pytest.mark.parametrize("answer, says", [
    (lambda k: (lambda f: f(k, 3))(adapt_kernel), "adapt_kernel"),
    (lambda k: np.repeat(k, 3, axis=2) / 3, "shared the kernel equally"),
    (lambda k: np.repeat(k, 3, axis=2), "copied the kernel to every channel"),
    (lambda k: k, "wants"),
    (lambda k: k * LUMINANCE[:, None] + 1, "not the kernel"),
    (lambda k: None, "returned None"),
    (lambda k: 1 / 0, "ZeroDivisionError"),
    (None, "define the function"),
    (lambda k: "kernel", "NumPy array"),
])
def test_exercise_1_rejects_shortcuts_and_wrong_answers(answer, says, capsys):
    assert exercises.check_grey_to_luminance(answer) is False
    out = capsys.readouterr().out
    assert out.startswith("Not yet") and says in out
    assert "0.299 w" not in out  # never the answer


# --- exercise 2: the pair losses ---------------------------------------------------------

def _cosine_distances(z_source, z_target):
    unit = lambda z: z / np.linalg.norm(z, axis=1, keepdims=True)  # noqa: E731
    return 1 - unit(z_source) @ unit(z_target).T


def _pair_losses(z_source, y_source, z_target, y_target, margin):
    d = _cosine_distances(z_source, z_target)
    same = y_source[:, None] == y_target[None, :]
    align = (d[same] ** 2).mean() if same.any() else 0.0
    separate = (np.maximum(0, margin - d[~same]) ** 2).mean() if (~same).any() else 0.0
    return align, separate


def _pair_slip(slip):
    def answer(z_source, y_source, z_target, y_target, margin):
        d = _cosine_distances(z_source, z_target)
        same = y_source[:, None] == y_target[None, :]
        align, separate = _pair_losses(z_source, y_source, z_target, y_target, margin)
        if slip == "not squared":
            align = d[same].mean()
        if slip == "every pair":
            align = (d ** 2).mean()
        if slip == "no max":
            separate = ((margin - d[~same]) ** 2).mean()
        return align, separate
    return answer


def _euclidean(z_source, y_source, z_target, y_target, margin):
    """The chapter's losses, written out: the Euclidean distance."""
    d = np.sqrt(((z_source[:, None, :] - z_target[None, :, :]) ** 2).sum(-1))
    same = y_source[:, None] == y_target[None, :]
    align = (d[same] ** 2).mean() if same.any() else 0.0
    separate = (np.maximum(0, margin - d[~same]) ** 2).mean() if (~same).any() else 0.0
    return align, separate


def test_exercise_2_accepts_a_correct_answer(capsys):
    assert exercises.check_cosine_pair_losses(_pair_losses) is True
    assert capsys.readouterr().out.startswith("Correct")


def test_exercise_2_refuses_the_course_losses_with_a_hint(capsys):
    def on_unit_rows(zs, ys, zt, yt, margin):  # on unit rows, |a - b|^2 / 2 is 1 - cos
        unit = lambda z: z / np.linalg.norm(z, axis=1, keepdims=True)  # noqa: E731
        return alignment_losses(unit(zs) / np.sqrt(2), ys, unit(zt) / np.sqrt(2), yt, margin)

    assert exercises.check_cosine_pair_losses(on_unit_rows) is False
    out = capsys.readouterr().out
    assert "uses the course's own alignment_losses" in out and exercises.INSTEAD[2] in out


@pytest.mark.parametrize("answer, says", [
    (_euclidean, "Euclidean distance"),
    (_pair_slip("not squared"), "not the squared distance"),
    (_pair_slip("every pair"), "only the same-class pairs"),
    (_pair_slip("no max"), "max(0, ...)"),
    (lambda *a: 0.0, "two numbers"),
    (lambda *a: (1.0, 2.0), "not right"),
    (None, "define the function"),
])
def test_exercise_2_rejects_shortcuts_and_wrong_answers(answer, says, capsys):
    assert exercises.check_cosine_pair_losses(answer) is False
    out = capsys.readouterr().out
    assert out.startswith("Not yet") and says in out


def test_hints_are_there_before_a_first_try(capsys):
    exercises.show_hint(1)
    exercises.show_hint(2)
    out = capsys.readouterr().out
    assert out.count("Hint: ") == 2


# --- plots and diagrams ---------------------------------------------------------------------

def test_validation_curves_draw_each_run_and_its_kept_epoch():
    runs = {"a": chapter.Selected(np.array([0.1, 0.5, 0.4]), 1, 0.5, None),
            "b": chapter.Selected(np.array([0.1, 0.2, 0.3]), 2, 0.3, None)}
    ax = plots.validation_curves(runs)
    assert len(ax.lines) == 2 * 2 + 1  # a curve and a ring per run, and chance
    assert ax.get_ylabel() == "validation accuracy"
    with pytest.raises(ValueError, match="empty"):
        plots.validation_curves({})


def test_filters_and_pair_distances_check_their_input():
    kernel = np.random.default_rng(0).normal(size=(3, 3, 3, 8))
    fig = plots.filters({"rgb": kernel, "grey": kernel[:, :, :1]})
    assert len(fig.axes) == 16
    with pytest.raises(ValueError, match="need a"):
        plots.filters({"bad": kernel[..., :4]})
    fig = plots.pair_distances({"x": (np.array([0.1, 0.2]), np.array([1.2, 1.4]))}, margin=1.0)
    assert len(fig.axes) == 1


def test_seed_plot_draws_every_seed_of_every_series():
    report = fake_report("fusion", [({"arm": "a"}, [0.5, 0.6, 0.7]), ({"arm": "b", "mode": "m"}, [0.2, 0.3, 0.4]),
                                    ({"arm": "b", "mode": "n"}, [0.3, 0.3, 0.3])])
    ax = plots.seeds(report)
    assert len(ax.lines) == 3 + 3 + 1  # a grey line per seed, the dots of each series, chance
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b\nmode m", "b\nmode n"]
    assert len(plots.seeds(report, arm=["a"]).lines) == 3 + 1 + 1
    with pytest.raises(ValueError, match="no series of fusion"):
        plots.seeds(report, arm="c")


@pytest.mark.parametrize("draw", [diagrams.channel_copying_diagram, diagrams.shared_embedding_diagram,
                                  diagrams.fusion_diagram, diagrams.multimodal_diagram])
def test_diagrams_draw(draw):
    fig = draw()
    assert fig.axes[0].patches


def test_fusion_diagram_refuses_an_unknown_fusion():
    with pytest.raises(ValueError, match="unknown fusion"):
        diagrams.fusion_diagram("sum")
