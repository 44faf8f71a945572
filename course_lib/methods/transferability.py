"""When does a source help? An unhelpful source, a probe that warns, and layer transferability.

Two tools for chapter 05:

* ``shuffled_label_source``: the course's CNN trained with the source recipe on ``mnist``
  with its labels **shuffled**: a source that has learned nothing true about digits (a
  source for negative transfer), and ``probe_accuracy``, a linear probe of a model's
  features on a few labelled target images: a cheap check before fine-tuning.
* ``transplant`` and ``layer_transfer_curve``: Yosinski et al. (2014) at small scale. Copy the
  first ``k`` blocks of a network trained on task A into a fresh network for task B, frozen
  ("AnB") or fine-tuned ("AnB+"), train the rest on B, for each ``k``.

The course's CNN has three blocks below the head that can be copied::

    k = 0   nothing copied (B trained from scratch)
    k = 1   block1     (conv 3x3x16 + BatchNorm)
    k = 2   + block2   (conv 3x3x32 + BatchNorm)
    k = 3   + features (dense 128 + BatchNorm); only the new head is trained on B when frozen
"""

import numpy as np

from course_lib.models import BLOCKS, SOURCE_RECIPE, build_cnn, cached_model

#: The blocks that ``transplant`` copies, in order: k copies the first k.
TRANSFER_BLOCKS = ("block1", "block2", "features")
#: Images of the ``mnist`` train split the shuffled-label source is trained on (a quarter:
#: it is only ever used as a bad example, and costs a quarter of the source's time).
SHUFFLED_IMAGES = 1000
#: Learning rate for training a transplanted network on task B (Adam).
TRANSFER_LEARNING_RATE = 1e-3


# ----------------------------------------------------------------------------- an unhelpful source

def shuffled_labels(y, seed=0):
    """``y`` randomly permuted: the same label counts, no relation left to the images."""
    y = np.asarray(y)
    if y.ndim != 1 or len(y) == 0:
        raise ValueError(f"y must be a non-empty 1-D array of labels, got shape {y.shape}")
    return np.random.default_rng(seed + 7919).permutation(y)


def shuffled_label_source(seed=0, progress=None):
    """The CNN trained like ``models.source_model``, but on shuffled ``mnist`` labels; cached.

    Same architecture, epochs, batch size and learning rate, on the first ``SHUFFLED_IMAGES``
    images of the same training split, with their labels shuffled: whatever it learns is not
    what the digits are. A few seconds on 2 cores the first time, then loaded from the cache folder.

    Returns:
        a compiled ``keras.Model`` (10-way head); its training accuracy is near chance.
    """
    import keras

    from course_lib.data import load_domain
    from course_lib.models import train_classifier

    def train():
        x, y = load_domain(SOURCE_RECIPE["domain"], "train", seed=seed)
        x, y = x[:SHUFFLED_IMAGES], y[:SHUFFLED_IMAGES]
        keras.utils.set_random_seed(seed)
        model = build_cnn(name="shuffled_source_cnn")
        train_classifier(model, x, shuffled_labels(y, seed), epochs=SOURCE_RECIPE["epochs"],
                         batch_size=SOURCE_RECIPE["batch_size"],
                         learning_rate=SOURCE_RECIPE["learning_rate"], seed=seed, progress=progress)
        return model

    recipe = sorted({**SOURCE_RECIPE, "seed": seed, "labels": "shuffled", "images": SHUFFLED_IMAGES}.items())
    return cached_model("shuffled_source", recipe, train)[0]


def probe_accuracy(model, train, test, n_classes=10, seed=0):
    """A linear probe: test accuracy of a softmax regression on ``model``'s frozen features.

    Args:
        model: a course CNN (its ``features_relu`` output, 128 numbers per image, is probed).
        train, test: ``(x, y)`` pairs of target images (n, 28, 28, 1) and labels (n,).

    Returns:
        accuracy in [0, 1]. About a second: the network runs once per image set.
        Compare it with the probe of a *randomly initialised* CNN (``random_cnn``): features
        that do no better than random ones will not transfer either.
    """
    from course_lib.feature_extraction import layer_scores
    from course_lib.models import FEATURE_LAYER

    return layer_scores(model, *train, *test, layers=[FEATURE_LAYER], n_classes=n_classes,
                        seed=seed)[FEATURE_LAYER]


def random_cnn(seed=0):
    """The course's CNN, freshly initialised (untrained): the probe's no-knowledge reference."""
    import keras

    keras.utils.set_random_seed(seed)
    return build_cnn(name="random_cnn")


# ----------------------------------------------------------------------------- layer transferability

def _check_k(k):
    if isinstance(k, bool) or int(k) != k or not 0 <= k <= len(TRANSFER_BLOCKS):
        raise ValueError(f"k must be a whole number from 0 to {len(TRANSFER_BLOCKS)} "
                         f"(the blocks {', '.join(TRANSFER_BLOCKS)} in order), got {k!r}")
    return int(k)


def copied_layers(k):
    """Names of the layers with weights that ``transplant`` copies for ``k`` blocks."""
    k = _check_k(k)
    return [name for block in TRANSFER_BLOCKS[:k] for name in BLOCKS[block]
            if name.endswith(("_conv", "_bn")) or name == "features"]


def transplant(base, k, n_classes, fine_tune=False, seed=0):
    """A fresh CNN for a new task whose first ``k`` blocks are copies of ``base``'s.

    Args:
        base: a trained course CNN (e.g. trained on task A).
        k: how many blocks to copy, 0 to 3 (see the module docstring).
        n_classes: classes of the new task (its head is always new and random).
        fine_tune: False: the copied layers are frozen (Yosinski's AnB; a frozen BatchNorm
            layer keeps A's statistics); True: they train with the rest (AnB+).

    Returns:
        an uncompiled ``keras.Model``.
    """
    import keras

    k = _check_k(k)
    keras.utils.set_random_seed(seed)
    model = build_cnn(channels=base.input_shape[-1], n_classes=n_classes, name=f"transplant_k{k}")
    for name in copied_layers(k):
        layer = model.get_layer(name)
        layer.set_weights(base.get_layer(name).get_weights())
        layer.trainable = bool(fine_tune)
    return model


def layer_transfer_curve(base, train, test, ks=(0, 1, 2, 3), seed=0, steps=150, progress=False,
                         fine_tuned_ks=None):
    """Yosinski's curve: task-B test accuracy for each ``k``, copied layers frozen and fine-tuned.

    Args:
        base: the network trained on task A.
        train, test: ``(x, y)`` of task B, labels 0..n_classes-1.
        ks: the numbers of blocks to copy; ``k = 0`` (scratch) is trained once and shared.
        steps: gradient steps per run (Adam ``TRANSFER_LEARNING_RATE``, batches of 32).
        fine_tuned_ks: the ks also run fine-tuned (default: all of ``ks``), to save time.

    Returns:
        ``{"frozen": {k: accuracy}, "fine-tuned": {k: accuracy}}``, accuracies in [0, 1].
    """
    from course_lib.fine_tuning import fit
    from course_lib.models import accuracy

    ks = [_check_k(k) for k in ks]
    if not ks:
        raise ValueError("ks is empty; give at least one k, e.g. (0, 1, 2, 3)")
    tuned = set(ks) if fine_tuned_ks is None else {_check_k(k) for k in fine_tuned_ks}
    if not tuned <= set(ks):
        raise ValueError(f"fine_tuned_ks {sorted(tuned)} must be among ks {ks}")
    n_classes = int(np.max(train[1])) + 1
    curve = {"frozen": {}, "fine-tuned": {}}
    for k in ks:
        for mode, fine_tune in (("frozen", False), ("fine-tuned", True)):
            if fine_tune and k not in tuned:
                continue
            if k == 0 and fine_tune:
                curve[mode][0] = curve["frozen"][0]  # nothing copied: the same run
                continue
            model = transplant(base, k, n_classes, fine_tune=fine_tune, seed=seed)
            label = f"k={k} {mode}" if k else "k=0 (scratch)"
            fit(model, *train, learning_rate=TRANSFER_LEARNING_RATE, steps=steps, seed=seed,
                progress=label if progress else None)
            curve[mode][k] = accuracy(model, *test)
    return curve


def transfer_plot(curve, ax=None, title=None):
    """Accuracy against ``k``, one line per mode (frozen, fine-tuned); returns the ``Axes``."""
    import matplotlib.pyplot as plt

    from course_lib.plots import FONT_SIZE, style_axes

    if not curve or not any(curve.values()):
        raise ValueError("curve is empty; pass layer_transfer_curve's result")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    styles = {"frozen": ("-o", "C3"), "fine-tuned": ("-s", "C2")}
    for mode, points in curve.items():
        ks = sorted(points)
        style, color = styles.get(mode, ("-o", None))
        ax.plot(ks, [points[k] for k in ks], style, color=color, linewidth=2.5, markersize=8,
                label=f"copied layers {mode}" if mode in styles else mode)
    ax.set_xticks(range(len(TRANSFER_BLOCKS) + 1),
                  ["0\n(scratch)", *[f"{k}\n+{b}" for k, b in enumerate(TRANSFER_BLOCKS, 1)]])
    ax.set_xlabel("k: blocks copied from the task-A network")
    ax.set_ylabel("task B test accuracy")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=FONT_SIZE - 1)
    style_axes(ax)
    return ax
