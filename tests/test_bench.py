"""The notebook benchmark: its verdicts, and a real run on a one-cell notebook."""

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


def test_main_times_a_notebook_cold_and_warm_and_enforces_its_budget(tmp_path, capsys, monkeypatch):
    notebook = tmp_path / "tiny.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, notebook)

    assert bench.main([str(notebook), "--enforce"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("tiny")]
    assert [row.split()[1] for row in rows] == ["cold", "warm"]
    assert all(" yes" in row for row in rows)
    assert rows[1].endswith(" s")  # the warm row says how long the cold run's cache fill took

    monkeypatch.setitem(bench.TIME_BUDGETS, "tiny", 0)  # no notebook runs in 0 s
    assert bench.main([str(notebook), "--enforce"]) == 1
    assert " NO" in capsys.readouterr().out.splitlines()[2]
    assert bench.main([str(notebook)]) == 0  # without --enforce: a report, never a failure
