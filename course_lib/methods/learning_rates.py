"""Discriminative learning rates and gradual unfreezing (Howard & Ruder 2018, ULMFiT).

Early layers learn general features (edges, strokes) that transfer well; late layers are
task-specific. So fine-tune the early layers gently and the head boldly: a learning rate
per group of layers.

Keras 3 has no per-layer learning rate inside one optimizer, and multiplying the gradients
by a factor does not work with Adam: its step m / sqrt(v) does not change when the gradient
is scaled. ``GroupedLearningRates`` therefore keeps **one optimizer per group of variables**
and applies each group's gradients with its own optimizer in its ``train_step``.
Train it with ``fit(GroupedLearningRates(model, {"head": 3e-3, "block1": 1e-4, ...}), data,
learning_rate=None)``.

Gradual unfreezing trains the head first, then unfreezes one more block per stage, from
the top down, so that the random head does not send large gradients into the pretrained
blocks.
"""

import keras
import numpy as np

from course_lib.core import checks
from course_lib.core.cnn import BLOCKS
from course_lib.core.layers import train_only
from course_lib.core.training import fit

OPTIMIZERS = {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD}
#: The course CNN's groups, from the input up.
GROUP_ORDER = tuple(BLOCKS)


def layerwise_rates(top_rate=3e-3, factor=3.0, groups=GROUP_ORDER):
    """Learning rates that shrink by ``factor`` per group going down from the last group.

    Returns:
        ``{group: rate}``; with the defaults ``head`` 3e-3, ``features`` 1e-3, ``block2``
        3.3e-4, ``block1`` 1.1e-4.
    """
    top_rate = checks.positive_number(top_rate, "top_rate")
    if checks.positive_number(factor, "factor") < 1:
        raise ValueError(f"factor must be >= 1 (earlier layers learn no faster), got {factor}")
    groups = list(groups)
    return {g: top_rate / factor ** (len(groups) - 1 - i) for i, g in enumerate(groups)}


class GroupedLearningRates(keras.Model):
    """Wraps ``model``; trains each group of layers with its own optimizer and learning rate.

    Args:
        model: the Keras model to train (its ``trainable`` flags decide what trains); its
            weights change in place.
        rates: ``{group: learning rate}``, e.g. from ``layerwise_rates``.
        groups: ``{group: layer names}``; default the course CNN's ``BLOCKS``. Every layer
            with trainable weights must be in a group that has a rate.
        optimizer: ``"adam"`` or ``"sgd"`` (plain, no momentum), for every group.

    Compile with ``loss=`` and ``metrics=`` only: the group optimizers are made from
    ``rates`` (``training.fit`` does this). Recompile after changing ``trainable`` flags.
    """

    #: ``training.fit`` compiles it without an optimizer of its own.
    makes_own_optimizers = True

    def __init__(self, model, rates, groups=None, optimizer="adam", **kwargs):
        super().__init__(name=kwargs.pop("name", "grouped_learning_rates"), **kwargs)
        self.kind = checks.choice(optimizer, "optimizer", tuple(OPTIMIZERS))
        self.groups = dict(BLOCKS if groups is None else groups)
        for group, rate in rates.items():
            checks.choice(group, "group", tuple(self.groups))
            checks.positive_number(rate, f"the learning rate of {group}")
        self.inner = model
        self.rates = dict(rates)
        self.group_optimizers = {}
        self.group_variables = {}

    def call(self, x, training=False):
        return self.inner(x, training=training)

    def compile(self, **kwargs):
        if kwargs.get("optimizer") is not None:
            raise ValueError("GroupedLearningRates makes its own optimizers from `rates`; "
                             "compile it with loss= and metrics= only")
        super().compile(**{**kwargs, "optimizer": None})
        self._assign_variables()

    def _assign_variables(self):
        """Split the trainable variables into groups; make and build one optimizer each."""
        owner = {name: g for g, names in self.groups.items() for name in names}
        variables, unassigned = {}, []
        for layer in self.inner.layers:
            if not layer.trainable_weights:
                continue
            group = owner.get(layer.name)
            if group not in self.rates:
                unassigned.append(layer.name)
                continue
            variables.setdefault(group, []).extend(layer.trainable_weights)
        if unassigned:
            raise ValueError(f"trainable layers {unassigned} have no group with a rate; freeze "
                             f"them or give their group a rate (groups with rates: {', '.join(self.rates)})")
        self.group_variables = variables
        self.group_optimizers = {g: OPTIMIZERS[self.kind](self.rates[g]) for g in variables}
        for group, optimizer in self.group_optimizers.items():
            optimizer.build(variables[group])

    def train_step(self, data):
        import tensorflow as tf

        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            probabilities = self(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=probabilities, training=True)
        groups = list(self.group_variables)
        gradients = tape.gradient(loss, [v for g in groups for v in self.group_variables[g]])
        start = 0
        for group in groups:
            stop = start + len(self.group_variables[group])
            self.group_optimizers[group].apply(gradients[start:stop], self.group_variables[group])
            start = stop
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
        return self.compute_metrics(x, y, probabilities)


def step_sizes(model, x, y, rates, groups=None, optimizer="adam", seed=0):
    """Take one training step on all of (x, y) and measure how far each group's weights moved.

    The model's weights are restored afterwards. With Adam the first step moves every
    weight by about its learning rate (m / sqrt(v) = sign of the gradient), with plain SGD
    by learning rate x gradient: either way the steps follow the set rates.

    Returns:
        a ``pandas.DataFrame``: ``group``, ``learning_rate``, ``mean_step`` (mean absolute
        change of the group's trainable weights), ``step_per_rate`` (mean_step / rate).
    """
    import pandas as pd

    saved = model.get_weights()
    wrapper = GroupedLearningRates(model, rates, groups=groups, optimizer=optimizer)
    before = {layer.name: [w.numpy().copy() for w in layer.trainable_weights] for layer in model.layers}
    fit(wrapper, (x, y), steps=1, batch_size=len(x), learning_rate=None, seed=seed)
    rows = []
    for group, variables in wrapper.group_variables.items():
        old = [w for layer in model.layers if layer.name in wrapper.groups[group] for w in before[layer.name]]
        moved = np.concatenate([np.abs(v.numpy() - b).ravel() for v, b in zip(variables, old)])
        rows.append({"group": group, "learning_rate": rates[group], "mean_step": float(moved.mean()),
                     "step_per_rate": float(moved.mean() / rates[group])})
    model.set_weights(saved)
    return pd.DataFrame(rows)


def gradual_unfreezing(model, data, rates, stages=("head", "features", "block2", "block1"),
                       steps_per_stage=50, batch_size=32, seed=0, validation_data=None,
                       callbacks=(), progress=None):
    """Unfreeze from the top, one block per stage; train each stage with per-group rates.

    Stage 1 trains ``stages[0]`` only, stage 2 ``stages[:2]``, and so on.

    Args:
        data: ``(x, y)`` labelled target images.
        validation_data: ``(x, y)`` a validation split, measured after every 25 steps.
        callbacks: Keras callbacks for every stage's ``fit`` (e.g. one that keeps each
            stage's best validation weights).

    Returns:
        a dict of per-epoch lists: ``stage`` (1-based), ``trainable`` (the blocks that
        trained), and Keras's logs (``loss``, ``accuracy``, ``val_accuracy`` if validating).
    """
    stages = list(stages)
    for stage in stages:
        checks.choice(stage, "stage (a group with a learning rate)", tuple(rates))
    steps_per_stage = checks.whole_number(steps_per_stage, "steps_per_stage")
    log = {"stage": [], "trainable": []}
    for k in range(1, len(stages) + 1):
        train_only(model, stages[:k])
        history = fit(GroupedLearningRates(model, {s: rates[s] for s in stages[:k]}), data,
                      steps=steps_per_stage, batch_size=batch_size, seed=seed + k, learning_rate=None,
                      validation_data=validation_data, callbacks=callbacks,
                      progress=f"{progress} stage {k}" if progress else None)
        n = len(history.history["loss"])
        log["stage"] += [k] * n
        log["trainable"] += ["+".join(stages[:k])] * n
        for key, values in history.history.items():
            log.setdefault(key, []).extend(values)
    return log
