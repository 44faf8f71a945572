"""Chapter 06's experiments: adapting the MNIST source model to ``mnist_m`` without target labels.

The setting, for every arm: the labelled source is the ``mnist`` training split, the
unlabelled target the ``mnist_m`` training split (its labels dropped), grey, both without
the same held-out digits; the ``mnist_m`` test split gives the score, once.

**What chooses, and what only scores.** ``mnist_m`` is made from MNIST digits: its test
split from the ``mnist`` test digits, its training split from the ``mnist`` training digits.
So every choice looks only at ``VALIDATION_IMAGES`` digits held out of both training
splits: labelled in ``mnist`` (the source validation) and unlabelled in ``mnist_m`` (the
target validation, for the proxy A-distance); no test image, and no digit behind one,
reaches a choice. The defaults (``WEIGHTS``, the adversary) are what the label-free
criterion chose on seeds 0-4 (``choosing_lambda``, ``choosing_weights``,
``dann_adversary``); the test split then scores them once. Every arm uses the same network (the
course's source model split at ``features_relu``), the same warm start, the same steps
(``EPOCHS`` passes over the target, batches of ``BATCH_SIZE``, Adam at ``LEARNING_RATE``)
and the same test-time treatment: BatchNorm statistics re-estimated on the unlabelled
target images (AdaBN, chapter 05). ``source_only_trained`` runs the adaptation methods'
training loop with the adaptation switched off, so a method's gain is the method's and
not the extra training's.

- ``domain_adaptation``: the three source-only arms against DANN, Deep CORAL and MMD, and
  how far apart each model keeps the domains' features (the proxy A-distance).
- ``choosing_lambda``: DANN at several lambda_max, chosen the ways a project without
  target labels could (held-out source labels; a label-free criterion) and the way it
  could not (the target test accuracy).
- ``choosing_weights``: the same for the weights of Deep CORAL and MMD.
"""

import dataclasses

import numpy as np

from course_lib.core import checks, language
from course_lib.core.cnn import FEATURE_LAYER
from course_lib.core.data import load_domain
from course_lib.core.evaluation import accuracy, predict
from course_lib.core.layers import split
from course_lib.core.pretrained import SOURCE, trained
from course_lib.core.training import fit
from course_lib.experiments import Measured, Stopwatch, experiment
from course_lib.methods.adaptation import DANN, DiscrepancyModel, dann_steps, paired, proxy_a_distance
from course_lib.methods.batchnorm import reestimate

CHANNELS = 1
EPOCHS = 5
BATCH_SIZE = 64
LEARNING_RATE = 3e-4
#: Each method and its weight: lambda_max for DANN, the loss weight for Deep CORAL and MMD;
#: each the label-free choice on seeds 0-4 (``default_weight``; a test checks them).
WEIGHTS = {"dann": 3.0, "coral": 30.0, "mmd": 8.0}
#: The weights each method is tried at to choose its default (0: no adaptation).
WEIGHT_GRIDS = {"dann": (0, 0.1, 0.3, 1, 3, 10), "coral": (30, 100, 300, 1000), "mmd": (2, 8, 32, 128)}
#: The field that holds each method's weight in ``choosing_lambda`` and ``choosing_weights``, and
#: the metric of the weight a criterion chose.
WEIGHT_FIELDS = {"dann": "lambda_max", "coral": "weight", "mmd": "weight"}
#: Digits held out of both training splits: labelled ``mnist`` ones validate the source task,
#: unlabelled ``mnist_m`` ones are the target validation the proxy A-distance reads.
VALIDATION_IMAGES = 1000
#: The stream of ``numpy.random.default_rng([seed, ...])`` that picks the held-out digits.
VALIDATION_STREAM = 5
METHODS = tuple(WEIGHTS)
#: The source-only arms: the source model as it is; with target BatchNorm statistics
#: (AdaBN); trained by the methods' loop with no adaptation term (then AdaBN).
SOURCE_ONLY = ("source_only", "source_only_bn", "source_only_trained")
ARMS = (*SOURCE_ONLY, *METHODS)
#: The method name of ``source_only_trained``: the two-domain loop, adaptation weight 0.
NO_ADAPTATION = "none"
#: The criteria ``choosing_lambda`` and ``choosing_weights`` choose a weight by (the ``criterion``
#: field of a choice's records): held-out source labels; ``label_free_score``; the target test
#: accuracy, which a project could not use.
CHOSEN_ON_SOURCE = "source validation"
CHOSEN_LABEL_FREE = "label-free"
CHOSEN_ON_TEST = "target test (cheating)"
CRITERIA = (CHOSEN_ON_SOURCE, CHOSEN_LABEL_FREE, CHOSEN_ON_TEST)
#: ``dann_adversary``'s arms: a weak adversary (a 64-unit domain classifier trained by the
#: extractor's optimizer) and the course's, both at lambda_max 0.3; the course's recipe
#: itself is ``domain_adaptation``'s ``dann`` arm.
WEAK_ADVERSARY = "64-unit adversary, one optimizer"
STRONG_ADVERSARY = "256-256 adversary, own Adam x10"
ADVERSARIES = {WEAK_ADVERSARY: (0.3, {"domain_units": (64,), "domain_rate_factor": 1.0}),
               STRONG_ADVERSARY: (0.3, {})}
#: The source models this chapter loads (``python -m course_lib.tools.warm`` trains them).
RECIPES = (SOURCE,)


@dataclasses.dataclass(frozen=True)
class Task:
    """One seed's adaptation problem; images float32 in [0, 1], (n, 28, 28, 1).

    Attributes:
        x_source, y_source: the labelled source, ``mnist`` train but the held-out digits.
        x_target: the unlabelled target, ``mnist_m`` train but the held-out digits (its
            labels are never loaded here).
        x_source_val, y_source_val: the held-out digits in ``mnist``, labelled: what a
            project can validate the source task with. (The source model learned them before
            adaptation, so they read the source task a little optimistically.)
        x_target_val: the same held-out digits in ``mnist_m``, unlabelled: what the label-free
            scores read.
        x_test, y_test: ``mnist_m`` test (from MNIST test digits only): the final number.
    """

    x_source: np.ndarray
    y_source: np.ndarray
    x_target: np.ndarray
    x_source_val: np.ndarray
    y_source_val: np.ndarray
    x_target_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_task(seed):
    """The adaptation problem of ``seed`` (the splits of every domain follow the seed).

    ``mnist_m``'s training split holds the same digits as ``mnist``'s, in the same order, so
    one draw of ``VALIDATION_IMAGES`` positions holds the same digits out of both.
    """
    x_mnist, y_mnist = load_domain("mnist", "train", seed=seed, channels=CHANNELS)
    x_mnist_m, _ = load_domain("mnist_m", "train", seed=seed, channels=CHANNELS)
    order = np.random.default_rng([seed, VALIDATION_STREAM]).permutation(len(x_mnist))
    held, kept = np.sort(order[:VALIDATION_IMAGES]), np.sort(order[VALIDATION_IMAGES:])
    x_test, y_test = load_domain("mnist_m", "test", seed=seed, channels=CHANNELS)
    return Task(x_mnist[kept], y_mnist[kept], x_mnist_m[kept], x_mnist[held], y_mnist[held],
                x_mnist_m[held], x_test, y_test)


def source_model(seed):
    """The course's source model of ``seed`` (grey, trained on ``mnist``; from the cache)."""
    return trained(dataclasses.replace(SOURCE, channels=CHANNELS, seed=seed))


def build_adapter(source, method, weight=None, total_steps=1, seed=0, dann_options=None):
    """A warm copy of ``source`` as a two-domain model for ``method``.

    Args:
        method: ``"dann"``, ``"coral"``, ``"mmd"`` or ``"none"`` (the same loop, no adaptation).
        weight: lambda_max (DANN) or the loss weight (CORAL, MMD); default ``WEIGHTS[method]``.
        total_steps: the steps the training will take (DANN's lambda schedule spans them).
        dann_options: more arguments for ``DANN`` (e.g. ``domain_units``), or None.

    Returns:
        a ``DANN`` or ``DiscrepancyModel``, untrained; ``source`` is not changed.
    """
    checks.choice(method, "method", (*METHODS, NO_ADAPTATION))
    weight = WEIGHTS.get(method, 0.0) if weight is None else checks.positive_number(
        weight, "weight", allow_zero=True)
    # seeded: the copy's dropout and the domain classifier start the same everywhere
    extractor, classifier = split(source, FEATURE_LAYER, seed=seed)
    if method == "dann":
        return DANN(extractor, classifier, total_steps, lambda_max=weight, seed=seed, **(dann_options or {}))
    if method == NO_ADAPTATION:
        return DiscrepancyModel(extractor, classifier, "coral", weight=0.0)
    return DiscrepancyModel(extractor, classifier, method, weight=weight)


def adapt(source, task, method, weight=None, epochs=EPOCHS, seed=0, progress=None, dann_options=None):
    """Adapt a warm copy of ``source`` to ``task``'s target with ``method`` (see ``build_adapter``).

    Returns:
        ``(model, history)``: the trained two-domain model (its BatchNorm statistics not yet
        re-estimated: ``measure`` does that) and Keras's ``History``.
    """
    steps = dann_steps(len(task.x_target), epochs, BATCH_SIZE)
    model = build_adapter(source, method, weight, total_steps=steps, seed=seed, dann_options=dann_options)
    history = fit(model, paired(task.x_source, task.y_source, task.x_target, seed=seed),
                  epochs=epochs, batch_size=BATCH_SIZE, learning_rate=LEARNING_RATE, seed=seed,
                  progress=progress)
    return model, history


@dataclasses.dataclass
class Scores:
    """What ``measure`` found for one model.

    Attributes:
        source_validation: accuracy on the held-out source images, with source statistics.
        target_test: accuracy on the target test split, with target statistics (AdaBN).
        pad: the proxy A-distance between the two domains' features on the held-out digits
            (0: a linear classifier cannot tell them apart; 2: it always can).
        source_features, target_features: (VALIDATION_IMAGES, 128) features it compared: the
            source and target validation images'.
    """

    source_validation: float
    target_test: float
    pad: float
    source_features: np.ndarray
    target_features: np.ndarray


def measure(model, task, seed=0):
    """Score a two-domain model the way it was trained: each domain with its own statistics.

    BatchNorm statistics are re-estimated on the source training images: the source
    validation images are classified and their features kept. Then on the unlabelled target
    training images (AdaBN): the target validation images' features are kept, and the target
    test images are classified, the one thing the test split gives. The model is left with
    the target's statistics, as it is deployed.

    Returns:
        a ``Scores``.
    """
    reestimate(model.extractor, task.x_source)
    source_validation = accuracy(model, task.x_source_val, task.y_source_val)
    source_features = predict(model.extractor, task.x_source_val)
    reestimate(model.extractor, task.x_target)
    target_features = predict(model.extractor, task.x_target_val)
    pad = proxy_a_distance(source_features, target_features, seed=seed)
    return Scores(source_validation, accuracy(model, task.x_test, task.y_test), pad, source_features,
                  target_features)


@dataclasses.dataclass
class Run:
    """One arm of one seed, for the notebook: the model, its ``History`` (None if untrained), ``Scores``."""

    model: object
    history: object
    scores: Scores


def run_arm(arm, source, task, seed=0, weight=None, progress=None, dann_options=None):
    """Train (if the arm trains) and measure one arm: ``(Run, seconds)``.

    ``arm`` is ``"source_only_bn"``, ``"source_only_trained"`` or a method of ``METHODS``;
    ``weight`` and ``dann_options`` as for ``build_adapter``.
    """
    checks.choice(arm, "arm", ARMS[1:])
    with Stopwatch() as t:
        if arm == "source_only_bn":
            model, history = build_adapter(source, NO_ADAPTATION, seed=seed), None
        else:
            method = NO_ADAPTATION if arm == "source_only_trained" else arm
            model, history = adapt(source, task, method, weight, seed=seed, progress=progress,
                                   dann_options=dann_options)
        scores = measure(model, task, seed=seed)
    return Run(model, history, scores), t.seconds


@experiment("target_accuracy", "mnist -> mnist_m (grey), no target labels: source-only arms vs "
                               "DANN, Deep CORAL and MMD; same network, warm start, steps and "
                               "AdaBN for all; every arm that adapts or trains also has its proxy "
                               "A-distance and source validation accuracy")
def domain_adaptation(seed, arms=ARMS, keep=None, progress=False):
    """Every arm of one seed.

    Returns:
        ``[Measured]``: per arm its target test accuracy (with the seconds), and for each arm
        but ``source_only`` its ``proxy_a_distance`` and ``source_validation_accuracy``.
        ``keep`` (a dict) gets a ``Run`` per arm.
    """
    for arm in arms:
        checks.choice(arm, "arm", ARMS)
    task, source = load_task(seed), source_model(seed)
    measured = []
    for arm in arms:
        if arm == "source_only":
            with Stopwatch() as t:
                value = accuracy(source, task.x_test, task.y_test)
            measured.append(Measured(arm, value, t.seconds))
            continue
        run, seconds = run_arm(arm, source, task, seed, progress=arm if progress else None)
        measured += [Measured(arm, run.scores.target_test, seconds),
                     Measured(arm, run.scores.pad, metric="proxy_a_distance"),
                     Measured(arm, run.scores.source_validation, metric="source_validation_accuracy")]
        if keep is not None:
            keep[arm] = run
    return measured


def gains_over_source_only(report, arm):
    """Per seed: ``arm``'s target accuracy minus the strongest source-only arm's."""
    return report.gains(arm, list(SOURCE_ONLY))


@domain_adaptation.claim("every adaptation method (DANN, Deep CORAL, MMD) beats every source-only "
                         "arm on every seed")
def _(report):
    return all(min(gains_over_source_only(report, m)) > 0 for m in METHODS)


@domain_adaptation.claim("DANN beats the strongest source-only arm by at least 5 points at the "
                         "median over seeds, and on every seed")
def _(report):
    gains = gains_over_source_only(report, "dann")
    return float(np.median(gains)) >= 0.05 and min(gains) > 0


@domain_adaptation.claim("re-estimating BatchNorm on the target (AdaBN) beats the source model "
                         "as it is by more than 5 points on every seed")
def _(report):
    return min(report.gains("source_only_bn", ["source_only"])) > 0.05


@domain_adaptation.claim("DANN and MMD leave the domains' features harder to tell apart than "
                         "source-only training: a lower proxy A-distance on every seed")
def _(report):
    before = report.values("source_only_trained", "proxy_a_distance")
    return all(all(a < b for a, b in zip(report.values(m, "proxy_a_distance"), before)) for m in ("dann", "mmd"))


def at_weight(method, weight):
    """The fields of ``method``'s records at one weight of ``choosing_lambda`` or
    ``choosing_weights``: ``{"lambda_max": 0.3}`` for DANN, ``{"weight": 300}`` for the others."""
    return {WEIGHT_FIELDS[method]: weight}


def label_free_score(source_validation, pad):
    """``source validation error + PAD / 2``, the two terms of Ben-David et al.'s bound on the
    target error that can be measured without target labels; lower is better."""
    return 1.0 - source_validation + pad / 2


def choose(scores):
    """Which weight each criterion picks from ``{weight: Scores}``.

    - on source validation: the highest held-out source accuracy (ties: the smaller weight);
    - label-free: the smallest ``label_free_score`` (ties: the smaller weight);
    - on target test (cheating): the highest target test accuracy.

    Returns:
        ``{criterion: weight}`` for the ``CRITERIA``.
    """
    grid = sorted(scores)
    return {CHOSEN_ON_SOURCE: max(grid, key=lambda w: (scores[w].source_validation, -w)),
            CHOSEN_LABEL_FREE: min(grid, key=lambda w: (label_free_score(scores[w].source_validation,
                                                                         scores[w].pad), w)),
            CHOSEN_ON_TEST: max(grid, key=lambda w: (scores[w].target_test, -w))}


def _weight_grid(method, task, source, seed, progress):
    """``method`` at each weight of ``WEIGHT_GRIDS[method]``, measured, and each criterion's choice.

    Returns:
        ``([Measured], {weight: Scores})``: arm ``method`` with its weight as a field
        (``at_weight``): per weight its ``WEIGHT_MEASURES``; per criterion of ``CRITERIA`` (the
        field ``criterion``) the target test accuracy of its choice, and the weight it chose (the
        metric ``WEIGHT_FIELDS[method]``).
    """
    scores, measured = {}, []
    for weight in WEIGHT_GRIDS[method]:
        label = language._("{method} weight {weight:g}").format(method=method, weight=weight) if progress else None
        run, seconds = run_arm(method, source, task, seed, weight=weight, progress=label)
        scores[weight] = run.scores
        fields = at_weight(method, weight)
        measured += [Measured(method, run.scores.source_validation, metric="source_validation_accuracy", **fields),
                     Measured(method, run.scores.pad, metric="proxy_a_distance", **fields),
                     Measured(method, run.scores.target_test, seconds, **fields)]
    for criterion, weight in choose(scores).items():
        measured += [Measured(method, scores[weight].target_test, criterion=criterion),
                     Measured(method, weight, metric=WEIGHT_FIELDS[method], criterion=criterion)]
    return measured, scores


#: What ``choosing_lambda`` and ``choosing_weights`` measure at each weight (metrics).
WEIGHT_MEASURES = ("source_validation_accuracy", "proxy_a_distance", "target_accuracy")


def weight_medians(report, methods):
    """The medians over seeds at each weight ``report`` holds, one row per (method, weight).

    Returns:
        a ``pandas.DataFrame`` with the columns ``WEIGHT_MEASURES``.
    """
    import pandas as pd

    rows = {(method, weight): [report.median(method, what, **at_weight(method, weight)) for what in WEIGHT_MEASURES]
            for method in methods for weight in report.distinct(WEIGHT_FIELDS[method], arm=method)}
    return pd.DataFrame(rows, index=list(WEIGHT_MEASURES)).T


def default_weight(report, method):
    """The weight ``report`` holds for ``method`` with the lowest median label-free score over its
    seeds (``choosing_lambda`` for DANN, ``choosing_weights`` otherwise): how the course chose
    ``WEIGHTS``, without a target label."""
    def median_score(weight):
        fields = at_weight(method, weight)
        return float(np.median([label_free_score(v, pad) for v, pad in zip(
            report.values(method, "source_validation_accuracy", **fields),
            report.values(method, "proxy_a_distance", **fields))]))

    return min(report.distinct(WEIGHT_FIELDS[method], arm=method), key=lambda w: (median_score(w), w))


@experiment("target_accuracy", "DANN at each lambda_max of WEIGHT_GRIDS: its source "
                               "validation accuracy, proxy A-distance (held-out digits) and target "
                               "test accuracy, and the target accuracy of the lambda each criterion chooses")
def choosing_lambda(seed, keep=None, progress=False):
    """One seed: a DANN per lambda_max, measured; then each criterion's choice.

    Returns:
        ``[Measured]`` of arm ``"dann"``: per ``lambda_max`` (a field) its ``WEIGHT_MEASURES``;
        per ``criterion`` (a field, one of ``CRITERIA``) the target test accuracy of its choice
        and the metric ``lambda_max``, the lambda_max it chose. ``keep`` gets the
        ``{lambda_max: Scores}``.
    """
    measured, scores = _weight_grid("dann", load_task(seed), source_model(seed), seed, progress)
    if keep is not None:
        keep.update(scores)
    return measured


@experiment("target_accuracy", "Deep CORAL and MMD at each weight of WEIGHT_GRIDS: source validation "
                               "accuracy, proxy A-distance (held-out digits) and target test accuracy, "
                               "and the target accuracy of the weight each criterion chooses")
def choosing_weights(seed, methods=("coral", "mmd"), progress=False):
    """One seed: ``choosing_lambda``'s measurements and choices for Deep CORAL and MMD.

    Returns:
        ``[Measured]`` of arms ``"coral"`` and ``"mmd"``: per ``weight`` (a field) its
        ``WEIGHT_MEASURES``; per ``criterion`` (a field) the target test accuracy of its choice
        and the metric ``weight``, the weight it chose.
    """
    task, source = load_task(seed), source_model(seed)
    measured = []
    for method in methods:
        measured += _weight_grid(method, task, source, seed, progress)[0]
    return measured


@experiment("target_accuracy", "DANN with a weak adversary (64 units, the extractor's optimizer) and "
                               "with the course's (256-256, own Adam at 10x), both at lambda_max 0.3; "
                               "domain_accuracy: the domain classifier's accuracy in the last epoch; "
                               "label_free_score: source validation error + PAD / 2")
def dann_adversary(seed, keep=None, progress=False):
    """One seed: DANN with each adversary of ``ADVERSARIES``.

    Returns:
        ``[Measured]``: per arm, with its ``lambda_max`` as a field, its target test accuracy
        (with the seconds), its ``domain_accuracy`` in the last epoch and its ``label_free_score``
        (what chose the adversary). ``keep`` gets a ``Run`` per arm (its ``history`` has the
        domain accuracy per epoch).
    """
    task, source = load_task(seed), source_model(seed)
    measured = []
    for arm, (lambda_max, options) in ADVERSARIES.items():
        run, seconds = run_arm("dann", source, task, seed, weight=lambda_max,
                               progress=arm if progress else None, dann_options=options)
        measured += [Measured(arm, run.scores.target_test, seconds, lambda_max=lambda_max),
                     Measured(arm, run.history.history["domain_accuracy"][-1], metric="domain_accuracy",
                              lambda_max=lambda_max),
                     Measured(arm, label_free_score(run.scores.source_validation, run.scores.pad),
                              metric="label_free_score", lambda_max=lambda_max)]
        if keep is not None:
            keep[arm] = run
    return measured


@dann_adversary.claim("without a target label, the label-free score prefers the course's adversary to the "
                      "weak one at the median over seeds (how the course chose it)")
def _(report):
    return report.median(STRONG_ADVERSARY, "label_free_score") < report.median(WEAK_ADVERSARY, "label_free_score")


@dann_adversary.claim("at the same lambda_max, the course's adversary beats the weak 64-unit one by more "
                      "than 5 points on every seed")
def _(report):
    return min(report.gains(STRONG_ADVERSARY, [WEAK_ADVERSARY])) > 0.05


@dann_adversary.claim("the weak adversary ends every run closer to chance (0.5) than the course's: a lower "
                      "domain accuracy in the last epoch on every seed")
def _(report):
    return max(report.gains(WEAK_ADVERSARY, [STRONG_ADVERSARY], "domain_accuracy")) < 0


@choosing_lambda.claim("source validation accuracy alone never chooses a lambda_max above 0.1: it prefers "
                       "(almost) no adaptation, since adapting costs the source task a little")
def _(report):
    return max(report.values("dann", "lambda_max", criterion=CHOSEN_ON_SOURCE)) <= 0.1


@choosing_lambda.claim("the label-free choice beats the source-validation choice by more than 10 points at "
                       "the median over seeds")
def _(report):
    return float(np.median(report.gains({"arm": "dann", "criterion": CHOSEN_LABEL_FREE},
                                        [{"arm": "dann", "criterion": CHOSEN_ON_SOURCE}]))) > 0.10


@choosing_weights.claim("Deep CORAL's proxy A-distance rises with its weight: at the median over seeds it is "
                        "higher at its largest weight than at its smallest, so the label-free score leans to "
                        "its smallest weight")
def _(report):
    tried = report.distinct("weight", arm="coral")
    low, high = min(tried), max(tried)
    return (report.median("coral", "proxy_a_distance", weight=high)
            > report.median("coral", "proxy_a_distance", weight=low))
