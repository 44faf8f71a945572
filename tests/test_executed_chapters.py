"""The chapters as the learner's walk executed them (tests/executed.py): every cell ran, none failed.

The same executions make the website (tests/site/), whose build fails on any stderr output.
"""

import nbformat
import pytest

from course_lib import publishing
from executed import EXECUTED, ROOT

pytestmark = pytest.mark.executed
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))


@pytest.fixture(scope="module")
def executed(walk_record):
    return {path.name: nbformat.read(EXECUTED / path.name, as_version=4) for path in CHAPTERS
            if (EXECUTED / path.name).exists()}


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_every_cell_ran_without_an_error(executed, path):
    assert path.name in executed, f"the walk kept no execution of {path.name} (see its problems)"
    notebook = executed[path.name]
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code == [c for c in code if c.execution_count is not None], f"{path.name}: cells that did not run"
    errors = [output for cell in code for output in cell.outputs if output.output_type == "error"]
    assert not errors, f"{path.name}: " + "; ".join(f"{e.ename}: {e.evalue}" for e in errors)
    assert notebook.metadata["course"]["run_all_seconds"] > 0


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_live_widgets_are_replaced_by_their_recordings(executed, path):
    outputs = [output for cell in executed[path.name].cells for output in cell.get("outputs", [])]
    assert not [o for o in outputs if publishing.WIDGET_VIEW in o.get("data", {})]
    assert "widgets" not in executed[path.name].metadata
