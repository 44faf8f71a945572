"""Self-training on mnist_m: naive threshold pseudo-labels from the weak source model vs
class-balanced rounds from the AdaBN-adapted model."""

from course_lib import self_training, source_free
from course_lib.data import load_domain
from course_lib.experiments import Measured, Stopwatch
from course_lib.models import accuracy, source_model

METRIC = "target_accuracy"
DESCRIPTION = ("3 rounds of pseudo-labelling on the unlabelled mnist_m train split, tested on mnist_m test: "
               "threshold 0.9 from the source model vs class-balanced top-k from AdaBN")


def run(seed, rounds=3):
    """Both kinds of self-training for ``seed``, each next to its starting model.

    Returns:
        ``{"source only", "threshold 0.9 from source", "AdaBN (start)",
        "class-balanced from AdaBN": Measured(accuracy, seconds)}``.
    """
    model = source_model(channels=1, seed=seed, progress=None)
    x_target, y_target = load_domain("mnist_m", "train", seed=seed, channels=1)
    x_test, y_test = load_domain("mnist_m", "test", seed=seed, channels=1)
    measured = {"source only": Measured(accuracy(model, x_test, y_test), 0.0)}
    with Stopwatch() as t:
        _, history = self_training.self_train(model, x_target, x_test, y_test, y_target, rounds=rounds,
                                              selection="threshold", threshold=0.9, seed=seed,
                                              progress=None)
    measured["threshold 0.9 from source"] = Measured(history[-1].target_accuracy, t.seconds)
    with Stopwatch() as t:
        start = source_free.adabn(model, x_target)
    measured["AdaBN (start)"] = Measured(accuracy(start, x_test, y_test), t.seconds)
    with Stopwatch() as t:
        _, history = self_training.self_train(start, x_target, x_test, y_test, y_target, rounds=rounds,
                                              selection="balanced", seed=seed, progress=None)
    measured["class-balanced from AdaBN"] = Measured(history[-1].target_accuracy, t.seconds)
    return measured
