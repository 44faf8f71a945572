"""Discriminative learning rates and gradual unfreezing.

Early layers learn general features (edges, strokes) that transfer well; late layers
are task-specific. So fine-tune the early layers gently and the head boldly: a
learning rate per group of layers (Howard & Ruder 2018, ULMFiT).

Keras 3 has no per-layer learning rate inside one optimizer, and multiplying the
gradients by a factor does not work with Adam: its step m / sqrt(v) does not change
when the gradient is scaled. ``GroupedLearningRates`` therefore keeps **one optimizer
per group of variables** and applies each group's gradients with its own optimizer in
a custom ``train_step`` (TensorFlow backend, the course's).

Gradual unfreezing trains the head first, then unfreezes one more block per stage,
from the top down, so that the random head does not send large gradients into the
pretrained blocks.
"""

import numpy as np

from course_lib.models import BLOCKS

OPTIMIZERS = ("adam", "sgd")
#: The course CNN's groups, from the input up.
GROUP_ORDER = tuple(BLOCKS)


def layerwise_rates(top_rate=3e-3, factor=3.0, groups=GROUP_ORDER):
    """Learning rates that shrink by ``factor`` per group going down from the last group.

    Returns:
        ``{group: rate}``; with the defaults ``head`` 3e-3, ``features`` 1e-3, ``block2``
        3.3e-4, ``block1`` 1.1e-4.
    """
    if top_rate <= 0:
        raise ValueError(f"top_rate must be > 0, got {top_rate}")
    if factor < 1:
        raise ValueError(f"factor must be >= 1 (earlier layers learn no faster), got {factor}")
    groups = list(groups)
    return {g: top_rate / factor ** (len(groups) - 1 - i) for i, g in enumerate(groups)}


def _make_optimizer(kind, rate):
    import keras

    if kind == "adam":
        return keras.optimizers.Adam(rate)
    return keras.optimizers.SGD(rate)


def _grouped_model_class():
    import keras
    import tensorflow as tf

    class GroupedLearningRates(keras.Model):
        """Wraps ``model``; trains each group of layers with its own optimizer and learning rate.

        Args:
            model: the Keras model to train (its ``trainable`` flags decide what trains).
            rates: ``{group: learning rate}``, e.g. from ``layerwise_rates``.
            groups: ``{group: layer names}``; default ``models.BLOCKS``. Every layer that
                has trainable weights must be in one group that has a rate.
            optimizer: ``"adam"`` or ``"sgd"`` (plain, no momentum): the kind of every
                group's optimizer.

        Compile with ``loss=`` and ``metrics=`` only (no ``optimizer=``): the group
        optimizers are made from ``rates``. Recompile after changing ``trainable`` flags.
        """

        def __init__(self, model, rates, groups=None, optimizer="adam", **kwargs):
            super().__init__(name=kwargs.pop("name", "grouped_learning_rates"), **kwargs)
            if optimizer not in OPTIMIZERS:
                raise ValueError(f"unknown optimizer {optimizer!r}; allowed: {', '.join(OPTIMIZERS)}")
            groups = dict(BLOCKS if groups is None else groups)
            missing = [g for g in rates if g not in groups]
            if missing:
                raise ValueError(f"rates name unknown groups {missing}; groups: {', '.join(groups)}")
            bad = {g: r for g, r in rates.items() if not r > 0}
            if bad:
                raise ValueError(f"learning rates must be > 0, got {bad}")
            self.inner = model
            self.rates = dict(rates)
            self.groups = groups
            self.kind = optimizer
            self.group_optimizers = {}
            self.group_variables = {}

        def call(self, x, training=False):
            return self.inner(x, training=training)

        def compile(self, **kwargs):
            if "optimizer" in kwargs:
                raise ValueError("GroupedLearningRates makes its own optimizers from `rates`; "
                                 "compile it with loss= and metrics= only")
            super().compile(optimizer=None, **kwargs)
            self._assign_variables()

        def _assign_variables(self):
            """Split the trainable variables into groups; make and build one optimizer each."""
            owner = {name: g for g, names in self.groups.items() for name in names}
            variables = {}
            unassigned = []
            for layer in self.inner.layers:
                if not layer.trainable_weights:
                    continue
                group = owner.get(layer.name)
                if group is None or group not in self.rates:
                    unassigned.append(layer.name)
                    continue
                variables.setdefault(group, []).extend(layer.trainable_weights)
            if unassigned:
                raise ValueError(f"trainable layers {unassigned} have no group with a rate; "
                                 f"freeze them or give their group a rate (groups with rates: "
                                 f"{', '.join(self.rates)})")
            self.group_variables = variables
            self.group_optimizers = {g: _make_optimizer(self.kind, self.rates[g]) for g in variables}
            for g, opt in self.group_optimizers.items():
                opt.build(variables[g])

        def train_step(self, data):
            x, y = data[0], data[1]  # (images, labels); no sample weights
            with tf.GradientTape() as tape:
                y_pred = self(x, training=True)
                loss = self.compute_loss(x=x, y=y, y_pred=y_pred, training=True)
            groups = list(self.group_variables)
            flat = [v for g in groups for v in self.group_variables[g]]
            gradients = tape.gradient(loss, flat)
            start = 0
            for g in groups:
                stop = start + len(self.group_variables[g])
                self.group_optimizers[g].apply_gradients(
                    zip(gradients[start:stop], self.group_variables[g]))
                start = stop
            self._loss_tracker.update_state(loss, sample_weight=tf.shape(x)[0])
            return self.compute_metrics(x, y, y_pred)

    return GroupedLearningRates


def grouped(model, rates, groups=None, optimizer="adam"):
    """``model`` wrapped in a compiled ``GroupedLearningRates`` (sparse cross-entropy, accuracy)."""
    import keras

    wrapper = _grouped_model_class()(model, rates, groups=groups, optimizer=optimizer)
    wrapper.compile(loss=keras.losses.SparseCategoricalCrossentropy(),
                    metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    return wrapper


def step_sizes(model, x, y, rates, groups=None, optimizer="adam", seed=0):
    """Take one training step on (x, y) and measure how far each group's weights moved.

    The model's weights are restored afterwards. With Adam the first step moves every
    weight by about its learning rate (m / sqrt(v) = sign of the gradient), with plain
    SGD by learning rate x gradient: either way the steps follow the set rates.

    Returns:
        a ``pandas.DataFrame``: ``group``, ``learning_rate``, ``mean_step`` (mean absolute
        change of the group's trainable weights), ``step_per_rate`` (mean_step / rate).
    """
    import keras
    import pandas as pd

    keras.utils.set_random_seed(seed)
    saved = model.get_weights()
    wrapper = grouped(model, rates, groups=groups, optimizer=optimizer)
    before = {g: [np.array(v) for v in vs] for g, vs in wrapper.group_variables.items()}
    wrapper.fit(x, y, batch_size=len(x), epochs=1, verbose=0, shuffle=False)
    rows = []
    for g, vs in wrapper.group_variables.items():
        moved = np.concatenate([np.abs(np.array(v) - b).ravel() for v, b in zip(vs, before[g])])
        rows.append({"group": g, "learning_rate": rates[g], "mean_step": float(moved.mean()),
                     "step_per_rate": float(moved.mean() / rates[g])})
    model.set_weights(saved)
    return pd.DataFrame(rows)


def fit_grouped(model, x, y, rates, steps=150, batch_size=32, seed=0, validation_data=None,
                progress=None):
    """Train ``model`` with one Adam per group (``rates``) for about ``steps`` steps.

    Returns:
        the ``keras.callbacks.History`` of the wrapper, one entry per
        ``fine_tuning.STEPS_PER_EPOCH`` steps (the model's weights change in place).
    """
    import keras

    from course_lib.fine_tuning import schedule, training_stream
    from course_lib.progress import ProgressLine

    keras.utils.set_random_seed(seed)
    wrapper = grouped(model, rates)
    callbacks = [ProgressLine(progress)] if progress else []
    epochs, per_epoch = schedule(steps)
    return wrapper.fit(training_stream(x, y, batch_size, seed), epochs=epochs,
                       steps_per_epoch=per_epoch, shuffle=False, verbose=0,
                       validation_data=validation_data,
                       callbacks=callbacks)


def gradual_unfreezing(model, x, y, rates, stages=("head", "features", "block2", "block1"),
                       steps_per_stage=50, batch_size=32, seed=0, validation_data=None,
                       progress=None):
    """Unfreeze from the top, one block per stage; train each stage with per-group rates.

    Stage 1 trains ``stages[0]`` only, stage 2 ``stages[:2]``, and so on.

    Returns:
        a dict of per-epoch lists: ``stage`` (1-based), ``trainable`` (the blocks that
        trained), and Keras's logs (``loss``, ``accuracy``, ``val_accuracy`` if validating).
    """
    from course_lib.fine_tuning import train_only

    stages = list(stages)
    unknown = [s for s in stages if s not in rates]
    if unknown:
        raise ValueError(f"stages {unknown} have no learning rate; rates are for: {', '.join(rates)}")
    if steps_per_stage < 1:
        raise ValueError(f"steps_per_stage must be >= 1, got {steps_per_stage}")
    log = {"stage": [], "trainable": []}
    for k in range(1, len(stages) + 1):
        train_only(model, stages[:k])
        label = f"{progress} stage {k}" if progress else None
        history = fit_grouped(model, x, y, {s: rates[s] for s in stages[:k]}, steps=steps_per_stage,
                              batch_size=batch_size, seed=seed + k,
                              validation_data=validation_data, progress=label)
        n = len(history.history["loss"])
        log["stage"] += [k] * n
        log["trainable"] += ["+".join(stages[:k])] * n
        for key, values in history.history.items():
            log.setdefault(key, []).extend(values)
    return log


def plot_stages(log, metric="val_accuracy", ax=None):
    """``metric`` per epoch across the stages of ``gradual_unfreezing``; dotted lines mark stages.

    Returns:
        the matplotlib ``Axes``.
    """
    import matplotlib.pyplot as plt

    from course_lib.plots import FONT_SIZE, style_axes

    if metric not in log:
        raise ValueError(f"the log has no {metric!r}; it has {sorted(log)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    epochs = np.arange(1, len(log[metric]) + 1)
    ax.plot(epochs, log[metric], "-o", linewidth=2.5)
    ax.set_xticks(epochs)
    stages = np.asarray(log["stage"])
    for k in np.unique(stages):
        first = int(np.argmax(stages == k)) + 1
        ax.axvline(first - 0.5, color="grey", linestyle=":")
        ax.text(first - 0.4, 0.02, "+" + log["trainable"][first - 1].split("+")[-1],
                fontsize=FONT_SIZE - 2, va="bottom")
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric.replace("val_", "target test "))
    ax.set_ylim(0, 1)
    style_axes(ax)
    return ax
