"""The adaptation lab: pick a method and its weight, adapt, and add a row to a growing table.

Each row shows first what a real project could see, having no target labels: the
accuracy on held-out **source** images and a label-free criterion (the proxy A-distance
between the domains' features, and ``experiments.label_free_score``, ``source error + PAD / 2``,
which ``choosing_lambda`` picks lambda by). Apart from them, labelled as such, comes the
**target test accuracy**: the course can show it because it kept the target labels aside;
a project could not, so choosing the weight by that column would be cheating. The row the
label-free score prefers is marked.

A run is the registry's own arm (``experiments.run_arm``: the same data, steps, seed and
AdaBN), so with a method's default weight it gives the results file's number for that seed.

``AdaptationLab`` holds the logic (tests drive it without a browser); ``adaptation_widget``
wires a method menu, a weight slider, an adapt button, a status line and the table to it.

CSS classes, for browser tests: ``course-adaptation-lab`` (the whole widget),
``course-adaptation-method`` (the ``Dropdown``), ``course-adaptation-weight`` (the
``FloatSlider``), ``course-adaptation-button`` (the ``Button``), ``course-adaptation-status``
(the ``HTML`` status line; it gets ``course-adaptation-error`` while it shows an error) and
``course-adaptation-table`` (the ``HTML`` holding ``<table class="course-results">``, one
``<tr>`` per run in its ``<tbody>``).
"""

import html
import math

from course_lib import publishing
from course_lib.chapters.ch06_domain_adaptation import experiments as chapter
from course_lib.core import checks
from course_lib.core.language import _

#: Each method's weight slider: (largest weight, step). The smallest weight is 0 (no adaptation).
WEIGHT_SLIDERS = {"dann": (10.0, 0.1), "coral": (1000.0, 10.0), "mmd": (32.0, 0.5)}
#: Marks the row that the label-free score prefers.
PREFERRED = "\u2605"


class AdaptationLab:
    """A growing table of adaptation runs.

    Args:
        runner: ``runner(method, weight) -> (run, seconds)``, ``run`` having ``.scores``
            (an ``experiments.Scores``); ``lab_runner(source, task, seed)`` adapts for real.
    """

    def __init__(self, runner):
        if not callable(runner):
            raise ValueError(f"runner must be a function runner(method, weight), got {runner!r}")
        self.runner = runner
        self.rows = []

    def add(self, method, weight, scores, seconds=math.nan):
        """Record a run measured elsewhere (e.g. the notebook's own); returns the row."""
        self.rows.append({"run": len(self.rows) + 1, "method": method, "weight": float(weight),
                          "source_validation": float(scores.source_validation), "pad": float(scores.pad),
                          "label_free_score": chapter.label_free_score(scores.source_validation, scores.pad),
                          "target_test": float(scores.target_test), "seconds": float(seconds)})
        return self.rows[-1]

    def run(self, method, weight):
        """Adapt with ``method`` at ``weight``; add and return the row."""
        checks.choice(method, "method", tuple(WEIGHT_SLIDERS))
        weight = checks.positive_number(weight, "weight", allow_zero=True)
        if weight > WEIGHT_SLIDERS[method][0]:
            raise ValueError(f"the weight of {method} must be from 0 to {WEIGHT_SLIDERS[method][0]:g}, "
                             f"got {weight:g}")
        run, seconds = self.runner(method, weight)
        return self.add(method, weight, run.scores, seconds)

    def preferred(self):
        """The row with the lowest label-free score (what a project would pick), or None."""
        return min(self.rows, key=lambda r: (r["label_free_score"], r["run"])) if self.rows else None

    def table(self):
        """The runs as a ``pandas.DataFrame``, in the order they ran."""
        import pandas as pd

        columns = ["run", "method", "weight", "source_validation", "pad", "label_free_score",
                   "target_test", "seconds"]
        return pd.DataFrame(self.rows, columns=columns).set_index("run")

    def html(self):
        """The table as HTML: the columns a project sees, then, apart, what only the course sees."""
        best = self.preferred()
        head = ("<thead><tr><th colspan='6'>{sees}</th>"
                "<th class='course-hidden-column' colspan='1'>{hidden}</th>"
                "<th></th></tr><tr><th>{run}</th><th>{method}</th><th>{weight}</th>"
                "<th>{source}</th><th>PAD</th><th>{score}</th>"
                "<th class='course-hidden-column'>{target}</th><th>{seconds}</th></tr></thead>").format(
                    sees=_("what a project without target labels can see"),
                    hidden=_("only the course can see (target labels)"), run=_("run"), method=_("method"),
                    weight=_("weight"), source=_("source validation accuracy"), score=_("source error + PAD / 2"),
                    target=_("target test accuracy"), seconds=_("seconds"))
        body = "".join(
            f"<tr><td>{r['run']}{' ' + PREFERRED if r is best else ''}</td><td>{html.escape(r['method'])}</td>"
            f"<td>{r['weight']:g}</td><td>{r['source_validation']:.3f}</td><td>{r['pad']:.2f}</td>"
            f"<td>{r['label_free_score']:.3f}</td>"
            f"<td class='course-hidden-column' style='border-left: 3px double; font-style: italic'>"
            f"{r['target_test']:.3f}</td><td>{r['seconds']:.0f}</td></tr>" for r in self.rows)
        if self.rows:
            note = _("<p>{preferred}: the run a project would pick (lowest source error + PAD / 2). Choosing by "
                     "the target test column instead would be cheating: a real project has no target "
                     "labels.</p>").format(preferred=PREFERRED)
        else:
            note = _("<p>No runs yet: choose a method and a weight, then adapt.</p>")
        return f"<table class='course-results'>{head}<tbody>{body}</tbody></table>{note}"


def lab_runner(source, task, seed=0):
    """A runner that adapts ``source`` on ``task`` exactly as the registry's arms do."""
    def runner(method, weight):
        return chapter.run_arm(method, source, task, seed, weight=weight,
                               progress=_("{method} (weight {weight:g})").format(method=method, weight=weight))
    return runner


def adaptation_widget(lab):
    """An ipywidgets panel wired to ``lab``; nothing trains until the button is clicked.

    Any failure of a run is shown in the status line (class ``course-adaptation-error``);
    the button is usable again afterwards.

    Returns:
        the ``ipywidgets.VBox``; its ``.lab`` is ``lab``.
    """
    import ipywidgets as widgets

    method = widgets.Dropdown(options=list(WEIGHT_SLIDERS), value="dann", description=_("method"))
    method.add_class("course-adaptation-method")
    weight = widgets.FloatSlider(value=chapter.WEIGHTS["dann"], min=0.0, max=WEIGHT_SLIDERS["dann"][0],
                                 step=WEIGHT_SLIDERS["dann"][1], description=_("weight"),
                                 continuous_update=False)
    weight.add_class("course-adaptation-weight")
    button = widgets.Button(description=_("adapt ({epochs} epochs)").format(epochs=chapter.EPOCHS),
                            button_style="primary")
    button.add_class("course-adaptation-button")
    status = widgets.HTML(_("ready"))
    status.add_class("course-adaptation-status")
    table = widgets.HTML(lab.html())
    table.add_class("course-adaptation-table")

    def on_method(change):
        largest, step = WEIGHT_SLIDERS[change["new"]]
        weight.max, weight.step = largest, step
        weight.value = chapter.WEIGHTS[change["new"]]

    def on_click(clicked):
        button.disabled = True
        status.remove_class("course-adaptation-error")
        status.value = _("adapting with {method} at weight {weight:g} ...").format(method=html.escape(method.value),
                                                                                   weight=weight.value)
        try:
            row = lab.run(method.value, weight.value)
            status.value = _("run {run}: source validation {source:.3f}, PAD {pad:.2f} ({seconds:.0f} s)").format(
                run=row["run"], source=row["source_validation"], pad=row["pad"], seconds=row["seconds"])
        except Exception as error:  # show any failure; the button stays usable
            status.value = _("<b>The run failed</b>: {error}. Change the settings and try again.").format(
                error=f"{html.escape(type(error).__name__)}: {html.escape(str(error))}")
            status.add_class("course-adaptation-error")
        finally:
            button.disabled = False
            table.value = lab.html()

    method.observe(on_method, names="value")
    button.on_click(on_click)
    box = widgets.VBox([widgets.HBox([method, weight, button]), status, table])
    box.add_class("course-adaptation-lab")
    box.lab = lab
    # A static page has no kernel: the site shows the notebook's runs instead.
    return publishing.register(box, lambda notebook: publishing.record_adaptation(box, lab, notebook))
