"""What the teacher's link promises, checked with nbgitpuller's own puller (the one the link runs).

A first click clones the course into the learner's home; the learner edits a notebook; the
course changes upstream (the same cell, another notebook, a new file); a second click merges:
the learner's edit stays, the rest of the update arrives, and a notebook the learner deleted
comes back fresh.
"""

import json
import shutil
import subprocess

import pytest

from course_lib.tools.classroom import CHAPTERS

GitPuller = pytest.importorskip("nbgitpuller.pull", reason="nbgitpuller is in the classroom extra").GitPuller
GIT = ["git", "-c", "user.name=course", "-c", "user.email=course@example.org", "-c", "init.defaultBranch=main"]
WELCOME, NEXT = "00_welcome.ipynb", "01_feature_extraction.ipynb"


def _git(*args, cwd):
    subprocess.run([*GIT, *args], cwd=cwd, check=True, capture_output=True)


def _pull(upstream, copy):
    for _ in GitPuller(str(upstream), str(copy), branch="main", depth=0).pull():
        pass


def _first_source(path):
    return "".join(json.loads(path.read_text())["cells"][0]["source"])


def _set_first_source(path, text):
    notebook = json.loads(path.read_text())
    notebook["cells"][0]["source"] = text
    path.write_text(json.dumps(notebook, indent=1) + "\n")


@pytest.fixture
def upstream(tmp_path):
    """A course repository on branch main with two real chapters."""
    repo = tmp_path / "upstream" / "course"
    (repo / "chapters").mkdir(parents=True)
    for name in (WELCOME, NEXT):
        shutil.copy(CHAPTERS / name, repo / "chapters" / name)
    _git("init", cwd=repo)
    _git("add", ".", cwd=repo)
    _git("commit", "-m", "the course", cwd=repo)
    return repo


def test_a_second_click_merges_the_course_and_keeps_the_learners_edit(upstream, tmp_path):
    copy = tmp_path / "home" / "course"
    _pull(upstream, copy)  # the first click: a clone
    assert _first_source(copy / "chapters" / WELCOME) == _first_source(upstream / "chapters" / WELCOME)

    mine = "# My notes on chapter 00\n\nThe domain gap is what I will remember."
    _set_first_source(copy / "chapters" / WELCOME, mine)
    (copy / "chapters" / NEXT).unlink()  # the learner deleted a notebook by mistake

    _set_first_source(upstream / "chapters" / WELCOME, "# Welcome (corrected upstream)")
    _set_first_source(upstream / "chapters" / NEXT, "# Chapter 01 (updated upstream)")
    (upstream / "chapters" / "errata.md").write_text("Corrections since the class began.\n")
    _git("commit", "-am", "corrections", cwd=upstream)
    _git("add", ".", cwd=upstream)
    _git("commit", "-m", "errata", cwd=upstream)

    _pull(upstream, copy)  # the second click: a merge
    assert _first_source(copy / "chapters" / WELCOME) == mine, "the learner's edit was overwritten"
    assert _first_source(copy / "chapters" / NEXT) == "# Chapter 01 (updated upstream)"
    assert (copy / "chapters" / "errata.md").read_text() == "Corrections since the class began.\n"
