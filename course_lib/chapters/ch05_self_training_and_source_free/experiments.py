"""Chapter 05's experiments: learning from the unlabelled target with the trained source model only.

The setting of the whole chapter: the grey source model (trained on ``mnist``) and the
``mnist_m`` training images **without their labels**. They are split once per seed into
the images the methods adapt on and a small held-out part, also unlabelled, on which a
label-free criterion makes choices (the confidence threshold). The ``mnist_m`` test split
gives the final numbers. ``TargetData.hidden_labels`` are the adapt images' true labels:
no method sees them; the course uses them only to show how many pseudo-labels are right.

- ``adabn``: the source model as it is, and with BatchNorm statistics re-estimated on the target;
- ``self_training``: three rounds of pseudo-labelling, naive (threshold 0.9 from the source
  model) and class-balanced from the AdaBN model, the test accuracy after every round;
- ``source_free``: AdaBN, information maximisation, and information maximisation with SHOT's
  cluster pseudo-labels;
- ``shot_labels``: during information maximisation with SHOT's cluster pseudo-labels, how many
  of the model's predictions and of the cluster labels are right, before each epoch;
- ``threshold_choice``: self-training from AdaBN at several confidence thresholds; the
  threshold chosen by a label-free criterion against the one chosen with target labels.

Each experiment takes ``keep``: a dict it fills with the models and histories it trained,
for the notebook's plots (the registry runs them without it).
"""

import dataclasses
import time

import keras
import numpy as np

from course_lib.core import checks, language
from course_lib.core.data import load_domain
from course_lib.core.evaluation import accuracy, predict, predicted_labels
from course_lib.core.pretrained import SOURCE, source_model
from course_lib.experiments import Measured, Stopwatch, experiment
from course_lib.methods import batchnorm
from course_lib.methods.self_training import DEFAULT_THRESHOLD, self_train
from course_lib.methods.source_free import EPOCHS as IM_EPOCHS
from course_lib.methods.source_free import entropy, information_maximisation

#: The source models this chapter loads (seed 0's; other seeds replace the seed).
RECIPES = (SOURCE,)
TARGET = "mnist_m"
#: Grey inputs: the source model's.
CHANNELS = 1
#: Unlabelled target training images held out from adaptation, for label-free choices.
HELD_OUT = 500
#: The naive self-training threshold, fixed before looking at any data (a common default).
NAIVE_THRESHOLD = DEFAULT_THRESHOLD
ROUNDS = 3
#: The thresholds ``threshold_choice`` tries.
THRESHOLDS = (0.5, 0.7, 0.8, 0.9, 0.95, 0.99)
#: SHOT's weight of the cluster pseudo-label term: the reference code's for digits (tim-learn/SHOT,
#: readme and digit.sh: ``--cls_par 0.1``); the paper's 0.3 is its value for the object benchmarks.
SHOT_CLUSTER_WEIGHT = 0.1
#: A stream of the random generator apart from the seed's others, for the held-out split.
HELD_OUT_STREAM = 4


@dataclasses.dataclass(frozen=True)
class TargetData:
    """The target images of one seed.

    Attributes:
        x_adapt: unlabelled images the methods adapt on.
        x_held_out: unlabelled images kept aside for label-free choices.
        x_test, y_test: the labelled test split: the final number, once.
        hidden_labels: the true labels of ``x_adapt``; never given to a method, only used
            to show how many pseudo-labels are right (a real project has no such labels).
    """

    x_adapt: np.ndarray
    x_held_out: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    hidden_labels: np.ndarray


def target_data(seed=0):
    """The ``TargetData`` of ``seed``: ``mnist_m`` train split in a random adapt / held-out
    split (no labels are used to make it), and the test split."""
    seed = checks.seed(seed)
    x, y = load_domain(TARGET, "train", seed=seed, channels=CHANNELS)
    order = np.random.default_rng([seed, HELD_OUT_STREAM]).permutation(len(x))
    held, adapt = order[:HELD_OUT], order[HELD_OUT:]
    x_test, y_test = load_domain(TARGET, "test", seed=seed, channels=CHANNELS)
    return TargetData(x[adapt], x[held], x_test, y_test, y[adapt])


def _store(keep, name, value):
    if keep is not None:
        keep[name] = value


def _timed_watch(data):
    """A ``watch`` for ``self_train``: test accuracy and seconds since the watch was made."""
    start = time.perf_counter()

    def watch(model):
        return {"test_accuracy": accuracy(model, data.x_test, data.y_test),
                "seconds": time.perf_counter() - start}

    return watch


def _rounds(history, arm, **fields):
    """``[Measured(arm, test accuracy, seconds, **fields, round=r)]`` for rounds r = 1, 2, ..."""
    return [Measured(arm, h.watched["test_accuracy"], h.watched["seconds"], **fields, round=h.round)
            for h in history[1:]]


@experiment("target_accuracy", "mnist_m test accuracy of the grey mnist source model as it is, and "
                               "after AdaBN (BatchNorm statistics re-estimated on the unlabelled target)")
def adabn(seed, keep=None):
    """Source model as-is against AdaBN.

    Returns:
        ``[Measured(arm, accuracy, seconds)]`` for the arms ``"source only"`` and ``"AdaBN"``;
        ``keep`` gets ``"source"``, ``"adabn"`` (the models) and ``"data"``.
    """
    model = source_model(channels=CHANNELS, seed=seed, progress=None)
    data = target_data(seed)
    measured = [Measured("source only", accuracy(model, data.x_test, data.y_test), 0.0)]
    with Stopwatch() as t:
        adapted = batchnorm.adabn(model, data.x_adapt)
    measured.append(Measured("AdaBN", accuracy(adapted, data.x_test, data.y_test), t.seconds))
    for name, value in (("source", model), ("adabn", adapted), ("data", data)):
        _store(keep, name, value)
    return measured


@adabn.claim("AdaBN beats the source model on the target by more than 8 points")
def _(report):
    return min(report.gains("AdaBN", ["source only"])) > 0.08


@experiment("target_accuracy", "mnist_m test accuracy after each of 3 rounds of self-training on the "
                               "unlabelled target: threshold 0.9 from the source model, class-balanced "
                               "(20/40/60 % of the target) from the AdaBN model")
def self_training(seed, keep=None):
    """Naive and class-balanced self-training, each next to its starting model.

    Returns:
        ``[Measured(arm, accuracy, seconds, **fields)]``: ``"source model"`` (the start), then
        ``"threshold from source"`` with ``threshold=NAIVE_THRESHOLD, round=1..3``;
        ``"AdaBN"`` (the start), then ``"class-balanced from AdaBN"`` with ``round=1..3``.
        ``keep`` gets the round histories ``"naive"`` and ``"balanced"`` (lists of ``Round``)
        and ``"data"``.
    """
    model = source_model(channels=CHANNELS, seed=seed, progress=None)
    data = target_data(seed)
    _, naive = self_training_run(model, data, "threshold", seed, _threshold_progress(NAIVE_THRESHOLD))
    measured = [Measured("source model", naive[0].watched["test_accuracy"], 0.0),
                *_rounds(naive, "threshold from source", threshold=NAIVE_THRESHOLD)]
    start = batchnorm.adabn(model, data.x_adapt)
    _, balanced = self_training_run(start, data, "balanced", seed, language._("self-training, class-balanced"))
    measured += [Measured("AdaBN", balanced[0].watched["test_accuracy"], 0.0),
                 *_rounds(balanced, "class-balanced from AdaBN")]
    for name, value in (("naive", naive), ("balanced", balanced), ("data", data)):
        _store(keep, name, value)
    return measured


def self_training_run(model, data, selection, seed, progress, threshold=NAIVE_THRESHOLD):
    """``methods.self_training.self_train`` on ``data.x_adapt`` for ``ROUNDS`` rounds, watching
    test accuracy (only to report it)."""
    return self_train(model, data.x_adapt, rounds=ROUNDS, selection=selection, threshold=threshold,
                      seed=seed, watch=_timed_watch(data), progress=progress)


def _threshold_progress(threshold):
    """The progress line's label of self-training at ``threshold``."""
    return language._("self-training, threshold {threshold}").format(threshold=threshold)


def _round_gains(report, arm):
    """Per seed and round after the first: ``arm``'s value minus its value the round before."""
    rounds = [report.values(arm, round=r) for r in range(1, ROUNDS + 1)]
    return [b - a for earlier, later in zip(rounds, rounds[1:]) for a, b in zip(earlier, later)]


@self_training.claim("class-balanced self-training from AdaBN gains more than 1 point in every round")
def _(report):
    first = report.gains({"arm": "class-balanced from AdaBN", "round": 1}, ["AdaBN"])
    return min(first + _round_gains(report, "class-balanced from AdaBN")) > 0.01


@self_training.claim("threshold-0.9 self-training from the source model ends more than 5 points "
                     "below class-balanced self-training from AdaBN")
def _(report):
    naive = {"arm": "threshold from source", "threshold": NAIVE_THRESHOLD}
    return min(report.gains("class-balanced from AdaBN", [naive], round=ROUNDS)) > 0.05


@experiment("target_accuracy", "mnist_m test accuracy adapting the grey source model without source "
                               "data: AdaBN, then 5 epochs of information maximisation (head frozen), "
                               "without and with SHOT's cluster pseudo-labels")
def source_free(seed, keep=None, shot=True):
    """AdaBN and information maximisation, with no source image and no target label.

    Args:
        shot: also run information maximisation with SHOT's cluster pseudo-labels.

    Returns:
        ``[Measured(arm, accuracy, seconds)]`` for the arms ``"AdaBN"``, ``"information
        maximisation"`` and (with ``shot``) ``"information maximisation + SHOT clusters"``;
        ``keep`` gets ``"im_model"``, ``"im_history"`` (Keras's per-epoch logs) and ``"data"``.
    """
    model = source_model(channels=CHANNELS, seed=seed, progress=None)
    data = target_data(seed)
    with Stopwatch() as t:
        start = batchnorm.adabn(model, data.x_adapt)
    measured = [Measured("AdaBN", accuracy(start, data.x_test, data.y_test), t.seconds)]
    with Stopwatch() as t:
        adapted, history = source_free_im(model, data, seed, 0.0)
    measured.append(Measured("information maximisation", accuracy(adapted, data.x_test, data.y_test),
                             t.seconds))
    for name, value in (("im_model", adapted), ("im_history", history), ("data", data)):
        _store(keep, name, value)
    if shot:
        with Stopwatch() as t:
            clustered, _ = source_free_im(model, data, seed, SHOT_CLUSTER_WEIGHT)
        measured.append(Measured("information maximisation + SHOT clusters",
                                 accuracy(clustered, data.x_test, data.y_test), t.seconds))
    return measured


def source_free_im(model, data, seed, cluster_weight):
    """``methods.source_free.information_maximisation`` on ``data.x_adapt``."""
    label = (language._("information maximisation + SHOT clusters") if cluster_weight
             else language._("information maximisation"))
    return information_maximisation(model, data.x_adapt, cluster_weight=cluster_weight, seed=seed,
                                    progress=label)


@source_free.claim("information maximisation beats AdaBN, its starting point, by more than 5 points")
def _(report):
    return min(report.gains("information maximisation", ["AdaBN"])) > 0.05


@source_free.claim("SHOT's cluster pseudo-labels add less than 2 points to information maximisation on every "
                   "seed, and cost it more than 3 points on the median seed")
def _(report):
    gains = report.gains("information maximisation + SHOT clusters", ["information maximisation"])
    return max(gains) < 0.02 and np.median(gains) < -0.03


class _RightLabels(keras.callbacks.Callback):
    """Before each epoch of an ``InformationMaximisation`` fit (after SHOT's labels are
    refreshed): the share of ``x`` whose predicted label and whose cluster label is ``y``.

    ``shares``: one ``(predictions right, clusters right, seconds since made)`` per epoch.
    """

    def __init__(self, x, y):
        super().__init__()
        self.x, self.y, self.shares, self._start = x, y, [], time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        predictions = predicted_labels(self.model.classifier, self.x)
        clusters = self.model.cluster_labels.numpy()
        self.shares.append((float(np.mean(predictions == self.y)), float(np.mean(clusters == self.y)),
                            time.perf_counter() - self._start))


@experiment("label_accuracy", "share of the unlabelled mnist_m adapt images whose label is right "
                              "(counted with their hidden labels), before each of the 5 epochs of "
                              "information maximisation with SHOT's cluster pseudo-labels: the model's "
                              "own predictions and SHOT's cluster labels made from them")
def shot_labels(seed, keep=None):
    """Do SHOT's clusters correct the predictions they start from? Counted with the hidden labels,
    which the method never sees.

    Returns:
        ``[Measured(arm, share right, seconds since the start, epoch=e)]`` for the arms
        ``"predictions"`` and ``"clusters"`` and e = 1 (the AdaBN model) to ``IM_EPOCHS``;
        ``keep`` gets ``"data"``.
    """
    model = source_model(channels=CHANNELS, seed=seed, progress=None)
    data = target_data(seed)
    right = _RightLabels(data.x_adapt, data.hidden_labels)
    information_maximisation(model, data.x_adapt, cluster_weight=SHOT_CLUSTER_WEIGHT, seed=seed,
                             callbacks=[right], progress=language._("information maximisation + SHOT clusters"))
    measured = []
    for epoch, (predictions, clusters, seconds) in enumerate(right.shares, start=1):
        measured += [Measured("predictions", predictions, seconds, epoch=epoch),
                     Measured("clusters", clusters, seconds, epoch=epoch)]
    _store(keep, "data", data)
    return measured


@shot_labels.claim("made from the AdaBN model, before the first epoch, SHOT's cluster labels are right "
                   "more than 3 points less often than the model's own predictions")
def _(report):
    return max(report.gains("clusters", ["predictions"], epoch=1)) < -0.03


@shot_labels.claim("in no epoch are SHOT's cluster labels right more than 1 point more often than the "
                   "predictions they are made from: the clusters never correct the model")
def _(report):
    return max(max(report.gains("clusters", ["predictions"], epoch=e))
               for e in range(1, IM_EPOCHS + 1)) < 0.01


def prediction_balance(probabilities):
    """Label-free criterion 1: how evenly predictions use the classes.

    The entropy of the mean predicted distribution divided by log(classes): 1 when every
    class gets the same share, 0 when every image gets the same class. It assumes the
    target's classes are about equally frequent, which is known for digits.
    """
    mean = np.asarray(probabilities).mean(axis=0)
    return float(entropy(mean)) / float(np.log(len(mean)))


def consensus_agreement(candidates):
    """Label-free criterion 2: how often each candidate agrees with all of them together.

    Args:
        candidates: (m, n, classes) the predictions of m models on the same n images.

    Returns:
        (m,) the share of the images on which each model's class is the consensus class
        (the arg-max of the m models' mean prediction). Mistakes that one model makes
        alone are outvoted.
    """
    candidates = np.asarray(candidates)
    consensus = candidates.mean(axis=0).argmax(axis=1)
    return (candidates.argmax(axis=2) == consensus).mean(axis=1)


#: The arm of ``threshold_choice`` that needs no threshold.
CLASS_BALANCED = "class-balanced"
#: The label-free criteria of ``threshold_choice``: its ``criterion`` field -> column of its table.
CRITERIA = {"most even predictions": "balance", "agreement with the consensus": "agreement"}
#: The ``criterion`` of the threshold chosen with the target's test labels.
CHEATING = "target labels (cheating)"


@experiment("target_accuracy", "mnist_m test accuracy of 3 rounds of self-training from AdaBN at "
                               "confidence thresholds 0.5-0.99; the thresholds two label-free criteria "
                               "choose on held-out unlabelled images, against the one chosen with "
                               "target labels (cheating); class-balanced selection, which needs no threshold")
def threshold_choice(seed, keep=None):
    """Self-training from AdaBN at every threshold of ``THRESHOLDS``; honest and cheating choices.

    Returns:
        ``[Measured(arm, accuracy, seconds, **fields)]``: the arm ``"threshold"`` with
        ``threshold=t`` for each t of ``THRESHOLDS``, then with ``criterion=c``, the threshold
        chosen by c, for each c of ``CRITERIA`` and ``CHEATING``; then ``CLASS_BALANCED``.
        ``keep`` gets ``"table"`` (a ``pandas.DataFrame``: threshold, balance, agreement,
        test_accuracy).
    """
    import pandas as pd

    model = source_model(channels=CHANNELS, seed=seed, progress=None)
    data = target_data(seed)
    start = batchnorm.adabn(model, data.x_adapt)
    rows, held_out, measured = [], [], []
    for threshold in THRESHOLDS:
        with Stopwatch() as t:
            student, _ = self_train(start, data.x_adapt, rounds=ROUNDS, selection="threshold",
                                    threshold=threshold, seed=seed,
                                    progress=_threshold_progress(threshold))
        held_out.append(predict(student, data.x_held_out))
        rows.append({"threshold": threshold, "balance": prediction_balance(held_out[-1]),
                     "test_accuracy": accuracy(student, data.x_test, data.y_test)})
        measured.append(Measured("threshold", rows[-1]["test_accuracy"], t.seconds, threshold=threshold))
    table = pd.DataFrame(rows)
    table["agreement"] = consensus_agreement(held_out)
    for criterion, column in CRITERIA.items():
        measured.append(Measured("threshold", table.loc[table[column].idxmax(), "test_accuracy"],
                                 criterion=criterion))
    measured.append(Measured("threshold", table["test_accuracy"].max(), criterion=CHEATING))
    with Stopwatch() as t:
        student, _ = self_train(start, data.x_adapt, rounds=ROUNDS, selection="balanced", seed=seed,
                                progress=language._("self-training, class-balanced"))
    measured.append(Measured(CLASS_BALANCED, accuracy(student, data.x_test, data.y_test), t.seconds))
    _store(keep, "table", table)
    return measured


@threshold_choice.claim("class-balanced self-training, which needs no threshold, beats self-training at "
                        "the threshold chosen with target labels")
def _(report):
    return min(report.gains(CLASS_BALANCED, [{"arm": "threshold", "criterion": CHEATING}])) > 0
