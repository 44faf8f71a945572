"""Source-free adaptation of the grey source model to mnist_m: AdaBN and information maximisation."""

from course_lib import source_free
from course_lib.data import load_domain
from course_lib.experiments import Measured, Stopwatch
from course_lib.models import accuracy, source_model

METRIC = "target_accuracy"
DESCRIPTION = ("source model on mnist_m test as-is, after AdaBN, and after 5 epochs of information "
               "maximisation (adapted on the unlabelled mnist_m train split, no source data)")


def run(seed, epochs=5):
    """Adapt the source model for ``seed`` without source data; test each arm on mnist_m.

    Returns:
        ``{"source only" | "AdaBN" | "information maximisation": Measured(accuracy, seconds)}``.
    """
    model = source_model(channels=1, seed=seed, progress=None)
    x_target, _ = load_domain("mnist_m", "train", seed=seed, channels=1)  # labels never used
    x_test, y_test = load_domain("mnist_m", "test", seed=seed, channels=1)
    measured = {"source only": Measured(accuracy(model, x_test, y_test), 0.0)}
    with Stopwatch() as t:
        adapted = source_free.adabn(model, x_target)
    measured["AdaBN"] = Measured(accuracy(adapted, x_test, y_test), t.seconds)
    with Stopwatch() as t:
        adapted, _ = source_free.information_maximisation(model, x_target, epochs=epochs, seed=seed,
                                                          progress=None)
    measured["information maximisation"] = Measured(accuracy(adapted, x_test, y_test), t.seconds)
    return measured
