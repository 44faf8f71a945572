"""``python -m course_lib.tools.bench [--enforce] [--no-walk] [NOTEBOOK ...]``: time and memory of every chapter.

Executes each notebook in a fresh kernel three times: first with an empty
cache folder (cold: data parsed, MNIST-M built, source model trained), then
with the cache that run left (warm), both with every CPU this process may use,
then warm again pinned to one CPU (as Binder gives). It prints a table: wall
seconds, the kernel's peak memory (resident set size, RSS, and proportional
set size, PSS, sampled every 0.1 s), the budget, and whether it fits.

Then it walks through every chapter in one JupyterLab on one CPU with Binder's
kernel policy (``course_lib.tools.walk``), and reports the memory of the
server and every kernel summed, as RSS and as PSS. Budgets are judged on the
summed RSS (a library two kernels map counts twice: the conservative
measure); PSS, closer to what the container's cgroup is charged, is shown
beside it. A benchmark, not a test: it exits non-zero only with ``--enforce``.

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

from course_lib import syllabus

ROOT = Path(__file__).resolve().parents[2]
MEMORY_BUDGET_MB = 1500


def _kernel_memory(process):
    """(RSS, PSS) in MB of the ipykernel processes under ``process`` (PSS 0 where unknown)."""
    rss = pss = 0
    try:
        for child in process.children(recursive=True):
            try:
                if "ipykernel" in " ".join(child.cmdline()):
                    full = child.memory_full_info()
                    rss += full.rss
                    pss += getattr(full, "pss", 0)
            except psutil.Error:
                pass
    except psutil.Error:
        pass
    return rss / 1e6, pss / 1e6


def run_notebook(path, cache, timeout=900, cpus=None):
    """Execute ``path`` in a fresh kernel with ``COURSE_CACHE_DIR=cache``.

    Args:
        cpus: None (every CPU this process may use) or 1 (pinned to one; the kernel inherits it).

    Returns:
        ``(seconds, peak_kernel_rss_mb, peak_kernel_pss_mb, ok)``.
    """
    env = {**os.environ, "COURSE_CACHE_DIR": str(cache)}
    env.pop("MPLBACKEND", None)  # plots render as they do for a learner (inline PNGs)
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                   f"--ExecutePreprocessor.timeout={timeout}", "--output-dir", out, str(path)]
        start = time.perf_counter()
        one_cpu = {min(os.sched_getaffinity(0))} if cpus == 1 else None
        process = psutil.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               preexec_fn=(lambda: os.sched_setaffinity(0, one_cpu)) if one_cpu else None)
        peak = [0.0, 0.0]

        def sample():
            while process.poll() is None:
                rss, pss = _kernel_memory(process)
                peak[0], peak[1] = max(peak[0], rss), max(peak[1], pss)
                time.sleep(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, stderr = process.communicate()
        seconds = time.perf_counter() - start
        sampler.join()
    if process.returncode != 0:
        print(stderr.decode(errors="replace")[-2000:], file=sys.stderr)
    return seconds, peak[0], peak[1], process.returncode == 0


def budget(path, cpus=None):
    """The notebook's time budget in seconds for a warm run, on one CPU (Binder's) as on more: its
    chapter's (``course_lib.syllabus``), or the course's default for another notebook."""
    return syllabus.budget_seconds(Path(path).stem)


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
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every chapter's notebook")
    parser.add_argument("--enforce", action="store_true", help="exit 1 if a notebook misses its budget")
    parser.add_argument("--no-walk", action="store_true", help="skip the walk through every chapter")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or [ROOT / c.notebook for c in syllabus.CHAPTERS]
    all_cpus = len(os.sched_getaffinity(0))
    print(f"{'notebook':<38} {'cache':<5} {'CPUs':>4} {'seconds':>8} {'peak MB':>8} {'PSS MB':>7} "
          f"{'budget':>14}  fits  {'cache fill':>10}", flush=True)
    verdicts = []
    with tempfile.TemporaryDirectory() as cache:
        for path in notebooks:
            for state, cpus in (("cold", None), ("warm", None), ("warm", 1)):
                if state == "cold":
                    shutil.rmtree(cache)
                    os.mkdir(cache)
                seconds, peak, pss, ok = run_notebook(path, cache, cpus=cpus)
                verdicts.append(verdict(state, seconds, peak, ok, budget(path, cpus)))
                if state == "cold":
                    cold_seconds = seconds
                    time_budget, fill = "(warm)", ""
                else:
                    time_budget = f"{budget(path, cpus)} s"
                    fill = f"{cold_seconds - seconds:+9.0f} s" if cpus is None else ""
                print(f"{path.stem:<38} {state:<5} {cpus or all_cpus:>4} {seconds:8.1f} {peak:8.0f} {pss:7.0f} "
                      f"{time_budget:>6} {MEMORY_BUDGET_MB} MB  {verdicts[-1]:<4}  {fill}".rstrip(), flush=True)
    machine_cpus = psutil.cpu_count()
    memory = psutil.virtual_memory().total / 1e9
    print(f"\nmachine: {machine_cpus} CPUs ({all_cpus} usable here), {memory:.0f} GB, Python "
          f"{sys.version.split()[0]}, load average {os.getloadavg()[0]:.1f}")
    print("time budgets are for warm runs (90 s on one CPU); 'cache fill' is how much longer the cold run took;"
          " peak MB is the kernel's RSS, judged against the budget; PSS beside it")
    if not args.no_walk:
        from course_lib.tools import browser, walk

        if browser.find_chromium() is None:
            print(f"\nno walk: {browser.CHROMIUM_HELP}")
        else:
            print("\nthe walk: every chapter in one JupyterLab, one CPU, Binder's kernel policy; memory summed "
                  "over the server and every kernel, budget judged on summed RSS\n" + walk.HEADER, flush=True)
            record = walk.walk([p for p in notebooks], cpus=1, policy=True,
                               log=lambda line: print(line, flush=True))
            print("\n" + walk.table(record).split("\n\n", 1)[1])
            verdicts += ["yes" if all(record["summary"]["fits"].values()) else "NO"]
    return 1 if (args.enforce and any(v != "yes" for v in verdicts)) else 0


if __name__ == "__main__":
    sys.exit(main())
