"""Chapter 06's exercise checks: the catch-up point, class weights, a frozen transplant (AnB).

Each check calls the learner's function on inputs it makes itself (gap curves, label sets,
a task-A network with weights no training would give), so reading a number off the
notebook cannot pass, and rejects a function that hands the work to the course's own
``catch_up``, ``class_weights`` or ``transplant``. A check never raises and never prints
the answer; it says what is wrong and names the rule.
"""

import numpy as np

from course_lib.chapters.ch06_when_transfer_helps.experiments import catch_up
from course_lib.core.cnn import BLOCKS, build_cnn
from course_lib.core.exercises import attempt, hint, verdict
from course_lib.methods.target_data import class_weights
from course_lib.methods.transferability import TRANSFER_BLOCKS, copied_layers, transplant

HINTS = {
    1: "sort the budgets; a budget is the catch-up point when its gap and the gap at every "
       "larger budget are all at most the tolerance (a negative gap, scratch ahead, counts). "
       "Return the first such budget, or None when there is none.",
    2: "count each class with np.unique(y, return_counts=True); class c's weight is "
       "len(y) / (number of classes present * count of c), a dict {class: weight}.",
    3: "build a fresh network with course_lib.core.cnn.build_cnn(n_classes=n_classes), copy "
       "the weights of the layers with weights in the first k blocks (block1, block2, features) "
       "by name with layer.set_weights(base.get_layer(name).get_weights()), and set "
       "layer.trainable = False on exactly those layers.",
}
#: Exercise 3 tries these (k, classes of task B) against a task-A network with this many classes.
TRANSPLANT_CASES = ((2, 7), (1, 3))
TASK_A_CLASSES = 5
#: Seed of the check's own task-A network and of its made-up weights.
CHECK_SEED = 2014


def show_hint(exercise):
    """Print the hint of exercise 1, 2 or 3."""
    hint(HINTS[exercise])


# ----------------------------------------------------------------------------- exercise 1

def _gap_cases():
    """(description, gaps, tolerance): curves a label budget study could give."""
    rng = np.random.default_rng(CHECK_SEED)
    budgets = [1, 2, 5, 10, 20, 50]
    yield "a gap that closes steadily", dict(zip(budgets, [0.30, 0.18, 0.09, 0.03, 0.01, 0.004])), 0.02
    yield "a gap that dips, then opens again", dict(zip(budgets, [0.25, 0.01, 0.06, 0.015, 0.02, 0.0])), 0.02
    yield "a gap that never closes", dict(zip(budgets, [0.4, 0.35, 0.3, 0.25, 0.2, 0.15])), 0.02
    yield "scratch ahead from the start", dict(zip(budgets, [-0.02, -0.05, -0.01, -0.03, 0.0, -0.04])), 0.01
    yield "budgets listed out of order", {n: 0.5 / n for n in (100, 3, 30, 1, 10)}, 0.04
    for _ in range(2):
        n = sorted(rng.choice(np.arange(1, 200), size=6, replace=False).tolist())
        yield "a random curve", dict(zip(n, rng.uniform(-0.05, 0.2, size=6).round(3).tolist())), 0.05


def check_catch_up(my_catch_up):
    """Exercise 1: ``my_catch_up(gaps, tolerance)`` -> the smallest budget from which every
    gap (full fine-tuning minus scratch) is at most ``tolerance``, or None."""
    if not callable(my_catch_up):
        return verdict(False, "", "define the function first (it is None).")
    for name, gaps, tolerance in _gap_cases():
        # None is a right answer here (no catch-up), so the answer travels in a list.
        boxed, problem = attempt(lambda g, t: [my_catch_up(g, t)], dict(gaps), tolerance,
                                 forbidden=(catch_up,))
        if problem:
            return verdict(False, "", problem)
        got, want = boxed[0], catch_up(gaps, tolerance)
        if got != want:
            shown = "None" if got is None else repr(got)
            return verdict(False, "", f"on {name} (tolerance {tolerance}) your answer {shown} is not "
                                      "the catch-up point. " + HINTS[1])
    return verdict(True, "you read the catch-up point off curves you had never seen, including "
                         "one whose gap opened again.", "")


# ----------------------------------------------------------------------------- exercise 2

def _label_cases():
    rng = np.random.default_rng(CHECK_SEED)
    yield "40 of each of 0-4, 3 of each of 5-9", np.repeat(np.arange(10), [40] * 5 + [3] * 5)
    yield "three classes drawn at random", rng.integers(0, 3, size=41)
    yield "labels 2, 5 and 9 only", rng.permutation(np.repeat([2, 5, 9], [30, 6, 1]))
    yield "balanced labels", np.tile(np.arange(4), 6)


def check_class_weights(my_class_weights):
    """Exercise 2: ``my_class_weights(y)`` -> ``{class: n / (K * n_c)}`` for labels ``y``."""
    for name, y in _label_cases():
        got, problem = attempt(my_class_weights, y.copy(), forbidden=(class_weights,))
        if problem:
            return verdict(False, "", problem)
        want = class_weights(y)
        try:
            got = {int(c): float(w) for c, w in dict(got).items()}
        except (TypeError, ValueError):
            return verdict(False, "", f"return a dict {{class: weight}}, not {type(got).__name__}.")
        if set(got) != set(want):
            return verdict(False, "", f"for {name}, give a weight to exactly the classes present in y, "
                                      f"{sorted(want)}; you gave {sorted(got)}.")
        wrong = [c for c in want if not np.isclose(got[c], want[c], rtol=1e-6)]
        if wrong:
            return verdict(False, "", f"for {name}, the weight of class {wrong[0]} is not right. " + HINTS[2])
    return verdict(True, "every class now carries the same total weight, on four label sets.", "")


# ----------------------------------------------------------------------------- exercise 3

def task_a_network(seed=CHECK_SEED):
    """A course CNN for ``TASK_A_CLASSES`` classes whose every weight (BatchNorm statistics
    too) is set to random values no fresh network has: a copy can be told from a new layer."""
    base = build_cnn(n_classes=TASK_A_CLASSES, seed=seed, name="task_a")
    rng = np.random.default_rng(seed)

    def made_up(variable):  # positive for a BatchNorm variance, either sign otherwise
        values = (0.5 + rng.random(variable.shape)).astype("float32")
        return values if "variance" in variable.name else values * rng.choice([-1, 1])

    for layer in base.layers:
        if layer.weights:
            layer.set_weights([made_up(v) for v in layer.weights])
    return base


def _same(a, b):
    return len(a) == len(b) and all(x.shape == y.shape and np.array_equal(x, y) for x, y in zip(a, b))


def _transplant_problem(model, base, k, n_classes):
    """What is wrong with ``model`` as the AnB network for ``k`` and ``n_classes``, or None."""
    import keras

    if not isinstance(model, keras.Model):
        return f"return a Keras model, not {type(model).__name__}."
    if model is base:
        return "you returned the task-A network itself; AnB is a new network that gets copies of A's first blocks."
    names = {layer.name for layer in model.layers}
    needed = [name for block in ("block1", "block2", "features", "head") for name in BLOCKS[block]]
    missing = [n for n in needed if n not in names]
    if missing:
        return f"your network has no layers named {missing}; build it with build_cnn so the names match A's."
    shared = [n for n in needed if model.get_layer(n) is base.get_layer(n)]
    if shared:
        return (f"your network shares the layers {shared} with A (the same objects): training it on B "
                "would change A too. Copy weights into a new network instead.")
    if model.output_shape[-1] != n_classes:
        return (f"task B here has {n_classes} classes; your head has {model.output_shape[-1]} outputs. "
                "The head is always new, as wide as B's classes.")
    copied = copied_layers(base, k)
    differ = [n for n in copied if not _same(model.get_layer(n).get_weights(), base.get_layer(n).get_weights())]
    if differ:
        return f"with k = {k}, {differ} must be copies of A's layers (BatchNorm statistics too)."
    thawed = [n for n in copied if model.get_layer(n).trainable]
    if thawed:
        return f"freeze the copied layers {thawed} (layer.trainable = False): that is AnB, not AnB+."
    fresh = [layer.name for layer in model.layers if layer.weights and layer.name not in copied]
    reused = [n for n in fresh if base.get_layer(n).weights and any(
        x.shape == y.shape and np.array_equal(x, y)
        for x, y in zip(model.get_layer(n).get_weights(), base.get_layer(n).get_weights()))]
    if reused:
        return (f"with k = {k}, {reused} must start fresh (random weights, as build_cnn makes them): "
                "only the first k blocks come from A.")
    frozen = [n for n in fresh if not model.get_layer(n).trainable]
    if frozen:
        return f"the fresh layers {frozen} must train on B: leave them trainable."
    return None


def check_transplant(my_transplant):
    """Exercise 3: ``my_transplant(base, k, n_classes)`` -> the AnB network: a new course CNN
    with ``n_classes`` outputs whose first ``k`` blocks are frozen copies of ``base``'s and
    whose other layers start fresh and train."""
    base = task_a_network()
    for k, n_classes in TRANSPLANT_CASES:
        got, problem = attempt(my_transplant, base, k, n_classes, forbidden=(transplant,))
        if problem:
            return verdict(False, "", problem)
        problem = _transplant_problem(got, base, k, n_classes)
        if problem:
            return verdict(False, "", f"for k = {k} and {n_classes} classes: {problem}")
    blocks = ", ".join(TRANSFER_BLOCKS)
    return verdict(True, f"your AnB networks copy and freeze the first k of A's blocks ({blocks}), "
                         "start the rest fresh and give B its own head, for two k and two heads.", "")
