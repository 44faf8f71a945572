"""The experiments' results over seeds, as the registry last wrote them (``<experiment>.json``,
records as ``report.py`` describes them).

The notebooks quote these files instead of typing numbers into their prose::

    from course_lib import results
    report = results.load("domain_adaptation")
    report.table()          # every series: median, min, max and each seed
    report.median("dann", metric="proxy_a_distance")
    report.claims()         # what the lesson says, checked on every seed

Regenerate one with ``python -m course_lib.experiments NAME --seeds 0 1 2 3 4 --save``,
or all with ``python -m course_lib.experiments --all --seeds 0 1 2 3 4 --save --jobs 2``.
"""

import json
from pathlib import Path

from course_lib.core.language import _
from course_lib.results.report import Measured, label

FOLDER = Path(__file__).resolve().parent


def available():
    """Names of the experiments that have a results file."""
    return sorted(p.stem for p in FOLDER.glob("*.json"))


def load(name):
    """The ``Report`` saved for experiment ``name``, with the registry's claims."""
    from course_lib.experiments import get
    from course_lib.results.report import Report

    path = FOLDER / f"{name}.json"
    if not path.exists():
        raise ValueError(f"no results file for {name!r}; files exist for: {', '.join(available())}. "
                         f"Make it with: python -m course_lib.experiments {name} --seeds 0 1 2 3 4 --save")
    return Report.from_dict(json.loads(path.read_text()), checks=get(name).claims)


def beside(report, live, seed=0):
    """A table of this run's numbers beside the results file's, and whether each lies within the
    spread that numerics alone caused when the registry measured it (``Report.spread``).

    The same seed gives the same numbers on one machine; on another processor TensorFlow's
    oneDNN kernels sum in another order, and a number moves by up to that spread. Nothing here
    fails: a number outside the spread says that something besides numerics differs (the
    versions, or the code), and the table says so.

    Args:
        report: a results file's ``Report`` (``load(name)``), with its spread measured.
        live: ``{arm: value}`` of this run, or its ``Measured`` (an arm with fields, or another metric).
        seed: the seed this run used.

    Returns:
        the table as text, one line per arm and a line saying where the file was made.
    """
    if seed not in report.seeds:
        raise ValueError(f"seed {seed} is not in {report.experiment}'s results file (seeds {report.seeds})")
    runs = [Measured(arm, value) for arm, value in live.items()] if isinstance(live, dict) else list(live)
    names = [label(m.record(report.metric), report.metric) for m in runs]
    width = max(len(name) for name in names)
    lines = []
    for arm, m in zip(names, runs):
        committed = report.values(m.arm, m.metric, **m.fields)[report.seeds.index(seed)]
        spread = report.spread(m.arm, m.metric, **m.fields)
        verdict = _("within it") if abs(m.value - committed) <= spread + 1e-9 else (
            _("OUTSIDE it: more than numerics differs (versions or code)"))
        lines.append(f"{arm:<{width}}  " + _("this run {value:.3f}   results file (seed {seed}) {committed:.3f}   "
                                             "spread measured {spread:.3f}: {verdict}").format(
            value=m.value, seed=seed, committed=committed, spread=spread, verdict=verdict))
    made = report.made.get("processor", {}).get("model", _("a processor it did not record"))
    measured = report.numerics["made"]["processor"]["model"]
    settings = ", ".join(report.numerics["settings"])
    lines.append(_("(results file made on {made}; spread measured on {measured} under {settings}, seeds {seeds})").format(
        made=made, measured=measured, settings=settings, seeds=", ".join(map(str, report.numerics["seeds"]))))
    return "\n".join(lines)
