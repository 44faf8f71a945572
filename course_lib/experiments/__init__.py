"""The course's experiments, registered by name, runnable over several seeds.

Every module in this package whose name does not start with ``_`` is an
experiment, registered under its file name. Each one has::

    METRIC = "target_accuracy"          # what its numbers are
    DESCRIPTION = "one line"
    def run(seed) -> {arm: Measured}    # one value per arm (method or setting)

The notebooks call the same ``run``; teachers run many seeds from the shell::

    python -m course_lib.experiments domain_gap --seeds 0 1 2 --json gap.json
"""

import importlib
import pkgutil
import statistics
import time
from dataclasses import dataclass

#: name -> module path: every public module of this package.
EXPERIMENTS = {
    info.name: f"{__name__}.{info.name}"
    for info in pkgutil.iter_modules(__path__)
    if not info.name.startswith("_")
}


@dataclass(frozen=True)
class Measured:
    """One arm's result on one seed: ``value`` (e.g. an accuracy) and ``seconds`` it took."""

    value: float
    seconds: float


class Stopwatch:
    """``with Stopwatch() as t: ...`` then ``t.seconds``."""

    def __enter__(self):
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self._start
        return False


def get(name):
    """The experiment module registered as ``name``."""
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; registered: {', '.join(sorted(EXPERIMENTS))}")
    return importlib.import_module(EXPERIMENTS[name])


def run(name, seeds=(0,), on_seed=None):
    """Run experiment ``name`` once per seed.

    Args:
        seeds: the seeds, in order.
        on_seed: optional callback ``on_seed(seed, {arm: Measured})`` after each seed.

    Returns:
        ``{"experiment", "metric", "seeds", "results": {arm: [value per seed]},
        "seconds": {arm: [seconds per seed]}}``, the shape ``--json`` writes.
    """
    import course_lib

    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("give at least one seed")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds repeat: {seeds}")
    module = get(name)
    results, seconds = {}, {}
    for seed in seeds:
        course_lib.setup(seed)
        measured = module.run(seed)
        for arm, m in measured.items():
            results.setdefault(arm, []).append(float(m.value))
            seconds.setdefault(arm, []).append(round(float(m.seconds), 2))
        if on_seed:
            on_seed(seed, measured)
    return {"experiment": name, "metric": module.METRIC, "seeds": seeds,
            "results": results, "seconds": seconds}


def summary_rows(report):
    """One dict per arm: median, min, max and median seconds over the report's seeds."""
    rows = []
    for arm, values in report["results"].items():
        rows.append({
            "arm": arm,
            "median": statistics.median(values),
            "min": min(values),
            "max": max(values),
            "values": values,
            "seconds": statistics.median(report["seconds"][arm]),
        })
    return rows


def format_table(report):
    """The report as a plain-text table: one row per arm, median and spread over seeds."""
    rows = summary_rows(report)
    width = max([len("arm")] + [len(r["arm"]) for r in rows])
    lines = [
        f"{report['experiment']}: {report['metric']} over seeds {report['seeds']}",
        f"{'arm':<{width}}  median   min    max    seconds  per seed",
    ]
    for r in rows:
        per_seed = " ".join(f"{v:.3f}" for v in r["values"])
        lines.append(f"{r['arm']:<{width}}  {r['median']:.3f}  {r['min']:.3f}  {r['max']:.3f}"
                     f"  {r['seconds']:7.1f}  {per_seed}")
    return "\n".join(lines)
