"""Numbers from the experiment registry's results files, never typed (a Sphinx extension).

A results file is what ``python -m course_lib.experiments NAME --seeds ... --json FILE`` writes:
``{"experiment", "metric", "seeds", "results": {arm: [value per seed]}, ...}``. The folders in
``course_results_dirs`` are searched in order for ``NAME.json``.

- ``{result}`domain_gap/mnist_m``` renders the arm's range over the seeds, e.g. ``0.46 to 0.52``;
- ``{result}`fine_tuning_strategies/full - scratch``` renders the per-seed difference of two
  arms in accuracy points, e.g. ``+12.0 to +19.5 points``;
- the ``results-table`` directive renders one row per arm (median, range, per-seed values):
  every arm of the file, or only the arms listed in its body, one per line, in that order.

Hovering a number shows the per-seed values and the file they came from. A missing file or
arm is a build error that says how to make it.
"""

import json
import statistics
from pathlib import Path

from docutils import nodes
from sphinx.errors import ExtensionError
from sphinx.util.docutils import SphinxDirective, SphinxRole

REQUIRED = ("experiment", "metric", "seeds", "results")
_loaded = {}  # experiment -> report, for this build only (files may change between builds)


class ResultsError(ExtensionError):
    pass


def load(app, experiment):
    """The results file of ``experiment`` as a dict (checked), with ``"path"`` added.

    The page being read is noted as depending on the file, so a new file rebuilds it.
    """
    if experiment in _loaded:
        app.env.note_dependency(str(_loaded[experiment]["path"]))
        return _loaded[experiment]
    folders = [Path(f) for f in app.config.course_results_dirs]
    for folder in folders:
        path = folder / f"{experiment}.json"
        if path.exists():
            break
    else:
        raise ResultsError(
            f"no results file for the experiment {experiment!r} in {', '.join(map(str, folders))}; "
            f"make one with `python -m course_lib.experiments {experiment} --seeds 0 1 2 "
            f"--json {folders[-1] / (experiment + '.json')}` (python3 make.py site does)")
    report = json.loads(path.read_text())
    missing = [key for key in REQUIRED if key not in report]
    if missing or report["experiment"] != experiment:
        raise ResultsError(f"{path} is not a results file of {experiment!r} (missing {missing})")
    for arm, values in report["results"].items():
        if len(values) != len(report["seeds"]):
            raise ResultsError(f"{path}: arm {arm!r} has {len(values)} values for "
                               f"{len(report['seeds'])} seeds")
    report["path"] = path
    _loaded[experiment] = report
    app.env.note_dependency(str(path))
    return report


def arm_values(report, arm):
    if arm not in report["results"]:
        raise ResultsError(f"{report['path']} has no arm {arm!r}; its arms: "
                           f"{', '.join(map(repr, report['results']))}")
    return report["results"][arm]


def span(low, high, number):
    return number(low) if number(low) == number(high) else f"{number(low)} to {number(high)}"


def describe(report, label, values):
    seeds = ", ".join(map(str, report["seeds"]))
    per_seed = ", ".join(f"{v:.3f}" for v in values)
    return (f"{label}: median {statistics.median(values):.3f}; seeds {seeds}: {per_seed} "
            f"(from {Path(report['path']).name})")


def render(app, text):
    """``(shown text, hover text)`` for a role's ``experiment/arm`` or ``experiment/arm - other``."""
    if "/" not in text:
        raise ResultsError(f"write {{result}}`experiment/arm`, not {text!r}")
    experiment, arms = (part.strip() for part in text.split("/", 1))
    report = load(app, experiment)
    if " - " in arms:
        first, second = (a.strip() for a in arms.split(" - ", 1))
        values = [100 * (a - b) for a, b in zip(arm_values(report, first), arm_values(report, second))]
        shown = span(min(values), max(values), lambda v: f"{v:+.1f}") + " points"
        return shown, describe(report, f"{first} minus {second}, in points", values)
    values = arm_values(report, arms)
    whole = all(float(v).is_integer() for v in values)  # counts, such as epochs
    number = (lambda v: f"{v:.0f}") if whole else (lambda v: f"{v:.2f}")
    return span(min(values), max(values), number), describe(report, arms, values)


class ResultRole(SphinxRole):
    def run(self):
        try:
            shown, hover = render(self.env.app, self.text)
        except ResultsError as error:
            message = self.inliner.reporter.error(str(error), line=self.lineno)
            return [self.inliner.problematic(self.rawtext, self.rawtext, message)], [message]
        node = nodes.abbreviation(self.rawtext, shown, explanation=hover, classes=["course-result"])
        return [node], []


def table_rows(report, arms=()):
    """``[arm, median, range, per seed]`` for ``arms`` (default: every arm of the file, in its order)."""
    chosen = list(arms) or list(report["results"])
    rows = []
    for arm in chosen:
        v = arm_values(report, arm)
        rows.append([arm, f"{statistics.median(v):.3f}", span(min(v), max(v), lambda x: f"{x:.3f}"),
                     ", ".join(f"{x:.3f}" for x in v)])
    return rows


class ResultsTable(SphinxDirective):
    """``results-table EXPERIMENT``; its body, if any, lists the arms to show, one per line."""
    required_arguments = 1
    has_content = True

    def run(self):
        arms = [line.strip() for line in self.content if line.strip()]
        try:
            report = load(self.env.app, self.arguments[0])
            body = table_rows(report, arms)
        except ResultsError as error:
            return [self.state.document.reporter.error(str(error), line=self.lineno)]
        seeds = ", ".join(map(str, report["seeds"]))
        header = ["arm", f"median ({report['metric']})", "range over the seeds", "per seed"]
        caption = f"{report['experiment']}, seeds {seeds} ({Path(report['path']).name})"
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
