"""site/_ext/course_results.py: ranges quoted from results files, and clear errors without them."""

import json
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "site" / "_ext"))
import course_results  # noqa: E402


def _file(experiment, seeds, series):
    """A results file of records: ``series`` is ``[(arm, fields and metric), values per seed]``."""
    records = [{**{"metric": "target_accuracy", **selected}, "seed": seed, "value": value, "seconds": 0.0}
               for selected, values in series for seed, value in zip(seeds, values)]
    return {"experiment": experiment, "metric": "target_accuracy", "seeds": seeds, "records": records}


@pytest.fixture
def app(tmp_path):
    committed, generated = tmp_path / "committed", tmp_path / "generated"
    committed.mkdir()
    generated.mkdir()
    (generated / "toy.json").write_text(json.dumps(_file("toy", [0, 1, 2], [
        ({"arm": "full"}, [0.8, 0.7, 0.9]), ({"arm": "scratch"}, [0.6, 0.65, 0.6]),
        ({"arm": "full", "metric": "epochs"}, [3.0, 3.0, 4.0]),
        ({"arm": "dann", "lambda_max": 0.3}, [0.7, 0.7, 0.7]), ({"arm": "dann", "lambda_max": 3}, [0.9, 0.8, 0.8])])))
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
    assert course_results.render(app, "toy/full; metric=epochs")[0] == "3 to 4"


def test_fields_select_a_series_and_numbers_match_as_numbers(app):
    assert course_results.render(app, "toy/dann; lambda_max=3")[0] == "0.80 to 0.90"
    assert course_results.render(app, "toy/dann; lambda_max=3 - dann; lambda_max=0.3")[0] == "+10.0 to +20.0 points"


def test_the_committed_file_wins(app):
    (app.committed / "toy.json").write_text(json.dumps(_file("toy", [0], [({"arm": "full"}, [0.5])])))
    assert course_results.render(app, "toy/full")[0] == "0.50"


@pytest.mark.parametrize("text, message", [
    ("nothing/full", "no results file for the experiment 'nothing'.*course_lib.experiments nothing"),
    ("toy/missing", "toy.json: toy: no series matches arm='missing', metric='target_accuracy'; the series: "
                    "full: target_accuracy; scratch: target_accuracy; full: epochs; dann \\(lambda_max=0.3\\)"),
    ("toy/dann", "2 series match arm='dann', metric='target_accuracy'; say which with metric= or a field"),
    ("toy/dann; lambda_max", "after the arm, write key=value parts separated by '; ', not 'lambda_max'"),
    ("toy", "write .*experiment/arm"),
])
def test_errors_say_what_to_do(app, text, message):
    with pytest.raises(course_results.ResultsError, match=message):
        course_results.render(app, text)


def test_a_file_with_a_value_missing_is_refused(app):
    bad = _file("bad", [0, 1], [({"arm": "a"}, [0.5, 0.6])])
    bad["records"].pop()
    (app.committed / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(course_results.ResultsError, match="bad.json is not a results file of records: "
                                                          "bad: a: target_accuracy has seeds \\[0\\], the report \\[0, 1\\]"):
        course_results.render(app, "bad/a")


def test_a_table_shows_every_series_or_the_ones_asked_for(app):
    report, path = course_results.load(app, "toy")
    assert [row[0] for row in course_results.table_rows(report, path)][:3] == [
        "full: target_accuracy", "scratch: target_accuracy", "full: epochs"]
    rows = course_results.table_rows(report, path, ["scratch", "dann; lambda_max=3"])
    assert rows[0] == ["scratch", "0.600", "0.600 to 0.650", "0.600, 0.650, 0.600"]
    assert [row[0] for row in rows] == ["scratch", "dann; lambda_max=3"]
    with pytest.raises(course_results.ResultsError, match="no series matches arm='nothing'"):
        course_results.table_rows(report, path, ["nothing"])


ROOT = Path(__file__).resolve().parents[2]
#: Every guide page of every edition, and what it quotes: ``{result}`...``` roles and results-table bodies.
PAGES = sorted((ROOT / "site").glob("**/*.md"))


def _quoted(text):
    """``[(experiment, selector text)]`` of a page's roles and of its tables' lines (``""``: every series)."""
    found = [tuple(role.split("/", 1)) for role in re.findall(r"\{result\}`([^`]*)`", text)]
    for experiment, body in re.findall(r"```\{results-table\} (\w+)\n(.*?)```", text, flags=re.S):
        found += [(experiment, line.strip()) for line in body.splitlines() if line.strip()] or [(experiment, "")]
    return found


@pytest.mark.parametrize("page", [p for p in PAGES if _quoted(p.read_text())],
                         ids=lambda p: p.relative_to(ROOT / "site").as_posix())
def test_every_number_a_page_quotes_is_in_a_committed_results_file(page):
    """What the site build renders, checked without building it: each role and table line
    selects exactly one series of a committed results file."""
    app = SimpleNamespace(config=SimpleNamespace(course_results_dirs=[str(ROOT / "course_lib" / "results")]),
                          env=SimpleNamespace(note_dependency=lambda path: None))
    course_results._loaded.clear()
    for experiment, selected in _quoted(page.read_text()):
        if selected:
            course_results.render(app, f"{experiment}/{selected}")
        else:
            course_results.table_rows(*course_results.load(app, experiment))
    course_results._loaded.clear()
