"""Task fine-tuning: freezing layers, counting what trains, the three strategies, forgetting.

Freezing a layer (``layer.trainable = False``) keeps its weights fixed; Keras reads
the flags when a model is compiled, so every helper here that trains compiles again.
A frozen ``BatchNormalization`` layer also runs in inference mode (it normalises with
its stored moving statistics and does not update them): see ``course_lib.batchnorm``.

The strategies (the source text's section 2.1-2.3, with sensible learning rates).
They start from every source weight, the head included, when the target has the
source's classes (here: the same ten digits); with other classes the head is new::

    head      the head only; everything below it frozen          Adam 3e-3
    top       conv block 2, the feature layer and the head       Adam 1e-3
    full      the whole model                                    Adam 1e-3

and the baselines they are compared with::

    scratch   the same CNN from a random start                   Adam 1e-3
    new_head  frozen source features, a new random head (the
              feature-extraction recipe of chapter 01)            Adam 3e-3
    mapping   the source text's "fully connected" variant: the whole source model
              frozen, a learned map from its 10 class probabilities to the target's
              classes, p = softmax(p_s A + alpha b); its inputs are
              probabilities in [0, 1], so it needs a large rate    Adam 1e-1

Training runs a fixed number of gradient steps (150 by default, not a number of passes
over the data), so that 3 and 30 labels per class cost about the same time.
"""

import re
import time

import numpy as np

from course_lib.models import BLOCKS, accuracy, build_cnn

#: strategy -> blocks that train (None: all) and the default Adam learning rate.
STRATEGIES = {
    "head": {"blocks": ("head",), "learning_rate": 3e-3},
    "top": {"blocks": ("block2", "features", "head"), "learning_rate": 1e-3},
    "full": {"blocks": None, "learning_rate": 1e-3},
}
BASELINES = {"scratch": {"learning_rate": 1e-3}, "new_head": {"learning_rate": 3e-3},
             "mapping": {"learning_rate": 1e-1, "alpha": 1.0}}
DEFAULT_STEPS = 150
DEFAULT_BATCH = 32
STEPS_PER_EPOCH = 25


# ----------------------------------------------------------------------------- selecting layers

def weighted_layers(model):
    """Names of the layers that own weights, in model order (the ones worth freezing)."""
    return [layer.name for layer in model.layers if layer.weights]


def select_layers(model, names=None, pattern=None, indices=None, blocks=None):
    """Names of the layers picked by exactly one selector, in model order.

    Args:
        names: layer names, e.g. ``["block1_conv", "head"]``.
        pattern: a regular expression matched against the start of each name, e.g. ``"block1_"``.
        indices: ``(start, stop)`` positions in ``model.layers`` (stop excluded, like a slice).
        blocks: course blocks from ``models.BLOCKS``, e.g. ``["block2", "head"]``.

    Raises:
        ValueError: no selector or several; an unknown name or block (the message lists the
            ones that exist); a pattern that matches nothing; indices out of range.
    """
    given = {k: v for k, v in dict(names=names, pattern=pattern, indices=indices,
                                   blocks=blocks).items() if v is not None}
    if len(given) != 1:
        raise ValueError("give exactly one of names=, pattern=, indices=, blocks=; "
                         f"got {sorted(given) or 'none'}")
    all_names = [layer.name for layer in model.layers]
    if names is not None:
        names = [names] if isinstance(names, str) else list(names)
        unknown = [n for n in names if n not in all_names]
        if unknown:
            raise ValueError(f"no layer named {unknown}; the model's layers are: {', '.join(all_names)}")
        return [n for n in all_names if n in names]
    if pattern is not None:
        picked = [n for n in all_names if re.match(pattern, n)]
        if not picked:
            raise ValueError(f"pattern {pattern!r} matches no layer; layers: {', '.join(all_names)}")
        return picked
    if indices is not None:
        start, stop = indices
        if not 0 <= start < stop <= len(all_names):
            raise ValueError(f"indices must satisfy 0 <= start < stop <= {len(all_names)}, "
                             f"got {tuple(indices)}")
        return all_names[start:stop]
    blocks = [blocks] if isinstance(blocks, str) else list(blocks)
    unknown = [b for b in blocks if b not in BLOCKS]
    if unknown:
        raise ValueError(f"unknown block {unknown}; blocks: {', '.join(BLOCKS)}")
    wanted = {n for b in blocks for n in BLOCKS[b]}
    return [n for n in all_names if n in wanted]


def set_trainable(model, trainable, **selector):
    """Set ``layer.trainable`` for the layers ``select_layers(model, **selector)`` picks.

    Returns:
        the names of the layers changed. Recompile before training.
    """
    picked = select_layers(model, **selector)
    for name in picked:
        model.get_layer(name).trainable = bool(trainable)
    return picked


def freeze(model, **selector):
    """Freeze the selected layers (see ``select_layers``); returns their names."""
    return set_trainable(model, False, **selector)


def unfreeze(model, **selector):
    """Unfreeze the selected layers (see ``select_layers``); returns their names."""
    return set_trainable(model, True, **selector)


def train_only(model, blocks=None):
    """Make only ``blocks`` trainable (None: every layer); returns the trainable layer names."""
    for layer in model.layers:
        layer.trainable = blocks is None
    if blocks is not None:
        unfreeze(model, blocks=blocks)
    return [layer.name for layer in model.layers if layer.trainable and layer.weights]


def _size(variables):
    return int(sum(np.prod(v.shape) for v in variables))


def trainable_summary(model):
    """Trainable and frozen parameters per layer that owns weights, plus a ``total`` row.

    BatchNorm's moving mean and variance are always counted as frozen: they are
    averaged from batches, never learned by gradients (Keras counts them the same way).

    Returns:
        a ``pandas.DataFrame``: ``layer``, ``trainable`` (the flag), ``trainable_params``,
        ``frozen_params``.
    """
    import pandas as pd

    rows = [{"layer": layer.name, "trainable": layer.trainable,
             "trainable_params": _size(layer.trainable_weights),
             "frozen_params": _size(layer.non_trainable_weights)}
            for layer in model.layers if layer.weights]
    table = pd.DataFrame(rows)
    total = {"layer": "total", "trainable": None,
             "trainable_params": int(table["trainable_params"].sum()),
             "frozen_params": int(table["frozen_params"].sum())}
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)


def parameter_counts(model):
    """``(trainable, frozen)`` parameter totals of ``model``."""
    return _size(model.trainable_weights), _size(model.non_trainable_weights)


# ----------------------------------------------------------------------------- building models

def copy_model(model):
    """A fresh copy of a functional ``model`` with the same weights and trainable flags."""
    import keras

    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    for original, copied in zip(model.layers, clone.layers):
        copied.trainable = original.trainable
    return clone


def with_new_head(source, n_classes=10, seed=0):
    """A copy of ``source`` whose ``head`` is a new, randomly initialised softmax layer.

    Returns:
        an uncompiled ``keras.Model`` (every layer trainable).
    """
    import keras

    base = copy_model(source)
    keras.utils.set_random_seed(seed)
    head = keras.layers.Dense(n_classes, activation="softmax", name="head")
    model = keras.Model(base.input, head(base.get_layer("dropout").output), name="fine_tuned")
    for layer in model.layers:
        layer.trainable = True
    return model


def _probability_mapping_layer():
    import keras

    class ProbabilityMapping(keras.layers.Layer):
        """``softmax(p_s @ A + alpha * b)``: a learned map between two sets of class probabilities.

        Input (batch, K_s) source probabilities; output (batch, K_t) target probabilities.
        ``A`` starts as the identity when K_s == K_t (the source classifier as-is).
        """

        def __init__(self, n_classes, alpha=1.0, **kwargs):
            super().__init__(**kwargs)
            self.n_classes, self.alpha = int(n_classes), float(alpha)

        def build(self, input_shape):
            k_s = int(input_shape[-1])
            init = "identity" if k_s == self.n_classes else "glorot_uniform"
            self.a = self.add_weight(shape=(k_s, self.n_classes), initializer=init, name="a")
            self.b = self.add_weight(shape=(self.n_classes,), initializer="zeros", name="b")

        def call(self, p_source):
            return keras.ops.softmax(keras.ops.matmul(p_source, self.a) + self.alpha * self.b)

    return ProbabilityMapping


def probability_mapping_model(source, n_classes=10, alpha=1.0):
    """The source text's "fully connected" variant: frozen source model, learned output map.

    p_i = softmax(sum_j a_ij p_j^s + alpha b_i), where p^s is the source model's softmax
    output for the image (its class probabilities, not a prior), A is (K_s, K_t) and b (K_t,).

    Returns:
        an uncompiled ``keras.Model`` whose only trainable layer is ``mapping``.
    """
    import keras

    if alpha <= 0:
        raise ValueError(f"alpha must be > 0, got {alpha}")
    base = copy_model(source)
    for layer in base.layers:
        layer.trainable = False
    mapping = _probability_mapping_layer()(n_classes, alpha=alpha, name="mapping")
    return keras.Model(base.input, mapping(base.output), name="probability_mapping")


def build(strategy, source=None, n_classes=10, seed=0):
    """The model a strategy trains, with its layers frozen as the strategy says (uncompiled).

    Args:
        strategy: one of ``STRATEGIES`` (``head``, ``top``, ``full``) or ``BASELINES``
            (``scratch``, ``new_head``, ``mapping``).
        source: the trained source model (not needed for ``scratch``). Its head is kept
            when it has ``n_classes`` outputs (except for ``new_head``), else replaced.
    """
    import keras

    known = [*STRATEGIES, *BASELINES]
    if strategy not in known:
        raise ValueError(f"unknown strategy {strategy!r}; allowed: {', '.join(known)}")
    if strategy == "scratch":
        channels = source.input_shape[-1] if source is not None else 1
        keras.utils.set_random_seed(seed)
        return build_cnn(channels=channels, n_classes=n_classes, name="scratch")
    if source is None:
        raise ValueError(f"strategy {strategy!r} needs the source model")
    if strategy == "mapping":
        return probability_mapping_model(source, n_classes, BASELINES["mapping"]["alpha"])
    if strategy == "new_head" or source.output_shape[-1] != n_classes:
        model = with_new_head(source, n_classes=n_classes, seed=seed)
    else:
        model = copy_model(source)
    blocks = ("head",) if strategy == "new_head" else STRATEGIES[strategy]["blocks"]
    train_only(model, blocks)
    return model


def default_learning_rate(strategy):
    """The strategy's default Adam learning rate."""
    table = {**STRATEGIES, **BASELINES}
    if strategy not in table:
        raise ValueError(f"unknown strategy {strategy!r}; allowed: {', '.join(table)}")
    return table[strategy]["learning_rate"]


# ----------------------------------------------------------------------------- training

def schedule(steps=DEFAULT_STEPS):
    """``(epochs, steps_per_epoch)`` for about ``steps`` gradient steps.

    An "epoch" here is ``STEPS_PER_EPOCH`` batches drawn from the shuffled, repeated
    training set, whatever its size: Keras has a fixed cost per epoch, and 38 epochs of
    4 batches (100 images) cost a third more than 6 epochs of 25.
    """
    if int(steps) != steps or steps < 1:
        raise ValueError(f"steps must be a whole number >= 1, got {steps!r}")
    per_epoch = min(STEPS_PER_EPOCH, int(steps))
    return max(1, round(steps / per_epoch)), per_epoch


def training_stream(x, y, batch_size=DEFAULT_BATCH, seed=0):
    """A ``tf.data.Dataset`` of (images, labels) batches: shuffled every pass, repeated forever."""
    import tensorflow as tf

    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"need matching, non-empty x and y; got {len(x)} and {len(y)} rows")
    data = tf.data.Dataset.from_tensor_slices((x, y))
    return data.shuffle(len(x), seed=seed, reshuffle_each_iteration=True).repeat().batch(batch_size)


def fit(model, x, y, learning_rate, steps=DEFAULT_STEPS, batch_size=DEFAULT_BATCH, seed=0,
        validation_data=None, progress=None, callbacks=()):
    """Compile ``model`` (Adam, keeping its trainable flags) and train it for about ``steps`` steps.

    Returns:
        the ``keras.callbacks.History`` (one entry per ``STEPS_PER_EPOCH`` steps).
    """
    import keras

    from course_lib.models import compile_classifier
    from course_lib.progress import ProgressLine

    if learning_rate <= 0:
        raise ValueError(f"learning_rate must be > 0, got {learning_rate}")
    keras.utils.set_random_seed(seed)
    compile_classifier(model, learning_rate)
    epochs, per_epoch = schedule(steps)
    extra = [ProgressLine(progress)] if progress else []
    return model.fit(training_stream(x, y, batch_size, seed), epochs=epochs,
                     steps_per_epoch=per_epoch, shuffle=False, verbose=0,
                     validation_data=validation_data,
                     callbacks=[*extra, *callbacks])


def run_strategy(strategy, source, target_train, target_test, source_test, seed=0,
                 learning_rate=None, steps=DEFAULT_STEPS, progress=None):
    """Build, train and test one strategy.

    Args:
        target_train, target_test, source_test: ``(x, y)`` pairs; the source test set
            measures forgetting (the same digits on the source domain).
        learning_rate: None for the strategy's default.

    Returns:
        a dict: ``strategy``, ``target_accuracy``, ``source_accuracy``, ``trainable_params``,
        ``seconds``, ``history`` (the Keras history dict).
    """
    start = time.perf_counter()
    model = build(strategy, source, seed=seed)
    lr = default_learning_rate(strategy) if learning_rate is None else learning_rate
    history = fit(model, *target_train, learning_rate=lr, steps=steps, seed=seed, progress=progress)
    return {
        "strategy": strategy,
        "target_accuracy": accuracy(model, *target_test),
        "source_accuracy": accuracy(model, *source_test),
        "trainable_params": parameter_counts(model)[0],
        "seconds": time.perf_counter() - start,
        "history": history.history,
    }


def forgetting_table(results, source_before):
    """How much of the source task each strategy kept.

    Args:
        results: dicts from ``run_strategy``.
        source_before: the source model's accuracy on the source test set.

    Returns:
        a ``pandas.DataFrame``: ``strategy``, ``target_accuracy``, ``source_accuracy``,
        ``forgotten`` (source_before - source_accuracy, in accuracy points 0-1).
    """
    import pandas as pd

    return pd.DataFrame([{
        "strategy": r["strategy"],
        "target_accuracy": round(r["target_accuracy"], 3),
        "source_accuracy": round(r["source_accuracy"], 3),
        "forgotten": round(source_before - r["source_accuracy"], 3),
    } for r in results])


def strategy_plot(results, ax=None):
    """Bars of target and source accuracy per strategy; returns the ``Axes``."""
    import matplotlib.pyplot as plt

    from course_lib.plots import FONT_SIZE, style_axes

    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    names = [r["strategy"] for r in results]
    pos = np.arange(len(names))
    for offset, key, label in ((-0.2, "target_accuracy", "target (mnist_m)"),
                               (0.2, "source_accuracy", "source (mnist), forgetting")):
        values = [r[key] for r in results]
        bars = ax.bar(pos + offset, values, width=0.4, label=label)
        for bar, v in zip(bars, values):
            ax.text(bar.get_x() + bar.get_width() / 2, v, f"{v:.2f}", ha="center", va="bottom",
                    fontsize=FONT_SIZE - 2)
    ax.set_xticks(pos, names)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("test accuracy")
    ax.legend(fontsize=FONT_SIZE - 2, loc="lower right")
    style_axes(ax)
    return ax


def load_task(n_per_class=10, seed=0, channels=1):
    """The chapter's task: MNIST source model -> ``mnist_m`` with few labels per class.

    Returns:
        a dict of ``(x, y)`` pairs: ``target_train`` (``n_per_class`` labelled ``mnist_m``
        images per digit from the train split), ``target_test`` (the 1,000 ``mnist_m`` test
        images), ``source_test`` (the 1,000 ``mnist`` test images, for forgetting).
    """
    from course_lib.data import few_shot, load_domain

    x, y = load_domain("mnist_m", "train", seed=seed, channels=channels)
    return {
        "target_train": few_shot(x, y, n_per_class, seed=seed),
        "target_test": load_domain("mnist_m", "test", seed=seed, channels=channels),
        "source_test": load_domain("mnist", "test", seed=seed, channels=channels),
    }


def compare_strategies(source, task, strategies=("scratch", "new_head", "head", "top", "full"),
                       seed=0, steps=DEFAULT_STEPS, progress=True):
    """``run_strategy`` for each strategy on the same ``task`` (from ``load_task``).

    Returns:
        a list of ``run_strategy`` dicts, in the order given.
    """
    return [run_strategy(s, source, task["target_train"], task["target_test"], task["source_test"],
                         seed=seed, steps=steps, progress=s if progress else None)
            for s in strategies]
