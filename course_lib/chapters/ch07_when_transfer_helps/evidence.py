"""What the chapter quotes from its results files: arms over seeds, and the claims checked on them."""

from course_lib import results

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
    print(f"{name}, {report.metric}, seeds {', '.join(map(str, report.seeds))} "
          f"(results file of {report.made.get('date', 'an unknown date')}):")
    for arm in arms:
        values = report.values(arm)
        shown = 0 if arm.endswith(":steps") else DECIMALS  # a count of steps, not a share
        print(f"  {arm:<{width}}  median {report.median(arm):.{shown}f}   "
              f"range {min(values):.{shown}f} to {max(values):.{shown}f}")
    print(report.claims_text())
    return report
