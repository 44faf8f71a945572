"""The chapters as files: paired, stripped, starting right; the pins agree everywhere.

Executing the notebooks is nbval's job (``pytest`` collects ``chapters/*.ipynb``).
"""

import re
import tomllib
from pathlib import Path

import jupytext
import nbformat
import pytest

from course_lib import syllabus
from course_lib.syllabus import CHAPTERS as DECLARED

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = [ROOT / chapter.notebook for chapter in DECLARED]
#: Every notebook of every edition (a translation's chapters and solutions under chapters/zh/).
NOTEBOOKS = [ROOT / path for language in syllabus.EDITIONS for chapter in DECLARED
             for path in (chapter.notebook_in(language), chapter.solutions_in(language))]
COLAB_INSTALL = "course-lib @ git+https://github.com/transfer-learning-hands-on/course"


def _code(nb):
    return [c.source for c in nb.cells if c.cell_type == "code"]


def test_every_chapter_is_declared_once_and_has_its_files():
    on_disk = sorted(p.stem for p in (ROOT / "chapters").glob("*.ipynb"))
    declared = [chapter.name for chapter in DECLARED]
    assert on_disk == sorted(declared), (
        f"chapters/ holds {on_disk}, course_lib/syllabus.py declares {declared}: declare each chapter there")
    package = ROOT / "course_lib" / "chapters"
    packages = sorted(p.name for p in package.iterdir() if (p / "__init__.py").exists())
    assert packages == sorted(f"ch{name}" for name in declared), f"{package} holds {packages}, one per chapter"
    for chapter in DECLARED:
        folder = ROOT / Path(*chapter.package.split("."))
        for needed in (chapter.solutions, folder / "experiments.py", folder / "exercises.py", chapter.guide):
            assert (ROOT / needed).exists(), f"chapter {chapter.name} has no {needed}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.relative_to(ROOT / "chapters").as_posix())
def test_notebook_and_its_py_percent_pair_agree(path):
    script = path.with_suffix(".py")
    assert script.exists(), f"{path.name} has no paired {script.name} (jupytext --sync)"
    from_ipynb = jupytext.read(path)
    from_py = jupytext.read(script)
    cells = lambda nb: [(c.cell_type, c.source.strip()) for c in nb.cells]  # noqa: E731
    assert cells(from_ipynb) == cells(from_py), (
        f"{path.name} and {script.name} differ: run `jupytext --sync {path.relative_to(ROOT)}`"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.relative_to(ROOT / "chapters").as_posix())
def test_notebook_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
             and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, (f"{path.name} has outputs in cells {dirty}: "
                       "jupyter nbconvert --clear-output --inplace " + path.name)


#: What every chapter's title cell and ending say, in each edition's words.
WORDS = {"en": {"opening": ("Prerequisites", "learn", "Run time"), "chapter": "chapter {number}",
                "ending": ("## Key points", "## Review questions")},
         "zh": {"opening": ("预备知识", "本章你将学会", "运行时间"), "chapter": "第 {number} 章",
                "ending": ("## 要点", "## 复习题")}}
#: Every chapter of every edition, with its language.
EDITION_CHAPTERS = [(language, chapter) for language in syllabus.EDITIONS for chapter in DECLARED]


@pytest.mark.parametrize("language, chapter", EDITION_CHAPTERS, ids=lambda c: getattr(c, "name", c))
def test_chapter_opens_as_the_course_says(language, chapter):
    relative = chapter.notebook_in(language)
    nb = nbformat.read(ROOT / relative, as_version=4)
    title, words = nb.cells[0].source, WORDS[language]
    for needed in (*words["opening"], f"urlpath=lab/tree/{relative}", f"blob/main/{relative}"):
        assert needed in title, f"{relative}: the title cell lacks {needed!r}"
    assert title.startswith(f"# {chapter.number:02d} · "), f"{relative}: the title does not start with its number"
    for needed in chapter.prerequisites:
        before = syllabus.chapter(needed.chapter)
        named = re.escape(words["chapter"].format(number=f"{before.number:02d}"))
        assert re.search(rf"{named}\b|{before.name}\.ipynb", title, re.IGNORECASE), (
            f"{relative}: the title cell does not name its prerequisite, chapter {before.number:02d} "
            f"({needed.why}), as course_lib/syllabus.py declares")
    colab, setup = _code(nb)[:2]
    assert 'if "google.colab" in sys.modules:' in colab and COLAB_INSTALL in colab
    assert "course_lib.setup(" in setup and f'course_lib.check_env("{chapter.name}")' in setup


#: The most numbered sections a chapter may have: a longer one is two chapters (one class each).
MAX_SECTIONS = 9


@pytest.mark.parametrize("path", [ROOT / c.notebook_in(lang) for lang, c in EDITION_CHAPTERS],
                         ids=lambda p: p.relative_to(ROOT / "chapters").as_posix())
def test_no_chapter_has_more_sections_than_a_class_can_take(path):
    headings = [line for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "markdown"
                for line in cell.source.splitlines() if re.match(r"## \d+\s*[·.]", line)]
    assert len(headings) <= MAX_SECTIONS, (
        f"{path.name} has {len(headings)} numbered sections, at most {MAX_SECTIONS}: split it (declare the new "
        "chapter in course_lib/syllabus.py and run python3 make.py sync)")


@pytest.mark.parametrize("language, chapter", EDITION_CHAPTERS, ids=lambda c: getattr(c, "name", c))
def test_chapter_holds_no_solution_and_ends_with_key_points(language, chapter):
    nb = nbformat.read(ROOT / chapter.notebook_in(language), as_version=4)
    tagged = [c for c in nb.cells if "solution" in c.metadata.get("tags", [])]
    assert not tagged, f"{chapter.notebook_in(language)}: solutions belong in the solutions notebook"
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert all(heading in text for heading in WORDS[language]["ending"])


def _pins(lines):
    """``{lower-case name: version}`` of every ``name==version`` line (comments skipped)."""
    found = (re.match(r"\s*-?\s*([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
             for line in lines if "==" in line and not line.lstrip().startswith("#"))
    return {m.group(1).lower(): m.group(2) for m in found}


def _project():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _requirements(*groups):
    """pyproject.toml's requirements: the core ones plus the named extras, by lower-case name."""
    from packaging.requirements import Requirement

    project = _project()
    lines = list(project["dependencies"])
    for group in groups:
        lines += project["optional-dependencies"][group]
    return {Requirement(line).name.lower(): Requirement(line) for line in lines}


CURRENT = _pins((ROOT / "constraints" / "current.txt").read_text().splitlines())
FLOOR = _pins((ROOT / "constraints" / "floor.txt").read_text().splitlines())
ALL_EXTRAS = ("tensorflow", "cpu", "course", "test")
#: Installed by repo2docker itself: binder/environment.yml must not pin them.
REPO2DOCKER_OWNS = {"jupyter-server", "jupyter_server", "jupyterlab", "notebook", "ipykernel",
                    "jupyterhub", "jupyterhub-singleuser", "jupyter-resource-usage", "jupytext"}


def test_constraints_pin_every_requirement_inside_its_range():
    from packaging.version import Version

    for name, requirement in _requirements(*ALL_EXTRAS).items():
        for label, pins in (("current", CURRENT), ("floor", FLOOR)):
            assert name in pins, f"constraints/{label}.txt does not pin {name}"
            assert requirement.specifier.contains(pins[name]), (
                f"constraints/{label}.txt pins {name}=={pins[name]}, outside pyproject.toml's {requirement}")
        lowest = [Version(s.version) for s in requirement.specifier if s.operator == ">="]
        assert lowest == [Version(FLOOR[name])], (
            f"{name}: the floor constraint ({FLOOR[name]}) must be the range's lower end ({requirement})")


def test_environment_files_pin_the_tested_versions():
    wanted = {"environment.yml": set(_requirements("tensorflow", "course")),
              "binder/environment.yml": set(_requirements("cpu")) - REPO2DOCKER_OWNS}
    for env_file, names in wanted.items():
        text = (ROOT / env_file).read_text().splitlines()
        pins = _pins(text)
        assert set(pins) == names, f"{env_file} pins {sorted(set(pins) ^ names)} differently from pyproject.toml"
        for name, version in pins.items():
            assert version == CURRENT[name], f"{env_file}: {name}=={version}, constraints/current.txt has {CURRENT[name]}"
        python = re.search(r"python=(3\.\d+)", "\n".join(text)).group(1)
        assert _requirements_python().contains(python + ".0"), f"{env_file}: python={python} is unsupported"


def test_binder_leaves_the_jupyter_server_to_repo2docker():
    text = (ROOT / "binder" / "environment.yml").read_text()
    named = {re.match(r"\s*-\s*([A-Za-z0-9_.\-]+)", line).group(1).lower()
             for line in text.splitlines() if re.match(r"\s*-\s*[A-Za-z]", line)}
    assert not named & REPO2DOCKER_OWNS, f"binder/environment.yml names {named & REPO2DOCKER_OWNS}"


def _requirements_python():
    from packaging.specifiers import SpecifierSet

    return SpecifierSet(_project()["requires-python"])


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    command = "python3 make.py test"
    assert command in readme and command in ci
