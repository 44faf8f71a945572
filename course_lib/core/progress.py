"""A compact training progress display: one line per ``fit`` that updates in place.

Keras's own bar prints a line per epoch (or per step) and floods a notebook;
call ``fit(..., verbose=0, callbacks=[ProgressLine("name")])`` instead.
"""

import numbers
import os
import time

import keras

from course_lib.core.language import _


def in_notebook():
    """True inside a Jupyter kernel (where a display can be updated in place)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell"


def format_logs(logs, keys=None):
    """``"loss 0.213 · accuracy 0.941"`` for ``keys`` present in ``logs``; by default every number
    logged: loss and accuracy first, validation values last."""
    if keys is None:
        numeric = [k for k in logs if isinstance(logs[k], numbers.Real)]
        keys = sorted(numeric, key=lambda k: (k.startswith("val_"), k.removeprefix("val_") != "loss",
                                              k.removeprefix("val_") != "accuracy"))
    return " · ".join(f"{k} {float(logs[k]):.3f}" for k in keys if k in logs)


class ProgressLine(keras.callbacks.Callback):
    """Show ``label: epoch 3/5 · loss 0.213 · accuracy 0.941 · 2.1 s`` while a model fits.

    The line updates in place in a notebook and is silent elsewhere (tests,
    scripts), or when ``$COURSE_QUIET`` is set. ``lines`` keeps every update,
    so tests can read what would have been shown.

    Args:
        label: what is being trained, shown first.
        keys: which of Keras's logs to show, when present (default: all of them).
    """

    def __init__(self, label="train", keys=None):
        super().__init__()
        self.label = label
        self.keys = keys
        self.show = in_notebook() and not os.environ.get("COURSE_QUIET")
        self.lines = []
        self._handle = None

    def _emit(self, text):
        self.lines.append(text)
        if not self.show:
            return
        from IPython.display import display

        bundle = {"text/plain": text}  # raw text: no quotes around it
        if self._handle is None:
            self._handle = display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()
        self._epochs = self.params.get("epochs", "?")
        self._emit(_("{label}: starting ({epochs} epochs)").format(label=self.label, epochs=self._epochs))

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self._start
        parts = [_("{label}: epoch {epoch}/{epochs}").format(label=self.label, epoch=epoch + 1, epochs=self._epochs),
                 format_logs(logs or {}, self.keys),
                 f"{seconds:.1f} s"]
        self._emit(" · ".join(p for p in parts if p))
