"""The chapters as files: paired, stripped, starting right; the pins agree everywhere.

Executing the notebooks is nbval's job (``pytest`` collects ``chapters/*.ipynb``).
"""

import re
import tomllib
from pathlib import Path

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
SOLUTIONS = sorted((ROOT / "chapters" / "solutions").glob("*.ipynb"))
NOTEBOOKS = CHAPTERS + SOLUTIONS
COLAB_INSTALL = "course-lib @ git+https://github.com/transfer-learning-hands-on/course"


def _code(nb):
    return [c.source for c in nb.cells if c.cell_type == "code"]


def test_there_are_chapters_each_with_solutions_and_a_package():
    assert [p.name for p in CHAPTERS][:1] == ["00_welcome.ipynb"]
    for path in CHAPTERS:
        assert (ROOT / "chapters" / "solutions" / path.name).exists(), f"{path.name} has no solutions notebook"
        assert (ROOT / "course_lib" / "chapters" / f"ch{path.stem}").is_dir(), f"{path.stem} has no package"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_and_its_py_percent_pair_agree(path):
    script = path.with_suffix(".py")
    assert script.exists(), f"{path.name} has no paired {script.name} (jupytext --sync)"
    from_ipynb = jupytext.read(path)
    from_py = jupytext.read(script)
    cells = lambda nb: [(c.cell_type, c.source.strip()) for c in nb.cells]  # noqa: E731
    assert cells(from_ipynb) == cells(from_py), (
        f"{path.name} and {script.name} differ: run `jupytext --sync {path.relative_to(ROOT)}`"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
             and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, (f"{path.name} has outputs in cells {dirty}: "
                       "jupyter nbconvert --clear-output --inplace " + path.name)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_opens_as_the_course_says(path):
    nb = nbformat.read(path, as_version=4)
    title = nb.cells[0].source
    for needed in ("Prerequisites", "You will learn", "Run time",
                   f"urlpath=lab/tree/chapters/{path.name}", f"blob/main/chapters/{path.name}"):
        assert needed in title, f"{path.name}: the title cell lacks {needed!r}"
    colab, setup = _code(nb)[:2]
    assert 'if "google.colab" in sys.modules:' in colab and COLAB_INSTALL in colab
    assert "course_lib.setup(" in setup and f'course_lib.check_env("{path.stem}")' in setup


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_holds_no_solution_and_ends_with_key_points(path):
    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in nb.cells if "solution" in c.metadata.get("tags", [])]
    assert not tagged, f"{path.name}: solutions belong in chapters/solutions/, not in the learner's notebook"
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "## Key points" in text and "## Review questions" in text


def _pins(lines):
    return dict(re.match(r"\s*-?\s*([A-Za-z0-9_.\-]+)==([^\s;]+)", line).groups()
                for line in lines if "==" in line)


def test_environment_files_pin_what_pyproject_pins():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    core = _pins(project["dependencies"]) | _pins(extras["course"])
    for env_file, tensorflow in (("environment.yml", extras["tensorflow"]),
                                 ("binder/environment.yml", extras["cpu"])):
        text = (ROOT / env_file).read_text().splitlines()
        assert _pins(text) == core | _pins(tensorflow), f"{env_file} pins differ from pyproject.toml"
        assert "python=3.11" in "\n".join(text)


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    command = "python3 make.py test"
    assert command in readme and command in ci
