"""Reports made up for tests: a few series of records, with the experiment's claims."""

from course_lib import experiments
from course_lib.results.report import Report


def fake_report(experiment, series, metric="target_accuracy"):
    """A ``Report`` of ``experiment`` on seeds 0, 1, ... with its registered claims (none if it
    is not registered).

    Args:
        series: ``[(selected, [value per seed])]``; ``selected`` is ``{"arm": ..., <fields>}``,
            with a ``"metric"`` when it is not ``metric``.
    """
    seeds = list(range(len(series[0][1])))
    records = [{**{k: v for k, v in selected.items() if k != "metric"}, "metric": selected.get("metric", metric),
                "seed": seed, "value": value, "seconds": 0.0}
               for selected, values in series for seed, value in zip(seeds, values)]
    found = experiments.registry().get(experiment)
    return Report(experiment, metric, seeds, records, checks=found.claims if found else None)
