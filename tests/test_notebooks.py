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
NOTEBOOKS = sorted((ROOT / "chapters").glob("*.ipynb"))


def test_there_are_chapters():
    assert [p.name for p in NOTEBOOKS][:1] == ["00_welcome.ipynb"]


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


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_states_its_run_time_and_starts_with_setup(path):
    nb = nbformat.read(path, as_version=4)
    assert "Run time" in nb.cells[0].source, f"{path.name}: state the run time in the first cell"
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    if code and code[0].startswith("# Colab only"):  # the Colab install cell comes first (ARCHITECTURE.md)
        code = code[1:]
    assert "course_lib.setup(" in code[0] and "course_lib.check_env(" in code[0]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_solution_is_hidden(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if "solution" in cell.metadata.get("tags", []):
            assert cell.metadata.get("jupyter", {}).get("source_hidden") is True


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
