"""The chapters, executed once per test run: the learner's walk, started in the background.

Every chapter runs once, in the learner's walk (``course_lib/tools/walk.py``): one JupyterLab
in headless Chromium, pinned to one CPU with Binder's kernel policy, each chapter run with Run
All Cells as a learner would (TensorFlow's default numerics: its time and memory are what a
learner meets), its widgets then recorded and the executed notebook kept in ``EXECUTED``.
Everything that reads executed chapters reads those: the walk's own checks (time, memory,
errors), the output checks and the website built from them (``site/build.py --executed``),
with its pages, decks and recorded widgets checked in Chromium.

Then, on the same CPU, the chapters that show a live number beside a committed one
(``results.beside``) run once more with oneDNN off (``OTHER_NUMERICS``), a numerics setting
other than the one the results files were made with, so that a comparison tighter than
numerics allow fails on the team's own machine first (their outputs go to ``OTHER_EXECUTED``).
Last, each translation of the course is walked the same way (``walk --language``), its
chapters kept under ``EXECUTED/<edition folder>`` for the output checks and the site.

The walk starts as soon as the tests are collected, when any test asks for it (marker
``executed``), and runs beside the other tests: its server on the first CPU, the test process
moved to the others. Tests marked ``executed`` run last and wait for it.
"""

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / ".bench"  # git-ignored
EXECUTED = BENCH / "executed"
RECORD = BENCH / "walk.json"
WALK_LOG = BENCH / "walk.log"
SCREENSHOTS = ROOT / "tests" / "screenshots"  # git-ignored
OTHER_NUMERICS = "onednn_off"
OTHER_EXECUTED = BENCH / OTHER_NUMERICS
MARKER = "executed"


def walk_record_path(language):
    """Where the walk of the edition of ``language`` writes its record."""
    return RECORD if language == "en" else BENCH / f"walk-{language}.json"


def beside_chapters():
    """The chapters that show a live number beside a committed one (``results.beside``)."""
    return [path for path in sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
            if re.search(r"results\.beside\(", path.with_suffix(".py").read_text())]


class BackgroundWalk:
    """The walk as a background process: fill the cache, then walk, keeping executed chapters."""

    def __init__(self):
        self.process = None

    def start(self):
        from course_lib.experiments import NUMERICS
        from course_lib.syllabus import EDITIONS

        for folder in (EXECUTED, OTHER_EXECUTED):
            folder.mkdir(parents=True, exist_ok=True)
            for old in folder.rglob("*.ipynb"):
                old.unlink()
        for language in EDITIONS:
            walk_record_path(language).unlink(missing_ok=True)
        other = " ".join(f"{k}={v}" for k, v in NUMERICS[OTHER_NUMERICS].items())
        python = shlex.quote(sys.executable)
        # Every documented way in fills the cache first (make.py course, Binder's postBuild).
        script = (f"{python} -m course_lib.tools.warm > /dev/null && "
                  f"{python} -m course_lib.tools.walk --executed {EXECUTED} --json {RECORD} "
                  f"--screenshots {SCREENSHOTS}; walked=$?; "
                  f"env {other} {python} -m jupyter nbconvert --to notebook --execute "
                  f"--ExecutePreprocessor.timeout=600 --output-dir {OTHER_EXECUTED} "
                  + " ".join(shlex.quote(str(p)) for p in beside_chapters()) + "; "
                  + "".join(f"{python} -m course_lib.tools.walk --language {language} "
                            f"--executed {EXECUTED / folder} --json {walk_record_path(language)} "
                            f"--screenshots {SCREENSHOTS / folder}; "
                            for language, folder in EDITIONS.items() if folder)
                  + "exit $walked")
        self.log = open(WALK_LOG, "w")
        self.process = subprocess.Popen(["bash", "-c", script], cwd=ROOT, stdout=self.log,
                                        stderr=subprocess.STDOUT, start_new_session=True)

    def record(self):
        """Wait for the walk; its record (a dict), which says what went wrong, if anything did."""
        if self.process is None:
            self.start()
        if self.process.wait() != 0 and not RECORD.exists():
            pytest.fail(f"the walk did not finish (exit {self.process.returncode}); its log, {WALK_LOG}:\n"
                        + WALK_LOG.read_text(errors="replace")[-4000:])
        return json.loads(RECORD.read_text())

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            self.process.wait()


WALK = BackgroundWalk()


def chromium_or_skip():
    """Skip (or fail in CI) without Chromium."""
    from course_lib.tools.browser import CHROMIUM_HELP, find_chromium

    if find_chromium() is None:
        if os.environ.get("CI"):
            pytest.fail(CHROMIUM_HELP)
        pytest.skip(CHROMIUM_HELP)


def pytest_configure(config):
    config.addinivalue_line("markers", f"{MARKER}: reads the chapters executed by the learner's walk")


def pytest_collection_modifyitems(session, config, items):
    """Tests that read the walk run last, so that the others run beside it."""
    items.sort(key=lambda item: item.get_closest_marker(MARKER) is not None)


def pytest_collection_finish(session):
    from course_lib.tools.browser import find_chromium

    if any(item.get_closest_marker(MARKER) for item in session.items) and find_chromium() is not None:
        WALK.start()
        cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
        if len(cpus) > 1:  # the walk's server takes the first CPU; the other tests the rest
            os.sched_setaffinity(0, cpus[1:])


def pytest_unconfigure(config):
    WALK.stop()


@pytest.fixture(scope="session")
def walk_record():
    """The walk's record (``course_lib.tools.walk``): time, memory and problems per chapter."""
    chromium_or_skip()
    return WALK.record()


@pytest.fixture(scope="session")
def built_site(walk_record):
    """The website, built from the walk's executions (``site/build.py site --executed``)."""
    done = subprocess.run([sys.executable, "site/build.py", "site", "--executed", str(EXECUTED)], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, f"the site did not build:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return ROOT / "site" / "_build" / "html"
