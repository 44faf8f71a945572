"""Chapter 00's exercise check."""

import numpy as np

from course_lib.exercises import verdict


def per_class_accuracy(model, x, y, n_classes=10):
    """Accuracy of ``model`` on each class of (x, y): an array of ``n_classes`` floats."""
    predicted = np.argmax(model.predict(x, batch_size=512, verbose=0), axis=1)
    return np.array([np.mean(predicted[y == c] == c) for c in range(n_classes)])


def check_worst_digit(answer, model, x, y):
    """Chapter 00: ``answer`` must be the digit the model gets right least often on (x, y)."""
    scores = per_class_accuracy(model, x, y)
    worst = int(np.argmin(scores))
    if answer is None:
        return verdict(False, "", "set worst_digit to a digit 0-9.")
    return verdict(
        int(answer) == worst,
        f"digit {worst} is right only {scores[worst]:.0%} of the time.",
        f"digit {int(answer)} is right {scores[int(answer)]:.0%} of the time; one digit does worse. "
        "Compare the predictions with y one class at a time.",
    )
