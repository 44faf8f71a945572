"""The experiments registry: registration, claims, reports, results files, the command line."""

import ast
import importlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from course_lib import experiments, results, syllabus
from course_lib.experiments import Measured, Report

ROOT = Path(__file__).resolve().parents[2]
#: The files in course_lib/results that no registered experiment writes: the walk's, the classroom
#: load test's and chapter 06's peer comparison (which needs a library the course does not install).
NOT_EXPERIMENTS = ("benchmark", "classroom", "peer_adapt")


@experiments.experiment("target_accuracy", "a toy for the registry's tests")
def toy_for_tests(seed):
    return [Measured("source_only", 0.5 + seed / 100, 1.0), Measured("method", 0.6 + seed / 100, 2.0),
            *[Measured("method", 0.6 + weight / 10 + seed / 100, 2.0, weight=weight) for weight in (1, 3)],
            Measured("method", 0.2 - seed / 100, metric="proxy_a_distance")]


@toy_for_tests.claim("the method beats source-only by 5 points on every seed")
def _(report):
    return min(report.gains("method", ["source_only"])) > 0.05


@pytest.fixture(autouse=True)
def toy_registered(monkeypatch):
    """The registry as the chapters make it, plus this module's toy experiment."""
    chapters = experiments.registry()
    monkeypatch.setattr(experiments, "registry", lambda: {**chapters, "toy_for_tests": toy_for_tests})


def test_the_registry_holds_the_experiments_each_declared_chapter_defines(monkeypatch):
    monkeypatch.undo()  # the registry itself, without the toy
    found = experiments.registry()
    assert {"domain_gap", "feature_extraction"} <= set(found) and "toy_for_tests" not in found
    for chapter in syllabus.CHAPTERS:
        module = importlib.import_module(chapter.experiments_module)
        defined = {name for name, item in vars(module).items() if isinstance(item, experiments.Experiment)}
        assert {n for n, e in found.items() if e.run.__module__ == module.__name__} == defined, chapter.name
    assert experiments.get("domain_gap").metric == "target_accuracy"
    with pytest.raises(ValueError, match="'domain_gaps'; did you mean domain_gap or .*--help lists the \\d+ registered$"):
        experiments.get("domain_gaps")


def test_two_experiments_of_one_name_are_refused(monkeypatch):
    monkeypatch.undo()
    twin = experiments.Experiment(lambda seed: {}, "m", "d")
    twin.name = "domain_gap"
    twin.run.__module__ = syllabus.CHAPTERS[1].experiments_module
    module = importlib.import_module(syllabus.CHAPTERS[1].experiments_module)
    monkeypatch.setattr(module, "twin_of_domain_gap", twin, raising=False)
    with pytest.raises(ValueError, match="two experiments are named 'domain_gap'"):
        experiments.registry()


def test_run_collects_one_value_per_seed_in_seed_order_and_checks_claims():
    report = experiments.run("toy_for_tests", seeds=[2, 0, 1])
    assert report.seeds == [2, 0, 1]
    assert report.values("method") == [0.62, 0.60, 0.61]
    assert report.median("method") == pytest.approx(0.61)
    assert report.gains("method", ["source_only"]) == pytest.approx([0.1, 0.1, 0.1])
    assert report.claims() == {"the method beats source-only by 5 points on every seed": True}
    assert report.claims_text() == ("holds on seeds 2, 0, 1: "
                                    "the method beats source-only by 5 points on every seed")
    worse = experiments.Report("toy_for_tests", "target_accuracy", [0], [
        {"arm": arm, "metric": "target_accuracy", "seed": 0, "value": 0.5, "seconds": 1.0} for arm in ("method", "source_only")],
        checks=toy_for_tests.claims)
    assert worse.claims_text().startswith("does NOT hold on seeds 0: ")
    assert "\nmethod (weight=3): target_accuracy  0.910  0.900  0.920      2.0  0.920 0.900 0.910" in report.format()
    assert report.table(arm="method", metric="target_accuracy").loc[("method", 3), "seed 2"] == 0.92
    assert {"date", "course", "tensorflow", "keras", "threads"} <= set(report.made)


def test_a_report_selects_a_series_by_arm_fields_and_metric():
    report = experiments.run("toy_for_tests", seeds=[0, 1])
    assert report.values("method", weight=3) == pytest.approx([0.9, 0.91])
    assert report.values("method") == report.values("method", weight=None) == [0.6, 0.61]  # no weight
    assert report.values("method", metric="proxy_a_distance") == [0.2, 0.19]
    assert report.gains({"arm": "method", "weight": 3}, [{"arm": "method", "weight": 1}]) == pytest.approx([0.2, 0.2])
    assert report.distinct("weight") == [1, 3] and report.distinct("metric", arm="method") == [
        "target_accuracy", "proxy_a_distance"]
    with pytest.raises(ValueError, match="2 series match arm='method', metric='target_accuracy', weight=\\[1, 3\\]; "
                                         "say which with metric= or a field: method \\(weight=1\\)"):
        report.values("method", weight=[1, 3])
    with pytest.raises(ValueError, match="no series matches arm='method', metric='target_accuracy', weight=2; "
                                         "the series: source_only: target_accuracy; method"):
        report.values("method", weight=2)


def test_one_seed_returns_measurements_and_refuses_a_series_measured_twice(monkeypatch):
    measured = toy_for_tests(1)
    assert measured.value("method", weight=1) == pytest.approx(0.71)
    assert measured.get("method", metric="proxy_a_distance").seconds == 0.0
    with pytest.raises(ValueError, match="a field cannot be named seed"):
        Measured("method", 0.5, seed=3)
    twice = experiments.Experiment(lambda seed: [Measured("a", 0.5), Measured("a", 0.6)], "target_accuracy", "")
    twice.name = "twice"
    monkeypatch.setattr(experiments, "registry", lambda: {"twice": twice})
    with pytest.raises(ValueError, match="twice measured .*'a', 'target_accuracy'.* more than once on seed 0"):
        experiments.run("twice", [0])


def test_a_results_file_has_one_record_per_line():
    report = experiments.run("toy_for_tests", seeds=[0, 1])
    text = report.to_json()
    assert ('\n  {"arm": "method", "weight": 1, "metric": "target_accuracy", "seed": 0, "value": 0.7, '
            '"seconds": 2.0},\n') in text
    assert len(text.splitlines()) < len(report.records) + 40
    assert Report.from_dict(json.loads(text)).to_dict() == report.to_dict()
    assert {"date", "course", "tensorflow", "keras", "threads"} <= set(report.made)


@pytest.mark.parametrize("seeds, message", [([], "at least one"), ([1, 1], "repeat"), ([-1], "seed")])
def test_run_rejects_bad_seeds(seeds, message):
    with pytest.raises(ValueError, match=message):
        experiments.run("toy_for_tests", seeds)


def test_saved_reports_load_back_as_the_notebooks_read_them(tmp_path, monkeypatch):
    report = experiments.run("toy_for_tests", seeds=[0, 1])
    path = experiments.save(report, tmp_path)
    assert path == tmp_path / "toy_for_tests.json"
    monkeypatch.setattr(results, "FOLDER", tmp_path)
    loaded = results.load("toy_for_tests")
    assert loaded.to_dict() == report.to_dict()
    with pytest.raises(ValueError, match="no results file for 'nope'.*--save"):
        results.load("nope")


@pytest.mark.parametrize("name", results.available())
def test_every_committed_results_file_is_registered_and_its_claims_hold(name):
    if name in NOT_EXPERIMENTS:
        pytest.skip("the walk's, the classroom load test's and the peer comparison's files are not an experiment's")
    report = results.load(name)
    assert report.experiment == name and name in experiments.registry()
    registered = experiments.get(name)
    assert (report.metric, report.description) == (registered.metric, registered.description), (
        f"{name}: the file's metric or description is not the experiment's; rerun it with --save")
    assert report.seeds == [0, 1, 2, 3, 4], "the notebooks quote seeds 0-4"
    failing = [claim for claim, holds in report.claims().items() if not holds]
    assert not failing, f"{name}: claims that fail on the committed results: {failing}"


@pytest.mark.parametrize("argv, message", [
    (["nope"], "unknown experiment 'nope'; python -m course_lib.experiments --help lists the "),
    (["domain_adaption"], "unknown experiment 'domain_adaption'; did you mean domain_adaptation"), ([], "name an experiment"),
    (["domain_gap", "--seeds", "1", "1"], "distinct"), (["domain_gap", "--seeds", "-1"], "from 0 to 4294967295"),
    (["domain_gap", "--seeds", "4294967296"], "--seeds must be distinct whole numbers from 0 to 4294967295"),
    (["domain_gap", "--jobs", "0"], "--jobs must be >= 1"),
    (["domain_gap", "--json", "/no/such/folder/x.json"], "does not exist"),
])
def test_command_line_refuses_bad_arguments_before_running(argv, message, capsys):
    with pytest.raises(SystemExit):
        experiments.main(argv)
    error = capsys.readouterr().err.strip().splitlines()[-1]  # argparse: the usage, then the error
    assert message in error and len(error) < 300 + len(", ".join(experiments.registry()))
    if "registered" in message:
        assert "domain_gap" in error


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("taskset") is None, reason="taskset pins a process to one CPU (Linux)")
def test_parallel_seeds_on_two_cpus_give_the_numbers_of_one_cpu(tmp_path):
    """--jobs 2 matches the serial run, and one CPU gives what two give: the course's numbers do
    not depend on the learner's core count (TensorFlow runs on one thread everywhere)."""
    one_cpu, parallel = tmp_path / "one_cpu.json", tmp_path / "parallel.json"
    command = [sys.executable, "-m", "course_lib.experiments", "domain_gap", "--seeds", "3", "4"]
    subprocess.run(["taskset", "-c", "0", *command, "--json", str(one_cpu)], check=True,
                   capture_output=True)
    assert experiments.main(["domain_gap", "--seeds", "3", "4", "--jobs", "2", "--json", str(parallel)]) == 0
    a, b = json.loads(one_cpu.read_text()), json.loads(parallel.read_text())
    values = [[{k: v for k, v in r.items() if k != "seconds"} for r in found["records"]] for found in (a, b)]
    assert values[0] == values[1] and a["seeds"] == b["seeds"] == [3, 4]


def test_report_round_trips_through_a_dict():
    report = Report("x", "m", [0], [{"arm": "a", "metric": "m", "seed": 0, "value": 0.5, "seconds": 1.0}],
                    {"date": "d"}, "desc")
    assert Report.from_dict(report.to_dict()).to_dict() == report.to_dict()


def test_every_result_records_the_processor_and_its_numerics_settings(monkeypatch):
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "0")
    report = experiments.run("toy_for_tests", seeds=[0])
    assert report.made["processor"]["model"] and isinstance(report.made["processor"]["isa"], list)
    assert set(report.made["processor"]["isa"]) <= set(experiments.ISA_FLAGS)
    assert report.made["numerics"] == {"TF_ENABLE_ONEDNN_OPTS": "0"}


def test_the_spread_is_the_largest_difference_between_settings_and_the_file(monkeypatch):
    report = experiments.run("toy_for_tests", seeds=[0, 1])
    with pytest.raises(ValueError, match="not measured.*--numerics"):
        report.spread("method")
    moved = {"default": 0.0, "onednn_off": 0.004, "onednn_avx2": -0.002}

    def fake_run(name, seeds, environment):
        setting = next(k for k, v in experiments.NUMERICS.items() if v == environment)
        found = experiments.run(name, seeds)
        for record in found.records:
            record["value"] += moved[setting] * (record["arm"] == "method")
        return found

    monkeypatch.setattr(experiments, "_run_in_fresh_process", fake_run)
    report.numerics = experiments.measure_numerics(report, seeds=[0, 1])
    assert report.spread("method") == pytest.approx(0.006) and report.spread("source_only") == 0
    assert report.spread("method", weight=3) == pytest.approx(0.006)
    assert Report.from_dict(report.to_dict()).spread("method") == pytest.approx(0.006)
    with pytest.raises(ValueError, match="seeds \\[7\\] are not in"):
        experiments.measure_numerics(report, seeds=[7])


def test_a_live_number_is_shown_beside_the_file_with_its_spread_and_never_fails():
    report = experiments.run("toy_for_tests", seeds=[0, 1])
    report.numerics = {"made": report.made, "seeds": [0], "settings": experiments.NUMERICS, "records": [],
                       "spread": [{**s["record"], "spread": 0.01 * (s["record"]["arm"] == "method")}
                                  for s in report.series()]}
    inside = results.beside(report, {"method": 0.605})
    assert "this run 0.605" in inside and "(seed 0) 0.600" in inside and "within it" in inside
    assert "OUTSIDE it" in results.beside(report, {"method": 0.65})
    assert "seed 1) 0.610" in results.beside(report, {"method": 0.61}, seed=1)
    with pytest.raises(ValueError, match="seed 5 is not in"):
        results.beside(report, {"method": 0.6}, seed=5)


@pytest.mark.parametrize("name", [n for n in results.available() if n not in NOT_EXPERIMENTS])
def test_no_arm_name_carries_a_metric_or_a_parameter(name):
    """What was measured is a record's metric, the arm's configuration its fields: an arm's name
    holds neither (so nothing needs to take a name apart)."""
    report = results.load(name)
    metrics = {s["record"]["metric"] for s in report.series()}
    values = {str(v) for s in report.series() for k, v in s["record"].items() if k not in ("arm", "metric")}
    for arm in report.distinct("arm"):
        assert not set(arm) & set(":|@"), f"{name}: arm {arm!r} is composed; give its parts as fields"
        said = [m for m in metrics if m.replace("_", " ") in arm.replace("_", " ")]
        said += [v for v in values if re.search(rf"(?<![\w.]){re.escape(v)}(?![\w.])", arm)]
        assert not said, f"{name}: arm {arm!r} names {said}: make that the record's metric or a field"


@pytest.mark.parametrize("path", sorted((ROOT / "course_lib" / "chapters").glob("ch*/experiments.py")),
                         ids=lambda p: p.parent.name)
def test_an_arm_is_named_never_composed(path):
    """Every ``Measured(arm, ...)`` names its arm with a constant or a variable, never with an
    f-string or a sum of strings: the parts are the record's fields."""
    composed = [node.lineno for node in ast.walk(ast.parse(path.read_text()))
                if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Measured" and node.args
                and isinstance(node.args[0], (ast.JoinedStr, ast.BinOp))]
    assert not composed, f"{path}: lines {composed} compose an arm's name; pass its parts as fields"
