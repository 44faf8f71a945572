"""``python -m course_lib.tools.bench [--enforce] [NOTEBOOK ...]``: time and memory of every chapter.

Executes each notebook in a fresh kernel twice, first with an empty cache
folder (cold: data parsed, MNIST-M built, source model trained) and then with
the cache that run left (warm), and prints a table: wall seconds, the kernel's
peak memory (resident set size, sampled every 0.1 s), the budget, and whether
it fits. A benchmark, not a test: it exits non-zero only with ``--enforce``.

The time budget is for the warm run, the one a learner meets: every documented
way into the course fills the cache first (``make.py course`` runs
``course_lib.tools.warm`` before JupyterLab opens; Binder's ``postBuild`` runs it while
the image builds). The cold run adds that one-time fill, and the table shows
how much; the memory budget holds for both.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

CHAPTERS = Path(__file__).resolve().parent.parent / "chapters"
MEMORY_BUDGET_MB = 1500
#: Seconds each notebook may take on a 2-core CPU (its issue's budget); others get 90.
TIME_BUDGETS = {"00_welcome": 60, "05_when_transfer_helps": 120, "06_your_own_images": 120}
DEFAULT_TIME_BUDGET = 90


def _kernel_rss(process):
    """Resident memory in MB of the ipykernel processes under ``process``."""
    total = 0
    try:
        for child in process.children(recursive=True):
            try:
                if "ipykernel" in " ".join(child.cmdline()):
                    total += child.memory_info().rss
            except psutil.Error:
                pass
    except psutil.Error:
        pass
    return total / 1e6


def run_notebook(path, cache, timeout=900):
    """Execute ``path`` in a fresh kernel with ``COURSE_CACHE_DIR=cache``.

    Returns:
        ``(seconds, peak_kernel_mb, ok)``.
    """
    env = {**os.environ, "COURSE_CACHE_DIR": str(cache)}
    env.pop("MPLBACKEND", None)  # plots render as they do for a learner (inline PNGs)
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                   f"--ExecutePreprocessor.timeout={timeout}", "--output-dir", out, str(path)]
        start = time.perf_counter()
        process = psutil.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        peak = [0.0]

        def sample():
            while process.poll() is None:
                peak[0] = max(peak[0], _kernel_rss(process))
                time.sleep(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, stderr = process.communicate()
        seconds = time.perf_counter() - start
        sampler.join()
    if process.returncode != 0:
        print(stderr.decode(errors="replace")[-2000:], file=sys.stderr)
    return seconds, peak[0], process.returncode == 0


def budget(path):
    """The notebook's time budget in seconds (its issue's), for a warm run."""
    return TIME_BUDGETS.get(path.stem, DEFAULT_TIME_BUDGET)


def verdict(state, seconds, peak_mb, ok, time_budget):
    """``"yes"``, ``"NO"`` or ``"FAILED"`` for one run.

    Args:
        state: ``"warm"`` (judged on time and memory) or ``"cold"`` (memory only:
            its extra seconds are the one-time cache fill).
        seconds, peak_mb: what the run measured.
        ok: whether the notebook ran without an error.
        time_budget: seconds allowed for a warm run.
    """
    if state not in ("cold", "warm"):
        raise ValueError(f"state must be 'cold' or 'warm', got {state!r}")
    if not ok:
        return "FAILED"
    in_time = state == "cold" or seconds <= time_budget
    return "yes" if in_time and peak_mb <= MEMORY_BUDGET_MB else "NO"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m course_lib.tools.bench", description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every chapters/*.ipynb")
    parser.add_argument("--enforce", action="store_true", help="exit 1 if a notebook misses its budget")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted(CHAPTERS.glob("*.ipynb"))
    print(f"{'notebook':<38} {'cache':<5} {'seconds':>8} {'peak MB':>8} {'budget':>14}  fits"
          f"  {'cache fill':>10}", flush=True)
    verdicts = []
    with tempfile.TemporaryDirectory() as cache:
        for path in notebooks:
            for state in ("cold", "warm"):
                if state == "cold":
                    shutil.rmtree(cache)
                    os.mkdir(cache)
                seconds, peak, ok = run_notebook(path, cache)
                verdicts.append(verdict(state, seconds, peak, ok, budget(path)))
                if state == "cold":
                    cold_seconds = seconds
                    time_budget, fill = "(warm)", ""
                else:
                    time_budget, fill = f"{budget(path)} s", f"{cold_seconds - seconds:+9.0f} s"
                print(f"{path.stem:<38} {state:<5} {seconds:8.1f} {peak:8.0f} {time_budget:>6} "
                      f"{MEMORY_BUDGET_MB} MB  {verdicts[-1]:<4}  {fill}".rstrip(), flush=True)
    cpus = psutil.cpu_count()
    memory = psutil.virtual_memory().total / 1e9
    print(f"\nmachine: {cpus} CPUs, {memory:.0f} GB, Python {sys.version.split()[0]}")
    print("time budgets are for warm runs; 'cache fill' is how much longer the cold run took")
    return 1 if (args.enforce and any(v != "yes" for v in verdicts)) else 0


if __name__ == "__main__":
    sys.exit(main())
