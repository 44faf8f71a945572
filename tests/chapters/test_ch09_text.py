"""Chapter 09's text example: its task, what each arm trains, its results file and claims, its figure."""

import matplotlib
import numpy as np
import pytest

import course_lib

course_lib.setup(0)
matplotlib.use("Agg")

from course_lib import results  # noqa: E402
from course_lib.chapters.ch09_parameter_efficient import experiments as ex  # noqa: E402
from course_lib.chapters.ch09_parameter_efficient import plots  # noqa: E402
from course_lib.experiments import Report, registry  # noqa: E402
from course_lib.results.report import fields_of  # noqa: E402
from course_lib.methods import text_transfer as tt  # noqa: E402


@pytest.fixture(scope="module")
def encoder():
    """An untrained encoder at the real size: it stands in for the pretrained one (same shapes)."""
    return tt.build_encoder(seed=0)


def test_the_text_task_draws_few_labelled_tweets_per_class_and_tests_on_balanced_ones():
    task = ex.load_text_task(seed=2)
    (x_train, y_train), (x_val, y_val) = task["train"], task["validation"]
    half = ex.TEXT_LABELS_PER_CLASS // 2
    assert np.bincount(y_train).tolist() == [half, half] and np.bincount(y_val).tolist() == [half, half]
    assert np.bincount(task["test"][1])[0] == np.bincount(task["test"][1])[1]
    rows = lambda x: {row.tobytes() for row in x}  # noqa: E731
    assert not rows(x_train) & rows(x_val)
    assert rows(ex.load_text_task(seed=3)["train"][0]) != rows(x_train)


def test_the_text_experiment_is_registered_and_warm_builds_its_encoder():
    found = registry()["text_transfer"]
    assert found.claims and ex.text_encoder in ex.CACHED


def test_the_text_budgets_count_what_each_arm_trains(encoder):
    budgets = ex.text_budgets(encoder)
    assert list(budgets.index) == [(a["arm"], a.get("layers", "")) for a in ex.TEXT_ARMS]
    trainable, share = budgets["trainable"], budgets["share"]
    attention, feed_forward = ("LoRA", "attention (q, v)"), ("LoRA", "feed-forward")
    assert share["full", ""] == share["scratch", ""] == 1.0
    head = tt.DIM * 2 + 2
    assert trainable["probe", ""] == head
    r, d, ff, heads = tt.LORA_RANK, tt.DIM, tt.FEED_FORWARD, tt.HEADS
    # EinsumDense (d, heads, d / heads): A (d, heads, r), B (r, d / heads), bias (heads, d / heads).
    projection = d * heads * r + r * (d // heads) + d
    assert trainable[attention] == tt.BLOCKS * 2 * projection + head
    dense = (d * r + r * ff + ff) + (ff * r + r * d + d)
    assert trainable[feed_forward] == tt.BLOCKS * dense + head
    assert share[attention] < 0.02 and share[feed_forward] < 0.03


def test_a_text_arm_takes_exactly_its_fields():
    assert ex.text_method_of("LoRA", layers="feed-forward") == ("lora", {"where": "feed_forward"})
    assert ex.text_method_of("probe") == ("probe", {})
    with pytest.raises(ValueError, match="unknown LoRA layers"):
        ex.text_method_of("LoRA", layers="everywhere")
    with pytest.raises(ValueError, match="has no fields"):
        ex.text_method_of("full", layers="feed-forward")


def test_the_saved_text_results_cover_every_arm_on_seeds_0_to_4_and_hold_their_claims():
    report = results.load("text_transfer")
    assert report.seeds == [0, 1, 2, 3, 4] and [s["record"] for s in report.series()] == [
        {**arm, "metric": "test_accuracy"} for arm in ex.TEXT_ARMS]
    assert all(0 <= r["value"] <= 1 for r in report.records)
    holds = report.claims()
    assert all(holds.values()), {claim: ok for claim, ok in holds.items() if not ok}


#: For each claim (a word of it), an arm whose value on every seed breaks it.
CONTRARY = (("chance", {"arm": "probe"}, 0.55), ("pretraining", {"arm": "scratch"}, 0.5),
            ("within 7 points", {"arm": "full"}, 0.95), ("where LoRA goes", ex.TEXT_LORA_FEED_FORWARD, 0.5))


@pytest.mark.parametrize("words, arm, value", CONTRARY, ids=[c[0] for c in CONTRARY])
def test_each_text_claim_fails_when_its_arms_say_otherwise(words, arm, value):
    report = results.load("text_transfer")
    changed = [{**r, "value": value} if {"arm": r["arm"], **fields_of(r)} == arm else r for r in report.records]
    fake = Report("text_transfer", "test_accuracy", report.seeds, changed, checks=report.checks)
    [claim] = [text for text in fake.claims() if words in text]
    assert report.claims()[claim] and not fake.claims()[claim]


def test_the_text_figure_puts_each_arm_at_its_share(encoder):
    report = results.load("text_transfer")
    shares = ex.text_budgets(encoder)["share"]
    fig = plots.accuracy_vs_share(report, shares, measured="test accuracy on tweets")
    assert fig.axes[0].get_ylabel() == "test accuracy on tweets" and len(fig.axes[0].texts) == len(shares)
