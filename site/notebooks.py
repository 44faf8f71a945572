"""Execute the chapters once into the site's execution cache; read them back executed.

The cache is jupyter-cache's, the one MyST-NB reads in ``nb_execution_mode = "cache"``
(``site/conf.py``), so the website and the slide decks share one execution per chapter. A
chapter is executed again when its code cells change, and every chapter when ``course_lib``
or ``pyproject.toml`` changes (the cache cannot see those: :func:`forget_stale` keeps a
fingerprint of them and empties the cache when it changes).

Each chapter runs in a fresh kernel, in ``chapters/``; after its last cell the same kernel
records its widgets, which take the place of the live widgets' outputs
(``course_lib/publishing.py``). The test command executes the chapters in its learner's walk
instead (``course_lib/tools/walk.py``, in JupyterLab, recorded the same way), and
:func:`import_executed` puts those executions into the cache: one execution per chapter.
"""

import hashlib
import json
import re
import shutil
import tempfile
import time
from pathlib import Path

import nbformat

from course_lib import publishing
from layout import BUILD, CHAPTERS, EXECUTION_STAMPS, ROOT, chapter_key
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


def run_and_record(path, timeout=CELL_TIMEOUT):
    """Execute the notebook at ``path`` in a fresh kernel, then record its widgets there.

    Returns:
        ``(notebook, seconds)``: the executed notebook, recordings in place of live widgets.

    Raises:
        ExecutionFailed: when a cell raises.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    name = repository_path(path)
    notebook = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as folder:
        recordings = Path(folder) / "recordings.json"
        notebook.cells.append(nbformat.v4.new_code_cell(
            publishing.RECORD_CODE.format(path=str(recordings), notebook=name)))
        client = NotebookClient(notebook, timeout=timeout, resources={"metadata": {"path": str(path.parent)}})
        start = time.perf_counter()
        try:
            client.execute()
        except CellExecutionError as error:
            raise ExecutionFailed(f"{name} failed while building the site:\n{error}") from None
        seconds = time.perf_counter() - start
        notebook.cells.pop()
        publishing.with_recordings(notebook, json.loads(recordings.read_text()))
    return notebook, seconds


def cache_executed(path, notebook, seconds):
    """Keep ``notebook``, the executed chapter at ``path``, in the execution cache."""
    from jupyter_cache.base import CacheBundleIn

    notebook.metadata.pop("widgets", None)  # pages and decks show recordings, never live widget state
    drop_native_logs(notebook)
    open_cache().cache_notebook_bundle(
        CacheBundleIn(notebook, str(path), data={"execution_seconds": seconds}),
        check_validity=False, overwrite=True)
    stamp = EXECUTION_STAMPS / f"{chapter_key(path)}.txt"
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(f"{seconds:.1f} s at {time.ctime()}\n")


def import_executed(folder, paths=CHAPTERS):
    """Put the executions of the learner's walk (``folder/NN_name.ipynb``, a translation's under its
    edition's folder: ``folder/zh/NN_name.ipynb``; recorded) in the cache.

    Returns:
        ``{repository path: seconds}`` of the chapters imported.

    Raises:
        LookupError: a chapter of ``paths`` has no execution in ``folder``, or one that ran
            other code than the chapter has now.
    """
    seconds = {}
    for path in paths:
        found = Path(folder) / f"{chapter_key(path)}.ipynb"
        if not found.exists():
            raise LookupError(f"{found} is missing: the walk did not execute {repository_path(path)}")
        notebook = nbformat.read(found, as_version=4)
        code = lambda nb: [c.source for c in nb.cells if c.cell_type == "code"]  # noqa: E731
        if code(notebook) != code(nbformat.read(path, as_version=4)):
            raise LookupError(f"{found} ran other code than {repository_path(path)} has now")
        seconds[repository_path(path)] = notebook.metadata.get("course", {}).get("run_all_seconds", 0.0)
        cache_executed(path, notebook, seconds[repository_path(path)])
        print(f"  {repository_path(path)}: executed by the walk in {seconds[repository_path(path)]:.0f} s",
              flush=True)
    return seconds


def execute(paths=CHAPTERS, timeout=CELL_TIMEOUT):
    """Execute each notebook in ``paths`` that the cache does not hold yet.

    Returns:
        ``{repository path: seconds}``, None for a chapter taken from the cache.

    Raises:
        ExecutionFailed: at the first chapter with an error (it is not cached).
    """
    cache = open_cache()
    seconds = {}
    for path in paths:
        name = repository_path(path)
        try:
            cache.match_cache_notebook(nbformat.read(path, as_version=4))
            seconds[name] = None
            print(f"  {name}: outputs from the execution cache", flush=True)
            continue
        except KeyError:
            pass
        print(f"  {name}: executing ...", flush=True)
        notebook, seconds[name] = run_and_record(path, timeout)
        cache_executed(path, notebook, seconds[name])
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
