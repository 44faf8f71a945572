"""The experiments registry: registration, claims, reports, results files, the command line."""

import json
import shutil
import subprocess
import sys

import pytest

from course_lib import experiments, results
from course_lib.experiments import Measured, Report


@experiments.experiment("target_accuracy", "a toy for the registry's tests")
def toy_for_tests(seed):
    return {"source_only": Measured(0.5 + seed / 100, 1.0), "method": Measured(0.6 + seed / 100, 2.0)}


@toy_for_tests.claim("the method beats source-only by 5 points on every seed")
def _(report):
    return min(report.gains("method", ["source_only"])) > 0.05


def test_chapters_register_their_experiments_and_unknown_names_are_listed():
    found = experiments.registry()
    assert {"domain_gap", "feature_extraction", "toy_for_tests"} <= set(found)
    assert experiments.get("domain_gap").metric == "target_accuracy"
    with pytest.raises(ValueError, match="registered: .*domain_gap"):
        experiments.get("no_such_experiment")


def test_run_collects_one_value_per_seed_in_seed_order_and_checks_claims():
    report = experiments.run("toy_for_tests", seeds=[2, 0, 1])
    assert report.seeds == [2, 0, 1]
    assert report.values("method") == [0.62, 0.60, 0.61]
    assert report.median("method") == pytest.approx(0.61)
    assert report.gains("method", ["source_only"]) == pytest.approx([0.1, 0.1, 0.1])
    assert report.claims() == {"the method beats source-only by 5 points on every seed": True}
    assert report.claims_text() == ("holds on every seed (2, 0, 1): "
                                    "the method beats source-only by 5 points on every seed")
    worse = experiments.Report("toy_for_tests", "accuracy", [0], {"method": [0.5], "source_only": [0.5]},
                               {"method": [1.0], "source_only": [1.0]})
    assert worse.claims_text().startswith("does NOT hold on every seed (0): ")
    assert "0.610" in report.format() and report.table().loc["method", "seed 2"] == 0.62
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
    if name in ("benchmark", "classroom"):
        pytest.skip("the walk's and the classroom load test's files are not an experiment's")
    report = results.load(name)
    assert report.experiment == name and name in experiments.registry()
    assert report.seeds == [0, 1, 2, 3, 4], "the notebooks quote seeds 0-4"
    failing = [claim for claim, holds in report.claims().items() if not holds]
    assert not failing, f"{name}: claims that fail on the committed results: {failing}"


@pytest.mark.parametrize("argv, message", [
    (["nope"], "unknown experiment"), ([], "name an experiment"),
    (["domain_gap", "--seeds", "1", "1"], "distinct"), (["domain_gap", "--seeds", "-1"], "distinct"),
    (["domain_gap", "--jobs", "0"], "--jobs must be >= 1"),
    (["domain_gap", "--json", "/no/such/folder/x.json"], "does not exist"),
])
def test_command_line_refuses_bad_arguments_before_running(argv, message, capsys):
    with pytest.raises(SystemExit):
        experiments.main(argv)
    assert message in capsys.readouterr().err


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
    assert a["results"] == b["results"] and a["seeds"] == b["seeds"] == [3, 4]


def test_report_round_trips_through_a_dict():
    report = Report("x", "m", [0], {"a": [0.5]}, {"a": [1.0]}, {"date": "d"}, "desc")
    assert Report.from_dict(report.to_dict()).to_dict() == report.to_dict()
