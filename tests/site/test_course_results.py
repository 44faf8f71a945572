"""site/_ext/course_results.py: ranges quoted from results files, and clear errors without them."""

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "site" / "_ext"))
import course_results  # noqa: E402


@pytest.fixture
def app(tmp_path):
    committed, generated = tmp_path / "committed", tmp_path / "generated"
    committed.mkdir()
    generated.mkdir()
    report = {"experiment": "toy", "metric": "target_accuracy", "seeds": [0, 1, 2],
              "results": {"full": [0.8, 0.7, 0.9], "scratch": [0.6, 0.65, 0.6], "epochs": [3.0, 3.0, 4.0]},
              "seconds": {}}
    (generated / "toy.json").write_text(json.dumps(report))
    dependencies = []
    course_results._loaded.clear()
    yield SimpleNamespace(config=SimpleNamespace(course_results_dirs=[str(committed), str(generated)]),
                          env=SimpleNamespace(note_dependency=dependencies.append),
                          dependencies=dependencies, committed=committed)
    course_results._loaded.clear()


def test_an_arm_renders_as_its_range_over_the_seeds(app):
    shown, hover = course_results.render(app, "toy/full")
    assert shown == "0.70 to 0.90"
    assert "median 0.800" in hover and "seeds 0, 1, 2: 0.800, 0.700, 0.900" in hover
    assert app.dependencies and app.dependencies[0].endswith("toy.json")


def test_a_difference_is_taken_seed_by_seed_in_points(app):
    shown, _ = course_results.render(app, "toy/full - scratch")
    assert shown == "+5.0 to +30.0 points"  # per seed: +20, +5, +30


def test_whole_numbers_show_without_decimals(app):
    assert course_results.render(app, "toy/epochs")[0] == "3 to 4"


def test_the_committed_file_wins(app):
    (app.committed / "toy.json").write_text(json.dumps(
        {"experiment": "toy", "metric": "m", "seeds": [0], "results": {"full": [0.5]}}))
    assert course_results.render(app, "toy/full")[0] == "0.50"


@pytest.mark.parametrize("text, message", [
    ("nothing/full", "no results file for the experiment 'nothing'.*course_lib.experiments nothing"),
    ("toy/missing", "has no arm 'missing'; its arms: 'full', 'scratch', 'epochs'"),
    ("toy", "write .*experiment/arm"),
])
def test_errors_say_what_to_do(app, text, message):
    with pytest.raises(course_results.ResultsError, match=message):
        course_results.render(app, text)


def test_a_file_with_a_value_missing_is_refused(app):
    (app.committed / "bad.json").write_text(json.dumps(
        {"experiment": "bad", "metric": "m", "seeds": [0, 1], "results": {"a": [0.5]}}))
    with pytest.raises(course_results.ResultsError, match="1 values for 2 seeds"):
        course_results.render(app, "bad/a")


def test_a_table_shows_every_arm_or_the_arms_asked_for(app):
    report = course_results.load(app, "toy")
    assert [row[0] for row in course_results.table_rows(report)] == ["full", "scratch", "epochs"]
    rows = course_results.table_rows(report, ["scratch", "full"])
    assert rows[0] == ["scratch", "0.600", "0.600 to 0.650", "0.600, 0.650, 0.600"]
    assert [row[0] for row in rows] == ["scratch", "full"]
    with pytest.raises(course_results.ResultsError, match="no arm 'nothing'"):
        course_results.table_rows(report, ["nothing"])
