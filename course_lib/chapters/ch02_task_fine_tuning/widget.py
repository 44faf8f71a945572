"""The layer-freezing widget: freeze blocks, fine-tune, compare runs.

``layer_freezing_demo(model, target_data, source_data)`` shows, top to bottom:

- one toggle button per block (or per layer with weights) in model order; pressed
  (with a lock icon) means frozen;
- a live count of trainable and frozen parameters, updated the moment a toggle changes;
- a learning-rate choice;
- a Train button: fine-tunes a fresh copy of the source model for a few epochs (a few
  seconds), with a progress bar and a status line;
- the learning curves (target test accuracy per epoch) of this run over the earlier ones;
- a results table that grows by one row per run (frozen blocks, trainable parameters,
  learning rate, target accuracy, source accuracy, seconds);
- a Reset button: clears the runs and restores the toggles and the learning rate.

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
``course-train-status``             ``HTML`` status line (``ready`` / ``epoch 2/3`` / result)
``course-learning-curve``           the ``Image`` with the learning curves (an ``<img>``;
                                    its picture changes after every run)
``course-results-table``            ``HTML`` widget holding ``<table class="course-results">``
                                    with one ``<tr>`` per run in ``<tbody>``
==================================  ==========================================================
"""

import io
import time

import numpy as np

from course_lib import publishing
from course_lib.models import BLOCKS, accuracy

LEARNING_RATES = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2)
UNITS = ("blocks", "layers")


class LayerFreezingState:
    """What the widget shows and does, without any widget.

    Args:
        model: the trained source model; it is copied, never changed.
        target_data: ``((x_train, y_train), (x_test, y_test))`` on the target domain.
        source_data: ``(x_test, y_test)`` on the source domain, to measure forgetting;
            None to skip it.
        units: ``"blocks"`` (one toggle per course block) or ``"layers"`` (per layer
            with weights).
        epochs: epochs per run.
        learning_rate: the starting choice, one of ``LEARNING_RATES``.
        batch_size: training batch size.
        seed: every run starts from the same weights and the same shuffling.
    """

    def __init__(self, model, target_data, source_data=None, units="blocks", epochs=3,
                 learning_rate=1e-3, batch_size=32, seed=0):
        from course_lib.fine_tuning import copy_model

        if units not in UNITS:
            raise ValueError(f"unknown units {units!r}; allowed: {', '.join(UNITS)}")
        if int(epochs) != epochs or epochs < 1:
            raise ValueError(f"epochs must be a whole number >= 1, got {epochs!r}")
        (self.x_train, self.y_train), (self.x_test, self.y_test) = target_data
        self.source_data = source_data
        self.model = copy_model(model)
        self._initial_weights = self.model.get_weights()
        self.epochs, self.batch_size, self.seed = int(epochs), int(batch_size), seed
        self._default_rate = self._check_rate(learning_rate)
        weighted = [layer.name for layer in self.model.layers if layer.weights]
        if units == "blocks":
            self.units = {b: [n for n in names if n in weighted] for b, names in BLOCKS.items()}
            self.units = {b: names for b, names in self.units.items() if names}
        else:
            self.units = {n: [n] for n in weighted}
        self.results = []
        self.histories = []
        self.reset()

    @staticmethod
    def _check_rate(rate):
        if rate not in LEARNING_RATES:
            raise ValueError(f"learning rate {rate!r} is not offered; choose one of {LEARNING_RATES}")
        return rate

    # -- the controls
    def set_frozen(self, unit, frozen):
        """Freeze (True) or unfreeze (False) every layer of ``unit``; returns ``counts()``."""
        if unit not in self.units:
            raise ValueError(f"unknown block or layer {unit!r}; toggles: {', '.join(self.units)}")
        self.frozen[unit] = bool(frozen)
        for name in self.units[unit]:
            self.model.get_layer(name).trainable = not frozen
        return self.counts()

    def toggle(self, unit):
        """Flip ``unit`` between frozen and trainable; returns ``counts()``."""
        if unit not in self.units:
            raise ValueError(f"unknown block or layer {unit!r}; toggles: {', '.join(self.units)}")
        return self.set_frozen(unit, not self.frozen[unit])

    def set_learning_rate(self, rate):
        """Choose the learning rate of the next run (one of ``LEARNING_RATES``)."""
        self.learning_rate = self._check_rate(rate)

    def counts(self):
        """``(trainable, frozen)`` parameters of the model as the toggles stand."""
        from course_lib.fine_tuning import parameter_counts

        return parameter_counts(self.model)

    def count_text(self):
        """The count as the widget shows it (HTML)."""
        trainable, frozen = self.counts()
        return f"trainable <b>{trainable:,}</b> · frozen <b>{frozen:,}</b> parameters"

    def frozen_units(self):
        """Names of the frozen blocks (or layers), in model order."""
        return [u for u in self.units if self.frozen[u]]

    # -- the actions
    def train(self, on_epoch=None):
        """Fine-tune a fresh copy of the source weights with the current toggles and rate.

        Args:
            on_epoch: optional ``on_epoch(done, epochs, logs)`` after each epoch.

        Returns:
            the new results row (also appended to ``results``).

        Raises:
            ValueError: when every toggle is frozen (nothing would train).
        """
        import keras

        from course_lib.models import compile_classifier

        if self.counts()[0] == 0:
            raise ValueError("every block is frozen, so nothing would train: unfreeze at least one")
        start = time.perf_counter()
        self.model.set_weights(self._initial_weights)
        keras.utils.set_random_seed(self.seed)
        compile_classifier(self.model, self.learning_rate)
        callbacks = []
        if on_epoch is not None:
            callbacks.append(keras.callbacks.LambdaCallback(
                on_epoch_end=lambda epoch, logs: on_epoch(epoch + 1, self.epochs, logs or {})))
        history = self.model.fit(self.x_train, self.y_train, epochs=self.epochs,
                                 batch_size=self.batch_size, verbose=0, shuffle=True,
                                 validation_data=(self.x_test, self.y_test), callbacks=callbacks)
        row = {
            "run": len(self.results) + 1,
            "frozen": ", ".join(self.frozen_units()) or "none",
            "trainable_params": self.counts()[0],
            "learning_rate": self.learning_rate,
            "target_accuracy": round(accuracy(self.model, self.x_test, self.y_test), 3),
            "source_accuracy": (round(accuracy(self.model, *self.source_data), 3)
                                if self.source_data is not None else float("nan")),
            "seconds": round(time.perf_counter() - start, 1),
        }
        self.results.append(row)
        self.histories.append([float(v) for v in history.history["val_accuracy"]])
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

        columns = ["run", "frozen", "trainable_params", "learning_rate", "target_accuracy",
                   "source_accuracy", "seconds"]
        return pd.DataFrame(self.results, columns=columns)

    def results_html(self):
        """The results table as ``<table class="course-results">`` HTML."""
        if not self.results:
            return "<p class='course-results-empty'>No runs yet: press <b>Train</b>.</p>"
        table = self.results_table().rename(columns=lambda c: c.replace("_", " "))
        return table.to_html(index=False, classes="course-results", border=0,
                             float_format=lambda v: f"{v:g}")

    def curve_figure(self):
        """A ``matplotlib.figure.Figure``: target test accuracy per epoch, one line per run."""
        from matplotlib.figure import Figure

        from course_lib.plots import FONT_SIZE, style_axes

        fig = Figure(figsize=(6.5, 3.6), dpi=80)
        ax = fig.add_subplot()
        for i, (curve, row) in enumerate(zip(self.histories, self.results)):
            last = i == len(self.histories) - 1
            ax.plot(np.arange(1, len(curve) + 1), curve, "-o", color=f"C{i % 10}",
                    linewidth=3 if last else 1.2, alpha=1.0 if last else 0.5,
                    label=f"run {row['run']}: frozen {row['frozen']}")
        ax.set_xlabel("epoch")
        ax.set_ylabel("target test accuracy")
        ax.set_ylim(0, 1)
        ax.set_xlim(0.8, self.epochs + 0.2)
        ax.set_xticks(range(1, self.epochs + 1))
        if self.histories:
            ax.legend(fontsize=FONT_SIZE - 3, loc="lower right")
        else:
            ax.text(0.5, 0.5, "press Train to see a learning curve", ha="center",
                    transform=ax.transAxes, fontsize=FONT_SIZE)
        style_axes(ax)
        fig.tight_layout()
        return fig

    def curve_png(self):
        """``curve_figure()`` as PNG bytes."""
        buffer = io.BytesIO()
        self.curve_figure().savefig(buffer, format="png")
        return buffer.getvalue()


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
            toggle = w.ToggleButton(value=False, tooltip=f"freeze or unfreeze {unit}",
                                    layout=w.Layout(width="auto"))
            toggle.add_class("course-layer-toggle")
            toggle.add_class(f"course-layer-toggle-{unit}")
            toggle.observe(lambda change, u=unit: self._on_toggle(u, change["new"]), names="value")
            self.toggles[unit] = toggle
        self.count = w.HTML()
        self.count.add_class("course-param-count")
        self.rate = w.Dropdown(options=[(f"{r:g}", r) for r in LEARNING_RATES],
                               value=state.learning_rate, description="learning rate",
                               style={"description_width": "initial"})
        self.rate.add_class("course-lr-choice")
        self.rate.observe(lambda change: state.set_learning_rate(change["new"]), names="value")
        self.train_button = w.Button(description="Train", button_style="primary", icon="play")
        self.train_button.add_class("course-train-button")
        self.train_button.on_click(lambda _: self.train())
        self.reset_button = w.Button(description="Reset", icon="undo")
        self.reset_button.add_class("course-reset-button")
        self.reset_button.on_click(lambda _: self.reset())
        self.progress = w.IntProgress(value=0, min=0, max=state.epochs, description="epochs")
        self.progress.add_class("course-train-progress")
        self.status = w.HTML("ready")
        self.status.add_class("course-train-status")
        self.curve = w.Image(format="png", layout=w.Layout(width="520px"))
        self.curve.add_class("course-learning-curve")
        self.table = w.HTML()
        self.table.add_class("course-results-table")
        self.box = w.VBox([
            w.HTML("<b>Press a block to freeze it</b> (locked = frozen), then Train."),
            w.HBox(list(self.toggles.values()), layout=w.Layout(flex_flow="row wrap")),
            self.count,
            w.HBox([self.rate, self.train_button, self.reset_button]),
            w.HBox([self.progress, self.status]),
            self.curve,
            self.table,
        ])
        self.box.add_class("course-layer-freezing")
        self.refresh()

    def _on_toggle(self, unit, frozen):
        self.state.set_frozen(unit, frozen)
        self._draw_toggle(unit)
        self.count.value = self.state.count_text()

    def _draw_toggle(self, unit):
        toggle = self.toggles[unit]
        frozen = self.state.frozen[unit]
        toggle.description = f"{unit}: {'frozen' if frozen else 'trains'}"
        toggle.icon = "lock" if frozen else "unlock"
        toggle.button_style = "" if frozen else "success"

    def refresh(self):
        """Redraw everything from the state."""
        for unit, toggle in self.toggles.items():
            toggle.value = self.state.frozen[unit]
            self._draw_toggle(unit)
        self.rate.value = self.state.learning_rate
        self.count.value = self.state.count_text()
        self.table.value = self.state.results_html()
        self.curve.value = self.state.curve_png()

    def _on_epoch(self, done, epochs, logs):
        self.progress.value = done
        self.status.value = (f"epoch {done}/{epochs} · target test accuracy "
                             f"{logs.get('val_accuracy', float('nan')):.3f}")

    def train(self):
        """What the Train button does: one run, then redraw the curve and the table."""
        self.train_button.disabled = True
        self.progress.value = 0
        self.status.value = "training..."
        try:
            row = self.state.train(on_epoch=self._on_epoch)
        except ValueError as error:
            self.status.value = f"<span style='color:#b00'>{error}</span>"
            return None
        finally:
            self.train_button.disabled = False
        self.status.value = (f"run {row['run']}: target accuracy <b>{row['target_accuracy']:.3f}</b>"
                             f" in {row['seconds']:.1f} s")
        self.table.value = self.state.results_html()
        self.curve.value = self.state.curve_png()
        return row

    def reset(self):
        """What the Reset button does."""
        self.state.reset()
        self.progress.value = 0
        self.status.value = "ready"
        self.refresh()

    def _repr_mimebundle_(self, **kwargs):
        return self.box._repr_mimebundle_(**kwargs)


def layer_freezing_demo(model, target_data, source_data=None, units="blocks", epochs=3,
                        learning_rate=1e-3, batch_size=32, seed=0):
    """The layer-freezing widget for ``model`` (see the module docstring for its parts).

    Args: as ``LayerFreezingState``.

    Returns:
        a ``LayerFreezingDemo``; display it (last line of a cell); its ``state`` holds the runs.
    """
    state = LayerFreezingState(model, target_data, source_data, units=units, epochs=epochs,
                               learning_rate=learning_rate, batch_size=batch_size, seed=seed)
    demo = LayerFreezingDemo(state)
    if publishing.building_site():  # a static page has no kernel: show a recorded session
        return publishing.record_layer_freezing(demo)
    return demo
