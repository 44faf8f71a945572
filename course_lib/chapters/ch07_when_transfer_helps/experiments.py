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
from course_lib.experiments import Measured, Report, Stopwatch, experiment
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
#: The trained arms: ``(arm, source)``, the way to start and the network it starts from (None: none).
TRANSFERS = (("scratch", None), ("new_head", "shuffled"), ("full", "shuffled"), ("new_head", "source"),
             ("full", "source"))
#: The networks compared without training: the real source, the shuffled one and an untrained CNN.
NETWORKS = ("source", "shuffled", "random")

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


@experiment("target_accuracy", "mnist source -> near target (digits) and far target (mnist_m) "
                               "in grey, 1 to 50 labels per class: scratch, head-only, full fine-tuning")
def label_budget(seed, targets=tuple(TARGETS.values()), budgets=BUDGETS, strategies=STRATEGIES,
                 steps=STEPS, progress=False):
    """Every strategy at every budget on every target, ``steps`` steps each.

    Returns:
        a ``Measured`` per run: the arm is the strategy, with fields ``domain`` (the target) and
        ``labels_per_class``; its value the target test accuracy.
    """
    source = trained(for_seed(SOURCE, seed))
    measured = []
    for target in targets:
        for n in budgets:
            train, test = target_task(target, n, seed)
            for strategy in strategies:
                with Stopwatch() as t:
                    model = train_start(strategy, source, train, seed=seed, steps=steps,
                                        progress=_label(progress, f"{strategy}, {target}, {n} per class"))
                    value = accuracy(model, *test)
                measured.append(Measured(strategy, value, t.seconds, domain=target, labels_per_class=n))
    return measured


def budget_gaps(found, target, strategy="full", baseline="scratch"):
    """``{labels per class: value(strategy) - value(baseline)}`` on ``target``, at every budget
    that has both, smallest first.

    Args:
        found: ``label_budget``'s ``Report`` (its medians over seeds are compared) or one run's
            ``Measurements`` (its values).
    """
    if isinstance(found, Report):
        value, records = found.median, found.records
    else:
        value, records = found.value, [m.record(found.metric) for m in found]

    def budgets(arm):
        return {r["labels_per_class"] for r in records if r["arm"] == arm and r.get("domain") == target}

    both = sorted(budgets(strategy) & budgets(baseline))
    if not both:
        raise ValueError(f"no budget has both {strategy!r} and {baseline!r} on {target!r}")
    return {n: value(strategy, domain=target, labels_per_class=n) - value(baseline, domain=target, labels_per_class=n)
            for n in both}


def catch_up(gaps, tolerance):
    """The smallest budget from which every gap is at most ``tolerance``, or None."""
    budgets = sorted(gaps)
    return next((n for i, n in enumerate(budgets) if all(gaps[m] <= tolerance for m in budgets[i:])),
                None)


def _full_minus_scratch(report, target, n):
    return report.gains("full", ["scratch"], domain=target, labels_per_class=n)


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
    return max(report.gains("head", ["scratch"], domain="mnist_m", labels_per_class=50)) < 0


# ----------------------------------------------------------------------------- negative_transfer

@experiment("target_accuracy", "digits with 10 labels per class: scratch against a source trained on "
                               "shuffled mnist labels and the real source (new head or full fine-tuning); "
                               "probes of their features (leave-one-out, on the labelled images only)")
def negative_transfer(seed, transfers=TRANSFERS, probed=NETWORKS, steps=STEPS, progress=False):
    """Every trained arm of ``transfers`` (some of ``TRANSFERS``) once, and the probe of each
    network of ``probed`` (some of ``NETWORKS``).

    Returns:
        a ``Measured`` per run: a trained arm's ``digits`` test accuracy (field ``source``: the
        network it starts from, none for scratch); a ``probe`` arm's
        ``transferability.probe_accuracy`` of the network's features on the labelled target
        images (metric ``probe_accuracy``, field ``source``).
    """
    unknown = [t for t in transfers if tuple(t) not in TRANSFERS]
    if unknown:
        raise ValueError(f"unknown (arm, source) {unknown}; allowed: {', '.join(map(str, TRANSFERS))}")
    for name in probed:
        checks.choice(name, "probed network", NETWORKS)
    train, test = target_task(NEGATIVE_TARGET, NEGATIVE_PER_CLASS, seed)
    sources = {"source": lambda: trained(for_seed(SOURCE, seed)),
               # its head learned shuffled labels, which name no digit: it gets a new one
               "shuffled": lambda: with_new_head(trained(for_seed(SHUFFLED_SOURCE, seed)), seed=seed),
               "random": lambda: build_cnn(seed=seed, name="untrained")}
    measured = []
    for strategy, source in transfers:
        with Stopwatch() as t:
            model = train_start(strategy, sources[source]() if source else None, train, seed=seed,
                                steps=steps, progress=_label(progress, f"{strategy}, {source}" if source else strategy))
            value = accuracy(model, *test)
        fields = {"source": source} if source else {}
        measured.append(Measured(strategy, value, t.seconds, **fields))
    for name in probed:
        with Stopwatch() as t:
            value = transferability.probe_accuracy(layer_output(sources[name](), FEATURE_LAYER, train[0]),
                                                   train[1])
        measured.append(Measured("probe", value, t.seconds, metric="probe_accuracy", source=name))
    return measured


@negative_transfer.claim("negative transfer: a new head on the shuffled source's frozen features "
                         "scores more than 3 points below scratch")
def _(report):
    return max(report.gains({"arm": "new_head", "source": "shuffled"}, ["scratch"])) < -0.03


@negative_transfer.claim("the same recipe on the real source's features scores more than 5 points "
                         "above the shuffled source's")
def _(report):
    return min(report.gains({"arm": "new_head", "source": "source"},
                            [{"arm": "new_head", "source": "shuffled"}])) > 0.05


@negative_transfer.claim("fine-tuning every layer of the shuffled source ends within 3 points of scratch")
def _(report):
    return max(abs(g) for g in report.gains({"arm": "full", "source": "shuffled"}, ["scratch"])) < 0.03


@negative_transfer.claim("the probe ranks the sources before any training: the real source's features "
                         "score more than 3 points above the shuffled source's")
def _(report):
    return min(report.gains({"arm": "probe", "source": "source"}, [{"arm": "probe", "source": "shuffled"}],
                            metric="probe_accuracy")) > 0.03


#: The scores ``transferability_scores`` gives each network of ``NETWORKS``.
SCORES = ("probe", "LogME", "LEEP")


def scored_networks(seed):
    """``{name: network}`` of ``NETWORKS`` for ``seed``, each with its own head (the shuffled
    source's too, which LEEP reads)."""
    return {"source": trained(for_seed(SOURCE, seed)), "shuffled": trained(for_seed(SHUFFLED_SOURCE, seed)),
            "random": build_cnn(seed=seed, name="untrained")}


@experiment("transferability_score", "digits with 10 labels per class: the probe, LogME (on the frozen "
                                     "features) and LEEP (on the source head's output) of the real source, "
                                     "the shuffled one and an untrained CNN, on the labelled images only")
def transferability_scores(seed):
    """Each score of each network of ``NETWORKS`` on ``negative_transfer``'s labelled images.

    Returns:
        a ``Measured`` per score (the arm, one of ``SCORES``) and network (field ``source``).
    """
    train, _ = target_task(NEGATIVE_TARGET, NEGATIVE_PER_CLASS, seed)
    measured = []
    for name, network in scored_networks(seed).items():
        with Stopwatch() as t:
            features = layer_output(network, FEATURE_LAYER, train[0])
        for score, value in (("probe", lambda: transferability.probe_accuracy(features, train[1])),
                             ("LogME", lambda: transferability.logme(features, train[1])),
                             ("LEEP", lambda: transferability.leep(predict(network, train[0]), train[1]))):
            with Stopwatch() as u:
                found = value()
            measured.append(Measured(score, found, t.seconds + u.seconds, source=name))
    return measured


@transferability_scores.claim("LogME ranks the real source above the shuffled one by more than 0.1 "
                              "on every seed, as the probe does")
def _(report):
    return min(report.gains({"arm": "LogME", "source": "source"}, [{"arm": "LogME", "source": "shuffled"}])) > 0.1


@transferability_scores.claim("LEEP warns on every seed: the shuffled source's head scores within 0.1 of "
                              "log(1/10), what a head that knows nothing scores, the real source's more "
                              "than 1 above it")
def _(report):
    floor = float(np.log(1 / N_CLASSES))
    return (max(v - floor for v in report.values("LEEP", source="shuffled")) < 0.1
            and min(v - floor for v in report.values("LEEP", source="source")) > 1.0)


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


@experiment("target_accuracy", "digits from scratch with 10 labels per class to train on and 5 to "
                                 "validate with: no fix, early stopping, augmentation, both; the arm "
                                 "with the best validation accuracy, tested once")
def overfitting(seed, arms=OVERFITTING_ARMS, steps=OVERFITTING_STEPS, runs=None, progress=False):
    """Every arm once, and the one chosen on the validation split.

    Args:
        runs: a dict that receives ``{arm: OverfittingRun}`` (for curves), if given.

    Returns:
        per arm, a ``Measured`` of each metric: ``train_accuracy`` (inference mode),
        ``validation_accuracy``, ``steps`` (the steps it trained) and ``target_accuracy`` (test);
        then arm ``chosen``: the test accuracy of the arm with the best validation accuracy.
    """
    train, val, test = overfitting_data(seed)
    done = {} if runs is None else runs
    measured, tested = [], {}
    for arm in arms:
        with Stopwatch() as t:
            done[arm] = train_overfitting_arm(arm, train, val, seed=seed, steps=steps,
                                              progress=_label(progress, arm))
        tested[arm] = Measured(arm, accuracy(done[arm].model, *test), t.seconds)
        measured += [Measured(arm, accuracy(done[arm].model, *train), metric="train_accuracy"),
                     Measured(arm, done[arm].validation, metric="validation_accuracy"),
                     Measured(arm, done[arm].steps, metric="steps"), tested[arm]]
    chosen = tested[choose({arm: done[arm] for arm in arms})]
    return [*measured, Measured("chosen", chosen.value, chosen.seconds)]


@overfitting.claim("overfitting: with no remedy the CNN gets every training image right, and its test "
                   "accuracy is more than 4 points lower")
def _(report):
    return min(report.values("plain", "train_accuracy")) == 1.0 and max(report.values("plain")) < 1.0 - 0.04


@overfitting.claim("early stopping ends within 2 points of the full run's test accuracy")
def _(report):
    return max(abs(g) for g in report.gains("early_stopping", ["plain"])) < 0.02


@overfitting.claim("choosing on the validation split never cost more than 1 point of test accuracy "
                   "against the run with no remedy")
def _(report):
    return min(report.gains("chosen", ["plain"])) > -0.01


# ----------------------------------------------------------------------------- class_imbalance

IMBALANCE_COUNTS = {**{c: COMMON_COUNT for c in COMMON}, **{c: RARE_COUNT for c in RARE}}


@experiment("mean_class_accuracy", "digits with 40 labels of each of 0-4 and 3 of each of 5-9: a new head on "
                               "the mnist source's features, trained as sampled, on oversampled data, "
                               "with class weights; test accuracy per class")
def class_imbalance(seed, schemes=SCHEMES, steps=STEPS, progress=False):
    """A new head on the source's frozen features per scheme; accuracy per class on the test split.

    Returns:
        per scheme (the arm): a ``Measured`` of each digit's test accuracy (metric
        ``class_accuracy``, field ``digit``), then of the mean over the rare digits, the common
        ones and all ten (field ``classes``: ``rare``, ``common``, ``all``; the last is the
        balanced accuracy).
    """
    unknown = [s for s in schemes if s not in SCHEMES]
    if unknown:
        raise ValueError(f"unknown scheme {unknown}; allowed: {', '.join(SCHEMES)}")
    source = trained(for_seed(SOURCE, seed))
    x, y = load_domain(IMBALANCE_TARGET, "train", seed=seed)
    x_test, y_test = load_domain(IMBALANCE_TARGET, "test", seed=seed)
    train = target_data.imbalanced_subset(x, y, IMBALANCE_COUNTS, seed=seed)
    measured = []
    for scheme in schemes:
        with Stopwatch() as t:
            data = target_data.balanced_resample(*train, seed=seed) if scheme == "oversampled" else train
            loss = (target_data.ClassWeightedLoss(target_data.class_weights(train[1]), N_CLASSES)
                    if scheme == "class_weighted" else None)
            head = train_new_head(source, data, seed=seed, steps=steps, loss=loss,
                                  progress=_label(progress, scheme))
            per_class = per_class_accuracy(y_test, predicted_labels(head, x_test))
        measured += [Measured(scheme, per_class[c], t.seconds, metric="class_accuracy", digit=c)
                     for c in range(N_CLASSES)]
        measured += [Measured(scheme, float(np.mean(per_class[list(classes)])), t.seconds, classes=group)
                     for group, classes in (("rare", RARE), ("common", COMMON), ("all", range(N_CLASSES)))]
    return measured


@class_imbalance.claim("as sampled, the rare digits score more than 10 points below the common ones")
def _(report):
    return max(report.gains({"arm": "as_sampled", "classes": "rare"},
                            [{"arm": "as_sampled", "classes": "common"}])) < -0.10


def _least_gain(report, classes):
    return min(min(report.gains(scheme, ["as_sampled"], classes=classes))
               for scheme in ("oversampled", "class_weighted"))


@class_imbalance.claim("oversampling and class weights each raise the rare digits' accuracy by more "
                       "than 15 points")
def _(report):
    return _least_gain(report, "rare") > 0.15


@class_imbalance.claim("oversampling and class weights each raise the balanced accuracy (the mean over "
                       "classes) by more than 8 points")
def _(report):
    return _least_gain(report, "all") > 0.08


# ----------------------------------------------------------------------------- label_mismatch

@experiment("target_accuracy", "digits test images of 0-4 only, the ten-way mnist source model: "
                                 "share predicted as 5-9, accuracy of its arg-max, accuracy restricted to 0-4")
def label_mismatch(seed):
    """No training: the source model's predictions on a target with fewer classes.

    Returns:
        ``Measured``: arm ``ten_way`` (the plain arg-max), its ``outside_share`` (the share of
        images predicted as a digit the target lacks) and its accuracy; arm ``restricted``, the
        accuracy of the arg-max over the target's classes.
    """
    source = trained(for_seed(SOURCE, seed))
    with Stopwatch() as t:
        x, y = class_subset(*load_domain(MISMATCH_TARGET, "test", seed=seed), TARGET_CLASSES, relabel=False)
        probabilities = predict(source, x)
    restricted = target_data.restrict_predictions(probabilities, TARGET_CLASSES)
    return [Measured("ten_way", target_data.outside_share(probabilities, TARGET_CLASSES), t.seconds,
                     metric="outside_share"),
            Measured("ten_way", float(np.mean(probabilities.argmax(axis=1) == y)), t.seconds),
            Measured("restricted", float(np.mean(restricted == y)), t.seconds)]


@label_mismatch.claim("more than 2 % of the images are predicted as a digit the target does not have")
def _(report):
    return min(report.values("ten_way", "outside_share")) > 0.02


@label_mismatch.claim("restricting the arg-max to the target's classes gains more than 2 points")
def _(report):
    return min(report.gains("restricted", ["ten_way"])) > 0.02


# ----------------------------------------------------------------------------- layer_transferability

def task_b(seed, n_per_class=TASK_B_PER_CLASS):
    """``(train, test)`` of task B (mnist digits 5-9, relabelled 0-4): ``n_per_class`` labelled
    training images per digit, and every test image of those digits."""
    x, y = class_subset(*load_domain("mnist", "train", seed=seed), TASK_B)
    return few_shot(x, y, n_per_class, seed=seed), class_subset(*load_domain("mnist", "test", seed=seed), TASK_B)


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
        a ``Measured`` of task B test accuracy per run: arm ``scratch``, then ``frozen`` (AnB),
        ``fine-tuned`` (AnB+) and ``bnb`` (BnB), each with field ``blocks`` (k).
    """
    train, test = task_b(seed)
    runs = [("scratch", "A", 0, False)]
    runs += [("frozen", "A", k, False) for k in frozen_ks]
    runs += [("fine-tuned", "A", k, True) for k in fine_tuned_ks]
    runs += [("bnb", "scratch", k, False) for k in bnb_ks]
    bases = {"A": trained(for_seed(TASK_A_SOURCE, seed))}
    measured = []
    for arm, base, k, fine_tune in runs:
        if transferability.check_k(k) == 0 and arm != "scratch":
            raise ValueError(f"{arm}: k = 0 copies nothing, it is the scratch run; give k from 1 to 3")
        with Stopwatch() as t:
            model = transferability.transplant(bases[base], k, len(TASK_B), fine_tune=fine_tune, seed=seed)
            fit(model, train, steps=steps, batch_size=BATCH, learning_rate=LEARNING_RATES["scratch"],
                seed=seed, progress=_label(progress, f"{arm}, k = {k}"))
            value = accuracy(model, *test)
        if arm == "scratch":
            bases["scratch"] = model  # base B: BnB copies from it
            measured.append(Measured(arm, value, t.seconds))
        else:
            measured.append(Measured(arm, value, t.seconds, blocks=k))
    return measured


@layer_transferability.claim("general low layers: blocks 1-2 of the A network, frozen, do within "
                             "3 points of scratch or better")
def _(report):
    return min(report.gains({"arm": "frozen", "blocks": 2}, ["scratch"])) > -0.03


@layer_transferability.claim("a specific top layer: freezing the feature layer too costs more than "
                             "10 points against k = 2")
def _(report):
    return max(report.gains("frozen", [{"arm": "frozen", "blocks": 2}], blocks=3)) < -0.10


@layer_transferability.claim("fine-tuning the copied layers instead (AnB+) recovers: k = 3 fine-tuned "
                             "beats k = 3 frozen by more than 10 points")
def _(report):
    return min(report.gains("fine-tuned", ["frozen"], blocks=3)) > 0.10


@layer_transferability.claim("the BnB control: B's own three blocks, frozen, score more than 10 points "
                             "above A's (the fall at k = 3 is specificity, not fragile co-adaptation)")
def _(report):
    return min(report.gains("bnb", ["frozen"], blocks=3)) > 0.10


@layer_transferability.claim("no co-adaptation loss at this scale: BnB stays within 2 points of scratch "
                             "at every k")
def _(report):
    return max(abs(g) for k in KS[1:] for g in report.gains({"arm": "bnb", "blocks": k}, ["scratch"])) < 0.02


@layer_transferability.claim("no lasting boost either: AnB+ at k = 3 ends within 3 points of scratch")
def _(report):
    return max(abs(g) for g in report.gains({"arm": "fine-tuned", "blocks": 3}, ["scratch"])) < 0.03
