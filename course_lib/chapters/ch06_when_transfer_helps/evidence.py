"""What the chapter quotes from its results files: arms over seeds, and the claims checked on them."""

from course_lib import results


def summary(name, arms=None, points=False):
    """Print experiment ``name``'s results file: each arm's median and range over its seeds,
    then every claim of the lesson and whether it holds on every one of those seeds.

    Args:
        arms: the arms to list, in this order (default: all).
        points: show values as points (x 100) instead of shares.

    Returns:
        the ``experiments.Report``.
    """
    report = results.load(name)
    arms = list(report.results) if arms is None else list(arms)
    scale, unit, digits = (100, " points", 1) if points else (1, "", 3)
    width = max(len(arm) for arm in arms)
    print(f"{name}, {report.metric}, seeds {', '.join(map(str, report.seeds))} "
          f"(results file of {report.made.get('date', 'an unknown date')}):")
    for arm in arms:
        values = [scale * v for v in report.values(arm)]
        print(f"  {arm:<{width}}  median {scale * report.median(arm):.{digits}f}{unit}   "
              f"range {min(values):.{digits}f} to {max(values):.{digits}f}")
    for text, holds in report.claims().items():
        print(f"{'holds on every seed' if holds else 'does NOT hold on every seed'}: {text}")
    return report
