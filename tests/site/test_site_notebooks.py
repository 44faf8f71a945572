"""site/notebooks.py: what is kept of stderr, and when build products count as stale."""

import sys
from pathlib import Path

from nbformat.v4 import new_code_cell, new_notebook, new_output

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "site"))  # site/ is not a package
import notebooks  # noqa: E402

TF_START = ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
            "I0000 00:00:1796138382.534433   25219 port.cc:153] oneDNN custom operations are on.\n")


def test_tensorflow_start_up_lines_go_and_real_stderr_stays():
    nb = new_notebook(cells=[
        new_code_cell("import course_lib", outputs=[new_output("stream", name="stderr", text=TF_START)]),
        new_code_cell("warn()", outputs=[
            new_output("stream", name="stderr", text=TF_START + "UserWarning: something real\n"),
            new_output("stream", name="stdout", text="printed\n")]),
    ])
    notebooks.drop_native_logs(nb)
    assert nb.cells[0].outputs == []
    assert [o.text for o in nb.cells[1].outputs] == ["UserWarning: something real\n", "printed\n"]


def test_build_products_are_emptied_when_course_lib_changes(tmp_path, monkeypatch):
    monkeypatch.setattr(notebooks, "BUILD", tmp_path)
    monkeypatch.setattr(notebooks, "ROOT", tmp_path)
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setattr(notebooks, "fingerprint", lambda: "one")
    notebooks.forget_stale([cache])  # no stamp yet: made by an unknown course_lib
    assert not cache.exists()
    cache.mkdir()
    notebooks.forget_stale([cache])
    assert cache.exists(), "same course_lib: kept"
    monkeypatch.setattr(notebooks, "fingerprint", lambda: "two")
    notebooks.forget_stale([cache])
    assert not cache.exists()
