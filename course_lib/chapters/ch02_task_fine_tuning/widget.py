"""The layer-freezing widget: freeze blocks, fine-tune, compare runs on the validation split.

``layer_freezing_demo(model, train, validation)`` shows, top to bottom:

- one toggle button per block (or per layer with weights) in model order; pressed
  (with a lock icon) means frozen;
- a live count of trainable and frozen parameters, updated the moment a toggle changes;
- a learning-rate choice;
- a Train button: fine-tunes a fresh copy of the source model for a few short epochs
  (seconds), with a progress bar and a status line;
- the learning curves (**validation** accuracy per epoch) of this run over the earlier ones;
- a results table that grows by one row per run (frozen blocks, trainable parameters,
  learning rate, last and best validation accuracy, seconds);
- a Reset button: clears the runs and restores the toggles and the learning rate.

Every number it shows is measured on the validation split: the widget is for choosing
what to freeze, and choices are made on validation data, never on the test set.
Whatever goes wrong in a run is shown in the status line, and the widget stays usable.

All logic is in ``LayerFreezingState``, a plain object tests drive without a browser;
``LayerFreezingDemo`` only wires ipywidgets to it. Plots are drawn off-screen
(matplotlib's ``Figure``, no pyplot) into an ``Image`` widget, and training reports to
the progress bar only, so a headless run (nbval) prints nothing.

Stable CSS classes, for browser tests (Playwright) and for styling:

==================================  ==========================================================
``course-layer-freezing``           the whole widget (a ``VBox``)
``course-layer-toggle``             every freeze toggle (``ToggleButton``); the button text
                                    starts with the block name, e.g. ``block1``
``course-layer-toggle-<name>``      the toggle of block or layer ``<name>``
``course-param-count``              ``HTML``: ``trainable <b>N</b> · frozen <b>M</b> parameters``
``course-lr-choice``                the learning-rate ``Dropdown``
``course-train-button``             the Train ``Button``
``course-reset-button``             the Reset ``Button``
``course-train-progress``           the ``IntProgress`` bar (epochs done)
``course-train-status``             ``HTML`` status line (``ready`` / ``epoch 2/8`` / result /
                                    what went wrong)
``course-learning-curve``           the ``Image`` with the validation curves (an ``<img>``;
                                    its picture changes after every run)
``course-results-table``            ``HTML`` widget holding ``<table class="course-results">``
                                    with one ``<tr>`` per run in ``<tbody>``
==================================  ==========================================================
"""

import html
import io
import time

import keras
import numpy as np

from course_lib import publishing
from course_lib.core import checks
from course_lib.core.cnn import BLOCKS
from course_lib.core.language import N_, _
from course_lib.core.layers import copy_model, parameter_counts
from course_lib.core.plots import FONT_SIZE, PALETTE, style_axes
from course_lib.core.training import fit

LEARNING_RATES = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)
UNITS = ("blocks", "layers")
#: Passes over the training images per run: short, so a run takes seconds.
EPOCHS = 8
DEFAULT_RATE = 1e-3
#: The colour of a failure in the status line (the palette's vermillion).
ERROR_COLOUR = PALETTE[3]
RESULT_COLUMNS = ("run", "frozen", "trainable_params", "learning_rate", "val_accuracy",
                  "best_val_accuracy", "seconds")
#: The results table's heading of each column (shown in the current language).
RESULT_HEADINGS = {"run": N_("run"), "frozen": N_("frozen"), "trainable_params": N_("trainable params"),
                   "learning_rate": N_("learning rate"), "val_accuracy": N_("validation accuracy"),
                   "best_val_accuracy": N_("best validation accuracy"), "seconds": N_("seconds")}


class LayerFreezingState:
    """What the widget shows and does, without any widget.

    Args:
        model: the trained source model; it is copied, never changed.
        train: ``(x, y)`` labelled target images to fine-tune on.
        validation: ``(x, y)`` labelled target images to measure every epoch.
        units: ``"blocks"`` (one toggle per course block) or ``"layers"`` (one per layer
            with weights).
        epochs: passes over ``train`` per run.
        learning_rate: the starting choice, one of ``LEARNING_RATES``.
        batch_size: training batch size.
        seed: every run starts from the same weights and the same shuffling.
    """

    def __init__(self, model, train, validation, units="blocks", epochs=EPOCHS,
                 learning_rate=DEFAULT_RATE, batch_size=32, seed=0):
        checks.choice(units, "units", UNITS)
        self.epochs = checks.whole_number(epochs, "epochs")
        self.batch_size = checks.whole_number(batch_size, "batch_size")
        self.seed = checks.seed(seed)
        for name, pair in (("train", train), ("validation", validation)):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise ValueError(f"{name} must be a pair (x, y) of images and labels")
            checks.same_length(**{f"{name} images": pair[0], f"{name} labels": pair[1]})
        self.train_data, self.validation = tuple(train), tuple(validation)
        self.model = copy_model(model, seed=self.seed)
        self._initial_weights = self.model.get_weights()
        self._default_rate = self._check_rate(learning_rate)
        weighted = [layer.name for layer in self.model.layers if layer.weights]
        if units == "blocks":
            grouped = {b: [n for n in names if n in weighted] for b, names in BLOCKS.items()}
            self.units = {b: names for b, names in grouped.items() if names}
        else:
            self.units = {n: [n] for n in weighted}
        if not self.units:
            raise ValueError(f"model {model.name!r} has no layer with weights to freeze")
        self.results = []
        self.histories = []
        self.reset()

    @staticmethod
    def _check_rate(rate):
        return checks.choice(rate, "learning rate", LEARNING_RATES)

    # -- the controls
    def set_frozen(self, unit, frozen):
        """Freeze (True) or unfreeze (False) every layer of ``unit``; returns ``counts()``."""
        checks.choice(unit, "block or layer", tuple(self.units))
        self.frozen[unit] = bool(frozen)
        for name in self.units[unit]:
            self.model.get_layer(name).trainable = not frozen
        return self.counts()

    def toggle(self, unit):
        """Flip ``unit`` between frozen and trainable; returns ``counts()``."""
        checks.choice(unit, "block or layer", tuple(self.units))
        return self.set_frozen(unit, not self.frozen[unit])

    def set_learning_rate(self, rate):
        """Choose the learning rate of the next run (one of ``LEARNING_RATES``)."""
        self.learning_rate = self._check_rate(rate)

    def counts(self):
        """``(trainable, frozen)`` parameters of the model as the toggles stand."""
        return parameter_counts(self.model)

    def count_text(self):
        """The count as the widget shows it (HTML)."""
        trainable, frozen = self.counts()
        return _("trainable <b>{trainable:,}</b> · frozen <b>{frozen:,}</b> parameters").format(
            trainable=trainable, frozen=frozen)

    def frozen_units(self):
        """Names of the frozen blocks (or layers), in model order."""
        return [u for u in self.units if self.frozen[u]]

    # -- the actions
    def train(self, on_epoch=None):
        """Fine-tune a fresh copy of the source weights with the current toggles and rate.

        Args:
            on_epoch: optional ``on_epoch(done, epochs, logs)`` after each epoch; ``logs``
                holds ``val_accuracy``.

        Returns:
            the new results row (also appended to ``results``).

        Raises:
            ValueError: when every toggle is frozen (nothing would train).
        """
        if self.counts()[0] == 0:
            raise ValueError("every block is frozen, so nothing would train: unfreeze at least one")
        start = time.perf_counter()
        self.model.set_weights(self._initial_weights)
        callbacks = []
        if on_epoch is not None:
            callbacks.append(keras.callbacks.LambdaCallback(
                on_epoch_end=lambda epoch, logs: on_epoch(epoch + 1, self.epochs, logs or {})))
        history = fit(self.model, self.train_data, epochs=self.epochs, batch_size=self.batch_size,
                      learning_rate=self.learning_rate, validation_data=self.validation,
                      callbacks=callbacks, seed=self.seed)
        curve = [float(v) for v in history.history["val_accuracy"]]
        row = {
            "run": len(self.results) + 1,
            "frozen": ", ".join(self.frozen_units()) or "none",
            "trainable_params": self.counts()[0],
            "learning_rate": self.learning_rate,
            "val_accuracy": round(curve[-1], 3),
            "best_val_accuracy": round(max(curve), 3),
            "seconds": round(time.perf_counter() - start, 1),
        }
        self.results.append(row)
        self.histories.append(curve)
        return row

    def reset(self):
        """Forget every run; everything trainable again; the starting learning rate."""
        self.results.clear()
        self.histories.clear()
        self.frozen = {}
        for unit in self.units:
            self.set_frozen(unit, False)
        self.learning_rate = self._default_rate

    # -- what is shown
    def results_table(self):
        """The runs so far as a ``pandas.DataFrame`` (one row per run)."""
        import pandas as pd

        return pd.DataFrame(self.results, columns=list(RESULT_COLUMNS))

    def results_html(self):
        """The results table as ``<table class="course-results">`` HTML."""
        if not self.results:
            return "<p class='course-results-empty'>" + _("No runs yet: press <b>Train</b>.") + "</p>"
        table = self.results_table().rename(columns=lambda c: _(RESULT_HEADINGS[c]))
        return table.to_html(index=False, classes="course-results", border=0,
                             float_format=lambda v: f"{v:g}")

    def curve_figure(self):
        """A ``matplotlib.figure.Figure``: validation accuracy per epoch, one line per run."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=(6.5, 3.6), dpi=80)
        ax = fig.add_subplot()
        for i, (curve, row) in enumerate(zip(self.histories, self.results)):
            last = i == len(self.histories) - 1
            ax.plot(np.arange(1, len(curve) + 1), curve, "-o", color=PALETTE[i % len(PALETTE)],
                    linewidth=3 if last else 1.2, alpha=1.0 if last else 0.5,
                    label=_("run {run}: frozen {frozen}, rate {rate:g}").format(
                        run=row["run"], frozen=row["frozen"], rate=row["learning_rate"]))
        ax.set_xlabel(_("epoch"))
        ax.set_ylabel(_("validation accuracy"))
        ax.set_title(_("mnist_m validation accuracy ({n} images)").format(n=len(self.validation[1])))
        ax.set_ylim(0, 1)
        ax.set_xlim(0.8, self.epochs + 0.2)
        ax.set_xticks(range(1, self.epochs + 1))
        if self.histories:
            ax.legend(fontsize=FONT_SIZE - 3, loc="lower right")
        else:
            ax.text(0.5, 0.5, _("press Train to see a validation curve"), ha="center",
                    transform=ax.transAxes, fontsize=FONT_SIZE)
        style_axes(ax)
        fig.tight_layout()
        return fig

    def curve_png(self):
        """``curve_figure()`` as PNG bytes."""
        buffer = io.BytesIO()
        self.curve_figure().savefig(buffer, format="png")
        return buffer.getvalue()


def failure_html(error):
    """A status line for ``error``: its kind and message, HTML-escaped, in the error colour."""
    return (f"<span style='color:{ERROR_COLOUR}'>{html.escape(type(error).__name__)}: "
            f"{html.escape(str(error))}</span>")


class LayerFreezingDemo:
    """The ipywidgets view of a ``LayerFreezingState``; display it as a cell's last line.

    Attributes: ``state``, ``toggles`` (``{unit: ToggleButton}``), ``count``, ``rate``,
    ``train_button``, ``reset_button``, ``progress``, ``status``, ``curve``, ``table``, ``box``.
    """

    def __init__(self, state):
        import ipywidgets as w

        self.state = state
        self.toggles = {}
        for unit in state.units:
            toggle = w.ToggleButton(value=False, tooltip=_("freeze or unfreeze {unit}").format(unit=unit),
                                    layout=w.Layout(width="auto"))
            toggle.add_class("course-layer-toggle")
            toggle.add_class(f"course-layer-toggle-{unit}")
            toggle.observe(lambda change, u=unit: self._on_toggle(u, change["new"]), names="value")
            self.toggles[unit] = toggle
        self.count = w.HTML()
        self.count.add_class("course-param-count")
        self.rate = w.Dropdown(options=[(f"{r:g}", r) for r in LEARNING_RATES],
                               value=state.learning_rate, description=_("learning rate"),
                               style={"description_width": "initial"})
        self.rate.add_class("course-lr-choice")
        self.rate.observe(lambda change: self._guarded(state.set_learning_rate, change["new"]),
                          names="value")
        self.train_button = w.Button(description=_("Train"), button_style="primary", icon="play")
        self.train_button.add_class("course-train-button")
        self.train_button.on_click(lambda _: self.train())
        self.reset_button = w.Button(description=_("Reset"), icon="undo")
        self.reset_button.add_class("course-reset-button")
        self.reset_button.on_click(lambda _: self.reset())
        self.progress = w.IntProgress(value=0, min=0, max=state.epochs, description=_("epochs"))
        self.progress.add_class("course-train-progress")
        self.status = w.HTML(_("ready"))
        self.status.add_class("course-train-status")
        self.curve = w.Image(format="png", layout=w.Layout(width="520px"))
        self.curve.add_class("course-learning-curve")
        self.table = w.HTML()
        self.table.add_class("course-results-table")
        self.box = w.VBox([
            w.HTML(_("<b>Press a block to freeze it</b> (locked = frozen), then Train. "
                     "Curves and table: accuracy on the <b>validation</b> split.")),
            w.HBox(list(self.toggles.values()), layout=w.Layout(flex_flow="row wrap")),
            self.count,
            w.HBox([self.rate, self.train_button, self.reset_button]),
            w.HBox([self.progress, self.status]),
            self.curve,
            self.table,
        ])
        self.box.add_class("course-layer-freezing")
        self.refresh()

    def _guarded(self, action, *args):
        """Run ``action(*args)``; show any failure in the status line instead of raising.

        Returns:
            ``(result, None)`` or ``(None, error)``.
        """
        try:
            return action(*args), None
        except Exception as error:  # a widget callback must never leave the widget half-done
            self.status.value = failure_html(error)
            return None, error

    def _on_toggle(self, unit, frozen):
        self._guarded(self.state.set_frozen, unit, frozen)
        self._draw_toggle(unit)
        self.count.value = self.state.count_text()

    def _draw_toggle(self, unit):
        toggle = self.toggles[unit]
        frozen = self.state.frozen[unit]
        toggle.description = f"{unit}: {_('frozen') if frozen else _('trains')}"
        toggle.icon = "lock" if frozen else "unlock"
        toggle.button_style = "" if frozen else "success"

    def refresh(self):
        """Redraw everything from the state."""
        for unit, toggle in self.toggles.items():
            toggle.value = self.state.frozen[unit]
            self._draw_toggle(unit)
        self.rate.value = self.state.learning_rate
        self.count.value = self.state.count_text()
        self._redraw_curve()
        self._redraw_table()

    def _on_epoch(self, done, epochs, logs):
        self.progress.value = done
        self.status.value = _("epoch {done}/{epochs} · validation accuracy {accuracy:.3f}").format(
            done=done, epochs=epochs, accuracy=logs.get("val_accuracy", float("nan")))

    def train(self):
        """What the Train button does: one run, then redraw the curve and the table.

        The table is redrawn last, with Train usable again: a new row means the run is done.

        Returns:
            the new results row, or None when the run failed (the status line says why).
        """
        self.train_button.disabled = True
        self.progress.value = 0
        self.status.value = _("training...")
        try:
            row, error = self._guarded(self.state.train, self._on_epoch)
            if error is None:
                self._guarded(self._redraw_curve)
                self.status.value = _("run {run}: validation accuracy <b>{accuracy:.3f}</b> in {seconds:.1f} s").format(
                    run=row["run"], accuracy=row["val_accuracy"], seconds=row["seconds"])
        finally:
            self.train_button.disabled = False
        if error is None:
            self._guarded(self._redraw_table)
        return row

    def _redraw_curve(self):
        self.curve.value = self.state.curve_png()

    def _redraw_table(self):
        self.table.value = self.state.results_html()

    def reset(self):
        """What the Reset button does."""
        error = self._guarded(self.state.reset)[1]
        self.progress.value = 0
        if error is None:
            self.status.value = _("ready")
        self._guarded(self.refresh)

    def _ipython_display_(self):
        """Shown as the last line of a cell: the widget box (ipywidgets 7 and 8 alike)."""
        from IPython.display import display

        display(self.box)


def layer_freezing_demo(model, train, validation, units="blocks", epochs=EPOCHS,
                        learning_rate=DEFAULT_RATE, batch_size=32, seed=0):
    """The layer-freezing widget for ``model`` (see the module docstring for its parts).

    Args: as ``LayerFreezingState``.

    Returns:
        a ``LayerFreezingDemo``; display it (last line of a cell); its ``state`` holds the runs.
    """
    state = LayerFreezingState(model, train, validation, units=units, epochs=epochs,
                               learning_rate=learning_rate, batch_size=batch_size, seed=seed)
    demo = LayerFreezingDemo(state)
    # A static page has no kernel: the site shows a recorded session instead.
    publishing.register(demo.box, lambda notebook: publishing.record_layer_freezing(demo, notebook))
    return demo
