"""The course's two commands (and a few more), for any machine with Python 3.11-3.13 and pip.

    python make.py course   set up .venv, fill the course cache (data, source models) and
                            open JupyterLab on chapters/00_welcome.ipynb
                            (--notebook: Notebook 7; other options: python make.py course --help)
    python make.py test     set up .venv and run every test: the unit tests, every notebook
                            executed once (the learner's walk), the website built from them
                            and checked in a browser, and the oldest versions (floor)
    python make.py test --quick
                            only the unit tests that need no notebook, browser or long
                            training (a few minutes); says what it left out
    python make.py test chapters/04_transfer_networks.ipynb
                            what one chapter needs: the notebook and its solutions executed,
                            the chapter's unit tests (any other arguments go to pytest)
    python make.py bench    set up .venv and time every notebook, cold and warm cache, on two
                            CPUs and on one (add --enforce to fail when one misses its budget)
    python make.py walk     set up .venv and walk through every chapter in one JupyterLab on
                            one CPU, as a Binder learner does, measuring time and memory
    python make.py floor    set up .venv-floor with the OLDEST supported versions
                            (constraints/floor.txt) and run FLOOR_TESTS there (make.py test does too)
    python make.py site     build the course's website offline in site/_build/html
                            (every chapter executed, the instructor's guide, the slides)
    python make.py slides   build only the chapters' slide decks
    python make.py sync     write every list of chapters (README, course map, site, "Next"
                            cells) from course_lib/syllabus.py (--check: only list stale files)
    python make.py classroom-link --hub URL [--chapter NN_name]
                            print the nbgitpuller link that opens a chapter in each learner's
                            own copy of the course on a JupyterHub (classroom/README.md)
    python make.py classroom --learners N
                            set up .venv and load-test a real JupyterHub with N local learners

Setting up installs the course (``pip install -e .``) into ``.venv`` beside this
file with the tested versions of constraints/current.txt, and again only when
pyproject.toml or the constraints change. TensorFlow comes as the full
``tensorflow`` package; ``COURSE_TF=cpu`` takes the smaller CPU-only build
instead (Linux x86_64; Binder and CI use it).
"""

import hashlib
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
FLOOR_VENV = ROOT / ".venv-floor"
CURRENT = ROOT / "constraints" / "current.txt"
FLOOR = ROOT / "constraints" / "floor.txt"
TF_BUILDS = {"full": ("tensorflow", "tensorflow"), "cpu": ("cpu", "tensorflow-cpu")}
#: What `make.py floor` runs at the oldest versions: what differs between them and the newest,
#: the course's calls into Keras 3.10, NumPy 2.0, scikit-learn, pandas and matplotlib (the
#: unit tests of core/, methods/ and the chapters' pieces) and ipywidgets 7 (the widgets, and
#: the recordings that publish them). Not what only repeats the newest run: the notebooks
#: (their calls are those the unit tests make), the browser tests and the site (front ends
#: installed at current.txt's versions in both), the tools' servers and the slow tests. Keras
#: 3.10 warns that "the structure of `inputs` doesn't match" whenever a model loaded from a
#: .keras file is called (it reloads a single input as a list; later Keras does not): at the
#: floor, that warning is not the course's mistake that the tests otherwise turn it into.
FLOOR_TESTS = ["tests/core", "tests/methods", "tests/chapters", "tests/site/test_publishing.py",
               "-m", "not slow and not executed",
               "-W", "ignore:The structure of `inputs` doesn't match:UserWarning",
               "--continue-on-collection-errors"]  # one module that cannot import must not hide the rest
#: What `make.py test --quick` runs: the unit tests that need no notebook, browser or long training.
QUICK_TESTS = ["tests", "-m", "not slow and not executed"]
SUPPORTED_PYTHON = ((3, 11), (3, 13))
#: What the tests, the benchmark and the site need (one set, so switching commands reinstalls nothing).
TEST_EXTRAS = ["course", "test", "site", "classroom"]


def python_problem(version=sys.version_info[:2], system=platform.system(), machine=platform.machine()):
    """Why the course cannot be installed for this Python on this machine, or None."""
    shown = ".".join(map(str, version))
    low, high = SUPPORTED_PYTHON
    if not low <= tuple(version) <= high:
        return (f"the course needs Python 3.11, 3.12 or 3.13 (TensorFlow has no wheels for others yet); "
                f"this is Python {shown}. Install one of those and run it, e.g. `python3.12 make.py course` "
                "(Windows: `py -3.12 make.py course`).")
    if system == "Darwin" and machine == "x86_64":
        return ("TensorFlow publishes no packages for Intel Macs after version 2.16, older than the "
                "course needs. Use Binder or Colab (the badges at the top of the README), or a Mac with "
                "Apple silicon.")
    return None


def venv_python(venv=VENV):
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def tensorflow_build():
    build = os.environ.get("COURSE_TF", "full")
    if build not in TF_BUILDS:
        sys.exit(f"COURSE_TF must be one of {', '.join(TF_BUILDS)}, got {build!r}")
    return build


def ensure_venv(extras, venv=VENV, constraints=CURRENT, python=None):
    """Create ``venv`` and install the course with ``extras`` at ``constraints``' versions, unless done.

    Args:
        python: the interpreter that creates the venv (default: this one).
    """
    problem = python_problem() if python is None else None
    if problem:
        sys.exit(problem)
    build = tensorflow_build()
    extra, package = TF_BUILDS[build]
    extras = ",".join([extra, *extras])
    stamp = venv / "course-installed.txt"
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + constraints.read_bytes()
                            + extras.encode()).hexdigest()
    if stamp.exists() and stamp.read_text() == wanted:
        return
    if not venv_python(venv).exists():
        print(f"creating {venv}", flush=True)
        subprocess.run([python or sys.executable, "-m", "venv", str(venv)], check=True)
    executable = str(venv_python(venv))
    other = [p for b, (_, p) in TF_BUILDS.items() if b != build]
    # The two TensorFlow builds share files: never keep both.
    subprocess.run([executable, "-m", "pip", "uninstall", "-q", "-y", *other], check=False,
                   stderr=subprocess.DEVNULL)
    print(f"installing the course with [{extras}] ({package}) at {constraints.relative_to(ROOT)}'s "
          "versions; the first time takes a few minutes", flush=True)
    subprocess.run([executable, "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    subprocess.run([executable, "-m", "pip", "install", "-q", "-c", str(constraints), "-e", f"{ROOT}[{extras}]"],
                   check=True)
    stamp.write_text(wanted)


def call(*args, venv=VENV):
    """Run ``args`` with the venv's Python in the project folder; return its exit code."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3")}
    return subprocess.run([str(venv_python(venv)), *args], cwd=ROOT, env=env).returncode


def run(*args, venv=VENV):
    """``call(*args)``, then exit with its code."""
    sys.exit(call(*args, venv=venv))


def course():
    ensure_venv(["course"])
    # As Binder's postBuild does: build the data and train the source models once (about a
    # minute the first time, seconds after), so that every chapter starts at its warm time.
    if call("-m", "course_lib.tools.warm") != 0:
        sys.exit("filling the course's cache failed (see above)")
    run("-m", "course_lib.tools.launch", *sys.argv[2:])


def _pinned_to_last_cpu():
    """For a background job: run on the machine's last CPU (the walk's server takes the first)."""
    if hasattr(os, "sched_getaffinity") and len(os.sched_getaffinity(0)) > 1:
        os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})


def chapter_tests(notebook):
    """What one chapter needs: ``chapters/NN_name.ipynb`` (or a translation's, ``chapters/zh/...``),
    its solutions in the same edition and its unit tests."""
    path = Path(notebook)
    stem = path.stem
    found = [path.as_posix(), (path.parent / "solutions" / path.name).as_posix(),
             *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "tests" / "chapters").glob(f"test_ch{stem[:2]}_*.py"))]
    return [f for f in found if (ROOT / f).exists()]


def test():
    """Every test (the contract CI runs), ``--quick``, one chapter, or pytest's own arguments."""
    ensure_venv(TEST_EXTRAS)
    args = sys.argv[2:]
    if "--quick" in args:
        code = call("-m", "pytest", *QUICK_TESTS, *[a for a in args if a != "--quick"])
        print("\n--quick left out: the slow unit tests (servers, browsers, training over seeds), every "
              "notebook, the learner's walk, the website and the oldest versions; `python3 make.py test` "
              "runs them all.")
        sys.exit(code)
    if args and all(a.startswith("chapters/") and a.endswith(".ipynb") for a in args):
        missing = [a for a in args if not (ROOT / a).exists()]
        if missing:
            chapters = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "chapters").rglob("[0-9][0-9]_*.ipynb")
                              if "solutions" not in p.parts)
            sys.exit(f"no such notebook: {', '.join(missing)}; the chapters are {', '.join(chapters)}")
        run("-m", "pytest", *[t for a in args for t in chapter_tests(a)])
    if args:
        run("-m", "pytest", *args)
    # Everything: the floor's environment is set up beside the tests, then tested after them.
    floor_setup = subprocess.Popen([sys.executable, str(ROOT / "make.py"), "floor", "--setup-only"],
                                   preexec_fn=_pinned_to_last_cpu if os.name != "nt" else None)
    code = call("-m", "pytest", "--durations=25")
    if floor_setup.wait() != 0:
        sys.exit("setting up the oldest versions (.venv-floor) failed (see above)")
    floor_code = call("-m", "pytest", *FLOOR_TESTS, venv=FLOOR_VENV)
    print(f"\nunit tests, notebooks, walk and site: {'passed' if code == 0 else 'FAILED'}; "
          f"oldest versions: {'passed' if floor_code == 0 else 'FAILED'}")
    sys.exit(code or floor_code)


def bench():
    ensure_venv(TEST_EXTRAS)
    run("-m", "course_lib.tools.bench", *sys.argv[2:])


def walk():
    ensure_venv(TEST_EXTRAS)
    run("-m", "course_lib.tools.walk", *sys.argv[2:])


def floor():
    """The oldest versions: set up .venv-floor and run FLOOR_TESTS (``--setup-only``: set up only)."""
    python = os.environ.get("COURSE_FLOOR_PYTHON") or sys.executable
    ensure_venv(["course", "test"], venv=FLOOR_VENV, constraints=FLOOR, python=python)
    if sys.argv[2:] == ["--setup-only"]:
        return
    run("-m", "pytest", *(sys.argv[2:] or FLOOR_TESTS), venv=FLOOR_VENV)


def site():
    """The course's website, offline, in site/_build/html (--fresh: from scratch)."""
    ensure_venv(TEST_EXTRAS)
    run("site/build.py", "site", *sys.argv[2:])


def slides():
    """The chapters' slide decks, in site/_build/html/slides."""
    ensure_venv(TEST_EXTRAS)
    run("site/build.py", "slides", *sys.argv[2:])


def sync():
    """Every generated list of chapters, written from their declarations (course_lib/syllabus.py)."""
    ensure_venv(TEST_EXTRAS)
    run("-m", "course_lib.tools.sync", *sys.argv[2:])


def classroom_link():
    """The link a teacher sends (standard library only: no .venv needed)."""
    sys.exit(subprocess.run([sys.executable, "-m", "course_lib.tools.classroom", "link", *sys.argv[2:]],
                            cwd=ROOT).returncode)


def classroom():
    """A real JupyterHub, N local learners, one chapter at once (classroom/README.md)."""
    ensure_venv(TEST_EXTRAS)
    if call("-m", "course_lib.tools.warm") != 0:
        sys.exit("filling the course's cache failed (see above)")
    run("-m", "course_lib.tools.classroom_load", *sys.argv[2:])


COMMANDS = {"course": course, "test": test, "bench": bench, "walk": walk, "floor": floor,
            "site": site, "slides": slides, "sync": sync,
            "classroom-link": classroom_link, "classroom": classroom}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]]()
