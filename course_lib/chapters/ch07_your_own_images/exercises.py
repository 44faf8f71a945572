"""Chapter 06's exercise check: the most confident mistakes, written by hand."""

import numpy as np

from course_lib.exercises import verdict
from course_lib.own_images.recipe import confident_mistakes


def _reference_cases(rng):
    """(probabilities, labels, k) cases: random, more mistakes than k, and no mistakes."""
    cases = []
    for n, classes, k in ((30, 4, 5), (12, 3, 20)):
        p = rng.dirichlet(np.ones(classes), size=n)
        cases.append((p, rng.integers(classes, size=n), k))
    p = rng.dirichlet(np.ones(3), size=10)
    cases.append((p, p.argmax(axis=1), 4))  # every prediction right: no mistakes
    return cases


def check_confident_mistakes(my_function, probabilities=None, labels=None):
    """The exercise: ``my_function(probabilities, labels, k)`` must return the indices of the
    ``k`` most confident wrong predictions, most confident first (like
    ``recipe.confident_mistakes``), on reference cases and on the chapter's own predictions."""
    if my_function is None:
        return verdict(False, "", "define my_confident_mistakes(probabilities, labels, k).")
    cases = _reference_cases(np.random.default_rng(0))
    if probabilities is not None:
        cases.append((np.asarray(probabilities), np.asarray(labels), 8))
    for p, y, k in cases:
        expected = confident_mistakes(p, y, k).tolist()
        try:
            answer = my_function(p, y, k)
            if answer is None:
                return verdict(False, "", "my_confident_mistakes returned None; return the indices "
                               "(a list or an array of whole numbers).")
            got = [int(i) for i in np.asarray(answer).ravel()]
        except Exception as error:  # a learner's bug must not stop the notebook
            return verdict(False, "", f"my_confident_mistakes raised {type(error).__name__}: {error}")
        if got != expected:
            return verdict(False, "",
                           f"with {len(y)} images and k={k} you returned {got[:10]}, expected "
                           f"{expected[:10]}. Keep only the images whose arg-max is not the label, "
                           "sort them by their largest probability (highest first), keep k.")
    return verdict(True, "you found the most confident mistakes, in the right order "
                   "(and none when there are none).", "")
