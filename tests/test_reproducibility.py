"""What "reproducible" promises: the same numbers on one machine, the measured spread elsewhere.

A learner's processor is not the team's: TensorFlow's oneDNN kernels sum in another order, and
a chapter's live seed-0 run can differ from the results file in the second decimal. So no
chapter may assert that a live number equals a committed one: it shows them side by side with
the spread the registry measured (``results.beside``), and the claims that a chapter asserts
are checked on the committed results over seeds.
"""

import ast
import re
from pathlib import Path

import jupytext
import nbformat
import pytest

from course_lib import results
from course_lib.results.report import series_key, spread_key
from executed import OTHER_EXECUTED, OTHER_NUMERICS, WALK_LOG, beside_chapters

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.py"))
#: A committed value of one seed, e.g. ``report.values("dann")[0]``.
COMMITTED_SEED_VALUE = re.compile(r"\.values\([^)]*\)\s*\[")


def _asserts(source):
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assert):
            yield ast.get_source_segment(source, node)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_no_chapter_asserts_a_live_number_against_a_committed_one(path):
    notebook = jupytext.read(path)
    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code" and not c.source.startswith("%"))
    tight = [a for a in _asserts(code) if COMMITTED_SEED_VALUE.search(a)]
    assert not tight, (f"{path.name} asserts a live number against one seed of a results file: {tight}; "
                       "show them with results.beside(report, live), which uses the measured spread")


def _shown_beside_live_runs():
    """``{experiment}`` whose results a chapter shows beside its live run (``results.beside``)."""
    shown = set()
    for path in CHAPTERS:
        text = path.read_text()
        for variable in re.findall(r"results\.beside\((\w+)", text):
            shown |= set(re.findall(rf'\b{variable}\s*=\s*results\.load\("(\w+)"\)', text))
    return sorted(shown)


def test_chapters_show_live_numbers_beside_committed_ones():
    assert "domain_adaptation" in _shown_beside_live_runs()
    assert {p.stem for p in beside_chapters()} >= {"02_task_fine_tuning", "06_domain_adaptation"}


@pytest.mark.parametrize("name", _shown_beside_live_runs())
def test_what_a_chapter_sets_beside_a_live_run_has_its_spread_measured(name):
    report = results.load(name)
    assert report.numerics, (f"{name}: measure its spread with python -m course_lib.experiments {name} "
                             "--seeds 0 1 --numerics --save")
    assert [spread_key(s) for s in report.numerics["spread"]] == [series_key(s["record"]) for s in report.series()]
    assert set(report.numerics["settings"]) == {"default", "onednn_off", "onednn_avx2"}
    assert report.numerics["made"]["processor"]["isa"], "the processor that measured it is recorded"


@pytest.mark.executed
@pytest.mark.parametrize("path", beside_chapters(), ids=lambda p: p.stem)
def test_a_chapter_beside_its_results_runs_to_its_end_under_other_numerics(walk_record, path):
    """The test run executes it once more with oneDNN off (tests/executed.py): a comparison
    tighter than numerics allow would stop it there, on any machine."""
    executed = OTHER_EXECUTED / path.name
    assert executed.exists(), (f"{path.name} did not run to its end with {OTHER_NUMERICS}; "
                               f"the walk's log says why: {WALK_LOG}")
    code = [c for c in nbformat.read(executed, as_version=4).cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code)
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
