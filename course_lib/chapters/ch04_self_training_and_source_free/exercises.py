"""Chapter 04's exercise checks: a threshold good enough for pseudo-labels, and the
information-maximisation loss written by hand."""

import numpy as np

from course_lib.exercises import verdict
from course_lib.self_training import select_by_threshold

#: The thresholds exercise 1 considers: 0.50, 0.51, ..., 0.99.
THRESHOLDS = np.round(np.arange(0.50, 0.995, 0.01), 2)


def lowest_threshold(probabilities, labels, precision=0.9):
    """The lowest threshold in ``THRESHOLDS`` whose passing pseudo-labels are at least
    ``precision`` right (None if none is)."""
    predicted = np.asarray(probabilities).argmax(axis=1)
    for t in THRESHOLDS:
        index = select_by_threshold(probabilities, t)
        if len(index) and np.mean(predicted[index] == labels[index]) >= precision:
            return float(t)
    return None


def check_threshold(answer, probabilities, labels, precision=0.9):
    """Exercise 1: ``answer`` must be :func:`lowest_threshold` (to two decimals)."""
    best = lowest_threshold(probabilities, labels, precision)
    if answer is None:
        return verdict(False, "", "set threshold_90 to a number between 0.5 and 0.99.")
    try:
        answer = round(float(answer), 2)
    except (TypeError, ValueError):
        return verdict(False, "", f"threshold_90 must be a number, got {answer!r}.")
    if best is None:
        return verdict(False, "", f"no threshold up to 0.99 reaches {precision:.0%} here.")
    passed = len(select_by_threshold(probabilities, best))
    return verdict(
        answer == best,
        f"from {best:.2f} up, at least {precision:.0%} of the pseudo-labels are right; {passed:,} images pass.",
        f"{answer:.2f} is not the lowest threshold that reaches {precision:.0%}. Move the slider in steps "
        "of 0.01 from 0.50 up (or loop over them with state.set_threshold) and read the share right.",
    )


def _reference_batches(rng):
    k = 10
    eye = np.eye(k)
    smooth = lambda p: (p + 1e-3) / (p + 1e-3).sum(axis=1, keepdims=True)  # noqa: E731
    random = rng.dirichlet(np.ones(k), size=32)
    return {
        "confident and diverse": smooth(eye[np.arange(40) % k]),
        "uniform": np.full((40, k), 1.0 / k),
        "collapsed": smooth(eye[np.zeros(40, dtype=int)]),
        "random": random,
    }


def check_im_loss(my_loss):
    """Exercise 2: ``my_loss(p)`` (NumPy, p of shape (n, 10)) must equal the library's
    information-maximisation loss (diversity weight 1) on four kinds of batches."""
    from course_lib.source_free import information_maximisation_loss

    if my_loss is None:
        return verdict(False, "", "define my_im_loss(p) that returns a number.")
    rng = np.random.default_rng(0)
    for name, p in _reference_batches(rng).items():
        expected = float(information_maximisation_loss(p.astype("float32")))
        try:
            got = float(my_loss(p))
        except Exception as error:  # a learner's bug must not stop the notebook
            return verdict(False, "", f"my_im_loss raised {type(error).__name__}: {error}")
        if not np.isfinite(got) or abs(got - expected) > 1e-3:
            return verdict(False, "",
                           f"on a {name} batch my_im_loss gives {got:.4f}, expected {expected:.4f}. "
                           "It is the mean of the per-image entropies minus the entropy of the mean prediction.")
    return verdict(True, "your loss matches on confident, uniform, collapsed and random batches.", "")
