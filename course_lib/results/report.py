"""What an experiment measured, as records, and how tables and claims select from them.

One seed of an experiment returns ``Measured`` records: the **arm** (what was trained or
compared, a plain name), the **metric** (what was measured; the experiment's own metric unless
said), the **value**, the **seconds** it took, and the arm's **fields**, its configuration as
data (``lambda_max=3``, ``labels_per_class=20``, ``domain="mnist_m"``)::

    Measured("dann", 0.79, 41.2, lambda_max=3)
    Measured("dann", 0.18, metric="proxy_a_distance", lambda_max=3)

A ``Report`` holds those records over seeds, one per seed for each **series** (an arm, its
fields and a metric). Everything that reads a report selects by field, never by a name::

    report.values("dann", lambda_max=3)                      # target accuracy, per seed
    report.median("dann", lambda_max=3, metric="proxy_a_distance")
    report.gains("dann", ["source_only"])                    # per seed, in the metric's units
    report.table(arm=["dann", "coral"])                      # a DataFrame, one row per series
"""

import json
import statistics

from course_lib.core.language import N_, _

#: A claim's line in ``Report.claims_text``, whether it holds or not (messages of the catalogue).
CLAIM_HOLDS = N_("holds on seeds {seeds}: {claim}")
CLAIM_FAILS = N_("does NOT hold on seeds {seeds}: {claim}")
#: The keys every record has; any other key of a record is one of its arm's fields.
KEYS = ("arm", "metric", "seed", "value", "seconds")


class Measured:
    """One measurement of one arm on one seed.

    Args:
        arm: what was trained or compared, a plain name ("dann", "scratch").
        value: the number measured, in the metric's units (an accuracy is a fraction, 0-1).
        seconds: how long measuring it took (0 for a number computed from others).
        metric: what ``value`` is; None means the experiment's own metric.
        **fields: the arm's configuration as data (``lambda_max=3``); numbers or strings.
    """

    def __init__(self, arm, value, seconds=0.0, *, metric=None, **fields):
        clash = sorted(set(fields) & set(KEYS))
        if clash:
            raise ValueError(f"a field cannot be named {', '.join(clash)}: those keys are every record's")
        self.arm, self.value, self.seconds, self.metric = arm, float(value), float(seconds), metric
        self.fields = fields

    def record(self, metric, seed=None):
        """The record as a results file holds it; ``metric`` stands in for an unsaid one."""
        found = {"arm": self.arm, **self.fields, "metric": self.metric or metric}
        if seed is not None:
            found["seed"] = seed
        return {**found, "value": self.value, "seconds": round(self.seconds, 2)}

    def __repr__(self):
        return f"Measured({label(self.record(self.metric))}: {self.value:.4g}, {self.seconds:.1f} s)"


class Measurements(list):
    """What one seed of an experiment measured: a list of ``Measured`` (the metric of each is set).

    ``value(arm, metric=None, **fields)`` is the value of the one measurement that matches.
    """

    def __init__(self, measured, metric):
        super().__init__(Measured(m.arm, m.value, m.seconds, metric=m.metric or metric, **m.fields)
                         for m in measured)
        self.metric = metric

    def get(self, arm, metric=None, **fields):
        """The one ``Measured`` of ``arm`` with ``metric`` (default: the experiment's) and
        ``fields``, as ``the_one`` chooses."""
        wanted = {"arm": arm, "metric": metric or self.metric, **fields}
        return self[the_one([m.record(self.metric) for m in self], wanted)]

    def value(self, arm, metric=None, **fields):
        return self.get(arm, metric, **fields).value


def fields_of(record):
    """A record's fields (its arm's configuration): every key but ``KEYS``, in its order."""
    return {k: v for k, v in record.items() if k not in KEYS}


def series_key(record):
    """What names a series: ``(arm, metric, ((field, value), ...))``."""
    return record["arm"], record["metric"], tuple(fields_of(record).items())


def spread_key(spread):
    """The series a ``--numerics`` spread entry (``{arm, ..., metric, spread}``) belongs to."""
    return series_key({k: v for k, v in spread.items() if k != "spread"})


def label(record, metric=None):
    """A series in words: ``dann (lambda_max=3): proxy_a_distance``; without the metric when it
    is ``metric`` (the experiment's own, say)."""
    fields = fields_of(record)
    inside = f" ({', '.join(f'{k}={v}' for k, v in fields.items())})" if fields else ""
    return f"{record['arm']}{inside}" + ("" if record["metric"] == metric else f": {record['metric']}")


def frame(rows, last=()):
    """A ``pandas.DataFrame`` with a row per ``(selection, columns)`` of ``rows``, indexed by the
    selection's ``arm``, then every field any selection has ("" where one lacks it), then the keys
    ``last`` (e.g. ``("metric",)``): how the course lays out anything it says per arm."""
    import pandas as pd

    names = list(dict.fromkeys(k for selection, _ in rows for k in selection if k not in ("arm", *last)))
    return pd.DataFrame([{"arm": selection["arm"], **{k: selection.get(k, "") for k in names},
                          **{k: selection[k] for k in last}, **columns} for selection, columns in rows]
                        ).set_index(["arm", *names, *last])


def selection_of(names, key):
    """The row ``key`` of a ``frame`` whose index levels are ``names``, as a selection:
    ``{"arm": ..., field: value}`` without the fields it lacks."""
    values = key if isinstance(key, tuple) else (key,)
    return {name: value for name, value in zip(names, values) if value != ""}


def key_of(names, selection):
    """The row of a ``frame`` (index levels ``names``) that ``selection`` names."""
    key = tuple(selection.get(name, "") for name in names)
    return key if len(names) > 1 else key[0]


def matches(record, wanted):
    """Whether ``record`` has every key of ``wanted`` at its value. A value may be a list or
    tuple (any of them), or None (the record has no such field)."""
    for key, value in wanted.items():
        if value is None:
            if key in record:
                return False
        elif isinstance(value, (list, tuple)):
            if record.get(key, _ABSENT) not in value:
                return False
        elif record.get(key, _ABSENT) != value:
            return False
    return True


_ABSENT = object()


def the_one(records, wanted):
    """The position of the one record of ``records`` that ``matches`` ``wanted``; of several,
    the one with no fields besides those ``wanted`` names.

    Raises:
        ValueError: when none matches or several do, naming them.
    """
    found = [i for i, record in enumerate(records) if matches(record, wanted)]
    exact = [i for i in found if set(fields_of(records[i])) <= set(wanted)]
    if len(found) == 1 or len(exact) == 1:
        return found[0] if len(found) == 1 else exact[0]
    said = ", ".join(f"{k}={v!r}" for k, v in wanted.items())
    listed = [label(records[i]) for i in found] or [label(r) for r in records]
    names = "; ".join(listed[:12]) + (f"; ... ({len(listed)} in all)" if len(listed) > 12 else "")
    if found:
        raise ValueError(f"{len(found)} series match {said}; say which with metric= or a field: {names}")
    raise ValueError(f"no series matches {said}; the series: {names}")


class Report:
    """An experiment's records over seeds.

    Args:
        experiment: the experiment's name.
        metric: its own metric (what ``values`` selects when no metric is said).
        seeds: the seeds, in the order the report lists them.
        records: dicts with ``arm``, ``metric``, ``seed``, ``value``, ``seconds`` and the arm's
            fields; every series has one record per seed.
        made: where and with what versions it was made; ``numerics``: ``--numerics``'s block.
        checks: the experiment's claims, ``{claim: check(report) -> bool}`` (the registry's).
    """

    def __init__(self, experiment, metric, seeds, records, made=None, description="", numerics=None,
                 checks=None):
        self.experiment, self.metric, self.description = experiment, metric, description
        self.checks = checks
        self.seeds = list(seeds)
        self.records = [dict(r) for r in records]
        self.made = made or {}
        self.numerics = numerics or {}
        self._series = {}
        for record in self.records:
            self._series.setdefault(series_key(record), {})[record["seed"]] = record
        for key, by_seed in self._series.items():
            if sorted(by_seed) != sorted(self.seeds):
                raise ValueError(f"{experiment}: {label(by_seed[next(iter(by_seed))])} has seeds "
                                 f"{sorted(by_seed)}, the report {sorted(self.seeds)}")

    @classmethod
    def from_dict(cls, d, checks=None):
        return cls(d["experiment"], d["metric"], d["seeds"], d["records"], d.get("made"),
                   d.get("description", ""), d.get("numerics"), checks)

    def to_dict(self):
        """The report as a results file holds it: records grouped by series, in seed order."""
        ordered = [by_seed[s] for by_seed in self._series.values() for s in self.seeds]
        found = {"experiment": self.experiment, "metric": self.metric, "description": self.description,
                 "seeds": self.seeds, "made": self.made, "records": ordered}
        if self.numerics:
            found["numerics"] = self.numerics
        return found

    def to_json(self):
        """The results file's text: JSON with one record per line, so a diff shows which changed."""
        return _json(self.to_dict()) + "\n"

    # -- selecting ---------------------------------------------------------------------------

    def series(self, **wanted):
        """The series matching ``wanted`` (keys as in ``matches``): ``[{"label", "record", "values",
        "seconds"}]`` in the file's order; ``record`` is the seed-less first record."""
        found = []
        for by_seed in self._series.values():
            first = by_seed[self.seeds[0]]
            if matches(first, wanted):
                found.append({"label": label(first),
                              "record": {k: v for k, v in first.items() if k not in ("seed", "value", "seconds")},
                              "values": [by_seed[s]["value"] for s in self.seeds],
                              "seconds": [by_seed[s]["seconds"] for s in self.seeds]})
        return found

    def _one(self, arm, metric, fields):
        every = self.series()
        try:
            return every[the_one([s["record"] for s in every], {"arm": arm, "metric": metric or self.metric,
                                                                **fields})]
        except ValueError as error:
            raise ValueError(f"{self.experiment}: {error}") from None

    def values(self, arm, metric=None, **fields):
        """The value on each seed, in seed order, of the one series of ``arm`` with ``metric``
        (default: the experiment's) and ``fields``; of several, the one with no other fields.

        Raises:
            ValueError: when no series or several match, naming them.
        """
        return self._one(arm, metric, fields)["values"]

    def median(self, arm, metric=None, **fields):
        return statistics.median(self.values(arm, metric, **fields))

    def gains(self, arm, baselines, metric=None, **fields):
        """Per seed: ``arm``'s value minus the best of ``baselines`` on that seed. ``arm`` and each
        baseline is an arm's name or a dict of what selects it (``{"arm": "dann", "lambda_max": 3}``);
        ``metric`` and ``fields`` apply to all of them unless a dict says otherwise."""
        def pick(which):
            chosen = {"arm": which} if isinstance(which, str) else dict(which)
            chosen = {"metric": metric, **fields, **chosen}
            return self.values(chosen.pop("arm"), chosen.pop("metric"), **chosen)

        columns = [pick(b) for b in baselines]
        return [v - max(c[i] for c in columns) for i, v in enumerate(pick(arm))]

    def distinct(self, key, **wanted):
        """The distinct values of ``key`` (a field, or ``arm``/``metric``) over the records that
        match ``wanted`` and have it, in the file's order: e.g. every ``lambda_max`` tried."""
        found = []
        for s in self.series(**wanted):
            if key in s["record"] and s["record"][key] not in found:
                found.append(s["record"][key])
        return found

    def spread(self, arm, metric=None, **fields):
        """How far the series' value moved between numerics settings (``NUMERICS``) and machines,
        as ``--numerics`` measured it: the largest difference on any measured seed.

        Raises:
            ValueError: when the spread of this experiment was not measured.
        """
        record = self._one(arm, metric, fields)["record"]
        if not self.numerics:
            raise ValueError(f"the spread of {self.experiment} was not measured; run python -m "
                             f"course_lib.experiments {self.experiment} --seeds 0 1 --numerics --save")
        key = series_key(record)
        return next(s["spread"] for s in self.numerics["spread"] if spread_key(s) == key)

    # -- showing -----------------------------------------------------------------------------

    def table(self, **wanted):
        """A ``pandas.DataFrame``: one row per series matching ``wanted`` (default: all), indexed as
        ``frame`` indexes (the arm, its fields, the metric when more than one is shown); median,
        min, max over the seeds, and each seed."""
        found = self.series(**wanted)
        table = frame([(s["record"], {"median": statistics.median(s["values"]), "min": min(s["values"]),
                                      "max": max(s["values"]),
                                      **{f"seed {seed}": v for seed, v in zip(self.seeds, s["values"])}})
                       for s in found], last=("metric",))
        if table.index.get_level_values("metric").nunique() == 1:
            table = table.droplevel("metric")
        return table.round(3)

    def format(self):
        """The report as plain text: one row per series, median and range over seeds."""
        rows = self.series()
        width = max([len("series")] + [len(r["label"]) for r in rows])
        lines = [f"{self.experiment}: {self.metric} over seeds {self.seeds}",
                 f"{'series':<{width}}  median   min    max    seconds  per seed"]
        for r in rows:
            v = r["values"]
            lines.append(f"{r['label']:<{width}}  {statistics.median(v):.3f}  {min(v):.3f}  {max(v):.3f}"
                         f"  {statistics.median(r['seconds']):7.1f}  " + " ".join(f"{x:.3f}" for x in v))
        return "\n".join(lines)

    def claims(self):
        """``{claim: holds}`` for every claim of the experiment, checked on these seeds.

        Raises:
            ValueError: when the report was made without its experiment's claims.
        """
        if self.checks is None:
            raise ValueError(f"this report of {self.experiment} has no claims to check: load it with "
                             "results.load, or make it with Report(..., checks=experiment.claims)")
        return {text: bool(check(self)) for text, check in self.checks.items()}

    def claims_text(self):
        """The claims as lines a learner reads: ``holds on seeds 0, 1, 2, 3, 4: <claim>``, or
        ``does NOT hold on seeds ...`` for one that fails. Each claim says itself whether it is
        about every seed or about the median over them."""
        seeds = ", ".join(map(str, self.seeds))
        return "\n".join(_(CLAIM_HOLDS if holds else CLAIM_FAILS).format(seeds=seeds, claim=_(text))
                         for text, holds in self.claims().items())


def _json(value, depth=0):
    """``value`` as JSON: a dict holding containers one key per line, a list of dicts one per line,
    anything else on one line."""
    pad, end = " " * (depth + 1), " " * depth
    if isinstance(value, dict) and any(isinstance(v, (dict, list)) for v in value.values()):
        return "{\n" + ",\n".join(f"{pad}{json.dumps(k)}: {_json(v, depth + 1)}"
                                  for k, v in value.items()) + f"\n{end}}}"
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return "[\n" + ",\n".join(pad + json.dumps(v, ensure_ascii=False) for v in value) + f"\n{end}]"
    return json.dumps(value, ensure_ascii=False)
