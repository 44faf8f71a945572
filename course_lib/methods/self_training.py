"""Self-training (pseudo-labelling) on the unlabelled target domain.

A round: the current model predicts every unlabelled target image, the most confident
predictions are kept as **pseudo-labels** (伪标签), and a model is trained on them. Two ways
to choose which predictions to keep:

- ``"threshold"``: every prediction whose confidence (top softmax probability) reaches a
  threshold. Simple, but the classes the model already favours pass most often, and the
  errors it is confident about are learned as truth: **confirmation bias**.
- ``"balanced"``: the ``k`` most confident predictions *of each predicted class*, with
  ``k`` growing round by round. No class can take over, and the first rounds keep only
  the easiest, most often right, images.

To keep errors from compounding, every round trains from the **starting** model's weights again,
on the current pseudo-labels (the teacher improves; the student never inherits its drift).

The target labels are never used for training: :func:`self_train` only takes them to
*report* how many pseudo-labels are right, which a real project could not know.
"""

from dataclasses import dataclass

import numpy as np

SELECTIONS = ("threshold", "balanced")


def _check_probabilities(probabilities):
    p = np.asarray(probabilities)
    if p.ndim != 2 or p.shape[0] == 0 or p.shape[1] < 2:
        raise ValueError(f"probabilities must be a non-empty (n, n_classes >= 2) array, got shape {p.shape}")
    return p


def select_by_threshold(probabilities, threshold):
    """Indices of the predictions whose confidence is at least ``threshold``.

    Args:
        probabilities: (n, n_classes) softmax outputs.
        threshold: in [0, 1].

    Returns:
        (m,) int64 indices into the n rows, in increasing order.
    """
    p = _check_probabilities(probabilities)
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be between 0 and 1, got {threshold}")
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
    p = _check_probabilities(probabilities)
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a whole number >= 1, got {k!r}")
    predicted, confidence = p.argmax(axis=1), p.max(axis=1)
    picked = []
    for c in range(p.shape[1]):
        rows = np.flatnonzero(predicted == c)
        order = np.argsort(-confidence[rows], kind="stable")
        picked.append(rows[order[:int(k)]])
    return np.sort(np.concatenate(picked)).astype("int64")


def pseudo_labels(probabilities, selection="balanced", threshold=0.9, k=None):
    """Choose pseudo-labels: ``(indices, labels)`` of the kept rows and their predicted classes.

    Args:
        selection: ``"threshold"`` (uses ``threshold``) or ``"balanced"`` (uses ``k``).
    """
    if selection not in SELECTIONS:
        raise ValueError(f"unknown selection {selection!r}; allowed: {', '.join(map(repr, SELECTIONS))}")
    if selection == "threshold":
        index = select_by_threshold(probabilities, threshold)
    else:
        if k is None:
            raise ValueError("selection 'balanced' needs k, the number of pseudo-labels per class")
        index = select_class_balanced(probabilities, k)
    return index, np.asarray(probabilities)[index].argmax(axis=1).astype("int64")


@dataclass(frozen=True)
class Round:
    """One round of self-training.

    ``round`` 0 is the starting model (no pseudo-labels). ``pseudo_labels`` is how many
    target images were pseudo-labelled for this round's training, ``correct`` how many of
    those labels are right (-1 when the labels were not given), ``per_class`` how many
    pseudo-labels each class got, ``target_accuracy`` the trained model's accuracy on the
    held-out evaluation images.
    """

    round: int
    pseudo_labels: int
    correct: int
    target_accuracy: float
    per_class: tuple = ()

    @property
    def precision(self):
        """Share of the pseudo-labels that are right (nan when there are none)."""
        return self.correct / self.pseudo_labels if self.pseudo_labels else float("nan")


def balanced_schedule(n_images, n_classes=10, fractions=(0.2, 0.4, 0.6)):
    """Per-class ``k`` for each round: ``fraction * n_images / n_classes``, growing.

    Returns:
        a list of whole numbers, one per round.
    """
    if not fractions or any(not 0 < f <= 1 for f in fractions):
        raise ValueError(f"fractions must be a non-empty list of numbers in (0, 1], got {fractions!r}")
    return [max(1, int(round(f * n_images / n_classes))) for f in fractions]


def _reset_optimizer(optimizer):
    """Zero the optimizer's step count and moment estimates (not its learning rate)."""
    for variable in optimizer.variables:
        if variable.name != "learning_rate":
            variable.assign(np.zeros(variable.shape, dtype=variable.dtype))


def self_train(model, x_target, x_eval, y_eval, y_target=None, rounds=3, selection="balanced",
               threshold=0.9, fractions=(0.2, 0.4, 0.6), epochs=3, batch_size=64,
               learning_rate=3e-4, seed=0, progress="self-training"):
    """Rounds of pseudo-labelling on unlabelled target images.

    Each round: the latest model predicts ``x_target``; pseudo-labels are chosen
    (:func:`pseudo_labels`); the *starting* weights of ``model`` are trained on them for
    ``epochs`` (Adam, fresh moments), the BatchNorm statistics re-estimated on all of
    ``x_target`` (AdaBN), and the result becomes the latest model.

    Args:
        model: the starting model (softmax outputs); left unchanged.
        x_target: (n, 28, 28, c) unlabelled target images to pseudo-label.
        x_eval, y_eval: held-out labelled target images, only to report accuracy.
        y_target: labels of ``x_target``, only to count correct pseudo-labels (None: not counted, -1).
        rounds: how many rounds; with ``"balanced"`` it must equal ``len(fractions)``, or
            ``fractions`` is None and the default growth is spread over ``rounds``.
        selection: ``"threshold"`` or ``"balanced"``.
        threshold: the confidence threshold for ``"threshold"``.
        fractions: for ``"balanced"``, share of the target kept per round (see
            :func:`balanced_schedule`).

    Returns:
        ``(final_model, history)``: ``history`` is a list of :class:`Round`, round 0 first.
    """
    import keras

    from course_lib.models import accuracy, compile_classifier
    from course_lib.progress import ProgressLine
    from course_lib.source_free import copy_model, reestimate_batchnorm

    if int(rounds) != rounds or rounds < 1:
        raise ValueError(f"rounds must be a whole number >= 1, got {rounds!r}")
    if selection not in SELECTIONS:
        raise ValueError(f"unknown selection {selection!r}; allowed: {', '.join(map(repr, SELECTIONS))}")
    if y_target is not None and len(y_target) != len(x_target):
        raise ValueError(f"y_target has {len(y_target)} labels but x_target has {len(x_target)} images")
    if len(x_eval) != len(y_eval):
        raise ValueError(f"x_eval has {len(x_eval)} images but y_eval has {len(y_eval)} labels")
    n_classes = model.output_shape[-1]
    ks = None
    if selection == "balanced":
        if fractions is None:
            fractions = tuple(0.6 * (r + 1) / rounds for r in range(rounds))
        if len(fractions) != rounds:
            raise ValueError(f"fractions has {len(fractions)} entries but rounds is {rounds}: give one per round")
        ks = balanced_schedule(len(x_target), n_classes, fractions)

    history = [Round(0, 0, 0, accuracy(model, x_eval, y_eval), (0,) * n_classes)]
    # One model object for every round (compiled once, so Keras traces its training step once):
    # it predicts as the teacher, then is reset to the starting weights and trained as the student.
    student = copy_model(model)
    compile_classifier(student, learning_rate)
    start_weights = model.get_weights()
    for r in range(rounds):
        probabilities = student.predict(x_target, batch_size=500, verbose=0)
        index, labels = pseudo_labels(probabilities, selection, threshold, ks[r] if ks else None)
        correct = int(np.sum(y_target[index] == labels)) if y_target is not None else -1
        student.set_weights(start_weights)
        _reset_optimizer(student.optimizer)
        if len(index):
            keras.utils.set_random_seed(seed + r)
            callbacks = [ProgressLine(f"{progress}, round {r + 1}")] if progress else []
            student.fit(x_target[index], labels, epochs=epochs, batch_size=batch_size, shuffle=True,
                        verbose=0, callbacks=callbacks)
            reestimate_batchnorm(student, x_target)
        per_class = tuple(int(v) for v in np.bincount(labels, minlength=n_classes))
        history.append(Round(r + 1, len(index), correct, accuracy(student, x_eval, y_eval), per_class))
    return student, history


def history_table(history):
    """The rounds as a ``pandas.DataFrame``: round, pseudo_labels, correct, precision, target_accuracy."""
    import pandas as pd

    return pd.DataFrame([{"round": h.round, "pseudo_labels": h.pseudo_labels, "correct": h.correct,
                          "precision": h.precision, "target_accuracy": h.target_accuracy}
                         for h in history])


def plot_rounds(histories, axes=None):
    """Two panels per round: target accuracy, and the share of pseudo-labels that are right.

    Args:
        histories: mapping ``{label: list of Round}`` (from :func:`self_train`).

    Returns:
        the two matplotlib ``Axes``.
    """
    import matplotlib.pyplot as plt

    from course_lib.plots import FONT_SIZE

    if not histories:
        raise ValueError("histories is empty; pass {label: history from self_train}")
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(12, 4))
    for i, (label, history) in enumerate(histories.items()):
        rounds = [h.round for h in history]
        axes[0].plot(rounds, [h.target_accuracy for h in history], "-o", color=f"C{i}", label=label)
        axes[1].plot(rounds[1:], [h.precision for h in history[1:]], "-o", color=f"C{i}", label=label)
    axes[0].set_title("accuracy on the mnist_m test split")
    axes[1].set_title("share of the pseudo-labels that are right")
    for ax in axes:
        ax.set_xlabel("round (0 = starting model)")
        ax.set_xticks(range(max(len(h) for h in histories.values())))
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=FONT_SIZE - 2)
        for item in [ax.title, ax.xaxis.label, *ax.get_xticklabels(), *ax.get_yticklabels()]:
            item.set_fontsize(FONT_SIZE)
    return axes
