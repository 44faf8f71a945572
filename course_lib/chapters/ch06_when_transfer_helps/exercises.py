"""Chapter 05's exercise checks: read the catch-up point; class weights; a frozen transplant."""

import numpy as np

from course_lib.exercises import verdict


def check_catch_up(answer, measured, target="digits", tolerance=0.02):
    """Exercise 1: the smallest budget from which scratch stays within ``tolerance`` of full
    fine-tuning on ``target`` (None if it never does), read off ``measured`` (label_budget arms)."""
    from course_lib.experiments.label_budget import catch_up, gaps

    try:
        right = catch_up(measured, target, tolerance=tolerance)
        gap = gaps(measured, target)
    except ValueError as error:
        return verdict(False, "", f"the measured curve is not usable: {error}")
    shown = ", ".join(f"{n}: {100 * g:+.1f}" for n, g in gap.items())
    if answer is None and right is not None or answer is not None and answer != right:
        return verdict(False, "", f"full minus scratch, in points, per budget: {shown}. Find the "
                                  f"first budget from which every gap is at most "
                                  f"{100 * tolerance:.0f} points (None if there is none).")
    return verdict(True, f"gaps in points per budget: {shown}.", "")


def check_class_weights(fn, n_classes=10):
    """Exercise 2: ``fn(y)`` -> ``{class: n / (n_classes_present * count)}`` for labels ``y``."""
    rng = np.random.default_rng(0)
    cases = [np.repeat(np.arange(n_classes), [50] * 5 + [5] * 5), rng.integers(0, 3, size=40),
             np.array([0, 0, 0, 1])]
    for y in cases:
        classes, counts = np.unique(y, return_counts=True)
        want = {int(c): len(y) / (len(classes) * k) for c, k in zip(classes, counts)}
        try:
            got = fn(y)
            got = {int(c): float(w) for c, w in dict(got).items()}
        except Exception as error:  # a learner's function may fail any way
            return verdict(False, "", f"your function raised {type(error).__name__}: {error}")
        if set(got) != set(want):
            return verdict(False, "", f"for labels with classes {sorted(want)} the keys should be "
                                      f"exactly those classes, you gave {sorted(got)}.")
        bad = {c: (round(got[c], 3), round(want[c], 3)) for c in want
               if not np.isclose(got[c], want[c], rtol=1e-6)}
        if bad:
            return verdict(False, "", f"(yours, expected) per class: {bad}. A class's weight is "
                                      "len(y) / (number of classes * its count).")
    return verdict(True, "every class now carries the same total weight, len(y) / K.", "")


def check_transplant(model, base, k=2, n_classes=5):
    """Exercise 3: ``model`` is a fresh ``n_classes``-way CNN whose first ``k`` blocks are frozen
    copies of ``base``'s; every other layer with weights trains."""
    from course_lib.transferability import copied_layers

    try:
        copied = copied_layers(k)
        names = [layer.name for layer in model.layers]
        out = model.output_shape[-1]
    except (AttributeError, ValueError) as error:
        return verdict(False, "", f"pass the Keras model itself ({error}).")
    missing = [n for n in copied if n not in names]
    if missing:
        return verdict(False, "", f"the model has no layers {missing}: build it with "
                                  "models.build_cnn so the names match.")
    if out != n_classes:
        return verdict(False, "", f"task B has {n_classes} classes; your head has {out} outputs.")
    differ = [n for n in copied if any(not np.array_equal(a, b) for a, b in zip(
        model.get_layer(n).get_weights(), base.get_layer(n).get_weights()))]
    if differ:
        return verdict(False, "", f"these layers are not copies of the task-A network: {differ}. "
                                  "Use layer.set_weights(base.get_layer(name).get_weights()).")
    wrong_on = [n for n in copied if model.get_layer(n).trainable]
    wrong_off = [layer.name for layer in model.layers
                 if layer.weights and layer.name not in copied and not layer.trainable]
    if wrong_on or wrong_off:
        return verdict(False, "", (f"freeze the copied layers {wrong_on}. " if wrong_on else "")
                       + (f"these layers should train: {wrong_off}." if wrong_off else ""))
    return verdict(True, f"the first {k} blocks are frozen copies of A's; the rest will learn B.", "")
