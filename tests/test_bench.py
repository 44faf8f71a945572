"""The notebook benchmark: its verdicts, and a real run on a one-cell notebook."""

import os

import nbformat
import pytest

from course_lib.tools import bench


@pytest.mark.parametrize("state, seconds, peak, ok, expected", [
    ("warm", 80, 1200, True, "yes"),
    ("warm", 95, 1200, True, "NO"),     # over the time budget
    ("warm", 80, 1600, True, "NO"),     # over the memory budget
    ("cold", 130, 1200, True, "yes"),   # a cold run's extra time is the one-time cache fill
    ("cold", 130, 1600, True, "NO"),    # but memory counts cold too
    ("warm", 10, 100, False, "FAILED"),
])
def test_verdict(state, seconds, peak, ok, expected):
    assert bench.verdict(state, seconds, peak, ok, time_budget=90) == expected


def test_verdict_rejects_an_unknown_state():
    with pytest.raises(ValueError, match="'cold' or 'warm'"):
        bench.verdict("hot", 1, 1, True, 90)


@pytest.mark.slow
def test_main_times_a_notebook_cold_and_warm_and_enforces_its_budget(tmp_path, capsys, monkeypatch):
    notebook = tmp_path / "tiny.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, notebook)

    assert bench.main([str(notebook), "--enforce", "--no-walk"]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.startswith("tiny")]
    assert [row[1:3] for row in rows] == [["cold", str(len(os.sched_getaffinity(0)))],
                                          ["warm", str(len(os.sched_getaffinity(0)))], ["warm", "1"]]
    assert all("yes" in row for row in rows)
    assert rows[1][-1] == "s" and rows[2][-1] == "yes"  # the cache fill, once, on the warm row

    monkeypatch.setattr(bench, "run_notebook", lambda *a, **k: (95.0, 1200.0, 900.0, True))  # over 90 s
    assert bench.main([str(notebook), "--enforce", "--no-walk"]) == 1
    assert "NO" in capsys.readouterr().out.splitlines()[2].split()
    assert bench.main([str(notebook), "--no-walk"]) == 0  # without --enforce: a report, never a failure


def test_every_chapter_is_judged_on_its_declared_budget_on_one_cpu_and_on_more(tmp_path):
    from course_lib.syllabus import BUDGET_SECONDS, CHAPTERS

    for chapter in CHAPTERS:
        path = tmp_path / f"{chapter.name}.ipynb"
        assert bench.budget(path) == bench.budget(path, cpus=1) == chapter.budget_seconds
    assert bench.budget(tmp_path / "tiny.ipynb") == BUDGET_SECONDS  # a notebook that is no chapter


@pytest.mark.slow
def test_a_one_cpu_run_is_pinned_to_one_cpu(tmp_path):
    notebook = tmp_path / "cpus.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import os\nassert len(os.sched_getaffinity(0)) == 1, os.sched_getaffinity(0)")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, notebook)
    assert bench.run_notebook(notebook, tmp_path, cpus=1)[-1] is True
    if len(os.sched_getaffinity(0)) > 1:
        assert bench.run_notebook(notebook, tmp_path)[-1] is False


def test_the_readme_shows_the_walk_kept_in_the_benchmark_file():
    """The README's walk table is the one ``walk --save`` kept, not numbers typed in."""
    import json
    from pathlib import Path

    from course_lib.core.environment import BENCHMARK
    from course_lib.tools import walk

    saved = json.loads(BENCHMARK.read_text())
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert walk.table(saved["walk"]) in readme, (
        "README.md's walk table differs from course_lib/results/benchmark.json: paste "
        "`python -m course_lib.tools.walk --table course_lib/results/benchmark.json`")
    from course_lib.syllabus import CHAPTERS

    assert list(saved["chapters"]) == [c.name for c in CHAPTERS], "the benchmark misses a chapter: walk them all again"
