"""Execute the chapters once into the site's execution cache; read them back executed.

The cache is jupyter-cache's, the one MyST-NB reads in ``nb_execution_mode = "cache"``
(``site/conf.py``), so the website and the slide decks share one execution per chapter. A
chapter is executed again when its code cells change, and every chapter when ``course_lib``
or ``pyproject.toml`` changes (the cache cannot see those: :func:`forget_stale` keeps a
fingerprint of them and empties the cache when it changes).

Each chapter runs in a fresh kernel, in ``chapters/``, with ``COURSE_SITE_BUILD`` set to its
repository path, so that widgets show recorded sessions (``course_lib/publishing.py``).
"""

import hashlib
import os
import re
import shutil
import time
from pathlib import Path

import nbformat

from course_lib import publishing
from layout import BUILD, CHAPTERS, EXECUTION_STAMPS, ROOT
from layout import EXECUTION_CACHE as CACHE

CELL_TIMEOUT = 600  # seconds for one cell, on a slow 2-core machine


# TensorFlow's C++ start-up log lines (absl), which the kernel forwards as stderr when TensorFlow
# loads: not the chapter's output. Any other stderr reaches the page, and fails the build.
NATIVE_LOG = re.compile(r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are "
                        r"written to STDERR|[IWEF]\d{4} [\d:.]+ +\d+ [\w.]+:\d+\] .*)$")


def drop_native_logs(notebook):
    """Remove TensorFlow's start-up log lines from the stderr outputs of ``notebook``."""
    for cell in notebook.cells:
        outputs = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                kept = [line for line in output.text.splitlines() if not NATIVE_LOG.match(line)]
                if not kept:
                    continue
                output.text = "\n".join(kept) + "\n"
            outputs.append(output)
        if cell.cell_type == "code":
            cell.outputs = outputs


class ExecutionFailed(RuntimeError):
    """A chapter raised an error; the message names it and holds the cell's traceback."""


def fingerprint():
    """A hash of what the chapters' outputs depend on besides their own code cells."""
    digest = hashlib.sha256()
    files = sorted((ROOT / "course_lib").rglob("*.py")) + [ROOT / "pyproject.toml"]
    for path in files:
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def forget_stale(folders):
    """Empty ``folders`` (build products) when course_lib or pyproject.toml changed since they were made."""
    stamp = BUILD / "course_lib.sha256"
    current = fingerprint()
    stale = [f for f in folders if f.exists()]
    if stale and (not stamp.exists() or stamp.read_text() != current):
        print("course_lib or pyproject.toml changed since the last build: "
              f"{', '.join(str(f.relative_to(ROOT)) for f in stale)} emptied", flush=True)
        for folder in stale:
            shutil.rmtree(folder)
    BUILD.mkdir(parents=True, exist_ok=True)
    stamp.write_text(current)


def open_cache():
    """jupyter-cache's cache in ``site/_build/jupyter_cache``."""
    from jupyter_cache import get_cache

    return get_cache(str(CACHE))


def repository_path(path):
    return Path(path).resolve().relative_to(ROOT).as_posix()


def execute(paths=CHAPTERS, timeout=CELL_TIMEOUT):
    """Execute each notebook in ``paths`` that the cache does not hold yet.

    Returns:
        ``{repository path: seconds}``, None for a chapter taken from the cache.

    Raises:
        ExecutionFailed: at the first chapter with an error (it is not cached).
    """
    from jupyter_cache.base import CacheBundleIn
    from jupyter_cache.executors.utils import single_nb_execution

    cache = open_cache()
    seconds = {}
    for path in paths:
        name = repository_path(path)
        notebook = nbformat.read(path, as_version=4)
        try:
            cache.match_cache_notebook(notebook)
            seconds[name] = None
            print(f"  {name}: outputs from the execution cache", flush=True)
            continue
        except KeyError:
            pass
        print(f"  {name}: executing ...", flush=True)
        os.environ[publishing.SITE_BUILD_VARIABLE] = name  # the kernel inherits it
        try:
            start = time.perf_counter()
            result = single_nb_execution(notebook, cwd=str(path.parent), timeout=timeout,
                                         allow_errors=False)
        finally:
            del os.environ[publishing.SITE_BUILD_VARIABLE]
        if result.err is not None:
            raise ExecutionFailed(f"{name} failed while building the site:\n{result.err}")
        seconds[name] = time.perf_counter() - start
        # Pages and decks have no kernel: they show recorded sessions, never live widget state.
        notebook.metadata.pop("widgets", None)
        drop_native_logs(notebook)
        cache.cache_notebook_bundle(
            CacheBundleIn(notebook, str(path), data={"execution_seconds": seconds[name]}),
            check_validity=False, overwrite=True)
        EXECUTION_STAMPS.mkdir(parents=True, exist_ok=True)
        (EXECUTION_STAMPS / f"{path.stem}.txt").write_text(f"{seconds[name]:.1f} s at {time.ctime()}\n")
        print(f"  {name}: executed in {seconds[name]:.0f} s", flush=True)
    return seconds


def executed(path):
    """The notebook at ``path`` with the outputs of its cached execution.

    Raises:
        LookupError: when the cache has no execution of it (run :func:`execute` first).
    """
    notebook = nbformat.read(path, as_version=4)
    try:
        return open_cache().merge_match_into_notebook(notebook)[1]
    except KeyError:
        raise LookupError(f"{repository_path(path)} has no cached execution in {CACHE}; "
                          "execute it first (python3 make.py site or slides do)") from None
