"""The experiments' results over seeds, as the registry last wrote them (``<experiment>.json``).

The notebooks quote these files instead of typing numbers into their prose::

    from course_lib import results
    report = results.load("domain_adaptation")
    report.table()          # every arm: median, min, max and each seed
    report.claims()         # what the lesson says, checked on every seed

Regenerate one with ``python -m course_lib.experiments NAME --seeds 0 1 2 3 4 --save``,
or all with ``python -m course_lib.experiments --all --seeds 0 1 2 3 4 --save --jobs 2``.
"""

import json
from pathlib import Path

FOLDER = Path(__file__).resolve().parent


def available():
    """Names of the experiments that have a results file."""
    return sorted(p.stem for p in FOLDER.glob("*.json"))


def load(name):
    """The ``experiments.Report`` saved for experiment ``name``."""
    from course_lib.experiments import Report

    path = FOLDER / f"{name}.json"
    if not path.exists():
        raise ValueError(f"no results file for {name!r}; files exist for: {', '.join(available())}. "
                         f"Make it with: python -m course_lib.experiments {name} --seeds 0 1 2 3 4 --save")
    return Report.from_dict(json.loads(path.read_text()))
