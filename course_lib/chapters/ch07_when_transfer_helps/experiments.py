"""Chapter 07's experiments: when transfer helps, and when it hurts.

==========================  ==================================================================
experiment                  what it measures
==========================  ==================================================================
``label_budget``            scratch, head-only and full fine-tuning of the ``mnist`` source on
                            a near (``digits``) and a far (``mnist_m``) target, 1-50 labels
                            per class
``negative_transfer``       a source trained on shuffled labels against scratch and the real
                            source, and the probe that warns before any training
``overfitting``             a tiny target: no fix, early stopping, augmentation, both; the
                            arm chosen on the validation split, tested once
``class_imbalance``         40 labels of digits 0-4, 3 of 5-9: as sampled, oversampled, class
                            weights; accuracy per class
``label_mismatch``          a target with only digits 0-4 and a ten-way source head
``layer_transferability``   Yosinski et al. (2014): the first k blocks of a digits 0-4 network
                            copied into one for 5-9, frozen (AnB) or fine-tuned (AnB+), and
                            the BnB control
==========================  ==================================================================

Every training run is a fixed number of Adam steps (``STEPS``, or ``OVERFITTING_STEPS``)
of ``BATCH`` images, whatever the number of labels, so budgets cost the same time and
nothing is tuned on the test split. Test splits give each arm's number once.
"""

import dataclasses

import numpy as np

from course_lib.core import checks
from course_lib.core.cnn import FEATURE_LAYER, build_cnn
from course_lib.core.data import N_CLASSES, class_subset, few_shot, load_domain, validation_split
from course_lib.core.evaluation import accuracy, layer_output, per_class_accuracy, predict, predicted_labels
from course_lib.core.layers import split, with_new_head
from course_lib.core.pretrained import SOURCE, Recipe, trained
from course_lib.core.training import STEPS_PER_EPOCH, fit
from course_lib.experiments import Measured, Stopwatch, experiment
from course_lib.methods import fine_tuning, target_data, transferability

#: Gradient steps of every training run (but the overfitting study's), and images per step.
STEPS = 150
BATCH = 32
#: Adam's learning rate per way of starting: a new head learns faster than a whole network.
LEARNING_RATES = {"scratch": 1e-3, "full": 1e-3, "head": 3e-3, "new_head": 3e-3}

# label_budget
TARGETS = {"near": "digits", "far": "mnist_m"}
BUDGETS = (1, 2, 5, 10, 20, 50)
STRATEGIES = ("scratch", "head", "full")

# negative_transfer
NEGATIVE_TARGET = "digits"
NEGATIVE_PER_CLASS = 10
#: mnist training images the shuffled-label source learns from (a quarter of the source's:
#: it is only a bad example, and costs a quarter of the time).
SHUFFLED_IMAGES = 1000
TRANSFERS = {"scratch": (None, "scratch"), "shuffled:new_head": ("shuffled", "new_head"),
             "shuffled:full": ("shuffled", "full"), "source:new_head": ("source", "new_head"),
             "source:full": ("source", "full")}
PROBES = ("probe:source", "probe:shuffled", "probe:random")

# overfitting
OVERFITTING_TARGET = "digits"
TRAIN_PER_CLASS = 10
VAL_PER_CLASS = 5
OVERFITTING_STEPS = 400
OVERFITTING_ARMS = ("plain", "early_stopping", "augmented", "augmented+early_stopping")

# class_imbalance
IMBALANCE_TARGET = "digits"
COMMON, RARE = (0, 1, 2, 3, 4), (5, 6, 7, 8, 9)
COMMON_COUNT, RARE_COUNT = 40, 3
SCHEMES = ("as_sampled", "oversampled", "class_weighted")

# label_mismatch
MISMATCH_TARGET = "digits"
TARGET_CLASSES = (0, 1, 2, 3, 4)

# layer_transferability
TASK_A, TASK_B = (0, 1, 2, 3, 4), (5, 6, 7, 8, 9)
TASK_B_PER_CLASS = 20
KS = (0, 1, 2, 3)

#: The trained networks the chapter loads for seed 0 (``tools.warm`` trains them before class).
SHUFFLED_SOURCE = Recipe(shuffled_labels=True, images=SHUFFLED_IMAGES)
TASK_A_SOURCE = Recipe(classes=TASK_A)
RECIPES = (SOURCE, SHUFFLED_SOURCE, TASK_A_SOURCE)


def for_seed(recipe, seed):
    """``recipe`` with its seed set to ``seed``."""
    return dataclasses.replace(recipe, seed=seed)


def _label(progress, name):
    return name if progress else None


# ----------------------------------------------------------------------------- ways to start

def train_new_head(source, train, n_classes=N_CLASSES, seed=0, steps=STEPS, loss=None, progress=None):
    """A new head on ``source``'s frozen features, trained on their features computed once.

    The same as training ``fine_tuning.build("new_head", source)`` on the images (a frozen extractor, in
    inference mode, gives the same features at every step), in a fraction of the time.

    Returns:
        a ``keras.Model``: ``source``'s layers up to its features (frozen), then the new head.
    """
    import keras

    extractor, classifier = split(with_new_head(source, n_classes, seed=seed), FEATURE_LAYER, seed=seed)
    x, y = train
    fit(classifier, (layer_output(extractor, FEATURE_LAYER, x), y), steps=steps, batch_size=BATCH,
        learning_rate=LEARNING_RATES["new_head"], seed=seed, loss=loss, progress=progress)
    extractor.trainable = False
    return keras.Model(extractor.input, classifier(extractor.output), name="new_head")


def train_start(strategy, source, train, n_classes=N_CLASSES, seed=0, steps=STEPS, progress=None):
    """Start a network one of the ways of ``LEARNING_RATES`` (``methods.fine_tuning.build``: from
    scratch, the source fine-tuned whole or head only, or a new head on its frozen features) and
    train it ``steps`` steps on ``train``; returns it."""
    checks.choice(strategy, "strategy", tuple(LEARNING_RATES))
    if strategy == "new_head":
        return train_new_head(source, train, n_classes, seed=seed, steps=steps, progress=progress)
    model = fine_tuning.build(strategy, source, n_classes, seed=seed)
    fit(model, train, steps=steps, batch_size=BATCH, learning_rate=LEARNING_RATES[strategy],
        seed=seed, progress=progress)
    return model


# ----------------------------------------------------------------------------- label_budget

def target_task(target, n_per_class, seed=0):
    """``(train, test)`` of ``target`` in grey: ``n_per_class`` labelled training images per
    digit, and the whole test split."""
    x, y = load_domain(target, "train", seed=seed, channels=1)
    return few_shot(x, y, n_per_class, seed=seed), load_domain(target, "test", seed=seed, channels=1)


def budget_arm(target, strategy, n_per_class):
    """The arm's name, e.g. ``"digits:full@5"``."""
    return f"{target}:{strategy}@{n_per_class}"


@experiment("target_accuracy", "mnist source -> near target (digits) and far target (mnist_m) "
                               "in grey, 1 to 50 labels per class: scratch, head-only, full fine-tuning")
def label_budget(seed, targets=tuple(TARGETS.values()), budgets=BUDGETS, strategies=STRATEGIES,
                 steps=STEPS, progress=False):
    """Every strategy at every budget on every target, ``steps`` steps each.

    Returns:
        ``{"<target>:<strategy>@<labels per class>": Measured(target test accuracy, seconds)}``.
    """
    source = trained(for_seed(SOURCE, seed))
    measured = {}
    for target in targets:
        for n in budgets:
            train, test = target_task(target, n, seed)
            for strategy in strategies:
                name = budget_arm(target, strategy, n)
                with Stopwatch() as t:
                    model = train_start(strategy, source, train, seed=seed, steps=steps,
                                        progress=_label(progress, name))
                    value = accuracy(model, *test)
                measured[name] = Measured(value, t.seconds)
    return measured


def budget_gaps(values, target, strategy="full", baseline="scratch"):
    """``{labels per class: value(strategy) - value(baseline)}`` on ``target``, by budget.

    Args:
        values: ``{arm: number}`` (a results file's medians, or one run's values).
    """
    found = {}
    for name, value in values.items():
        if ":" not in name or "@" not in name:
            raise ValueError(f"arm {name!r} is not '<target>:<strategy>@<labels per class>'")
        where, rest = name.split(":", 1)
        arm_strategy, n = rest.rsplit("@", 1)
        if where == target and arm_strategy == strategy and budget_arm(target, baseline, n) in values:
            found[int(n)] = float(value) - float(values[budget_arm(target, baseline, n)])
    if not found:
        raise ValueError(f"no budget has both {strategy!r} and {baseline!r} on {target!r}")
    return dict(sorted(found.items()))


def catch_up(gaps, tolerance):
    """The smallest budget from which every gap is at most ``tolerance``, or None."""
    budgets = sorted(gaps)
    return next((n for i, n in enumerate(budgets) if all(gaps[m] <= tolerance for m in budgets[i:])),
                None)


def _full_minus_scratch(report, target, n):
    return report.gains(budget_arm(target, "full", n), [budget_arm(target, "scratch", n)])


@label_budget.claim("near target, 1 label per class: full fine-tuning beats scratch by more than 15 points")
def _(report):
    return min(_full_minus_scratch(report, "digits", 1)) > 0.15


@label_budget.claim("near target: the gain of full fine-tuning over scratch shrinks by more than "
                    "10 points from 1 to 10 labels per class")
def _(report):
    return min(a - b for a, b in zip(_full_minus_scratch(report, "digits", 1),
                                     _full_minus_scratch(report, "digits", 10))) > 0.10


@label_budget.claim("at 10 labels per class, full fine-tuning gains more over scratch on the far "
                    "target than on the near one")
def _(report):
    return min(f - n for f, n in zip(_full_minus_scratch(report, "mnist_m", 10),
                                     _full_minus_scratch(report, "digits", 10))) > 0


@label_budget.claim("far target, 50 labels per class: head-only fine-tuning falls behind scratch")
def _(report):
    return max(report.gains("mnist_m:head@50", ["mnist_m:scratch@50"])) < 0


# ----------------------------------------------------------------------------- negative_transfer

@experiment("target_accuracy", "digits with 10 labels per class: scratch against a source trained on "
                               "shuffled mnist labels and the real source (new head or full fine-tuning); "
                               "probes of their features (leave-one-out, on the labelled images only)")
def negative_transfer(seed, arms=None, steps=STEPS, progress=False):
    """Every arm once (``arms``: a subset of ``TRANSFERS`` and ``PROBES``, default all).

    ``probe:*`` arms are ``transferability.probe_accuracy`` of each network's features on the
    labelled target images; the others are ``digits`` test accuracies.

    Returns:
        ``{arm: Measured(value, seconds)}``.
    """
    known = (*TRANSFERS, *PROBES)
    arms = known if arms is None else tuple(arms)
    unknown = [a for a in arms if a not in known]
    if unknown:
        raise ValueError(f"unknown arm {unknown}; allowed: {', '.join(known)}")
    train, test = target_task(NEGATIVE_TARGET, NEGATIVE_PER_CLASS, seed)
    sources = {"source": lambda: trained(for_seed(SOURCE, seed)),
               # its head learned shuffled labels, which name no digit: it gets a new one
               "shuffled": lambda: with_new_head(trained(for_seed(SHUFFLED_SOURCE, seed)), seed=seed),
               "random": lambda: build_cnn(seed=seed, name="untrained")}
    measured = {}
    for name in arms:
        with Stopwatch() as t:
            if name in PROBES:
                network = sources[name.split(":")[1]]()
                value = transferability.probe_accuracy(layer_output(network, FEATURE_LAYER, train[0]),
                                                       train[1])
            else:
                source, strategy = TRANSFERS[name]
                model = train_start(strategy, sources[source]() if source else None, train, seed=seed,
                                    steps=steps, progress=_label(progress, name))
                value = accuracy(model, *test)
        measured[name] = Measured(value, t.seconds)
    return measured


@negative_transfer.claim("negative transfer: a new head on the shuffled source's frozen features "
                         "scores more than 3 points below scratch")
def _(report):
    return max(report.gains("shuffled:new_head", ["scratch"])) < -0.03


@negative_transfer.claim("the same recipe on the real source's features scores more than 5 points "
                         "above the shuffled source's")
def _(report):
    return min(report.gains("source:new_head", ["shuffled:new_head"])) > 0.05


@negative_transfer.claim("fine-tuning every layer of the shuffled source ends within 3 points of scratch")
def _(report):
    return max(abs(g) for g in report.gains("shuffled:full", ["scratch"])) < 0.03


@negative_transfer.claim("the probe ranks the sources before any training: the real source's features "
                         "score more than 3 points above the shuffled source's")
def _(report):
    return min(report.gains("probe:source", ["probe:shuffled"])) > 0.03


#: The networks ``transferability_scores`` scores: the real source, the shuffled one (its own
#: head, which LEEP reads) and an untrained CNN.
SCORED = ("source", "shuffled", "random")
SCORES = ("probe", "LogME", "LEEP")


def scored_networks(seed):
    """``{name: network}`` of ``SCORED`` for ``seed``, each with its own head."""
    return {"source": trained(for_seed(SOURCE, seed)), "shuffled": trained(for_seed(SHUFFLED_SOURCE, seed)),
            "random": build_cnn(seed=seed, name="untrained")}


@experiment("transferability_score", "digits with 10 labels per class: the probe, LogME (on the frozen "
                                     "features) and LEEP (on the source head's output) of the real source, "
                                     "the shuffled one and an untrained CNN, on the labelled images only")
def transferability_scores(seed):
    """Each score of each network of ``SCORED`` on ``negative_transfer``'s labelled images.

    Returns:
        ``{"<score>:<network>": Measured(score, seconds)}`` for ``SCORES`` x ``SCORED``.
    """
    train, _ = target_task(NEGATIVE_TARGET, NEGATIVE_PER_CLASS, seed)
    measured = {}
    for name, network in scored_networks(seed).items():
        with Stopwatch() as t:
            features = layer_output(network, FEATURE_LAYER, train[0])
        for score, value in (("probe", lambda: transferability.probe_accuracy(features, train[1])),
                             ("LogME", lambda: transferability.logme(features, train[1])),
                             ("LEEP", lambda: transferability.leep(predict(network, train[0]), train[1]))):
            with Stopwatch() as u:
                found = value()
            measured[f"{score}:{name}"] = Measured(found, t.seconds + u.seconds)
    return measured


@transferability_scores.claim("LogME ranks the real source above the shuffled one by more than 0.1 "
                              "on every seed, as the probe does")
def _(report):
    return min(report.gains("LogME:source", ["LogME:shuffled"])) > 0.1


@transferability_scores.claim("LEEP warns on every seed: the shuffled source's head scores within 0.1 of "
                              "log(1/10), what a head that knows nothing scores, the real source's more "
                              "than 1 above it")
def _(report):
    floor = float(np.log(1 / N_CLASSES))
    return (max(v - floor for v in report.values("LEEP:shuffled")) < 0.1
            and min(v - floor for v in report.values("LEEP:source")) > 1.0)


# ----------------------------------------------------------------------------- overfitting

def overfitting_data(seed):
    """``(train, val, test)`` of ``digits``: the labelled images split into ``TRAIN_PER_CLASS``
    to train on and ``VAL_PER_CLASS`` to choose with, per class; and the test split."""
    labelled = few_shot(*load_domain(OVERFITTING_TARGET, "train", seed=seed),
                        TRAIN_PER_CLASS + VAL_PER_CLASS, seed=seed)
    train, val = validation_split(*labelled, VAL_PER_CLASS, seed=seed)
    return train, val, load_domain(OVERFITTING_TARGET, "test", seed=seed)


@dataclasses.dataclass
class OverfittingRun:
    """One arm of ``overfitting``: the trained CNN, its Keras history (one entry per epoch of
    ``training.STEPS_PER_EPOCH`` steps), the epoch early stopping went back to (counted from
    0; None without early stopping), its validation accuracy."""

    model: object
    history: dict
    best_epoch: object
    validation: float

    @property
    def steps(self):
        """Gradient steps it trained (fewer than asked when early stopping stopped it)."""
        return len(self.history["loss"]) * STEPS_PER_EPOCH


def train_overfitting_arm(arm, train, val, seed=0, steps=OVERFITTING_STEPS, progress=None):
    """Train one arm of ``overfitting`` from scratch, watching the validation split.

    Returns:
        an ``OverfittingRun``; ``model`` is the plain CNN (augmentation layers act only in
        training, so they are not part of it).
    """
    if arm not in OVERFITTING_ARMS:
        raise ValueError(f"unknown arm {arm!r}; allowed: {', '.join(OVERFITTING_ARMS)}")
    model = fine_tuning.build("scratch", seed=seed)
    augmented = arm.startswith("augmented")
    trainee = target_data.with_augmentation(model, target_data.augmenter(seed=seed)) if augmented else model
    stopper = target_data.early_stopping() if arm.endswith("early_stopping") else None
    history = fit(trainee, train, steps=steps, batch_size=BATCH, learning_rate=LEARNING_RATES["scratch"],
                  seed=seed, validation_data=val, callbacks=[stopper] if stopper else [], progress=progress)
    return OverfittingRun(model, history.history, stopper.best_epoch if stopper else None,
                          accuracy(model, *val))


def choose(runs):
    """The arm with the highest validation accuracy (the first listed, on a tie)."""
    return max(runs, key=lambda arm: runs[arm].validation)


@experiment("accuracy_or_steps", "digits from scratch with 10 labels per class to train on and 5 to "
                                 "validate with: no fix, early stopping, augmentation, both; the arm "
                                 "with the best validation accuracy, tested once")
def overfitting(seed, arms=OVERFITTING_ARMS, steps=OVERFITTING_STEPS, runs=None, progress=False):
    """Every arm once, and the one chosen on the validation split.

    Args:
        runs: a dict that receives ``{arm: OverfittingRun}`` (for curves), if given.

    Returns:
        ``{arm: test accuracy, "<arm>:validation": its validation accuracy, "<arm>:train":
        its training accuracy (inference mode), "<arm>:steps": the steps it trained,
        "chosen": the test accuracy of the arm with the best validation accuracy}``, each a
        ``Measured``.
    """
    train, val, test = overfitting_data(seed)
    done = {} if runs is None else runs
    measured = {}
    for arm in arms:
        with Stopwatch() as t:
            done[arm] = train_overfitting_arm(arm, train, val, seed=seed, steps=steps,
                                              progress=_label(progress, arm))
        measured[f"{arm}:train"] = Measured(accuracy(done[arm].model, *train), 0.0)
        measured[f"{arm}:validation"] = Measured(done[arm].validation, 0.0)
        measured[f"{arm}:steps"] = Measured(done[arm].steps, 0.0)
        measured[arm] = Measured(accuracy(done[arm].model, *test), t.seconds)
    measured["chosen"] = measured[choose({arm: done[arm] for arm in arms})]
    return measured


@overfitting.claim("overfitting: with no remedy the CNN gets every training image right, and its test "
                   "accuracy is more than 4 points lower")
def _(report):
    return min(report.values("plain:train")) == 1.0 and max(report.values("plain")) < 1.0 - 0.04


@overfitting.claim("early stopping ends within 2 points of the full run's test accuracy")
def _(report):
    return max(abs(g) for g in report.gains("early_stopping", ["plain"])) < 0.02


@overfitting.claim("choosing on the validation split never cost more than 1 point of test accuracy "
                   "against the run with no remedy")
def _(report):
    return min(report.gains("chosen", ["plain"])) > -0.01


# ----------------------------------------------------------------------------- class_imbalance

IMBALANCE_COUNTS = {**{c: COMMON_COUNT for c in COMMON}, **{c: RARE_COUNT for c in RARE}}


@experiment("target_accuracy", "digits with 40 labels of each of 0-4 and 3 of each of 5-9: a new head on "
                               "the mnist source's features, trained as sampled, on oversampled data, "
                               "with class weights; test accuracy per class")
def class_imbalance(seed, schemes=SCHEMES, steps=STEPS, progress=False):
    """A new head on the source's frozen features per scheme; accuracy per class on the test split.

    Returns:
        ``{"<scheme>:<digit>" | "<scheme>:rare" | "<scheme>:common" | "<scheme>:balanced":
        Measured(test accuracy, seconds)}``.
    """
    unknown = [s for s in schemes if s not in SCHEMES]
    if unknown:
        raise ValueError(f"unknown scheme {unknown}; allowed: {', '.join(SCHEMES)}")
    source = trained(for_seed(SOURCE, seed))
    x, y = load_domain(IMBALANCE_TARGET, "train", seed=seed)
    x_test, y_test = load_domain(IMBALANCE_TARGET, "test", seed=seed)
    train = target_data.imbalanced_subset(x, y, IMBALANCE_COUNTS, seed=seed)
    measured = {}
    for scheme in schemes:
        with Stopwatch() as t:
            data = target_data.balanced_resample(*train, seed=seed) if scheme == "oversampled" else train
            loss = (target_data.ClassWeightedLoss(target_data.class_weights(train[1]), N_CLASSES)
                    if scheme == "class_weighted" else None)
            head = train_new_head(source, data, seed=seed, steps=steps, loss=loss,
                                  progress=_label(progress, scheme))
            per_class = per_class_accuracy(y_test, predicted_labels(head, x_test))
        for c in range(N_CLASSES):
            measured[f"{scheme}:{c}"] = Measured(per_class[c], t.seconds)
        for group, classes in (("rare", RARE), ("common", COMMON), ("balanced", range(N_CLASSES))):
            measured[f"{scheme}:{group}"] = Measured(float(np.mean(per_class[list(classes)])), t.seconds)
    return measured


@class_imbalance.claim("as sampled, the rare digits score more than 10 points below the common ones")
def _(report):
    return max(report.gains("as_sampled:rare", ["as_sampled:common"])) < -0.10


def _least_gain(report, group):
    return min(min(report.gains(f"{scheme}:{group}", [f"as_sampled:{group}"]))
               for scheme in ("oversampled", "class_weighted"))


@class_imbalance.claim("oversampling and class weights each raise the rare digits' accuracy by more "
                       "than 15 points")
def _(report):
    return _least_gain(report, "rare") > 0.15


@class_imbalance.claim("oversampling and class weights each raise the balanced accuracy (the mean over "
                       "classes) by more than 8 points")
def _(report):
    return _least_gain(report, "balanced") > 0.08


# ----------------------------------------------------------------------------- label_mismatch

@experiment("share_or_accuracy", "digits test images of 0-4 only, the ten-way mnist source model: "
                                 "share predicted as 5-9, accuracy of its arg-max, accuracy restricted to 0-4")
def label_mismatch(seed):
    """No training: the source model's predictions on a target with fewer classes.

    Returns:
        ``{"outside_share": share of images predicted as a digit the target lacks,
        "ten_way": accuracy of the plain arg-max, "restricted": accuracy of the arg-max over
        the target's classes}``, each a ``Measured``.
    """
    source = trained(for_seed(SOURCE, seed))
    with Stopwatch() as t:
        x, y = class_subset(*load_domain(MISMATCH_TARGET, "test", seed=seed), TARGET_CLASSES, relabel=False)
        probabilities = predict(source, x)
    measured = {"outside_share": target_data.outside_share(probabilities, TARGET_CLASSES),
                "ten_way": float(np.mean(probabilities.argmax(axis=1) == y)),
                "restricted": float(np.mean(target_data.restrict_predictions(probabilities, TARGET_CLASSES) == y))}
    return {arm: Measured(value, t.seconds) for arm, value in measured.items()}


@label_mismatch.claim("more than 2 % of the images are predicted as a digit the target does not have")
def _(report):
    return min(report.values("outside_share")) > 0.02


@label_mismatch.claim("restricting the arg-max to the target's classes gains more than 2 points")
def _(report):
    return min(report.gains("restricted", ["ten_way"])) > 0.02


# ----------------------------------------------------------------------------- layer_transferability

def task_b(seed, n_per_class=TASK_B_PER_CLASS):
    """``(train, test)`` of task B (mnist digits 5-9, relabelled 0-4): ``n_per_class`` labelled
    training images per digit, and every test image of those digits."""
    x, y = class_subset(*load_domain("mnist", "train", seed=seed), TASK_B)
    return few_shot(x, y, n_per_class, seed=seed), class_subset(*load_domain("mnist", "test", seed=seed), TASK_B)


def transfer_arm(mode, k):
    """The arm's name: ``"frozen@2"`` (AnB), ``"fine-tuned@2"`` (AnB+), ``"bnb@2"`` (BnB)."""
    return f"{mode}@{k}"


@experiment("target_accuracy", "mnist digits 0-4 (task A) -> 5-9 (task B, 20 labels per class): the "
                               "first k blocks of the A network copied, frozen (AnB) or fine-tuned "
                               "(AnB+), k = 1..3, against scratch (k = 0); and BnB, blocks copied "
                               "frozen from B's own scratch network")
def layer_transferability(seed, frozen_ks=KS[1:], fine_tuned_ks=KS[1:], bnb_ks=KS[1:], steps=STEPS,
                          progress=False):
    """Yosinski's curve at small scale: task-B test accuracy for each k and each way.

    Args:
        frozen_ks, fine_tuned_ks, bnb_ks: the k (1 to 3) to run AnB, AnB+ and BnB for.
            Scratch (k = 0, nothing copied, the start of every curve) always runs.

    Returns:
        ``{"scratch" | "frozen@k" | "fine-tuned@k" | "bnb@k": Measured(task B test accuracy,
        seconds)}``.
    """
    train, test = task_b(seed)
    runs = [("scratch", "A", 0, False)]
    runs += [(transfer_arm("frozen", k), "A", k, False) for k in frozen_ks]
    runs += [(transfer_arm("fine-tuned", k), "A", k, True) for k in fine_tuned_ks]
    runs += [(transfer_arm("bnb", k), "scratch", k, False) for k in bnb_ks]
    bases = {"A": trained(for_seed(TASK_A_SOURCE, seed))}
    measured = {}
    for name, base, k, fine_tune in runs:
        if transferability.check_k(k) == 0 and name != "scratch":
            raise ValueError(f"{name}: k = 0 copies nothing, it is the scratch run; give k from 1 to 3")
        with Stopwatch() as t:
            model = transferability.transplant(bases[base], k, len(TASK_B), fine_tune=fine_tune, seed=seed)
            fit(model, train, steps=steps, batch_size=BATCH, learning_rate=LEARNING_RATES["scratch"],
                seed=seed, progress=_label(progress, name))
            value = accuracy(model, *test)
        measured[name] = Measured(value, t.seconds)
        bases.setdefault(name, model)
    return measured


@layer_transferability.claim("general low layers: blocks 1-2 of the A network, frozen, do within "
                             "3 points of scratch or better")
def _(report):
    return min(report.gains("frozen@2", ["scratch"])) > -0.03


@layer_transferability.claim("a specific top layer: freezing the feature layer too costs more than "
                             "10 points against k = 2")
def _(report):
    return max(report.gains("frozen@3", ["frozen@2"])) < -0.10


@layer_transferability.claim("fine-tuning the copied layers instead (AnB+) recovers: k = 3 fine-tuned "
                             "beats k = 3 frozen by more than 10 points")
def _(report):
    return min(report.gains("fine-tuned@3", ["frozen@3"])) > 0.10


@layer_transferability.claim("the BnB control: B's own three blocks, frozen, score more than 10 points "
                             "above A's (the fall at k = 3 is specificity, not fragile co-adaptation)")
def _(report):
    return min(report.gains("bnb@3", ["frozen@3"])) > 0.10


@layer_transferability.claim("no co-adaptation loss at this scale: BnB stays within 2 points of scratch "
                             "at every k")
def _(report):
    return max(abs(g) for k in KS[1:] for g in report.gains(transfer_arm("bnb", k), ["scratch"])) < 0.02


@layer_transferability.claim("no lasting boost either: AnB+ at k = 3 ends within 3 points of scratch")
def _(report):
    return max(abs(g) for g in report.gains(transfer_arm("fine-tuned", 3), ["scratch"])) < 0.03
