"""The course's two commands (and a few more), for any machine with Python 3.11+ and pip.

    python make.py course   set up .venv, fill the course cache (data, source models) and
                            open JupyterLab on chapters/00_welcome.ipynb
    python make.py test     set up .venv and run every test: unit tests and every notebook
    python make.py bench    set up .venv and time every notebook, cold and warm cache
                            (add --enforce to fail when one misses its budget)

Setting up installs the course (``pip install -e .``) into ``.venv`` beside this
file, and again only when ``pyproject.toml`` changes. TensorFlow comes as the
full ``tensorflow`` package; ``COURSE_TF=cpu`` takes the smaller CPU-only
build instead (Linux x86_64; Binder and CI use it).
"""

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
TF_BUILDS = {"full": ("tensorflow", "tensorflow"), "cpu": ("cpu", "tensorflow-cpu")}


def venv_python():
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def tensorflow_build():
    build = os.environ.get("COURSE_TF", "full")
    if build not in TF_BUILDS:
        sys.exit(f"COURSE_TF must be one of {', '.join(TF_BUILDS)}, got {build!r}")
    return build


def ensure_venv(extras):
    """Create .venv and install the course with ``extras``, unless already done."""
    if sys.version_info < (3, 11):
        sys.exit(f"the course needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    build = tensorflow_build()
    extra, package = TF_BUILDS[build]
    extras = ",".join([extra, *extras])
    stamp = VENV / "course-installed.txt"
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    if stamp.exists() and stamp.read_text() == wanted:
        return
    if not venv_python().exists():
        print(f"creating {VENV}", flush=True)
        venv.create(VENV, with_pip=True)
    python = str(venv_python())
    other = [p for b, (_, p) in TF_BUILDS.items() if b != build]
    # The two TensorFlow builds share files: never keep both.
    subprocess.run([python, "-m", "pip", "uninstall", "-q", "-y", *other], check=False,
                   stderr=subprocess.DEVNULL)
    print(f"installing the course with [{extras}] ({package}); the first time takes a few minutes",
          flush=True)
    subprocess.run([python, "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    subprocess.run([python, "-m", "pip", "install", "-q", "-e", f"{ROOT}[{extras}]"], check=True)
    stamp.write_text(wanted)


def call(*args):
    """Run ``args`` with the venv's Python in the project folder; return its exit code."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3")}
    return subprocess.run([str(venv_python()), *args], cwd=ROOT, env=env).returncode


def run(*args):
    """``call(*args)``, then exit with its code."""
    sys.exit(call(*args))


def course():
    ensure_venv(["course"])
    # As Binder's postBuild does: build the data and train the source models once (about a
    # minute the first time, seconds after), so that every chapter starts at its warm time.
    if call("-m", "course_lib.tools.warm") != 0:
        sys.exit("filling the course's cache failed (see above)")
    run("-m", "jupyter", "lab", "chapters/00_welcome.ipynb")


def test():
    ensure_venv(["course", "test"])
    run("-m", "pytest", *sys.argv[2:])


def bench():
    ensure_venv(["course", "test"])
    run("-m", "course_lib.tools.bench", *sys.argv[2:])


def site():
    """The course's website, offline, in site/_build/html (--fresh: from scratch)."""
    ensure_venv(["course", "site"])
    run("site/build.py", "site", *sys.argv[2:])


def slides():
    """The chapters' slide decks, in site/_build/html/slides."""
    ensure_venv(["course", "site"])
    run("site/build.py", "slides", *sys.argv[2:])


COMMANDS = {"course": course, "test": test, "bench": bench, "site": site, "slides": slides}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]]()
