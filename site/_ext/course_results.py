"""Numbers from the experiment registry's results files, never typed (a Sphinx extension).

A results file is what ``python -m course_lib.experiments NAME --seeds ... --json FILE`` writes: a
``course_lib.results.report.Report`` of records (``arm``, the arm's fields, ``metric``, ``seed``,
``value``). The folders in ``course_results_dirs`` are searched in order for ``NAME.json``. A
**selector** names one series: the arm, then ``; key=value`` for its fields or another metric
(``dann; lambda_max=3; metric=proxy_a_distance``; a value that reads as a JSON number is a number).

- ``{result}`domain_gap/mnist_m``` renders the series' range over the seeds, e.g. ``0.46 to 0.52``;
- ``{result}`fine_tuning_strategies/full - scratch``` renders the per-seed difference of two
  series in accuracy points, e.g. ``+12.0 to +19.5 points``;
- the ``results-table`` directive renders one row per series (median, range, per-seed values):
  every series of the file, or only the selectors listed in its body, one per line, in that order.

Hovering a number shows the per-seed values and the file they came from. A missing file or
series is a build error that says how to make it.
"""

import json
import statistics
from pathlib import Path

from docutils import nodes
from sphinx.errors import ExtensionError
from sphinx.util.docutils import SphinxDirective, SphinxRole

from course_lib.results.report import Report

_loaded = {}  # experiment -> (report, path), for this build only (files may change between builds)


class ResultsError(ExtensionError):
    pass


def load(app, experiment):
    """``(Report, path)`` of ``experiment``'s results file. The page being read is noted as
    depending on the file, so a new file rebuilds it."""
    if experiment not in _loaded:
        folders = [Path(f) for f in app.config.course_results_dirs]
        path = next((folder / f"{experiment}.json" for folder in folders
                     if (folder / f"{experiment}.json").exists()), None)
        if path is None:
            raise ResultsError(
                f"no results file for the experiment {experiment!r} in {', '.join(map(str, folders))}; "
                f"make one with `python -m course_lib.experiments {experiment} --seeds 0 1 2 "
                f"--json {folders[-1] / (experiment + '.json')}` (python3 make.py site does)")
        try:
            report = Report.from_dict(json.loads(path.read_text()))
        except (KeyError, ValueError) as error:
            raise ResultsError(f"{path} is not a results file of records: {error}") from error
        if report.experiment != experiment:
            raise ResultsError(f"{path} holds the results of {report.experiment!r}, not {experiment!r}")
        _loaded[experiment] = report, path
    app.env.note_dependency(str(_loaded[experiment][1]))
    return _loaded[experiment]


def selector(text):
    """``"dann; lambda_max=3; metric=proxy_a_distance"`` -> ``{"arm": "dann", "lambda_max": 3, ...}``."""
    arm, *pairs = (part.strip() for part in text.split(";"))
    found = {"arm": arm}
    for pair in pairs:
        key, equals, value = (p.strip() for p in pair.partition("="))
        if not equals or not key:
            raise ResultsError(f"{text!r}: after the arm, write key=value parts separated by '; ', not {pair!r}")
        try:
            found[key] = json.loads(value)
        except ValueError:
            found[key] = value
    return found


def series_values(report, path, text):
    """The per-seed values of the one series ``text`` selects."""
    wanted = selector(text)
    try:
        return report.values(wanted.pop("arm"), wanted.pop("metric", None), **wanted)
    except ValueError as error:
        raise ResultsError(f"{path.name}: {error}") from error


def span(low, high, number):
    return number(low) if number(low) == number(high) else f"{number(low)} to {number(high)}"


def describe(report, path, label, values):
    seeds = ", ".join(map(str, report.seeds))
    per_seed = ", ".join(f"{v:.3f}" for v in values)
    return f"{label}: median {statistics.median(values):.3f}; seeds {seeds}: {per_seed} (from {path.name})"


def render(app, text):
    """``(shown text, hover text)`` for a role's ``experiment/selector`` or ``experiment/selector - selector``."""
    if "/" not in text:
        raise ResultsError(f"write {{result}}`experiment/arm`, not {text!r}")
    experiment, series = (part.strip() for part in text.split("/", 1))
    report, path = load(app, experiment)
    if " - " in series:
        first, second = (a.strip() for a in series.split(" - ", 1))
        values = [100 * (a - b) for a, b in zip(series_values(report, path, first),
                                                series_values(report, path, second))]
        shown = span(min(values), max(values), lambda v: f"{v:+.1f}") + " points"
        return shown, describe(report, path, f"{first} minus {second}, in points", values)
    values = series_values(report, path, series)
    whole = all(float(v).is_integer() for v in values)  # counts, such as epochs
    number = (lambda v: f"{v:.0f}") if whole else (lambda v: f"{v:.2f}")
    return span(min(values), max(values), number), describe(report, path, series, values)


class ResultRole(SphinxRole):
    def run(self):
        try:
            shown, hover = render(self.env.app, self.text)
        except ResultsError as error:
            message = self.inliner.reporter.error(str(error), line=self.lineno)
            return [self.inliner.problematic(self.rawtext, self.rawtext, message)], [message]
        node = nodes.abbreviation(self.rawtext, shown, explanation=hover, classes=["course-result"])
        return [node], []


def table_rows(report, path, selectors=()):
    """``[series, median, range, per seed]`` for each selector (default: every series of the file)."""
    chosen = ([(text, series_values(report, path, text)) for text in selectors] if selectors
              else [(s["label"], s["values"]) for s in report.series()])
    return [[name, f"{statistics.median(v):.3f}", span(min(v), max(v), lambda x: f"{x:.3f}"),
             ", ".join(f"{x:.3f}" for x in v)] for name, v in chosen]


class ResultsTable(SphinxDirective):
    """``results-table EXPERIMENT``; its body, if any, lists the series to show, one selector per line."""
    required_arguments = 1
    has_content = True

    def run(self):
        selectors = [line.strip() for line in self.content if line.strip()]
        try:
            report, path = load(self.env.app, self.arguments[0])
            body = table_rows(report, path, selectors)
        except ResultsError as error:
            return [self.state.document.reporter.error(str(error), line=self.lineno)]
        seeds = ", ".join(map(str, report.seeds))
        header = ["series", f"median ({report.metric} unless the series says)", "range over the seeds", "per seed"]
        caption = f"{report.experiment}, seeds {seeds} ({path.name})"
        return [table(caption, header, body)]


def table(caption, header, body):
    group = nodes.tgroup(cols=len(header))
    group += [nodes.colspec(colwidth=1) for _ in header]

    def row(cells):
        out = nodes.row()
        for cell in cells:
            entry = nodes.entry()
            entry += nodes.paragraph(text=cell)
            out += entry
        return out

    group += nodes.thead("", row(header))
    group += nodes.tbody("", *[row(cells) for cells in body])
    return nodes.table("", nodes.title(text=caption), group, classes=["course-results-table"])


def setup(app):
    app.add_config_value("course_results_dirs", [], "env")
    app.add_role("result", ResultRole())
    app.add_directive("results-table", ResultsTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
