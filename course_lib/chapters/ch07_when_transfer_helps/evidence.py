"""What the chapter quotes from its results files: series over seeds, and the claims checked on them."""

import statistics

from course_lib import results
from course_lib.core.language import _

#: Decimals of a share (an accuracy) in the printout.
DECIMALS = 3


def summary(name, **wanted):
    """Print experiment ``name``'s results file: the median and range over its seeds of each
    series that ``wanted`` selects (``Report.series``; e.g. ``metric="steps"``, ``arm=[]`` for
    none), then every claim of the lesson and whether it holds on every one of those seeds.

    Returns:
        the ``experiments.Report``.
    """
    report = results.load(name)
    series = report.series(**wanted)
    width = max([0, *(len(s["label"]) for s in series)])
    print(_("{name}, {metric}, seeds {seeds} (results file of {date}):").format(
        name=name, metric=report.metric, seeds=", ".join(map(str, report.seeds)),
        date=report.made.get("date", _("an unknown date"))))
    for s in series:
        values = s["values"]
        shown = 0 if s["record"]["metric"] == "steps" else DECIMALS  # a count of steps, not a share
        print("  " + _("{arm}  median {median}   range {low} to {high}").format(
            arm=f"{s['label']:<{width}}", median=f"{statistics.median(values):.{shown}f}",
            low=f"{min(values):.{shown}f}", high=f"{max(values):.{shown}f}"))
    print(report.claims_text())
    return report
