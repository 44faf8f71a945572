"""Chapter 07's exercise checks: the catch-up point over seeds, class weights from the effective
number of samples, a frozen transplant of any blocks.

Each check calls the learner's function on inputs it makes itself (per-seed gap curves, label
sets, a task-A network with weights no training would give), so reading a number off the
notebook cannot pass, and refuses a function that hands the work to the course's own
``catch_up``, ``class_weights``, ``transplant`` or ``copied_layers``, or copies code the notebook
shows. A check never raises and never prints the answer; it says what is wrong and names the rule.
"""

import numpy as np

from course_lib.chapters.ch07_when_transfer_helps.experiments import catch_up
from course_lib.core.cnn import BLOCKS, build_cnn
from course_lib.core.exercises import attempt, hint, shortcut, shown_code, verdict
from course_lib.core.language import N_, _
from course_lib.methods.target_data import class_weights
from course_lib.methods.transferability import copied_layers, transplant

HINTS = {
    1: N_("a budget is within tolerance when its worst seed's gap is (the largest). Sort the budgets; "
       "the catch-up point is the first budget whose worst gap, and the worst gap of every larger "
       "budget, are at most the tolerance (a negative gap, scratch ahead, counts). None if none is."),
    2: N_("count each class with np.unique(y, return_counts=True); E_c = (1 - beta ** n_c) / (1 - beta) "
       "(for beta = 0, E_c = 1). Raw weights 1 / E_c, scaled so that they sum to K, the number of "
       "classes present: a dict {class: weight}."),
    3: N_("build a fresh network with course_lib.core.cnn.build_cnn(n_classes=n_classes); for each block "
       "in blocks, its layers are course_lib.core.cnn.BLOCKS[block]: copy the weights of those that have "
       "weights with layer.set_weights(base.get_layer(name).get_weights()), and set layer.trainable = False "
       "on exactly those layers."),
}
INSTEAD = {1: N_("sort the budgets and test each one's worst seed yourself."),
           2: N_("count the classes with np.unique and compute the effective numbers with NumPy."),
           3: N_("build a fresh build_cnn and copy the named blocks' weights layer by layer.")}
#: Exercise 2's betas: no reweighting, then ever closer to inverse frequencies.
BETAS = (0.0, 0.9, 0.99, 0.999)
#: Exercise 3 tries these (blocks to copy, classes of task B) against a task-A network.
TRANSPLANT_CASES = ((("block2",), 7), (("block1", "features"), 3))
TASK_A_CLASSES = 5
#: Seed of the check's own task-A network and of its made-up weights.
CHECK_SEED = 2014


def show_hint(exercise):
    """Print the hint of exercise 1, 2 or 3."""
    hint(_(HINTS[exercise]))


def _attempt(function, *args, forbidden, exercise):
    return attempt(function, *args, forbidden=forbidden, shown=shown_code(__package__),
                   instead=_(INSTEAD[exercise]))


# ----------------------------------------------------------------------------- exercise 1

def _gap_cases():
    """(description, {budget: [gap per seed]}, tolerance): curves a label budget study could give."""
    rng = np.random.default_rng(CHECK_SEED)
    budgets = [1, 2, 5, 10, 20, 50]
    yield (N_("a gap that closes on every seed"), {n: [g, g / 2, g * 1.5] for n, g in
                                                zip(budgets, [0.30, 0.18, 0.09, 0.01, 0.01, 0.004])}, 0.02)
    yield (N_("a median within tolerance from 10, one seed not until 50"),
           {1: [0.3, 0.25, 0.2], 2: [0.2, 0.1, 0.1], 5: [0.1, 0.05, 0.03], 10: [0.01, 0.0, 0.08],
            20: [0.015, 0.01, 0.05], 50: [0.0, 0.01, 0.02]}, 0.02)
    yield (N_("a worst seed that dips, then opens again"),
           {1: [0.25, 0.2], 2: [0.01, 0.0], 5: [0.06, 0.02], 10: [0.015, 0.01], 20: [0.02, 0.0], 50: [0.0, 0.0]}, 0.02)
    yield N_("a gap that never closes"), {n: [0.4 - 0.05 * i, 0.3] for i, n in enumerate(budgets)}, 0.02
    yield N_("scratch ahead on every seed"), {n: [-0.02, -0.05, 0.0] for n in budgets}, 0.01
    yield N_("budgets listed out of order"), {n: [0.5 / n, 0.3 / n] for n in (100, 3, 30, 1, 10)}, 0.04
    for _case in range(2):
        n = sorted(rng.choice(np.arange(1, 200), size=6, replace=False).tolist())
        yield N_("a random curve over 4 seeds"), {b: rng.uniform(-0.05, 0.2, size=4).round(3).tolist() for b in n}, 0.05


def check_worst_seed_catch_up(my_catch_up):
    """Exercise 1: ``my_catch_up(gaps, tolerance)``, ``gaps`` ``{budget: [gap per seed]}`` -> the
    smallest budget from which every seed's gap is at most ``tolerance``, or None."""
    if not callable(my_catch_up):
        return verdict(False, "", _("define the function first (it is None)."))
    problem = shortcut(my_catch_up, (catch_up,), shown_code(__package__), _(INSTEAD[1]))
    if problem:
        return verdict(False, "", problem)
    for name, gaps, tolerance in _gap_cases():
        # None is a right answer here (no catch-up), so the answer travels in a list.
        boxed, problem = _attempt(lambda g, t: [my_catch_up(g, t)], {n: list(g) for n, g in gaps.items()},
                                  tolerance, forbidden=(catch_up,), exercise=1)
        if problem:
            return verdict(False, "", problem)
        got, want = boxed[0], catch_up({n: max(g) for n, g in gaps.items()}, tolerance)
        if got != want:
            shown = "None" if got is None else repr(got)
            median = catch_up({n: float(np.median(g)) for n, g in gaps.items()}, tolerance)
            at_median = got == median and got is not None
            slip = _(" That is where the median seed catches up; every seed must.") if at_median else ""
            return verdict(False, "", _("on {name} (tolerance {tolerance}) your answer {answer} is not the "
                                        "catch-up point of every seed.{slip} exercises.show_hint(1) gives a "
                                        "hint.").format(name=_(name), tolerance=tolerance, answer=shown, slip=slip))
    return verdict(True, _("you read the catch-up point that holds on every seed off curves you had never seen, "
                           "including one where the median caught up long before the worst seed."), "")


# ----------------------------------------------------------------------------- exercise 2

def _label_cases():
    rng = np.random.default_rng(CHECK_SEED)
    yield N_("40 of each of 0-4, 3 of each of 5-9"), np.repeat(np.arange(10), [40] * 5 + [3] * 5)
    yield N_("three classes drawn at random"), rng.integers(0, 3, size=41)
    yield N_("labels 2, 5 and 9 only"), rng.permutation(np.repeat([2, 5, 9], [300, 60, 1]))
    yield N_("balanced labels"), np.tile(np.arange(4), 6)


def effective_number_weights(y, beta):
    """``{class: weight}``: Cui et al. (2019)'s class-balanced weights, 1 / E_c with
    E_c = (1 - beta^n_c) / (1 - beta), scaled to sum to the number of classes present."""
    classes, counts = np.unique(y, return_counts=True)
    effective = np.ones(len(counts)) if beta == 0 else (1 - beta ** counts) / (1 - beta)
    raw = 1 / effective
    return {int(c): float(w) for c, w in zip(classes, raw * len(classes) / raw.sum())}


def check_effective_weights(my_class_weights):
    """Exercise 2: ``my_class_weights(y, beta)`` -> ``{class: weight}`` from the effective number of
    samples of each class present in ``y``, summing to the number of classes present."""
    for (name, y), beta in zip(_label_cases(), BETAS[1:] + BETAS[:1]):
        got, problem = _attempt(my_class_weights, y.copy(), beta, forbidden=(class_weights,), exercise=2)
        if problem:
            return verdict(False, "", problem)
        want = effective_number_weights(y, beta)
        try:
            got = {int(c): float(w) for c, w in dict(got).items()}
        except (TypeError, ValueError):
            return verdict(False, "", _("return a dict {{class: weight}}, not {type}.").format(
                type=type(got).__name__))
        if set(got) != set(want):
            return verdict(False, "", _("for {name}, give a weight to exactly the classes present in y, "
                                        "{present}; you gave {given}.").format(name=_(name), present=sorted(want),
                                                                               given=sorted(got)))
        wrong = [c for c in want if not np.isclose(got[c], want[c], rtol=1e-6)]
        if wrong:
            inverse = {int(c): len(y) / (len(want) * int(n)) for c, n in zip(*np.unique(y, return_counts=True))}
            slip = (_(" These are inverse-frequency weights (n / (K n_c)); here each class counts by its "
                      "effective number.") if all(np.isclose(got[c], inverse[c]) for c in want) else "")
            return verdict(False, "", _("for {name} and beta {beta:g}, the weight of class {digit} is not "
                                        "right.{slip} exercises.show_hint(2) gives a hint.").format(
                                            name=_(name), beta=beta, digit=wrong[0], slip=slip))
    return verdict(True, _("beta 0 weighs every class alike; as beta nears 1 the weights near inverse "
                           "frequencies, so beta says how much a rare class's extra images are worth."), "")


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


def _transplant_problem(model, base, blocks, n_classes):
    """What is wrong with ``model`` as the network with ``blocks`` copied from ``base`` and frozen, or None."""
    import keras

    if not isinstance(model, keras.Model):
        return _("return a Keras model, not {type}.").format(type=type(model).__name__)
    if model is base:
        return _("you returned the task-A network itself; the transplant is a new network that gets copies of "
                 "A's blocks.")
    names = {layer.name for layer in model.layers}
    needed = [name for block in ("block1", "block2", "features", "head") for name in BLOCKS[block]]
    missing = [n for n in needed if n not in names]
    if missing:
        return _("your network has no layers named {names}; build it with build_cnn so the names match "
                 "A's.").format(names=missing)
    shared = [n for n in needed if model.get_layer(n) is base.get_layer(n)]
    if shared:
        return _("your network shares the layers {names} with A (the same objects): training it on B would "
                 "change A too. Copy weights into a new network instead.").format(names=shared)
    if model.output_shape[-1] != n_classes:
        return _("task B here has {classes} classes; your head has {outputs} outputs. The head is always new, "
                 "as wide as B's classes.").format(classes=n_classes, outputs=model.output_shape[-1])
    copied = [n for block in blocks for n in BLOCKS[block] if base.get_layer(n).weights]
    differ = [n for n in copied if not _same(model.get_layer(n).get_weights(), base.get_layer(n).get_weights())]
    if differ:
        return _("{names} must be copies of A's layers (BatchNorm statistics too).").format(names=differ)
    thawed = [n for n in copied if model.get_layer(n).trainable]
    if thawed:
        return _("freeze the copied layers {names} (layer.trainable = False): the transplant is frozen, not "
                 "fine-tuned (AnB+).").format(names=thawed)
    fresh = [layer.name for layer in model.layers if layer.weights and layer.name not in copied]
    reused = [n for n in fresh if base.get_layer(n).weights and any(
        x.shape == y.shape and np.array_equal(x, y)
        for x, y in zip(model.get_layer(n).get_weights(), base.get_layer(n).get_weights()))]
    if reused:
        return _("{names} must start fresh (random weights, as build_cnn makes them): only the blocks named "
                 "come from A.").format(names=reused)
    frozen = [n for n in fresh if not model.get_layer(n).trainable]
    if frozen:
        return _("the fresh layers {names} must train on B: leave them trainable.").format(names=frozen)
    return None


def check_transplant(my_transplant):
    """Exercise 3: ``my_transplant(base, blocks, n_classes)`` -> a new course CNN with ``n_classes``
    outputs whose layers in the named ``blocks`` are frozen copies of ``base``'s and whose other
    layers start fresh and train."""
    base = task_a_network()
    for blocks, n_classes in TRANSPLANT_CASES:
        got, problem = _attempt(my_transplant, base, blocks, n_classes, forbidden=(transplant, copied_layers),
                                exercise=3)
        if problem:
            return verdict(False, "", problem)
        problem = _transplant_problem(got, base, blocks, n_classes)
        if problem:
            return verdict(False, "", _("for blocks {blocks} and {classes} classes: {problem}").format(
                blocks=list(blocks), classes=n_classes, problem=problem))
    return verdict(True, _("your networks copy and freeze exactly the blocks named, wherever they sit, start "
                           "the rest fresh and give B its own head: a middle block alone is Yosinski's test of "
                           "co-adapted layers."), "")
