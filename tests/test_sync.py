"""Every list of chapters is generated from the declarations in course_lib/syllabus.py, and a new
chapter is one declaration plus the files only a chapter can have (course_lib/tools/sync.py)."""

import dataclasses
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

from course_lib import syllabus
from course_lib.tools import sync

ROOT = Path(__file__).resolve().parents[1]


def test_every_generated_part_is_in_sync():
    stale = sync.stale(ROOT)
    assert not stale, f"generated parts are stale in {', '.join(stale)}: run python3 make.py sync"


def test_a_changed_declaration_makes_every_list_of_it_stale(monkeypatch):
    renamed = tuple(dataclasses.replace(c, summary=c.summary + " (renamed)", teaches=c.teaches + " (renamed)")
                    if c.number == 3 else c for c in syllabus.CHAPTERS)
    monkeypatch.setattr(sync, "CHAPTERS", renamed)
    stale = sync.stale(ROOT)
    # the README's map, the course map (00), and "Next" in the chapter before (02)
    assert {"README.md", "chapters/00_welcome.py", "chapters/00_welcome.ipynb",
            "chapters/02_task_fine_tuning.py", "chapters/02_task_fine_tuning.ipynb"} <= set(stale)
    assert "chapters/06_domain_adaptation.py" not in stale


def test_the_declarations_import_without_tensorflow():
    heavy = subprocess.run([sys.executable, "-c", "import sys, course_lib.syllabus, course_lib.tools.sync; "
                            "print(sorted({'tensorflow', 'keras', 'jupytext'} & set(sys.modules)))"],
                           cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
    assert heavy.stdout.strip() == "[]", heavy.stdout + heavy.stderr[-500:]


def test_a_declaration_that_breaks_the_order_is_refused():
    chapters = list(syllabus.CHAPTERS)
    with pytest.raises(ValueError, match="numbered 0, 1, 2, ... in order, so it should be 1"):
        syllabus._check([chapters[0], chapters[2]])
    with pytest.raises(ValueError, match="builds on 'task_fine_tuning', which is not an earlier chapter"):
        syllabus._check([chapters[0], dataclasses.replace(chapters[3], number=1)])


def test_a_missing_marker_or_tagged_cell_is_named(tmp_path):
    with pytest.raises(sync.SyncError, match=r"README.md: no `<!-- sync: chapter-map \(...\) -->`"):
        sync.with_region("# The course\n", "chapter-map", "a table", "README.md")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 00")])
    with pytest.raises(sync.SyncError, match="exactly one markdown cell tagged 'sync:course-map'"):
        sync.with_cell(nb, sync.COURSE_MAP, "the map", "chapters/00_welcome.py")


def test_a_fact_in_prose_is_written_from_the_code():
    declared = syllabus.chapter("task_fine_tuning")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "momentum 7<!-- fact: core.cnn:BN_MOMENTUM -->, 3<!-- fact: .task:LABELS_PER_CLASS --> labels")])
    assert sync.with_facts(nb, declared).cells[0].source == (
        "momentum 0.9<!-- fact: core.cnn:BN_MOMENTUM -->, 20<!-- fact: .task:LABELS_PER_CLASS --> labels")
    for wrong, message in (("core.cnn:NO_SUCH", "names nothing"), ("core.cnn:FEATURE_LAYER", "not a number")):
        nb.cells[0].source = f"1<!-- fact: {wrong} -->"
        with pytest.raises(sync.SyncError, match=message):
            sync.with_facts(nb, declared)


# A ninth chapter, in a copy of the tree ----------------------------------------------------------

LAST = syllabus.CHAPTERS[-1]
NINTH = syllabus.Chapter(  # the chapter after the last one (the ninth when the course had eight)
    LAST.number + 1, "transfer_in_a_hurry", "transfer in a hurry",
    summary="the whole recipe in a few cells, for a class with ten minutes left",
    teaches="a frozen extractor, a new head and a short fine-tuning, one after the other",
    prerequisites=(syllabus.Prerequisite("feature_extraction", "a frozen feature extractor with a new head"),))
HEADER = "".join((ROOT / "chapters" / f"{LAST.name}.py").read_text().partition("\n# ---\n")[:2]) + "\n"
#: The ninth chapter's words in its Chinese notebook (the translator's part of adding a chapter).
ZH_WORDS = {"**Prerequisites:** chapter 01 (a frozen feature extractor with a new head).":
            "**预备知识：** 第 01 章（冻结的特征提取器加一个新的分类头）。",
            "**You will learn to** chain the course's steps. **Run time:** seconds.":
            "**本章你将学会**把课程的各个步骤串起来。**运行时间：** 几秒。",
            "## Key points": "## 要点", "- Freeze, then fine-tune.": "- 先冻结，再微调。",
            "## Review questions": "## 复习题", "1. Why freeze first?": "1. 为什么先冻结？"}


def _tree_copy(folder):
    """The repository's files (tracked, and new ones git does not ignore) copied into ``folder``."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip(f"needs the repository's git checkout: {listed.stderr.strip()[:200]}")
    for name in filter(None, listed.stdout.split("\0")):
        if (ROOT / name).is_file():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, folder / name)
    return folder


def _write_pair(script, text):
    """``script`` (py:percent) and its paired .ipynb, as ``jupytext --sync`` leaves them."""
    script.write_text(HEADER + text)
    jupytext.write(jupytext.read(script), script.with_suffix(".ipynb"))


def _add_the_ninth_chapter(tree):
    """What an author writes: one declaration, and the files only the chapter can have."""
    c = NINTH
    declarations = tree / "course_lib" / "syllabus.py"
    text = declarations.read_text()
    declared = (f"    Chapter({c.number}, {c.slug!r}, {c.title!r},\n            summary={c.summary!r},\n"
                f"            teaches={c.teaches!r},\n            prerequisites=(Prerequisite("
                f"{c.prerequisites[0].chapter!r}, {c.prerequisites[0].why!r}),)),\n")
    text, found = re.subn(r"(\nCHAPTERS = \(\n.*?\n)\)\n", lambda m: m.group(1) + declared + ")\n", text,
                          count=1, flags=re.DOTALL)
    assert found == 1, "course_lib/syllabus.py: no `CHAPTERS = (...)` to add a chapter to"
    declarations.write_text(text)

    last = jupytext.read(tree / "chapters" / f"{LAST.name}.py")
    colab, setup = [cell.source.replace(LAST.name, c.name)
                    for cell in last.cells if cell.cell_type == "code"][:2]
    base = "https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main"
    _write_pair(tree / "chapters" / f"{c.name}.py", "\n".join([
        "# %% [markdown]", f"# # {c.number:02d} · Transfer in a hurry: {c.summary}", "#",
        f"# [Binder](https://mybinder.org/v2/gh/transfer-learning-hands-on/course/HEAD?urlpath=lab/tree/{c.notebook})",
        f"# [Colab]({base}/{c.notebook})", "#",
        "# **Prerequisites:** chapter 01 (a frozen feature extractor with a new head).", "#",
        "# **You will learn to** chain the course's steps. **Run time:** seconds.", "",
        "# %%", *colab.split("\n"), "",
        "# %%", *setup.split("\n"), "",
        "# %% [markdown]", "# ## Key points", "#", "# - Freeze, then fine-tune.", "#",
        "# ## Review questions", "#", "# 1. Why freeze first?", ""]))
    _write_pair(tree / "chapters" / "solutions" / f"{c.name}.py", "\n".join([
        "# %% [markdown]", f"# # {c.number:02d} · Transfer in a hurry: solutions", "",
        "# %%", f"from {c.package} import exercises", ""]))

    for english, translated in ((c.notebook, c.notebook_in("zh")), (c.solutions, c.solutions_in("zh"))):
        text = (tree / english).with_suffix(".py").read_text().removeprefix(HEADER)
        title, rest = text.split("\n", 2)[1], text.split("\n", 2)[2]
        original = os.path.relpath(english, os.path.dirname(translated))
        _write_pair((tree / translated).with_suffix(".py"), "\n".join([
            "# %% [markdown]", title.replace("Transfer in a hurry", "匆忙迁移"), "#", f"# [English]({original}) · 中文",
            rest]).replace("course_lib.setup()", 'course_lib.setup(language="zh")'))
    chinese = tree / Path(c.notebook_in("zh")).with_suffix(".py")
    text = chinese.read_text()
    for said, translation in (*ZH_WORDS.items(), *((f"{link}/{c.notebook}", f"{link}/{c.notebook_in('zh')}")
                                                    for link in ("lab/tree", "blob/main"))):
        text = text.replace(said, translation)
    _write_pair(chinese, text.removeprefix(HEADER))

    package = tree / Path(*c.package.split("."))
    package.mkdir()
    (package / "__init__.py").write_text(f'"""Chapter {c.number:02d}, {c.title}."""\n')
    (package / "exercises.py").write_text(f'"""Chapter {c.number:02d}\'s exercise checks."""\n')
    (package / "experiments.py").write_text(
        f'"""Chapter {c.number:02d}\'s experiments."""\n\nfrom course_lib.experiments import Measured, experiment\n\n'
        'RECIPES = ()\n\n\n@experiment("target_accuracy", "a stand-in for the chapter\'s comparison")\n'
        'def hurried_transfer(seed):\n    return [Measured("frozen", 0.5)]\n')
    (tree / "tests" / "chapters" / f"test_ch{c.name}.py").write_text(
        f"from {c.package}.experiments import hurried_transfer\n\n\n"
        "def test_the_stand_in_runs():\n    assert hurried_transfer(0).value('frozen') == 0.5\n")
    (tree / c.guide).write_text(f"# {c.label}: the instructor's guide\n\nTen minutes, five cells.\n")
    (tree / c.guide_in("zh")).write_text(f"# {c.number:02d} · 匆忙迁移：教师指南\n\n[English](../../guide/{c.name}.md) · 中文"
                                         "\n\n十分钟，五个单元格。\n")


def _run(tree, *args):
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([sys.executable, *args], cwd=tree, env=env, capture_output=True, text=True)


@pytest.mark.slow
def test_a_ninth_chapter_is_one_declaration_and_its_own_files(tmp_path):
    tree = _tree_copy(tmp_path / "course")
    _add_the_ninth_chapter(tree)

    written = _run(tree, "-m", "course_lib.tools.sync")
    assert written.returncode == 0, written.stderr[-2000:]
    c = NINTH
    assert f"[{c.number:02d} {c.title}]({c.notebook})" in (tree / "README.md").read_text()
    assert f"`hurried_transfer` ({c.number:02d})" in (tree / "README.md").read_text()
    assert f"- file: chapters/{c.name}\n" in (tree / "site" / "_toc.yml").read_text()
    assert f"- file: site/guide/{c.name}\n" in (tree / "site" / "_toc.yml").read_text()
    assert f"{{binder}}`{c.name}`" in (tree / "site" / "teachers.md").read_text()
    welcome = jupytext.read(tree / "chapters" / "00_welcome.py")
    assert f"]({c.name}.ipynb) | {c.summary} |" in welcome.cells[[sync.COURSE_MAP in x.metadata.get("tags", [])
                                                                   for x in welcome.cells].index(True)].source
    before = jupytext.read(tree / "chapters" / f"{LAST.name}.py").cells[-1]
    assert f"**Next:** [{c.label}]({c.name}.ipynb)" in before.source
    assert "back to the" in jupytext.read(tree / "chapters" / f"{c.name}.py").cells[-1].source.lower()
    assert f"- file: chapters/zh/{c.name}\n" in (tree / "site" / "_toc.yml").read_text()
    assert f"({c.notebook_in('zh')}) |" in (tree / "README.md").read_text()

    # the tree's own consistency tests pass in the copy
    consistent = _run(tree, "-m", "pytest", "tests/test_notebooks.py", "tests/test_sync.py",
                      "tests/test_editions.py", "-q", "-k", "not ninth_chapter")
    assert consistent.returncode == 0, consistent.stdout[-3000:]

    # and a generated part edited by hand is caught
    toc = tree / "site" / "_toc.yml"
    toc.write_text(toc.read_text().replace(f"          - file: site/guide/{c.name}\n", ""))
    check = _run(tree, "-m", "course_lib.tools.sync", "--check")
    assert check.returncode == 1 and "stale: site/_toc.yml" in check.stdout, check.stdout + check.stderr[-1000:]
    assert "run python3 make.py sync" in check.stdout
