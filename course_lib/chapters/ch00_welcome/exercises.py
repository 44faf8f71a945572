"""Chapter 00's exercise checks: the precision of each class, and the gap of a different task on
the same images (parity).

Each check runs the learner's function on label sets it makes itself, so copying a number from
the notebook cannot pass; it compares with its own computation, and refuses an answer that
hands the work to the course's ``evaluation.per_class_accuracy`` (which gives each class's
*recall*; with its arguments swapped, its precision) or copies code the notebook shows.
"""

import numpy as np

from course_lib.core.evaluation import per_class_accuracy
from course_lib.core.exercises import attempt, hint, shown_code, verdict
from course_lib.core.language import N_, _

#: The classes of exercise 1: the digits.
N_CLASSES = 10
HINTS = {
    1: N_("keep the rows where y_pred == c, and count how often y_true equals c there; np.mean of a "
          "boolean array is the share of True values. A digit never predicted has no precision: np.nan."),
    2: N_("the parity labels are y % 2, and a digit prediction p predicts the parity p % 2. Parity accuracy "
          "on each domain is np.mean(y % 2 == p % 2); the gap is 100 x (source's - target's)."),
}
INSTEAD = {1: N_("count, for each digit, how many of the images predicted as it truly are it, with NumPy."),
           2: N_("compare y % 2 with the predictions % 2 on each domain, with NumPy.")}


def show_hint(exercise):
    """Print the hint of exercise 1 or 2."""
    hint(_(HINTS[exercise]))


def _attempt(function, *args, exercise):
    return attempt(function, *args, forbidden=(per_class_accuracy,), shown=shown_code(__package__),
                   instead=_(INSTEAD[exercise]))


def _cases():
    """(name, y_true, y_pred): noisy, perfect, and one digit claimed for everything."""
    rng = np.random.default_rng(2024)
    y_true = rng.integers(0, N_CLASSES, size=200)
    noisy = np.where(rng.random(200) < 0.3, rng.integers(0, N_CLASSES, size=200), y_true)
    yield _("random labels, 30 % of the predictions changed"), y_true, noisy
    yield _("every prediction right"), y_true, y_true.copy()
    sorted_true = np.repeat(np.arange(N_CLASSES), 5)
    yield _("sorted labels, every image predicted as 3"), sorted_true, np.full(50, 3)


def precision_per_class(y_true, y_pred):
    """For each class c, the share of the images predicted as c that are c: (N_CLASSES,), NaN for a
    class never predicted (the check's own computation, from the confusion counts)."""
    counts = np.zeros((N_CLASSES, N_CLASSES))
    np.add.at(counts, (np.asarray(y_true), np.asarray(y_pred)), 1)
    predicted = counts.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(predicted > 0, np.diag(counts) / predicted, np.nan)


def check_precision_per_class(my_function):
    """Exercise 1: ``my_function(y_true, y_pred)`` -> 10 precisions, one per digit (NaN if never predicted)."""
    for name, y_true, y_pred in _cases():
        got, problem = _attempt(my_function, y_true.copy(), y_pred.copy(), exercise=1)
        if problem:
            return verdict(False, "", problem)
        want = precision_per_class(y_true, y_pred)
        try:
            got = np.asarray(got, dtype="float64").ravel()
        except (TypeError, ValueError):
            return verdict(False, "", _("return 10 numbers, not {kind}.").format(kind=type(got).__name__))
        if got.shape != want.shape:
            return verdict(False, "", _("on {case}, return 10 numbers (one per digit 0-9); you returned {n}.").format(
                case=name, n=got.size))
        if not np.allclose(got, want, equal_nan=True):
            worst = int(np.nanargmax(np.abs(np.nan_to_num(got, nan=-1) - np.nan_to_num(want, nan=-1))))
            recall = per_class_accuracy(y_true, y_pred)
            if np.allclose(got, recall, equal_nan=True):
                return verdict(False, "", _("on {case} you return each digit's recall (its images predicted "
                                            "right); precision divides by the images predicted as it. "
                                            "exercises.show_hint(1) gives a hint.").format(case=name))
            return verdict(False, "", _("on {case}, digit {digit} comes out as {value:.3f}, which is not its "
                                        "precision. exercises.show_hint(1) gives a hint.").format(
                case=name, digit=worst, value=got[worst]))
    return verdict(True, _("your function gives every digit's precision, on three label sets it had "
                           "never seen (a digit never predicted has none)."), "")


def _parity_cases():
    rng = np.random.default_rng(7)
    for noise in (0.1, 0.5):
        y_s, y_t = rng.integers(0, 10, 120), rng.integers(0, 10, 90)
        p_s = np.where(rng.random(120) < noise / 5, rng.integers(0, 10, 120), y_s)
        p_t = np.where(rng.random(90) < noise, rng.integers(0, 10, 90), y_t)
        yield _("{share:.0%} of the target's digits predicted at random").format(share=noise), y_s, p_s, y_t, p_t
    y = np.arange(10)
    yield _("every digit wrong on the target, but by 2 (parity kept)"), y, y, y, (y + 2) % 10


def check_parity_gap(my_function):
    """Exercise 2: ``my_function(y_source, pred_source, y_target, pred_target)`` -> the gap in points
    of the parity task (even or odd), read off digit labels and digit predictions."""
    for name, *arrays in _parity_cases():
        got, problem = _attempt(my_function, *(a.copy() for a in arrays), exercise=2)
        if problem:
            return verdict(False, "", problem)
        try:
            got = float(got)
        except (TypeError, ValueError):
            return verdict(False, "", _("return one number, not {kind}.").format(kind=type(got).__name__))
        y_s, p_s, y_t, p_t = arrays
        want = 100 * (np.mean(y_s % 2 == p_s % 2) - np.mean(y_t % 2 == p_t % 2))
        if np.isclose(got, want, atol=1e-9):
            continue
        digits = 100 * (np.mean(y_s == p_s) - np.mean(y_t == p_t))
        if np.isclose(got, digits, atol=1e-9):
            return verdict(False, "", _("on the case '{case}' you return the gap of the digit task; the "
                                        "parity task counts a prediction right when its parity is. "
                                        "exercises.show_hint(2) gives a hint.").format(case=name))
        return verdict(False, "", _("on the case '{case}' you return {value:.2f}, not the parity gap in "
                                    "points. exercises.show_hint(2) gives a hint.").format(case=name, value=got))
    return verdict(True, _("the same images with new labels (even or odd) are a new task in the same "
                           "domain, and its gap is read off the same predictions."), "")
