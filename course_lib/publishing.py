"""What the chapters need when the course is published as a static website.

A page of the site has no kernel behind it, so a live widget would show as an empty box
there. Each widget factory therefore **registers** its live widget here with a recorder:
a function that plays a short scripted session through the widget's own state (the clicks
a teacher would make in class) and returns a :class:`Recording`, the table and curves the
widget showed, labelled as recorded, with links to run the notebook live.

Nothing differs while a chapter runs: a learner's kernel and the course's executions alike
show the live widget. After the **last** cell has run, whoever executed the chapter for the
site (the learner's walk in JupyterLab, or ``site/notebooks.py``) runs :data:`RECORD_CODE` in
the same kernel, which records every registered widget into a file, and
:func:`with_recordings` puts each recording in place of its widget's output in the executed
notebook. So the recordings cost no time in the run that is measured, and the state of the
widgets is put back as it was after each session.
"""

import base64
import html
import io
import json
from pathlib import Path

from course_lib.core.language import N_, _
from course_lib.syllabus import chapter

REPOSITORY = "transfer-learning-hands-on/course"
BRANCH = "main"
#: The MIME type of a live widget's output in a saved notebook.
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
#: Run in a chapter's kernel after its last cell: records its widgets into the file ``{path}``.
RECORD_CODE = "from course_lib import publishing; publishing.save_recordings({path!r}, {notebook!r})"

#: What the site says around a chapter (``site/_ext/course_pages.py``), in the page's language.
PAGE_TEXT = {"run": N_("Run this chapter yourself:"), "binder": N_("Launch on Binder"),
             "colab": N_("Open in Colab"), "download": N_("Download the notebook (.ipynb)"),
             "slides": N_("Slides"), "show": N_("Show the solution"), "hide": N_("Hide the solution")}

_registered = {}


def widget_title(slug):
    """What the recording of chapter ``slug``'s widget is called: its declaration's title
    (``course_lib.syllabus``), e.g. ``"the layer-freezing widget"``."""
    (widget,) = chapter(slug).widgets
    return _(widget.title)


def register(widget, record):
    """Remember a live widget and how to record it; return the widget.

    Args:
        widget: the ipywidgets widget the notebook displays (its ``model_id`` names its output).
        record: ``record(notebook) -> Recording``, given the chapter's repository path.
    """
    _registered[widget.model_id] = record
    return widget


def record_all(notebook=None):
    """Record every registered widget: ``{model_id: {mimetype: data}}``, as a notebook shows it.

    Args:
        notebook: the chapter's repository path, for the recordings' launch links.
    """
    from IPython.core.formatters import DisplayFormatter

    formatter = DisplayFormatter()
    return {model_id: formatter.format(record(notebook))[0] for model_id, record in _registered.items()}


def save_recordings(path, notebook=None):
    """Write :func:`record_all` to the JSON file ``path`` (what :data:`RECORD_CODE` runs)."""
    Path(path).write_text(json.dumps(record_all(notebook)))


def with_recordings(notebook, recorded):
    """Put each recording in place of its live widget's output in an executed ``notebook``.

    Args:
        notebook: an ``nbformat`` notebook (changed in place and returned).
        recorded: ``{model_id: {mimetype: data}}`` from :func:`record_all`.

    Raises:
        ValueError: a widget the notebook shows was not recorded (a factory that does not
            register its widget).
    """
    import nbformat

    for cell in notebook.cells:
        for i, output in enumerate(cell.get("outputs", [])):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view is None:
                continue
            model_id = view["model_id"]
            if model_id not in recorded:
                raise ValueError(f"widget {model_id} was shown but not recorded: its factory must call "
                                 "publishing.register(widget, record)")
            cell.outputs[i] = nbformat.v4.new_output("display_data", data=recorded[model_id])
    notebook.metadata.pop("widgets", None)
    return notebook


def binder_url(notebook):
    """Binder link that opens ``notebook`` (a repository path) in JupyterLab."""
    return f"https://mybinder.org/v2/gh/{REPOSITORY}/HEAD?urlpath=lab/tree/{notebook}"


def colab_url(notebook):
    """Colab link that opens ``notebook`` (a repository path) from the main branch."""
    return f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/{notebook}"


def png_bytes(figure):
    """A matplotlib ``Figure`` as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


class Recording:
    """A widget's scripted session, shown where no kernel runs (a page of the course's site).

    Args:
        title: what was recorded, e.g. ``"the layer-freezing widget"``.
        steps: what was done, in order, one short sentence each.
        table_html: the widget's results table (HTML) after the last step.
        png: a picture the widget drew after the last step (PNG bytes), or None.
        live: the live widget; attribute access that the recording does not answer goes to it.
        notebook: repository path of the chapter, for the launch links (None: no links).
    """

    def __init__(self, title, steps, table_html, png=None, live=None, notebook=None):
        if not steps:
            raise ValueError("a recording needs at least one step")
        self.title = title
        self.steps = list(steps)
        self.table_html = table_html
        self.png = png
        self.live = live
        self.notebook = notebook

    def __getattr__(self, name):
        # Only public names: IPython looks up _repr_*_ and _ipython_*_ methods, and the live
        # widget's would display the widget instead of the recording.
        if name.startswith("_") or self.__dict__.get("live") is None:
            raise AttributeError(name)
        return getattr(self.live, name)

    def _links(self):
        if not self.notebook:
            return _("Open this chapter in Jupyter to use the widget yourself.")
        return _('<a href="{binder}">Launch this notebook on Binder</a> or <a href="{colab}">open it in '
                 'Colab</a>, then run its cells to use the widget yourself.').format(
            binder=html.escape(binder_url(self.notebook)), colab=html.escape(colab_url(self.notebook)))

    def _repr_html_(self):
        steps = "".join(f"<li>{html.escape(step)}</li>" for step in self.steps)
        parts = [
            '<div class="course-recording">',
            '<p class="course-recording-label">' + _(
                "<strong>Recorded when this page was built:</strong> {title} after the steps below. No Python "
                "runs behind this page, so the widget cannot answer here. {links}").format(
                title=html.escape(self.title), links=self._links()) + "</p>",
            f'<ol class="course-recording-steps">{steps}</ol>',
        ]
        if self.png is not None:
            data = base64.b64encode(self.png).decode("ascii")
            alt = _("{title}: what it drew after the last step").format(title=self.title)
            parts.append(f'<img class="course-recording-figure" alt="{html.escape(alt)}" '
                         f'src="data:image/png;base64,{data}">')
        parts += [f'<div class="course-recording-table">{self.table_html}</div>', "</div>"]
        return "\n".join(parts)

    def __repr__(self):
        steps = "\n".join(f"  {i}. {step}" for i, step in enumerate(self.steps, 1))
        return _("Recorded when this page was built: {title}, after").format(title=self.title) + f"\n{steps}"


def record_layer_freezing(demo, notebook=None):
    """Four runs of the layer-freezing widget (``LayerFreezingDemo``), as a teacher would click.

    Everything trainable; only the head; ``block1`` frozen; everything trainable at a
    ten times larger learning rate. Then the widget is reset.
    """
    state = demo.state
    units = list(state.units)
    fast = 10 * state.learning_rate
    script = [
        (_("everything trainable, learning rate {rate:g}"), [], state.learning_rate),
        (_("only the head trains ({frozen} frozen)"), [u for u in units if u != "head"],
         state.learning_rate),
        (_("{frozen} frozen"), units[:1], state.learning_rate),
        (_("everything trainable, a ten times larger learning rate, {rate:g}"), [], fast),
    ]
    steps = []
    for text, frozen, rate in script:
        for unit in units:
            state.set_frozen(unit, unit in frozen)
        state.set_learning_rate(rate)
        row = state.train()
        label = text.format(frozen=", ".join(frozen), rate=rate)
        steps.append(_("Set {setting}; pressed Train: validation accuracy {accuracy:.3f}.").format(
            setting=label, accuracy=row["val_accuracy"]))
    recording = Recording(widget_title("task_fine_tuning"), steps, state.results_html(),
                          state.curve_png(), live=demo, notebook=notebook)
    demo.reset()
    return recording


def record_confidence_threshold(widget, plot_state, thresholds=(0.99, 0.9, 0.7, 0.5), notebook=None):
    """The confidence-threshold widget's slider moved through ``thresholds``, then back.

    Args:
        widget: the live widget; its ``state`` is a ``ThresholdState``.
        plot_state: ``plot_state(state, axes, curve)`` draws the widget's two panels on ``axes``.
    """
    import pandas as pd
    from matplotlib.figure import Figure

    state = widget.state
    start = state.threshold
    figure = Figure(figsize=(13, 3.6 * len(thresholds)), dpi=72)
    panels = figure.subplots(len(thresholds), 2, squeeze=False)
    curve = state.curve()
    steps, rows = [], []
    for threshold, axes in zip(thresholds, panels):
        summary = state.set_threshold(threshold)
        plot_state(state, axes, curve)
        counts = state.counts()
        steps.append(_("Moved the slider to {threshold:.2f}: {counts}.").format(threshold=threshold, counts=counts))
        rows.append({_("threshold"): threshold, _("passed"): summary["passed"],
                     _("right"): summary["correct"], _("share right"): round(summary["precision"], 3),
                     _("coverage"): round(summary["coverage"], 3)})
    figure.tight_layout()
    state.set_threshold(start)
    table = pd.DataFrame(rows).to_html(index=False, border=0, classes="course-results")
    return Recording(widget_title("self_training_and_source_free"), steps, table, png_bytes(figure), live=widget,
                     notebook=notebook)


def record_adaptation(widget, lab, notebook=None):
    """The adaptation lab's table as the notebook left it: the runs it added, no new training.

    Args:
        widget: the live widget.
        lab: its ``AdaptationLab``.
    """
    steps = [_("Run {run}: {method} at weight {weight:g}: source validation {source_validation:.3f}, "
               "PAD {pad:.2f}.").format(**r) for r in lab.rows]
    return Recording(widget_title("domain_adaptation"), steps or [_("No runs were made.")], lab.html(),
                     live=widget, notebook=notebook)


def record_budget(widget, settings=(("LoRA", 1, ("block1_conv", "block2_conv")),
                                    ("LoRA", 16, ("block1_conv", "block2_conv")),
                                    ("LoRA", 4, ("features", "head")), ("BitFit", None, None)),
                  notebook=None):
    """The budget widget's settings changed through ``settings`` (no training: what each trains and
    stores shows at once), and its runs as the notebook left them. The setting is put back after.

    Args:
        widget: the live widget; its ``state`` is a ``BudgetState``.
        settings: ``(method, rank, layers)`` to show in turn (None: unchanged).
    """
    state = widget.state
    start = (state.method, state.rank, state.layers)
    steps = []
    for method, rank, layers in settings:
        state.set(method, rank, layers)
        steps.append(_("Chose {setting}.").format(setting=state.text()))
    state.set(*start)
    steps += [_("Run {run}: trained {setting}: validation accuracy {val_accuracy:.3f}.").format(**r)
              for r in state.runs]
    return Recording(widget_title("parameter_efficient"), steps, state.table_html(),
                     png_bytes(state.figure()) if state.runs else None, live=widget, notebook=notebook)
