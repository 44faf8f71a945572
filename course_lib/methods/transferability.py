"""When does a source help? A cheap check before reusing features, and transplanted layers.

* ``probe_accuracy``: how well a model's frozen features separate the target's few labelled
  images, with no training at all: each image is given the class whose mean feature vector
  (computed without it) is nearest (leave-one-out nearest class mean). Compare a source's
  probe with the probe of an untrained network: features that separate the target no better
  than random ones will not transfer either.
* ``logme`` (You et al. 2021) and ``leep`` (Nguyen et al. 2020): two published scores of the
  same kind. LogME is the evidence (marginal likelihood, per image) of a Bayesian linear
  model from the frozen features to the labels, its two precisions fitted by the paper's
  fixed-point iteration: the probability of the labels given the features, with nothing
  tuned by hand. LEEP needs the source model's own output: how well the source classes,
  mapped to the target classes through their empirical co-occurrence, predict the labels.
* ``transplant`` and ``copied_layers``: Yosinski et al. (2014) at small scale. Copy the first
  ``k`` blocks of a network trained on task A into a fresh network for task B, frozen
  ("AnB") or fine-tuned ("AnB+"); the blocks above them start from random weights.

The course's CNN has three blocks below the head that can be copied::

    k = 0   nothing copied (B trained from scratch)
    k = 1   block1     (conv 3x3x16 + BatchNorm)
    k = 2   + block2   (conv 3x3x32 + BatchNorm)
    k = 3   + features (dense 128 + BatchNorm); frozen, only the new head learns B
"""

import numpy as np

from course_lib.core import checks
from course_lib.core.cnn import BLOCKS, build_cnn
from course_lib.core.layers import freeze, require_layer

#: The blocks that ``transplant`` copies, in order: k copies the first k.
TRANSFER_BLOCKS = ("block1", "block2", "features")


# ----------------------------------------------------------------------------- a probe

def probe_accuracy(features, labels):
    """Leave-one-out accuracy of the nearest class mean on ``features`` (no training).

    Every image is assigned the class whose mean feature vector, computed over the other
    labelled images, is nearest (Euclidean); the share assigned their own class is the
    probe's accuracy. It uses only the labelled target images, never a test set.

    Args:
        features: (n, d) features of the labelled target images (``evaluation.layer_output``).
        labels: (n,) their labels; every class needs at least 2 images.

    Returns:
        the share of images whose nearest held-out class mean is their own class, in [0, 1].
    """
    f = np.asarray(checks.finite(np.asarray(features, dtype="float64"), "features"))
    if f.ndim != 2 or len(f) == 0:
        raise ValueError(f"features must be a non-empty (n, d) array, got shape {f.shape}")
    y = checks.labels(labels, name="labels")
    checks.same_length(features=f, labels=y)
    classes, index, counts = np.unique(y, return_inverse=True, return_counts=True)
    if len(classes) < 2 or counts.min() < 2:
        raise ValueError("the probe needs at least 2 classes and 2 images of every class "
                         f"(class: count {dict(zip(classes.tolist(), counts.tolist()))})")
    sums = np.stack([f[index == i].sum(axis=0) for i in range(len(classes))])
    means = sums / counts[:, None]
    distances = ((f[:, None, :] - means[None]) ** 2).sum(axis=-1)
    rows = np.arange(len(f))
    own_mean = (sums[index] - f) / (counts[index] - 1)[:, None]  # without the image itself
    distances[rows, index] = ((f - own_mean) ** 2).sum(axis=-1)
    return float(np.mean(distances.argmin(axis=1) == index))


#: LogME's fixed-point iteration: at most this many steps, stopped when alpha/beta moves by less
#: than ``LOGME_TOLERANCE`` (relative).
LOGME_STEPS, LOGME_TOLERANCE = 100, 1e-3


def _labelled(features, labels, name):
    f = np.asarray(checks.finite(np.asarray(features, dtype="float64"), name))
    if f.ndim != 2 or len(f) == 0:
        raise ValueError(f"{name} must be a non-empty (n, d) array, got shape {f.shape}")
    y = checks.labels(labels, name="labels")
    checks.same_length(**{name: f, "labels": y})
    return f, y


def logme(features, labels):
    """LogME (You et al. 2021): the mean log evidence per image of a linear model on ``features``.

    For each class c, the targets t = [y == c] (n,) are modelled as t = F w + noise with
    w ~ N(0, 1/alpha) and noise ~ N(0, 1/beta). With F^T F = V diag(s) V^T, alternate
    gamma = sum(beta s / (alpha + beta s)), m = beta (alpha + beta F^T F)^-1 F^T t,
    alpha = gamma / |m|^2, beta = (n - gamma) / |F m - t|^2, then the log evidence is
    n/2 log beta + d/2 log alpha - n/2 log 2 pi - beta/2 |F m - t|^2 - alpha/2 |m|^2
    - 1/2 sum log(alpha + beta s), divided by n and averaged over the classes.

    Args:
        features: (n, d) frozen features of the labelled target images.
        labels: (n,) their labels.

    Returns:
        a float: higher is better (features that fit the labels with a simple linear model).
    """
    f, y = _labelled(features, labels, "features")
    n, d = f.shape
    s, v = np.linalg.eigh(f.T @ f)
    s = np.clip(s, 0.0, None)
    evidence = []
    for c in np.unique(y):
        t = (y == c).astype("float64")
        z = v.T @ (f.T @ t)
        alpha, beta = 1.0, 1.0
        for _ in range(LOGME_STEPS):
            gamma = float(np.sum(beta * s / (alpha + beta * s)))
            m = v @ (beta * z / (alpha + beta * s))
            residual = float(np.sum((f @ m - t) ** 2))
            new_alpha = gamma / max(float(m @ m), 1e-12)
            new_beta = (n - gamma) / max(residual, 1e-12)
            done = abs(new_alpha / new_beta - alpha / beta) <= LOGME_TOLERANCE * alpha / beta
            alpha, beta = new_alpha, new_beta
            if done:
                break
        m = v @ (beta * z / (alpha + beta * s))
        residual = float(np.sum((f @ m - t) ** 2))
        log_evidence = (n / 2 * np.log(beta) + d / 2 * np.log(alpha) - n / 2 * np.log(2 * np.pi)
                        - beta / 2 * residual - alpha / 2 * float(m @ m) - 0.5 * np.sum(np.log(alpha + beta * s)))
        evidence.append(log_evidence / n)
    return float(np.mean(evidence))


def leep(source_probabilities, labels):
    """LEEP (Nguyen et al. 2020): how well the source model's own classes predict the target labels.

    With theta(x) the source model's (n, k) output probabilities, P(y, z) = mean over images of
    theta(x)_z [y_i = y] is the empirical joint of target label y and source class z, and
    LEEP = mean_i log sum_z P(y_i | z) theta(x_i)_z.

    Returns:
        a float <= 0: higher is better.
    """
    p, y = _labelled(source_probabilities, labels, "source_probabilities")
    classes, index = np.unique(y, return_inverse=True)
    joint = np.stack([p[index == i].sum(axis=0) for i in range(len(classes))]) / len(p)  # (classes, k)
    conditional = joint / np.maximum(joint.sum(axis=0, keepdims=True), 1e-12)  # P(y | z)
    return float(np.mean(np.log(np.maximum((p @ conditional.T)[np.arange(len(p)), index], 1e-12))))


# ----------------------------------------------------------------------------- layer transferability

def check_k(k):
    """``k`` as an int, if it is a number of blocks ``transplant`` can copy (0 to 3)."""
    return checks.whole_number(k, "k (blocks copied)", minimum=0, maximum=len(TRANSFER_BLOCKS))


def copied_layers(model, k):
    """Names of ``model``'s layers with weights in its first ``k`` transferable blocks."""
    names = [name for block in TRANSFER_BLOCKS[:check_k(k)] for name in BLOCKS[block]]
    return [name for name in names if require_layer(model, name).weights]


def transplant(base, k, n_classes, fine_tune=False, seed=0):
    """A fresh course CNN for a new task whose first ``k`` blocks are copies of ``base``'s.

    Args:
        base: a trained course CNN (e.g. trained on task A).
        k: how many blocks to copy, 0 to 3 (see the module docstring).
        n_classes: classes of the new task (its head is always new and random).
        fine_tune: False: the copied layers are frozen (Yosinski's AnB; a frozen BatchNorm
            layer keeps A's statistics); True: they train with the rest (AnB+).
        seed: the random start of the layers that are not copied.

    Returns:
        an uncompiled ``keras.Model``: copied weights below, fresh ones above, a new head.
    """
    model = build_cnn(channels=base.input_shape[-1], n_classes=n_classes, seed=seed,
                      name=f"transplant_k{check_k(k)}")
    copied = copied_layers(model, k)
    for name in copied:
        model.get_layer(name).set_weights(require_layer(base, name).get_weights())
    if copied and not fine_tune:
        freeze(model, names=copied)
    return model
