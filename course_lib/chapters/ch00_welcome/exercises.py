"""Chapter 00's exercise checks: accuracy per class, and the domain gap in points.

Each check runs the learner's function on inputs it makes itself, so copying a number
from the notebook cannot pass, and rejects a function that hands the work to the
course's own ``evaluation.per_class_accuracy``.
"""

import numpy as np

from course_lib.core.evaluation import per_class_accuracy
from course_lib.core.exercises import attempt, hint, verdict

HINTS = {
    1: "keep the rows where y_true == c, and count how often y_pred equals c there; "
       "np.mean of a boolean array is the share of True values.",
    2: "accuracy on the source domain minus accuracy on the target, times 100 for points.",
}


def show_hint(exercise):
    """Print the hint of exercise 1 or 2."""
    hint(HINTS[exercise])


def _cases():
    rng = np.random.default_rng(2024)
    y_true = rng.integers(0, 10, size=200)
    noisy = np.where(rng.random(200) < 0.3, rng.integers(0, 10, size=200), y_true)
    yield "random labels, 30 % of them changed", y_true, noisy
    yield "every prediction right", y_true, y_true.copy()
    sorted_true = np.repeat(np.arange(10), 5)
    yield "sorted labels, all predicted as 3", sorted_true, np.full(50, 3)


def check_accuracy_per_class(my_function):
    """Exercise 1: ``my_function(y_true, y_pred)`` -> 10 accuracies, one per digit."""
    for name, y_true, y_pred in _cases():
        got, problem = attempt(my_function, y_true, y_pred, forbidden=(per_class_accuracy,))
        if problem:
            return verdict(False, "", problem)
        want = per_class_accuracy(y_true, y_pred)
        got = np.asarray(got, dtype="float64").ravel()
        if got.shape != want.shape:
            return verdict(False, "", f"on {name}, return 10 numbers (one per digit 0-9); "
                                      f"you returned {got.size}.")
        if not np.allclose(got, want, equal_nan=True):
            worst = int(np.nanargmax(np.abs(got - want)))
            return verdict(False, "", f"on {name}, digit {worst} comes out as {got[worst]:.3f}, "
                                      "which is not its accuracy. " + HINTS[1])
    return verdict(True, "your function gives every digit's accuracy, on three label sets "
                         "it had never seen.", "")


def check_gap_in_points(my_function):
    """Exercise 2: ``my_function(source_accuracy, target_accuracy)`` -> the gap in points."""
    rng = np.random.default_rng(7)
    for source, target in [(0.97, 0.41), (0.5, 0.5), *rng.uniform(0, 1, size=(3, 2))]:
        got, problem = attempt(my_function, float(source), float(target))
        if problem:
            return verdict(False, "", problem)
        try:
            got = float(got)
        except (TypeError, ValueError):
            return verdict(False, "", f"return one number, not {type(got).__name__}.")
        if not np.isclose(got, 100 * (source - target)):
            return verdict(False, "", f"for accuracies {source:.2f} (source) and {target:.2f} "
                                      f"(target) you return {got:.2f}. " + HINTS[2])
    return verdict(True, "a gap in points is 100 x (source accuracy - target accuracy).", "")
