"""Chapter 01's exercise checks: the CORAL formula, and which layer's features transfer best."""

import numpy as np

from course_lib.exercises import verdict


def _pairs(seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(30, 4))
    yield "two samples of one distribution", a, rng.normal(size=(25, 4))
    yield "a stretched and shifted sample", a, rng.normal(size=(25, 4)) * 2.0 + 1.0


def check_coral(my_coral):
    """``my_coral(a, b)`` must compute ||C_a - C_b||_F^2 / (4 d^2) for (n, d) NumPy arrays."""
    from course_lib.adaptation import coral_loss

    if my_coral is None:
        return verdict(False, "", "define my_coral(a, b) and pass it to the check.")
    for name, a, b in _pairs():
        expected = float(coral_loss(a.astype("float32"), b.astype("float32")))
        try:
            got = my_coral(a, b)
            if got is None:
                return verdict(False, "", "my_coral returned None; return the CORAL value, a number.")
            got = float(got)
        except Exception as error:  # the learner's code: report, never raise
            return verdict(False, "", f"my_coral raised {type(error).__name__}: {error}")
        if not np.isclose(got, expected, rtol=1e-3, atol=1e-7):
            return verdict(
                False, "",
                f"on {name} your value is {got:.6g}, the formula gives {expected:.6g}. Use the "
                "covariance of each matrix's columns (np.cov(a, rowvar=False), which divides by "
                "n - 1), the squared Frobenius norm of their difference, and divide by 4 d^2.")
    return verdict(True, "your CORAL matches coral_loss on both pairs, shifted and not.", "")


def check_best_layer(answer, scores):
    """``answer`` must name the layer with the highest accuracy in ``scores`` ({layer: accuracy})."""
    if answer not in scores:
        return verdict(False, "", f"set best_layer to one of {', '.join(map(repr, scores))}.")
    best = max(scores, key=scores.get)
    table = ", ".join(f"{layer} {value:.3f}" for layer, value in scores.items())
    return verdict(answer == best, f"{best} transfers best here ({table}).",
                   f"{answer} scores {scores[answer]:.3f}; another layer does better. "
                   "Train a head on each layer's features and compare.")
