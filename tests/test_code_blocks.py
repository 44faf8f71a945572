"""Every code block a learner reads runs: no code sits in a chapter's markdown, unexecuted.

A fence in a markdown cell may hold what is not code (``text``: a folder tree, a diagram, an
output) or a command line (``shell``), which ``test_shell_commands_run`` runs. Code goes in code
cells, where the chapter's run executes it and compares it with the course's own call.
"""

import json
import re
import shlex
from pathlib import Path

import nbformat
import pytest

from course_lib.syllabus import CHAPTERS as DECLARED

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = [ROOT / chapter.notebook for chapter in DECLARED]
#: Languages a fence in a chapter's markdown may name: not code, or a command line run below.
NOT_CODE = ("text",)
SHELL = "shell"
#: Code blocks left in markdown on purpose, by chapter and first line, each with the reason.
#: An entry whose block has gone fails too: remove it then.
ALLOWED = {}
FENCE = re.compile(r"^```(.*)$")
#: The command lines the chapters show, and what the test runs in their place.
MODULE = "course_lib.methods.own_images"
#: Fast settings for a train command: small images, one epoch per stage, no download.
FAST_TRAIN = ["--offline", "--image-size", "32", "--head-epochs", "1", "--fine-epochs", "1", "--no-augment"]


def fenced_blocks(path):
    """``[(language, lines)]`` of the fenced blocks in the notebook's markdown cells."""
    blocks = []
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "markdown":
            continue
        language, lines = None, []
        for line in cell.source.splitlines():
            match = FENCE.match(line.strip())
            if match and language is None:
                language, lines = match.group(1).strip(), []
            elif match:
                blocks.append((language, lines))
                language = None
            elif language is not None:
                lines.append(line)
        assert language is None, f"{path.name}: a fence opened with ```{language} is never closed"
    return blocks


def _first_line(lines):
    return next((line.strip() for line in lines if line.strip()), "")


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_no_code_block_sits_in_markdown(path):
    left = []
    for language, lines in fenced_blocks(path):
        if language in (*NOT_CODE, SHELL) or (path.stem, _first_line(lines)) in ALLOWED:
            continue
        left.append(f"```{language} starting {_first_line(lines)!r}")
    assert not left, (f"{path.name}: {len(left)} code block(s) in markdown, which no run executes (the first: "
                      f"{left[0][:70]}); make each a code cell compared with the course's call, or mark "
                      f"output and diagrams ```text")


def test_every_allowed_block_is_still_there():
    present = {(path.stem, _first_line(lines)) for path in CHAPTERS for _, lines in fenced_blocks(path)}
    stale = sorted(set(ALLOWED) - present)
    assert not stale, f"remove these entries from ALLOWED, their blocks have gone: {stale}"


def commands():
    """``[(chapter, environment, argv)]``: each command line of the chapters' shell blocks."""
    found = []
    for path in CHAPTERS:
        for language, lines in fenced_blocks(path):
            if language != SHELL:
                continue
            text = re.sub(r"\\\n", " ", "\n".join(lines))
            for line in text.splitlines():
                words = shlex.split(line, comments=True)
                if not words:
                    continue
                environment = dict(w.split("=", 1) for w in words if re.match(r"^[A-Z_]+=", w))
                words = [w for w in words if not re.match(r"^[A-Z_]+=", w)]
                assert words[:3] == ["python", "-m", MODULE], (
                    f"{path.name}: the command {line.strip()!r} is not `python -m {MODULE} ...`, "
                    f"the only command this test knows how to run")
                found.append((path.stem, environment, words[3:]))
    return found


def test_the_chapters_show_commands():
    assert commands(), f"no shell block names `python -m {MODULE}`: is this test still needed?"


@pytest.mark.slow
def test_shell_commands_run(tmp_path, capsys):
    """Each command runs through the module's ``main`` on a small folder of its own (the
    folder in the command replaced by it; a train command made fast). A command started on
    several machines (``TF_CONFIG``) is parsed and its cluster read here; the two-worker run
    itself is tests/methods/test_own_images_cli.py's."""
    from course_lib.methods.own_images import cli
    from methods.own_images_fixtures import make_squares

    folder = make_squares(tmp_path / "photos")
    for chapter, environment, argv in commands():
        command, _shown_folder, *options = argv
        if "--output" in options:
            options[options.index("--output") + 1] = str(tmp_path / f"out-{command}")
        argv = [command, str(folder), *options]
        if "TF_CONFIG" in environment:
            config = json.loads(environment["TF_CONFIG"])
            assert config["task"]["index"] < len(config["cluster"]["worker"]), f"{chapter}: {config}"
            assert cli.parser().parse_args(argv).strategy == "multiworker"
            continue
        if command == "train":
            argv += FAST_TRAIN if "--output" in options else [*FAST_TRAIN, "--output", str(tmp_path / "out")]
        assert cli.main(argv) == 0, f"{chapter}: {' '.join(argv)} failed: {capsys.readouterr().err[-300:]}"
