"""Chapter 02's exercise checks: freeze for the "top" strategy; discriminative learning rates."""

from course_lib.exercises import verdict

TOP_BLOCKS = ("block2", "features", "head")


def check_top_freezing(model):
    """Exercise 1: only the layers of ``block2``, ``features`` and ``head`` may be trainable."""
    from course_lib.models import BLOCKS

    try:
        weighted = [layer for layer in model.layers if layer.weights]
    except AttributeError:
        return verdict(False, "", "pass the Keras model itself.")
    wanted = {n for b in TOP_BLOCKS for n in BLOCKS[b]}
    wrong_on = [l.name for l in weighted if l.trainable and l.name not in wanted]
    wrong_off = [l.name for l in weighted if not l.trainable and l.name in wanted]
    return verdict(
        not wrong_on and not wrong_off,
        "block1 is frozen; block2, the feature layer and the head train.",
        (f"these layers still train but should be frozen: {wrong_on}. " if wrong_on else "")
        + (f"these layers are frozen but should train: {wrong_off}. " if wrong_off else "")
        + "Try ft.freeze(model, blocks=[...]) and ft.unfreeze(model, blocks=[...]).",
    )


def check_rates(rates, head_rate=1e-3, ratio=10.0):
    """Exercise 2: ``{block: rate}``, head at ``head_rate``, block1 ``ratio`` times slower, monotone."""
    from course_lib.learning_rates import GROUP_ORDER

    if not isinstance(rates, dict) or set(rates) != set(GROUP_ORDER):
        return verdict(False, "", f"rates must be a dict with exactly the keys {list(GROUP_ORDER)}.")
    try:
        values = [float(rates[g]) for g in GROUP_ORDER]
    except (TypeError, ValueError):
        return verdict(False, "", "every rate must be a number.")
    if min(values) <= 0:
        return verdict(False, "", "every learning rate must be above 0.")
    if abs(values[-1] - head_rate) > 1e-12:
        return verdict(False, "", f"the head's rate should be {head_rate:g}, it is {values[-1]:g}.")
    if abs(values[-1] / values[0] - ratio) > 1e-6 * ratio:
        return verdict(False, "", f"block1 should learn {ratio:g} times slower than the head; "
                                  f"yours is {values[-1] / values[0]:.3g} times slower.")
    if any(a > b for a, b in zip(values, values[1:])):
        return verdict(False, "", "going down from the head, a rate should never grow: "
                                  f"yours are {dict(zip(GROUP_ORDER, values))}.")
    return verdict(True, "early blocks move gently, the head boldly.", "")
