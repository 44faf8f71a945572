"""Self-training (目标域自我学习): pseudo-labels on the unlabelled target domain.

A round: the current model (the **teacher**) predicts every unlabelled target image, the
predictions it is most sure of are kept as **pseudo-labels** (伪标签), and a model (the
**student**) is trained on them; the student is the next round's teacher. Two ways to
choose which predictions to keep:

- ``"threshold"``: every prediction whose confidence (top softmax probability) reaches a
  threshold. Simple, but the classes the model already favours pass most often, and the
  errors it is confident about are learned as truth: **confirmation bias**.
- ``"balanced"``: the ``k`` most confident predictions *of each predicted class*, with
  ``k`` growing round by round. No class can take over, and the first rounds keep only
  the easiest images.

Every round trains the **starting** weights again, on the current pseudo-labels: the
teacher improves, the student never inherits the previous student's drift. After training,
the student's BatchNorm statistics are re-estimated on all the target images (AdaBN,
``methods.batchnorm``), so that it is tested with the target's statistics.

No target label is used. ``self_train`` can be given a ``watch`` function to *report*
on each round (the course measures pseudo-label precision and test accuracy with labels a
real project does not have); it never chooses anything from it.

In plain Keras, one round is::

    p = teacher.predict(x_target)                       # (n, 10) probabilities
    keep = p.max(axis=1) >= 0.9                          # confident predictions only
    student.set_weights(start_weights)                   # every round from the start
    student.fit(x_target[keep], p[keep].argmax(axis=1), epochs=3)
"""

import dataclasses

import numpy as np

from course_lib.core import checks

SELECTIONS = ("threshold", "balanced")
#: Shares of the target kept by class-balanced selection in rounds 1, 2, 3.
BALANCED_FRACTIONS = (0.2, 0.4, 0.6)
#: The threshold of threshold selection, when none is given.
DEFAULT_THRESHOLD = 0.9
#: Passes over the pseudo-labelled images per round.
EPOCHS_PER_ROUND = 3
#: Batch size and Adam learning rate of each round's training (gentler than from scratch:
#: the student starts from trained weights).
BATCH_SIZE = 64
LEARNING_RATE = 3e-4


def check_probabilities(probabilities):
    """``probabilities`` as an array, if it is a non-empty (n, n_classes >= 2) table of finite values."""
    p = np.asarray(probabilities)
    if p.ndim != 2 or p.shape[0] == 0 or p.shape[1] < 2:
        raise ValueError(f"probabilities must be a non-empty (n, n_classes >= 2) array, got shape {p.shape}")
    return checks.finite(p, "probabilities")


def select_by_threshold(probabilities, threshold):
    """Indices of the predictions whose confidence (top probability) is at least ``threshold``.

    Args:
        probabilities: (n, n_classes) softmax outputs.
        threshold: in [0, 1].

    Returns:
        (m,) int64 indices into the n rows, in increasing order.
    """
    p = check_probabilities(probabilities)
    threshold = checks.share(threshold, "threshold")
    return np.flatnonzero(p.max(axis=1) >= threshold).astype("int64")


def select_class_balanced(probabilities, k):
    """Indices of the ``k`` most confident predictions of each predicted class.

    A class predicted fewer than ``k`` times keeps all its predictions; so at most ``k``
    rows per class are returned, whatever the model favours.

    Args:
        probabilities: (n, n_classes) softmax outputs.
        k: how many per class, a whole number >= 1.

    Returns:
        (m,) int64 indices into the n rows, m <= k * n_classes, in increasing order.
    """
    p = check_probabilities(probabilities)
    k = checks.whole_number(k, "k")
    predicted, confidence = p.argmax(axis=1), p.max(axis=1)
    picked = []
    for c in range(p.shape[1]):
        rows = np.flatnonzero(predicted == c)
        order = np.argsort(-confidence[rows], kind="stable")
        picked.append(rows[order[:k]])
    return np.sort(np.concatenate(picked)).astype("int64")


def pseudo_labels(probabilities, selection="balanced", threshold=DEFAULT_THRESHOLD, k=None):
    """Choose pseudo-labels: ``(indices, labels)`` of the kept rows and their predicted classes.

    Args:
        selection: ``"threshold"`` (uses ``threshold``) or ``"balanced"`` (uses ``k``).
    """
    checks.choice(selection, "selection", SELECTIONS)
    if selection == "threshold":
        index = select_by_threshold(probabilities, threshold)
    else:
        if k is None:
            raise ValueError("selection 'balanced' needs k, the number of pseudo-labels per class")
        index = select_class_balanced(probabilities, k)
    return index, np.asarray(probabilities)[index].argmax(axis=1).astype("int64")


def balanced_schedule(n_images, n_classes=10, fractions=BALANCED_FRACTIONS):
    """Per-class ``k`` for each round: ``fraction * n_images / n_classes``.

    Returns:
        a list of whole numbers, one per round.
    """
    n_images = checks.whole_number(n_images, "n_images")
    n_classes = checks.whole_number(n_classes, "n_classes", minimum=2)
    if not fractions:
        raise ValueError("fractions is empty; give one share of the target per round, e.g. (0.2, 0.4, 0.6)")
    fractions = [checks.share(f, "each fraction") for f in fractions]
    if min(fractions) == 0:
        raise ValueError(f"fractions must be above 0 (a round with no pseudo-labels), got {fractions}")
    return [max(1, round(f * n_images / n_classes)) for f in fractions]


@dataclasses.dataclass(frozen=True)
class Round:
    """One round of self-training.

    Attributes:
        round: 0 for the starting model (no pseudo-labels), then 1, 2, ...
        index: the indices of the target images pseudo-labelled for this round's training.
        labels: their pseudo-labels.
        confidence: the teacher's mean confidence on them: what it *claims* their
            precision is (visible without labels).
        watched: what ``self_train``'s ``watch`` reported on the trained model (e.g. test
            accuracy), a dict; empty without ``watch``.
    """

    round: int
    index: np.ndarray
    labels: np.ndarray
    confidence: float
    watched: dict

    @property
    def count(self):
        """How many target images were pseudo-labelled."""
        return len(self.index)

    def per_class(self, n_classes=10):
        """How many pseudo-labels each class got: (n_classes,) int."""
        return np.bincount(self.labels, minlength=n_classes)

    def precision(self, y_true):
        """Share of the pseudo-labels that are right, given the true labels of all target
        images (nan when there are none). A real project cannot compute this."""
        return float(np.mean(np.asarray(y_true)[self.index] == self.labels)) if self.count else float("nan")


def self_train(model, x_target, rounds=3, selection="balanced", threshold=DEFAULT_THRESHOLD,
               fractions=BALANCED_FRACTIONS, epochs=EPOCHS_PER_ROUND, batch_size=BATCH_SIZE,
               learning_rate=LEARNING_RATE, seed=0, watch=None, progress="self-training"):
    """Rounds of pseudo-labelling on unlabelled target images.

    Each round: the latest model predicts ``x_target``; pseudo-labels are chosen
    (``pseudo_labels``); the *starting* weights of ``model`` are trained on them for
    ``epochs`` with ``training.fit``; the BatchNorm statistics are re-estimated on all of
    ``x_target`` (AdaBN); the result is the next round's teacher.

    Args:
        model: the starting model (softmax outputs); left unchanged.
        x_target: (n, 28, 28, c) unlabelled target images.
        rounds: how many rounds; with ``"balanced"`` one per entry of ``fractions``.
        selection: ``"threshold"`` or ``"balanced"``.
        threshold: the confidence threshold of ``"threshold"``.
        fractions: for ``"balanced"``, the share of the target kept in each round (see
            ``balanced_schedule``).
        watch: optional ``watch(model) -> dict`` called on the starting model and after
            every round, only to report (e.g. accuracy on a labelled test split).

    Returns:
        ``(final_model, history)``: ``history`` is a list of ``Round``, round 0 first.
    """
    from course_lib.core.evaluation import predict
    from course_lib.core.layers import copy_model
    from course_lib.core.training import fit
    from course_lib.methods.batchnorm import reestimate

    rounds = checks.whole_number(rounds, "rounds")
    checks.choice(selection, "selection", SELECTIONS)
    checks.unit_images(x_target, "x_target")
    n_classes = int(model.output_shape[-1])
    ks = None
    if selection == "balanced":
        if len(fractions) != rounds:
            raise ValueError(f"fractions has {len(fractions)} entries but rounds is {rounds}: "
                             "give one per round")
        ks = balanced_schedule(len(x_target), n_classes, fractions)
    empty = np.zeros(0, dtype="int64")
    watched = watch(model) if watch else {}
    history = [Round(0, empty, empty, float("nan"), watched)]
    # One student for every round, so that Keras traces its training step once: it predicts
    # as the teacher, then goes back to the starting weights and trains as the student. Its
    # dropout layer draws its random seed when it is made: seeded, so that the rounds are the
    # same whatever ran before in the process.
    student = copy_model(model, seed=seed)
    start = model.get_weights()
    for r in range(1, rounds + 1):
        probabilities = predict(student, x_target)
        index, labels = pseudo_labels(probabilities, selection, threshold, ks[r - 1] if ks else None)
        confidence = float(probabilities[index].max(axis=1).mean()) if len(index) else float("nan")
        student.set_weights(start)
        if len(index):
            fit(student, (x_target[index], labels), epochs=epochs, batch_size=batch_size,
                learning_rate=learning_rate, seed=seed + r,
                progress=f"{progress}, round {r} (fit to its pseudo-labels)" if progress else None)
            reestimate(student, x_target)
        history.append(Round(r, index, labels, confidence, watch(student) if watch else {}))
    return student, history


def history_table(history, y_true=None):
    """The rounds as a ``pandas.DataFrame``: ``round``, ``pseudo_labels``, ``claimed_precision``
    (the teacher's mean confidence), ``precision`` (with ``y_true``, the labels of all target
    images: the course's view only), and every value ``watch`` reported."""
    import pandas as pd

    rows = []
    for h in history:
        row = {"round": h.round, "pseudo_labels": h.count, "claimed_precision": h.confidence}
        if y_true is not None:
            row["precision"] = h.precision(y_true)
        rows.append({**row, **h.watched})
    return pd.DataFrame(rows)
