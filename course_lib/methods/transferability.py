"""When does a source help? A cheap check before reusing features, and transplanted layers.

* ``probe_accuracy``: how well a model's frozen features separate the target's few labelled
  images, with no training at all: each image is given the class whose mean feature vector
  (computed without it) is nearest (leave-one-out nearest class mean). Compare a source's
  probe with the probe of an untrained network: features that separate the target no better
  than random ones will not transfer either.
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
