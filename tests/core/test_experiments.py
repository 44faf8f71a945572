"""The experiments registry and its command line."""

import json
from types import SimpleNamespace

import pytest

from course_lib import experiments
from course_lib.experiments import Measured
from course_lib.experiments.__main__ import main


def _toy(seed):
    return {"source_only": Measured(0.5 + seed / 100, 1.0), "method": Measured(0.6 + seed / 100, 2.0)}


@pytest.fixture
def toy_registry(monkeypatch):
    toy = SimpleNamespace(METRIC="target_accuracy", DESCRIPTION="a toy", run=_toy)
    monkeypatch.setitem(experiments.EXPERIMENTS, "toy", "unused")
    monkeypatch.setattr(experiments, "get", lambda name: toy)


def test_domain_gap_is_registered_and_unknown_names_are_listed():
    assert "domain_gap" in experiments.EXPERIMENTS
    assert experiments.get("domain_gap").METRIC == "target_accuracy"
    with pytest.raises(ValueError, match="registered: .*domain_gap"):
        experiments.get("no_such_experiment")


def test_run_collects_one_value_per_seed_in_seed_order(toy_registry):
    report = experiments.run("toy", seeds=[2, 0, 1])
    assert report["seeds"] == [2, 0, 1]
    assert report["results"]["method"] == [0.62, 0.60, 0.61]
    assert report["seconds"]["source_only"] == [1.0, 1.0, 1.0]
    rows = {r["arm"]: r for r in experiments.summary_rows(report)}
    assert rows["method"]["median"] == pytest.approx(0.61)
    assert "0.610" in experiments.format_table(report)


@pytest.mark.parametrize("seeds, message", [([], "at least one"), ([1, 1], "repeat")])
def test_run_rejects_bad_seeds(toy_registry, seeds, message):
    with pytest.raises(ValueError, match=message):
        experiments.run("toy", seeds)


def test_command_line_writes_the_documented_json(toy_registry, tmp_path, capsys):
    out = tmp_path / "toy.json"
    assert main(["toy", "--seeds", "0", "1", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert set(report) == {"experiment", "metric", "seeds", "results", "seconds"}
    assert report["experiment"] == "toy" and report["seeds"] == [0, 1]
    assert report["results"]["source_only"] == [0.5, 0.51]
    assert "median" in capsys.readouterr().out


def test_command_line_rejects_unknown_experiments(capsys):
    with pytest.raises(SystemExit):
        main(["no_such_experiment"])
    assert "invalid choice" in capsys.readouterr().err
