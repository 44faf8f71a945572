"""The course's experiments: registered by name, run over several seeds, results kept in files.

Every chapter's ``experiments.py`` defines its experiments with ``@experiment``, and the
registry finds them there (the chapters are declared in ``course_lib.syllabus``); an
experiment maps a seed to a list of ``Measured`` records (``course_lib.results.report``: an arm,
its value and seconds, a metric other than the experiment's if it says one, and the arm's
configuration as fields), and may state its **claims**: what the lesson says that the numbers
show, checked over every seed::

    @experiment("target_accuracy", "source model tested on each domain")
    def domain_gap(seed):
        ...
        return [Measured("mnist", 0.96, 0.1), Measured("mnist_m", 0.41, 0.1)]

    @domain_gap.claim("mnist_m costs the source model more than 35 points on every seed")
    def _(report):
        return min(report.gains("mnist", ["mnist_m"])) > 0.35

From the shell (``--save`` writes ``course_lib/results/<name>.json``, which the notebooks
quote; ``--jobs`` runs seeds in parallel processes)::

    python -m course_lib.experiments domain_gap --seeds 0 1 2 3 4 --save
    python -m course_lib.experiments --all --seeds 0 1 2 3 4 --save --jobs 2

Every seed runs in a fresh process from the shell, so ``--jobs 2`` gives the same numbers as
``--jobs 1``, seed for seed. In a notebook, ``run`` works in the notebook's own process.

**Numerics.** On one machine the same seed gives the same numbers to the last digit. Another
processor can differ in the second decimal: TensorFlow's oneDNN kernels pick their instructions
(AVX2, AVX-512, ...) from the processor, and each sums numbers in its own order. ``--numerics``
measures that spread: it reruns seeds of a saved experiment under each setting of ``NUMERICS``
(each in a fresh process) and keeps, in the results file, the values and each arm's spread (the
largest difference, over those seeds, between any two of the settings and the file's own
values). ``Report.spread(arm)`` reads it: the tolerance of any comparison between a live number
and a committed one::

    python -m course_lib.experiments domain_adaptation --seeds 0 1 --numerics --save
"""

import argparse
import concurrent.futures
import datetime
import importlib
import json
import multiprocessing
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from course_lib.core import checks
from course_lib.results.report import Measured, Measurements, Report, label, series_key  # noqa: F401

RESULTS = Path(__file__).resolve().parent / "results"
#: The numerics settings ``--numerics`` compares, as environment variables for a fresh process:
#: TensorFlow's defaults (oneDNN on, with every instruction set the processor has); oneDNN off
#: (TensorFlow's own kernels); oneDNN capped at AVX2, what a processor without AVX-512 runs.
NUMERICS = {"default": {},
            "onednn_off": {"TF_ENABLE_ONEDNN_OPTS": "0"},
            "onednn_avx2": {"ONEDNN_MAX_CPU_ISA": "AVX2"}}
#: The environment variables that choose TensorFlow's numerics, recorded with every result.
NUMERICS_VARIABLES = ("TF_ENABLE_ONEDNN_OPTS", "ONEDNN_MAX_CPU_ISA")
#: Instruction-set extensions that change which kernels oneDNN and Eigen run (x86 and Arm).
ISA_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile",
             "amx_bf16", "neon", "asimd", "sve")


class Stopwatch:
    """``with Stopwatch() as t: ...`` then ``t.seconds``."""

    def __enter__(self):
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self._start
        return False


class Experiment:
    """A registered experiment: ``run(seed) -> [Measured, ...]`` with a metric (what a record
    measures unless it says another), a description and claims (``{description: check(report) ->
    bool}``). Calling it runs one seed and returns its ``Measurements``."""

    def __init__(self, run, metric, description):
        self.name, self.run, self.metric, self.description = run.__name__, run, metric, description
        self.claims = {}
        self.__doc__ = run.__doc__

    def __call__(self, seed, **options):
        return Measurements(self.run(seed, **options), self.metric)

    def claim(self, description):
        """Decorator: register ``check(report) -> bool`` as a claim the lesson makes."""
        def register(check):
            self.claims[description] = check
            return check
        return register

    def __repr__(self):
        return f"<experiment {self.name}: {self.description}>"


def experiment(metric, description):
    """Decorator: make ``run(seed) -> [Measured, ...]`` an experiment named after it. The registry
    finds it in its chapter's ``experiments`` module (``course_lib.syllabus``)."""
    def make(run):
        return Experiment(run, metric, description)
    return make


def registry():
    """``{name: Experiment}``: the experiments defined in the ``experiments`` module of every
    chapter that ``course_lib.syllabus`` declares (it imports them), sorted by name."""
    from course_lib.syllabus import CHAPTERS

    found = {}
    for chapter in CHAPTERS:
        module = importlib.import_module(chapter.experiments_module)
        for item in vars(module).values():
            if isinstance(item, Experiment) and item.run.__module__ == module.__name__:
                if item.name in found:
                    raise ValueError(f"two experiments are named {item.name!r}: in "
                                     f"{found[item.name].run.__module__} and {module.__name__}")
                found[item.name] = item
    return dict(sorted(found.items()))


def unknown(name):
    """One line for an experiment name that is not registered: the nearest registered names,
    and where all of them are listed (they are too many for one readable line)."""
    import difflib

    found = registry()
    near = difflib.get_close_matches(name, found, n=3, cutoff=0.5)
    hint = f"did you mean {' or '.join(near)}? " if near else ""
    return (f"unknown experiment {name!r}; {hint}python -m course_lib.experiments --help lists the "
            f"{len(found)} registered")


def get(name):
    """The experiment registered as ``name``."""
    found = registry()
    if name not in found:
        raise ValueError(unknown(name))
    return found[name]


def processor():
    """``{"model": ..., "isa": [...]}``: the processor's name and the instruction-set extensions
    of ``ISA_FLAGS`` it has (read from ``/proc/cpuinfo`` on Linux; elsewhere the model only)."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        info = ""
    for line in info.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("model name", "Model", "cpu model") and value.strip():
            model = value.strip()
        elif key.strip() in ("flags", "Features"):
            flags.update(value.split())
    return {"model": model, "isa": [flag for flag in ISA_FLAGS if flag in flags]}


def _made():
    import keras
    import tensorflow as tf

    from course_lib import __version__
    from course_lib.core.environment import THREADS

    return {"date": datetime.date.today().isoformat(), "course": __version__,
            "tensorflow": tf.__version__, "keras": keras.__version__,
            "python": platform.python_version(), "machine": platform.machine(), "threads": THREADS,
            "processor": processor(),
            "numerics": {name: os.environ[name] for name in NUMERICS_VARIABLES if name in os.environ}}


def _one_seed(name, seed):
    """Run one seed of ``name`` after ``setup(seed)``: its records, each a dict."""
    import course_lib

    course_lib.setup(seed)
    found = get(name)
    records = [m.record(found.metric, seed) for m in found(seed)]
    twice = {series_key(r) for r in records if sum(series_key(o) == series_key(r) for o in records) > 1}
    if twice:
        raise ValueError(f"{name} measured {sorted(twice)} more than once on seed {seed}: "
                         "give each arm's measurements their own arm, metric or fields")
    return records


def _fresh_process_results(name, seeds, jobs):
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context,
                                                max_tasks_per_child=1) as pool:
        futures = [pool.submit(_one_seed, name, seed) for seed in seeds]
        for seed, future in zip(seeds, futures):
            yield seed, future.result()


def run(name, seeds=(0,), jobs=None, on_seed=None):
    """Run experiment ``name`` once per seed.

    Args:
        seeds: distinct seeds >= 0, in the order the report lists them.
        jobs: None runs every seed in this process (a notebook); a number runs each seed
            in a fresh process, ``jobs`` at a time (the shell: same numbers for any ``jobs``).
        on_seed: optional ``on_seed(seed, records)`` after each seed.

    Returns:
        a ``Report``.
    """
    seeds = [checks.seed(s) for s in seeds]
    if not seeds:
        raise ValueError("give at least one seed")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds repeat: {seeds}; give each seed once")
    found = get(name)
    if jobs is None:
        pairs = ((seed, _one_seed(name, seed)) for seed in seeds)
    else:
        pairs = _fresh_process_results(name, seeds, checks.whole_number(jobs, "jobs"))
    records = []
    for seed, measured in pairs:
        records += measured
        if on_seed:
            on_seed(seed, measured)
    return Report(name, found.metric, seeds, records, _made(), found.description, checks=found.claims)


def _run_in_fresh_process(name, seeds, environment):
    """``run(name, seeds)`` in a fresh Python with ``environment`` added: a ``Report``."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "report.json"
        command = [sys.executable, "-m", "course_lib.experiments", name, "--seeds", *map(str, seeds),
                   "--json", str(path)]
        inherited = {k: v for k, v in os.environ.items() if k not in NUMERICS_VARIABLES}
        done = subprocess.run(command, env={**inherited, **environment}, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{name} failed with {environment or 'the default settings'}:\n"
                               + done.stderr[-2000:])
        return Report.from_dict(json.loads(path.read_text()), checks=get(name).claims)


def measure_numerics(report, seeds=(0, 1), on_setting=None):
    """Rerun ``seeds`` of ``report``'s experiment under every setting of ``NUMERICS``.

    Returns:
        the ``numerics`` block of a results file: the processor and versions (``made``), the
        ``seeds``, each setting's environment, its ``records`` (each with its ``setting``) and
        each series' ``spread`` (``{arm, ...fields, metric, spread}``): the largest difference, on
        any of these seeds, between two of the settings and ``report``'s own values (made on
        another day, maybe another machine).
    """
    seeds = [checks.seed(s) for s in seeds]
    missing = [s for s in seeds if s not in report.seeds]
    if missing:
        raise ValueError(f"seeds {missing} are not in {report.experiment}'s results (seeds {report.seeds})")
    measured = [{"setting": "file", **r} for r in report.records if r["seed"] in seeds]
    for setting, environment in NUMERICS.items():
        found = _run_in_fresh_process(report.experiment, seeds, environment)
        measured += [{"setting": setting, **r} for r in found.records]
        if on_setting:
            on_setting(setting, found)
    spread = {}
    for r in measured:
        key = (series_key({k: v for k, v in r.items() if k != "setting"}), r["seed"])
        spread.setdefault(key, []).append(r["value"])
    widest = {}
    for (key, _seed), values in spread.items():
        widest[key] = max(widest.get(key, 0.0), max(values) - min(values))
    return {"made": _made(), "seeds": seeds, "settings": NUMERICS,
            "records": [r for r in measured if r["setting"] != "file"],
            "spread": [{**s["record"], "spread": widest[series_key(s["record"])]} for s in report.series()]}


def save(report, folder=RESULTS):
    """Write ``report`` as ``folder/<experiment>.json`` (atomically); returns the path."""
    from course_lib.core.cache import atomic_write

    path = Path(folder) / f"{report.experiment}.json"
    text = report.to_json()
    return atomic_write(path, lambda temporary: temporary.write_text(text))


def main(argv=None):
    """``python -m course_lib.experiments NAME ... [--all] [--seeds ...] [--save] [--json FILE] [--jobs N]``."""
    parser = argparse.ArgumentParser(prog="python -m course_lib.experiments",
                                     description="Run the course's experiments over several seeds.")
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"experiments: {', '.join(registry())}")
    parser.add_argument("--all", action="store_true", help="every registered experiment")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds (default: 0)")
    parser.add_argument("--jobs", type=int, default=1, help="seeds run at once, each in its own process")
    parser.add_argument("--save", action="store_true",
                        help="write course_lib/results/NAME.json, the file the notebooks quote")
    parser.add_argument("--json", metavar="FILE", help="also write the report to FILE (one experiment)")
    parser.add_argument("--numerics", action="store_true",
                        help="rerun --seeds of the saved results under each numerics setting (oneDNN on, "
                             "off, capped at AVX2) and record the spread (with --save: in the results file)")
    args = parser.parse_args(argv)
    names = list(registry()) if args.all else args.names
    missing = [n for n in names if n not in registry()]
    if not names or missing:
        parser.error(unknown(missing[0]) if missing else "name an experiment or give --all")
    if len(set(args.seeds)) != len(args.seeds) or not all(0 <= s < 2**32 for s in args.seeds):
        parser.error(f"--seeds must be distinct whole numbers from 0 to {2**32 - 1}, got {args.seeds}")
    if args.jobs < 1:
        parser.error(f"--jobs must be >= 1, got {args.jobs}")
    if args.json and len(names) != 1:
        parser.error("--json writes one experiment's report: name exactly one")
    if args.json and not Path(args.json).resolve().parent.is_dir():
        parser.error(f"--json: the folder {Path(args.json).resolve().parent} does not exist")
    if args.numerics:
        return _numerics_main(names, args.seeds, args.save)
    for name in names:
        print(f"{name}: {get(name).description}", flush=True)
        report = run(name, args.seeds, jobs=args.jobs, on_seed=lambda seed, measured: print(
            f"  seed {seed}: " + ", ".join(f"{label(r)} {r['value']:.3f}" for r in measured), flush=True))
        print("\n" + report.format())
        print(report.claims_text())
        if args.save:
            print(f"wrote {save(report)}")
        if args.json:
            Path(args.json).write_text(report.to_json())
            print(f"wrote {args.json}")
        print(flush=True)
    return 0


def _numerics_main(names, seeds, keep):
    for name in names:
        path = RESULTS / f"{name}.json"
        if not path.exists():
            sys.exit(f"--numerics measures a saved experiment; {name} has no results file: run it with --save first")
        report = Report.from_dict(json.loads(path.read_text()))
        print(f"{name}: seeds {seeds} under {', '.join(NUMERICS)}", flush=True)
        report.numerics = measure_numerics(report, seeds, on_setting=lambda setting, found: print(
            f"  {setting}:\n" + found.format(), flush=True))
        print("  spread: " + ", ".join(f"{label({k: v for k, v in s.items() if k != 'spread'})} {s['spread']:.3f}" for s in report.numerics["spread"]))
        if keep:
            print(f"wrote {save(report)}")
    return 0


if __name__ == "__main__":
    # Run the imported module's main: the chapters' experiments are instances of
    # ``course_lib.experiments.Experiment``, not of this ``__main__`` copy's class.
    from course_lib import experiments

    sys.exit(experiments.main())
