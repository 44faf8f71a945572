"""The budget widget: pick a method, LoRA's rank and layers; see at once what it trains and stores;
train it on a button, and its point lands on an accuracy-vs-share figure.

Every count is measured on the model the method builds (``parameter_efficient.budget``), so
it changes the moment a setting does, with no training. A press of Train fine-tunes that model
on the labelled target images at the middle rate of the method's grid (one run, a few seconds)
and records its best **validation** accuracy: the widget is for exploring and choosing, and
choices are made on validation data, never on the test set. Whatever goes wrong is shown in the
status line, and the widget stays usable.

All logic is in ``BudgetState``, a plain object tests drive without a browser;
``budget_widget`` only wires ipywidgets to it.

Stable CSS classes, for browser tests and styling: ``course-budget`` (the whole widget),
``course-budget-method`` (``Dropdown``), ``course-budget-rank`` (``IntSlider``),
``course-budget-layers`` (``SelectMultiple``), ``course-budget-count`` (``HTML``: what trains
and what a task stores), ``course-train-button``, ``course-train-status`` (``HTML``),
``course-budget-figure`` (``Image``), ``course-results-table`` (``HTML`` with
``<table class="course-results">``, one row per run).
"""

import html
import time

from course_lib import publishing
from course_lib.core import checks
from course_lib.core.language import N_, _
from course_lib.core.plots import FONT_SIZE, style_axes
from course_lib.methods import fine_tuning as ft
from course_lib.methods import parameter_efficient as pe

#: The methods the widget offers: ``{label: (method of parameter_efficient, its options)}``;
#: LoRA takes the widget's rank and layers.
METHODS = {"probe": ("probe", {}), "full": ("full", {}), "BitFit": ("bitfit", {}),
           "BitFit + BatchNorm": ("bitfit", {"batchnorm": True}), "LoRA": ("lora", {}),
           "adapters": ("adapters", {})}
RANKS = (1, 32)
#: The columns of the table of runs: each row's keys, shown through ``_()`` as the table's headings.
COLUMNS = (N_("run"), N_("setting"), N_("trainable"), N_("share"), N_("bytes per task"), N_("rate"),
           N_("val_accuracy"), N_("seconds"))


def lora_layers(model):
    """The names of ``model``'s layers that take LoRA (Dense and convolutions), in model order."""
    return [layer.name for layer in model.layers if hasattr(layer, "enable_lora")]


class BudgetState:
    """A method, its LoRA rank and layers, what it trains and stores, and the runs made.

    Args:
        source: the trained source model.
        task: ``{"train": (x, y), "validation": (x, y)}``, labelled target images.
        seed: the seed of every run.
        steps: gradient steps per run.
    """

    def __init__(self, source, task, seed=0, steps=ft.DEFAULT_STEPS):
        self.source, self.task, self.seed = source, task, checks.seed(seed)
        self.steps = checks.whole_number(steps, "steps")
        self.method, self.rank, self.layers = "LoRA", pe.LORA_RANK, ("block1_conv", "block2_conv")
        self.runs = []

    def set(self, method=None, rank=None, layers=None):
        """Change any of the settings; returns ``budget()``."""
        if method is not None:
            self.method = checks.choice(method, "method", tuple(METHODS))
        if rank is not None:
            self.rank = checks.whole_number(rank, "rank", minimum=RANKS[0], maximum=RANKS[1])
        if layers is not None:
            allowed = lora_layers(self.source)
            unknown = [name for name in layers if name not in allowed]
            if unknown or not layers:
                raise ValueError(f"LoRA layers must be some of {', '.join(allowed)}; got "
                                 f"{', '.join(unknown) or 'none'}")
            self.layers = tuple(name for name in allowed if name in layers)
        return self.budget()

    @property
    def label(self):
        """The setting as the table names it, e.g. ``LoRA r4 on block1_conv, block2_conv``."""
        if self.method != "LoRA":
            return self.method
        return _("LoRA r{rank} on {layers}").format(rank=self.rank, layers=", ".join(self.layers))

    def model(self):
        """The model the setting trains, frozen as its method says."""
        method, options = METHODS[self.method]
        if method == "lora":
            options = {"rank": self.rank, "layers": self.layers}
        return pe.build(method, self.source, seed=self.seed, **options)

    def budget(self):
        """The setting's ``parameter_efficient.Budget``."""
        return pe.budget(self.model(), self.source)

    def text(self):
        """One line, e.g. ``LoRA r4 on ...: trains 852 weights (0.78 % of the model); a task stores
        3,408 bytes``."""
        b = self.budget()
        return _("{setting}: trains {trainable:,} weights ({share:.2%} of the model); a task stores {bytes:,} "
                 "bytes").format(setting=self.label, trainable=b.trainable, share=b.share, bytes=b.bytes_per_task)

    def train(self):
        """Fine-tune the setting's model at the middle rate of its grid; append and return its row."""
        method = METHODS[self.method][0]
        rate = pe.RATE_GRID[method][len(pe.RATE_GRID[method]) // 2]
        model, b = self.model(), self.budget()
        start = time.perf_counter()
        summary = ft.fine_tune(model, self.task["train"], self.task["validation"], rate,
                               steps=self.steps, seed=self.seed)
        row = {"run": len(self.runs) + 1, "setting": self.label, "trainable": b.trainable,
               "share": b.share, "bytes per task": b.bytes_per_task, "rate": rate,
               "val_accuracy": summary["best_val_accuracy"],
               "seconds": round(time.perf_counter() - start, 1)}
        self.runs.append(row)
        return row

    def reset(self):
        """Forget the runs."""
        self.runs = []

    def table_html(self):
        """The runs as ``<table class="course-results">``, one row per run."""
        import pandas as pd

        frame = pd.DataFrame(self.runs, columns=list(COLUMNS))
        frame["share"] = frame["share"].map(lambda s: f"{s:.2%}")
        frame["val_accuracy"] = frame["val_accuracy"].map(lambda v: f"{v:.3f}")
        frame.columns = [_(column) for column in COLUMNS]
        return frame.to_html(index=False, border=0, classes="course-results", escape=True)

    def figure(self):
        """The runs at (share, validation accuracy), log x: a matplotlib ``Figure`` (no pyplot)."""
        from matplotlib.figure import Figure
        from matplotlib.ticker import PercentFormatter

        figure = Figure(figsize=(8, 4.2), dpi=80)
        ax = figure.subplots()
        for row in self.runs:
            ax.plot([row["share"]], [row["val_accuracy"]], "o", color="black", markersize=8)
            ax.annotate(f"{row['run']}: {row['setting']}", (row["share"], row["val_accuracy"]),
                        textcoords="offset points", xytext=(6, 4), fontsize=FONT_SIZE - 3)
        ax.set_xscale("log")
        ax.set_xlim(1e-3, 2)
        ax.xaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=None))
        ax.set_xlabel(_("share of the weights that train (log scale)"))
        ax.set_ylabel(_("mnist_m validation accuracy"))
        ax.set_title(_("Your runs") if self.runs else _("Your runs: press Train"))
        style_axes(ax)
        figure.tight_layout()
        return figure


def budget_widget(source, task, seed=0, steps=ft.DEFAULT_STEPS):
    """The budget widget over a ``BudgetState``.

    Returns:
        the ``ipywidgets.VBox``; its ``.state`` is the ``BudgetState``, and ``.method``,
        ``.rank``, ``.layers`` and ``.train_button`` are its controls.
    """
    import ipywidgets as widgets

    state = BudgetState(source, task, seed=seed, steps=steps)
    method = widgets.Dropdown(options=list(METHODS), value=state.method, description=_("method"))
    rank = widgets.IntSlider(value=state.rank, min=RANKS[0], max=RANKS[1], description=_("LoRA rank"),
                             continuous_update=False)
    layers = widgets.SelectMultiple(options=lora_layers(source), value=state.layers,
                                    description=_("LoRA layers"), rows=4)
    count, status = widgets.HTML(), widgets.HTML(_("ready"))
    train = widgets.Button(description=_("Train"), button_style="primary")
    picture = widgets.Image(format="png")
    table = widgets.HTML()
    for item, name in ((method, "method"), (rank, "rank"), (layers, "layers"), (count, "count")):
        item.add_class(f"course-budget-{name}")
    train.add_class("course-train-button")
    status.add_class("course-train-status")
    picture.add_class("course-budget-figure")
    table.add_class("course-results-table")

    def show_runs():
        picture.value = publishing.png_bytes(state.figure())
        table.value = state.table_html()

    def guarded(action):
        try:
            action()
        except Exception as error:  # show any failure; the widget stays usable
            status.value = _("<b>Could not do that</b>: {error}").format(
                error=f"{html.escape(type(error).__name__)}: {html.escape(str(error))}")

    def on_setting(*change):
        def change():
            state.set(method.value, rank.value, layers.value)
            rank.disabled = layers.disabled = state.method != "LoRA"
            count.value = html.escape(state.text())
        guarded(change)

    def on_train(*clicked):
        def run():
            status.value = _("training {setting} ...").format(setting=html.escape(state.label))
            row = state.train()
            status.value = _("run {run}: validation accuracy {accuracy:.3f} in {seconds:.1f} s").format(
                run=row["run"], accuracy=row["val_accuracy"], seconds=row["seconds"])
            show_runs()
        guarded(run)

    for item in (method, rank, layers):
        item.observe(on_setting, names="value")
    train.on_click(on_train)
    on_setting()
    show_runs()
    box = widgets.VBox([method, rank, layers, count, train, status, picture, table])
    box.add_class("course-budget")
    box.state, box.method, box.rank, box.layers, box.train_button = state, method, rank, layers, train
    return publishing.register(box, lambda notebook: publishing.record_budget(box, notebook=notebook))
