"""What the chapter quotes from its results files: arms over seeds, and the claims checked on them."""

from course_lib import results
from course_lib.core.language import _

#: Decimals of a share (an accuracy) in the printout.
DECIMALS = 3


def summary(name, arms=None):
    """Print experiment ``name``'s results file: each arm's median and range over its seeds,
    then every claim of the lesson and whether it holds on every one of those seeds.

    Args:
        arms: the arms to list, in this order (default: all).

    Returns:
        the ``experiments.Report``.
    """
    report = results.load(name)
    arms = list(report.results) if arms is None else list(arms)
    width = max([0, *(len(arm) for arm in arms)])
    print(_("{name}, {metric}, seeds {seeds} (results file of {date}):").format(
        name=name, metric=report.metric, seeds=", ".join(map(str, report.seeds)),
        date=report.made.get("date", _("an unknown date"))))
    for arm in arms:
        values = report.values(arm)
        shown = 0 if arm.endswith(":steps") else DECIMALS  # a count of steps, not a share
        print("  " + _("{arm}  median {median}   range {low} to {high}").format(
            arm=f"{arm:<{width}}", median=f"{report.median(arm):.{shown}f}", low=f"{min(values):.{shown}f}",
            high=f"{max(values):.{shown}f}"))
    print(report.claims_text())
    return report
