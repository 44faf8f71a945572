"""``python -m course_lib.tools.walk``: the learner's walk through the course, measured.

One JupyterLab (headless Chromium), every chapter opened in turn in its own
tab and run with JupyterLab's "Run All Cells", kernels left open as JupyterLab
leaves them; then back to the first chapter, running a cell there as a
learner would. By default on one CPU (the server pinned to it; its kernels
inherit that) with Binder's kernel policy (``binder/jupyter_server_config.py``).

For each chapter it records the seconds to open it (kernel ready) and to run
all cells, any error output, and the memory of the Jupyter server plus every
kernel, summed, at its peak while the chapter ran and once it was done:
summed RSS (each process's resident memory; a library two kernels map counts
twice, an upper bound) and summed PSS (shared pages split between the
processes that map them, closer to what the container's cgroup is charged).
The budget is judged on summed RSS, the conservative one.

Writes everything to a JSON file (default ``.bench/walk.json``); the README's
walk table is made from it (``--table`` prints that table from a JSON file).

With ``--executed DIR`` it also keeps each chapter as it ran: once its Run All is timed and
measured, the same kernel records the chapter's widgets (``course_lib.publishing``), and the
notebook, saved by JupyterLab with every output and the recordings in place of the live
widgets, is written to ``DIR``. The site and the output checks read those: the test command
executes each chapter once. ``--numerics onednn_off`` runs the kernels under another
numerics setting than the results files were made with (``course_lib.experiments.NUMERICS``).
"""

import argparse
import datetime
import json
import os
import platform
import sys
import threading
import time
from pathlib import Path

import nbformat
import psutil

from course_lib import publishing, syllabus
from course_lib.experiments import NUMERICS
from course_lib.tools import browser
from course_lib.tools.lab import ROOT, jupyter_server

SESSION_BUDGET_MB = 2000  # mybinder.org's limit for the server plus every kernel (2 GB)
KERNEL_BUDGET_MB = 1500   # any one kernel
#: A chapter's Run All, warm cache, one CPU, unless its declaration says otherwise (the walk judges
#: each chapter on ``syllabus.budget_seconds``; tests/browser/test_walk.py compares with this one).
RUN_ALL_BUDGET_SECONDS = syllabus.BUDGET_SECONDS
DEFAULT_JSON = ROOT / ".bench" / "walk.json"


class MemorySampler:
    """Samples a server's summed memory every ``interval`` seconds in a thread; keeps the peaks (MB)."""

    def __init__(self, server, interval=0.5):
        self.server, self.interval = server, interval
        self.peak = {"rss_mb": 0.0, "pss_mb": 0.0, "largest_kernel_mb": 0.0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self):
        """One reading: summed RSS and PSS, number of kernels, the largest kernel's RSS (MB)."""
        memory = self.server.memory()
        return {"rss_mb": round(memory["rss_mb"]),
                "pss_mb": None if memory["pss_mb"] is None else round(memory["pss_mb"]),
                "kernels": len(memory["kernels"]),
                "largest_kernel_mb": round(max(memory["kernels"].values(), default=0))}

    def _run(self):
        while not self._stop.is_set():
            try:
                now = self.sample()
            except psutil.Error:
                now = None
            if now:
                for key in self.peak:
                    self.peak[key] = max(self.peak[key], now[key] or 0)
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *_):
        self._stop.set()
        self._thread.join()
        self.peak = {key: round(value) for key, value in self.peak.items()}


def _restarts(server):
    return server.log().count("Restarting idle kernel ")


def go_back(page, server, path, screenshot=None):
    """Return to ``path``'s tab, look at it, and run its second code cell as a learner would.

    Returns:
        ``{"kernel_status", "outputs_kept", "cell_output"}``: the kernel's status
        as JupyterLab shows it, whether the earlier outputs are still on screen,
        and what running the cell printed.
    """
    page.evaluate("async (path) => { await window.jupyterapp.commands.execute('docmanager:open', {path}); }", path)
    browser.wait_for_notebook(page, path)
    time.sleep(3)  # let the tab settle: what the learner sees when they arrive
    if screenshot:
        page.screenshot(path=str(screenshot))
    state = page.evaluate(
        """() => {
            const panel = window.jupyterapp.shell.currentWidget;
            const cells = panel.content.widgets;
            const code = cells.map((c, i) => [c, i]).filter(([c]) => c.model.type === 'code');
            return {kernel_status: panel.sessionContext.kernelDisplayStatus,
                    outputs_kept: code.some(([c]) => c.model.outputs.length > 0),
                    second: code[1][1]};
        }""")
    page.evaluate("async (i) => { const app = window.jupyterapp; const panel = app.shell.currentWidget;"
                  " panel.content.activeCellIndex = i;"
                  " await app.commands.execute('notebook:run-cell'); }", state["second"])
    page.wait_for_function("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
                           ".status === 'idle'", timeout=120_000)
    output = page.evaluate(
        "(i) => window.jupyterapp.shell.currentWidget.content.widgets[i].model.outputs.toJSON()"
        ".map(o => o.text || (o.ename ? o.ename + ': ' + o.evalue : '') ||"
        " ((o.data || {})['text/plain'] || '')).join('')", state["second"])
    return {"kernel_status": state["kernel_status"], "outputs_kept": state["outputs_kept"],
            "cell_output": output[:600]}


RECORDED_EXECUTE = """async (code) => {
    const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
    const future = kernel.requestExecute({code, store_history: false});
    let error = null;
    future.onIOPub = (msg) => {
        if (msg.header.msg_type === 'error') error = msg.content.ename + ': ' + msg.content.evalue;
    };
    await future.done;
    return error;
}"""


def keep_executed(page, server, path, folder, run_all_seconds):
    """Record the current chapter's widgets in its kernel, save it, and write it to ``folder``.

    The recordings take the place of the live widgets' outputs; the notebook's metadata
    ``course.run_all_seconds`` keeps how long its Run All took. Returns the written path.
    """
    recordings = Path(server.folder) / f"{Path(path).stem}.recordings.json"
    error = page.evaluate(RECORDED_EXECUTE, publishing.RECORD_CODE.format(path=str(recordings), notebook=path))
    if error:
        raise RuntimeError(f"recording the widgets of {path} failed: {error}")
    page.evaluate("async () => { await window.jupyterapp.commands.execute('docmanager:save'); }")
    notebook = nbformat.read(Path(server.folder) / path, as_version=4)
    publishing.with_recordings(notebook, json.loads(recordings.read_text()))
    notebook.metadata["course"] = {"run_all_seconds": run_all_seconds}
    target = Path(folder) / Path(path).name
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, target)
    return target


def walk(notebooks=None, cpus=1, policy=True, json_path=DEFAULT_JSON, screenshots=None, log=print,
         executed=None, numerics="default", language="en"):
    """Walk through ``notebooks`` (default: every chapter) in one JupyterLab; return the record.

    Args:
        notebooks: notebook paths below ``chapters/``; default every chapter's, in order
            (``course_lib.syllabus``), in the edition of ``language``.
        cpus: 1 (pinned to one CPU, as Binder gives) or None (this process's CPUs).
        policy: with Binder's kernel policy (restart idle kernels when a new one starts).
        json_path: where the record is written (None: nowhere).
        screenshots: a folder for a screenshot after each chapter and on going back (None: none).
        log: called with one line of progress per chapter.
        executed: a folder to keep each chapter in as it ran, widgets recorded (None: keep none).
        numerics: a setting of ``course_lib.experiments.NUMERICS`` for the kernels.
        language: the edition walked when ``notebooks`` is not given (``syllabus.EDITIONS``).
    """
    notebooks = [Path(n).resolve() for n in (notebooks or [ROOT / c.notebook_in(language)
                                                           for c in syllabus.CHAPTERS])]
    record = {
        "when": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": {"cpus_used": cpus or len(psutil.Process().cpu_affinity() or []) or psutil.cpu_count(),
                    "cpus": psutil.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 1e9),
                    "python": platform.python_version(), "platform": platform.platform()},
        # Other work on the machine slows every chapter: the 1-minute load average, start and end.
        "load_average": [round(os.getloadavg()[0], 1)],
        "app": "lab", "policy": policy, "numerics": numerics,
        "budget": {"session_mb": SESSION_BUDGET_MB, "kernel_mb": KERNEL_BUDGET_MB,
                   "run_all_seconds": {n.stem: syllabus.budget_seconds(n.stem) for n in notebooks},
                   "judged_on": "summed RSS"},
        "chapters": [],
    }
    if screenshots:
        Path(screenshots).mkdir(parents=True, exist_ok=True)
    log_file = Path(screenshots or ROOT / ".bench") / "walk-server.log"
    with jupyter_server(app="lab", cpus=cpus, policy=policy, log_path=log_file, env=NUMERICS[numerics]) as server, \
            browser.chromium_page() as page:
        record["server_start"] = MemorySampler(server).sample()
        for notebook in notebooks:
            path = notebook.relative_to(ROOT).as_posix()
            restarts_before = _restarts(server)
            with MemorySampler(server) as sampler:
                start = time.perf_counter()
                browser.open_in_lab(page, server, path)
                opened = time.perf_counter()
                browser.run_all(page)
                done = time.perf_counter()
            time.sleep(2)  # what the session holds once the chapter is done and idle
            row = {"notebook": notebook.stem, "open_seconds": round(opened - start, 1),
                   "run_all_seconds": round(done - opened, 1), "problems": browser.notebook_problems(page),
                   "peak": sampler.peak, "after": sampler.sample(),
                   "kernels_restarted": _restarts(server) - restarts_before}
            record["chapters"].append(row)
            if executed and not row["problems"]:
                keep_executed(page, server, path, executed, row["run_all_seconds"])
            if screenshots:
                page.screenshot(path=str(Path(screenshots) / f"walk-{notebook.stem}.png"))
            log(format_row(row))
        if len(notebooks) > 1:
            record["back_to_first"] = go_back(
                page, server, notebooks[0].relative_to(ROOT).as_posix(),
                screenshot=Path(screenshots) / "walk-back-to-first.png" if screenshots else None)
    record["load_average"].append(round(os.getloadavg()[0], 1))
    rows = record["chapters"]
    record["summary"] = {
        "session_peak_rss_mb": max(r["peak"]["rss_mb"] for r in rows),
        "session_peak_pss_mb": max(r["peak"]["pss_mb"] for r in rows),
        "largest_kernel_mb": max(r["peak"]["largest_kernel_mb"] for r in rows),
        "slowest_run_all_seconds": max(r["run_all_seconds"] for r in rows),
        "problems": sum(len(r["problems"]) for r in rows),
    }
    record["summary"]["fits"] = verdict(record)
    if json_path:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(json_path).write_text(json.dumps(record, indent=1) + "\n")
    return record


def verdict(record):
    """``{"memory", "time", "errors"}``: whether the walk kept each budget (True/False)."""
    rows = record["chapters"]
    return {
        "memory": all(r["peak"]["rss_mb"] <= SESSION_BUDGET_MB
                      and r["peak"]["largest_kernel_mb"] <= KERNEL_BUDGET_MB for r in rows),
        "time": all(r["run_all_seconds"] <= syllabus.budget_seconds(r["notebook"]) for r in rows),
        "errors": not any(r["problems"] for r in rows),
    }


HEADER = (f"{'notebook':<34} {'open s':>6} {'run all s':>9} {'peak RSS':>8} {'peak PSS':>8} "
          f"{'kernel':>6} {'after RSS':>9} {'after PSS':>9} {'kernels':>7} {'restarted':>9}  errors")


def format_row(row):
    """One line of the walk table (memory in MB, summed over the server and every kernel)."""
    peak, after = row["peak"], row["after"]
    return (f"{row['notebook']:<34} {row['open_seconds']:6.1f} {row['run_all_seconds']:9.1f} "
            f"{peak['rss_mb']:8} {peak['pss_mb']:8} {peak['largest_kernel_mb']:6} {after['rss_mb']:9} "
            f"{after['pss_mb'] if after['pss_mb'] is not None else '-':>9} {after['kernels']:7} "
            f"{row['kernels_restarted']:9}  {'; '.join(row['problems']) or 'none'}")


def _run_all_budget(record):
    """The record's Run All budget: ``90``, or ``60/90`` when chapters differ. A record keeps one
    number for every chapter (walks before the chapters declared their own) or one per chapter."""
    budget = record["budget"]["run_all_seconds"]
    return "/".join(map(str, sorted(set(budget.values())))) if isinstance(budget, dict) else budget


def table(record):
    """The README's walk table, from a walk record."""
    summary = record["summary"]
    lines = [HEADER, *(format_row(r) for r in record["chapters"])]
    lines.append(f"\nserver alone at start: {record['server_start']['rss_mb']} MB RSS; "
                 f"session peak {summary['session_peak_rss_mb']} MB summed RSS "
                 f"({summary['session_peak_pss_mb']} MB summed PSS), largest kernel "
                 f"{summary['largest_kernel_mb']} MB; budgets {record['budget']['session_mb']} MB summed RSS, "
                 f"{record['budget']['kernel_mb']} MB a kernel, {_run_all_budget(record)} s a chapter")
    machine = record["machine"]
    lines.append(f"{record['when']}, {machine['cpus_used']} CPU(s) used of {machine['cpus']}, "
                 f"Python {machine['python']}, kernel policy {'on' if record['policy'] else 'off'}, "
                 f"load average {record['load_average'][0]} at start, {record['load_average'][-1]} at end")
    return "\n".join(lines)


def save_benchmark(record, folder=None):
    """Write a one-CPU walk's per-chapter numbers as ``course_lib/results/benchmark.json``.

    ``check_env(chapter)`` prints a chapter's line from it, and the README's benchmark table is
    ``table(...)`` of the walk record kept in it. Returns the path.
    """
    from course_lib.core.cache import atomic_write
    from course_lib.results import FOLDER

    if record["machine"]["cpus_used"] != 1 or not record["policy"]:
        raise ValueError("the course's benchmark is the walk on one CPU with the kernel policy on")
    saved = {"made": {"date": record["when"][:10], "machine": record["machine"]},
             "chapters": {row["notebook"]: {"seconds_1cpu": row["run_all_seconds"],
                                            "peak_mb": row["peak"]["largest_kernel_mb"]}
                          for row in record["chapters"]},
             "walk": record}
    path = Path(folder or FOLDER) / "benchmark.json"
    text = json.dumps(saved, indent=1) + "\n"
    return atomic_write(path, lambda temporary: temporary.write_text(text))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m course_lib.tools.walk", description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every chapter's notebook")
    parser.add_argument("--cpus", choices=["1", "all"], default="1", help="one CPU (default, as Binder) or all")
    parser.add_argument("--no-policy", action="store_true", help="without Binder's kernel policy")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"default: {DEFAULT_JSON}")
    parser.add_argument("--screenshots", type=Path, help="a folder for screenshots")
    parser.add_argument("--table", type=Path, metavar="JSON",
                        help="print the table of an earlier walk (its JSON, or results/benchmark.json) and stop")
    parser.add_argument("--save", action="store_true",
                        help="also write course_lib/results/benchmark.json (check_env and the README quote it)")
    parser.add_argument("--executed", type=Path, metavar="DIR",
                        help="keep each chapter as it ran, widgets recorded, in DIR (the site reads it)")
    parser.add_argument("--numerics", choices=list(NUMERICS), default="default",
                        help="the kernels' numerics setting (default: TensorFlow's own)")
    parser.add_argument("--language", choices=list(syllabus.EDITIONS), default="en",
                        help="the edition walked when no notebook is named (default: English)")
    args = parser.parse_args(argv)
    if args.table:
        record = json.loads(args.table.read_text())
        print(table(record.get("walk", record)))  # a walk record, or the benchmark.json keeping one
        return 0
    if browser.find_chromium() is None:
        sys.exit(browser.CHROMIUM_HELP)
    print(HEADER, flush=True)
    record = walk(args.notebooks, cpus=1 if args.cpus == "1" else None, policy=not args.no_policy,
                  json_path=args.json, screenshots=args.screenshots, log=lambda line: print(line, flush=True),
                  executed=args.executed, numerics=args.numerics, language=args.language)
    print("\n" + table(record).split("\n\n", 1)[1])
    print(f"back to the first chapter: {record.get('back_to_first')}")
    print(f"written to {args.json}")
    if args.save:
        print(f"written to {save_benchmark(record)}")
    return 0 if all(record["summary"]["fits"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
