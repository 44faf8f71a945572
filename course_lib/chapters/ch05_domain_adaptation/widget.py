"""The adaptation widget: pick a method and its weight, adapt for a short run, add a row to the table.

``AdaptationLab`` holds the logic (tests drive it without a browser);
``adaptation_widget`` only draws it: a method menu, a weight slider, a button
and the results table.
"""

import pandas as pd

from course_lib import publishing
from course_lib.experiments import domain_adaptation as da

#: Slider range for each method's weight (lambda_max for DANN).
WEIGHT_RANGES = {"dann": (0.0, 1.0), "coral": (0.0, 1000.0), "mmd": (0.0, 5.0), "none": (0.0, 0.0)}


class AdaptationLab:
    """A growing table of adaptation runs: method, weight, epochs, target accuracy, seconds.

    Args:
        runner: ``runner(method, weight, epochs) -> Measured``; by default
            ``lab_runner(source, task, seed)`` adapts the source model for real.
        epochs: epochs per run (short, so that a click answers in seconds).
    """

    def __init__(self, runner, epochs=2):
        if epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {epochs}")
        self.runner = runner
        self.epochs = int(epochs)
        self.rows = []

    def add(self, method, weight, epochs, accuracy, seconds=float("nan")):
        """Record a result measured elsewhere (e.g. the notebook's own runs)."""
        self.rows.append({"method": method, "weight": float(weight), "epochs": int(epochs),
                          "target_accuracy": round(float(accuracy), 3),
                          "seconds": round(float(seconds), 1)})

    def run(self, method, weight):
        """Adapt with ``method`` at ``weight`` for ``self.epochs`` epochs; add and return the row."""
        if method not in WEIGHT_RANGES:
            raise ValueError(f"unknown method {method!r}; allowed: {', '.join(WEIGHT_RANGES)}")
        low, high = WEIGHT_RANGES[method]
        if not low <= weight <= high:
            raise ValueError(f"weight for {method} must be in [{low}, {high}], got {weight}")
        measured = self.runner(method, weight, self.epochs)
        self.add(method, weight, self.epochs, measured.value, measured.seconds)
        return self.rows[-1]

    def table(self):
        """The rows as a ``pandas.DataFrame``, best target accuracy first."""
        columns = ["method", "weight", "epochs", "target_accuracy", "seconds"]
        frame = pd.DataFrame(self.rows, columns=columns)
        return frame.sort_values("target_accuracy", ascending=False, ignore_index=True)


def lab_runner(source, task, seed=0):
    """A runner that adapts ``source`` on ``task`` (see ``domain_adaptation.adapt``)."""
    def runner(method, weight, epochs):
        return da.adapt(source, task, method, weight=weight, epochs=epochs, seed=seed,
                        progress=f"{method} (weight {weight:g})")[2]
    return runner


def adaptation_widget(lab):
    """An ipywidgets panel wired to ``lab``. Nothing trains until the button is clicked."""
    import ipywidgets as w
    from IPython.display import display

    method = w.Dropdown(options=[m for m in WEIGHT_RANGES if m != "none"], value="mmd",
                        description="method")
    weight = w.FloatSlider(value=da.METHODS["mmd"], min=0.0, max=WEIGHT_RANGES["mmd"][1],
                           step=0.05, description="weight", continuous_update=False)
    button = w.Button(description=f"adapt ({lab.epochs} epochs)", button_style="primary")
    out = w.Output()

    def show():
        out.clear_output(wait=True)
        with out:
            display(lab.table())

    def on_method(change):
        low, high = WEIGHT_RANGES[change["new"]]
        weight.max = high
        weight.step = (high - low) / 100
        weight.value = da.METHODS[change["new"]]

    def on_click(_):
        button.disabled = True
        try:
            with out:
                lab.run(method.value, weight.value)
        finally:
            button.disabled = False
        show()

    method.observe(on_method, names="value")
    button.on_click(on_click)
    show()
    box = w.VBox([w.HBox([method, weight, button]), out])
    if publishing.building_site():  # a static page has no kernel: show a recorded session
        return publishing.record_adaptation(box, lab)
    return box
