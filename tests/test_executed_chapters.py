"""The chapters as the learner's walk executed them (tests/executed.py): every cell ran, none failed.

The same executions make the website (tests/site/), whose build fails on any stderr output.
"""

import nbformat
import pytest

from course_lib import publishing
from course_lib.syllabus import CHAPTERS as DECLARED, EDITIONS
from executed import EXECUTED

pytestmark = pytest.mark.executed
#: Every edition's chapters, by their path below chapters/: ``02_task_fine_tuning``, ``zh/02_task_fine_tuning``.
CHAPTERS = [c.notebook_in(language).removeprefix("chapters/").removesuffix(".ipynb")
            for language in EDITIONS for c in DECLARED]


@pytest.fixture(scope="module")
def executed(walk_record):
    return {key: nbformat.read(EXECUTED / f"{key}.ipynb", as_version=4) for key in CHAPTERS
            if (EXECUTED / f"{key}.ipynb").exists()}


@pytest.mark.parametrize("key", CHAPTERS)
def test_every_cell_ran_without_an_error(executed, key):
    assert key in executed, f"the walk kept no execution of chapters/{key}.ipynb (see its problems)"
    notebook = executed[key]
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code == [c for c in code if c.execution_count is not None], f"{key}: cells that did not run"
    errors = [output for cell in code for output in cell.outputs if output.output_type == "error"]
    assert not errors, f"{key}: " + "; ".join(f"{e.ename}: {e.evalue}" for e in errors)
    assert notebook.metadata["course"]["run_all_seconds"] > 0


@pytest.mark.parametrize("key", CHAPTERS)
def test_every_character_has_its_glyph(executed, key):
    """Matplotlib warns 'Glyph ... missing from font(s)' when a plot's text has a character its font
    lacks (Chinese without the course's CJK font): the plot then shows empty boxes."""
    texts = [str(output.get("text", "")) + str(output.get("data", {}).get("text/plain", ""))
             for cell in executed[key].cells for output in cell.get("outputs", [])]
    assert not [text for text in texts if "missing from font" in text], f"{key}: a plot lacks glyphs"


@pytest.mark.parametrize("key", CHAPTERS)
def test_live_widgets_are_replaced_by_their_recordings(executed, key):
    outputs = [output for cell in executed[key].cells for output in cell.get("outputs", [])]
    assert not [o for o in outputs if publishing.WIDGET_VIEW in o.get("data", {})]
    assert "widgets" not in executed[key].metadata
