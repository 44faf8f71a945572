"""Parameter-efficient fine-tuning: train a small part of a pretrained model, or a small addition to it.

Which weights a method trains, on the course's CNN (``core.cnn``)::

    probe      a new linear head on frozen features (``fine_tuning.build("new_head")``)
    full       every weight (``fine_tuning.build("full")``)
    lp_ft      the probe first, then every weight from there (Kumar et al. 2022)
    bitfit     the biases only (Ben Zaken et al. 2021); ``batchnorm=True`` adds BatchNorm's
               scale and offset (gamma, beta), whose layers then normalise with batch
               statistics and re-estimate their moving ones on the target
    lora       a low-rank update of chosen kernels, ``W + (alpha / r) A B`` (Hu et al. 2021),
               through Keras's own ``layer.enable_lora(rank, lora_alpha=alpha)``
    adapters   small bottlenecks ``h + up(relu(down(h)))`` after frozen blocks (Houlsby et
               al. 2019), ``up`` initialised to zero so the network starts as the source

What Keras's ``enable_lora`` does, read in its source (keras 3.10 and 3.15,
``layers/core/dense.py`` and ``layers/convolutional/base_conv.py``, the same in both):

* it adds ``lora_kernel_a`` (Dense: (d_in, r); Conv: (k_h, k_w, c_in, r), he_uniform) and
  ``lora_kernel_b`` ((r, d_out), zeros), and sets only the kernel variable's ``trainable``
  to False: **the bias stays trainable**, and so does every other layer;
* the layer computes with ``kernel = W + (lora_alpha / r) A B`` (A B is a matmul over the
  last axis, so a convolution's update has rank r as a (k_h k_w c_in, c_out) matrix);
* ``layer.trainable = True`` (or ``model.trainable = True``) sets every variable the layer
  created as trainable back to True, the kernel too, **if the flag changes**: after a
  model was frozen and then unfrozen the kernels train again. With TensorFlow, setting a
  layer that is already trainable to True changes nothing (Keras's
  ``KerasAutoTrackable.__setattr__`` skips an assignment of the same object);
* saving (``model.save``, ``save_weights``) writes the merged kernel ``W + (alpha/r) A B``;
  loading puts it in the kernel and sets A and B to zero, with LoRA still enabled (the
  config keeps ``lora_rank``); a weights file loads as well into the same architecture
  without LoRA;
* ``Dense(units, lora_rank=r, lora_alpha=a)`` loses ``a``: its ``build`` calls
  ``enable_lora(r)`` without it, so alpha becomes r (Conv layers pass it on). Call
  ``enable_lora(r, lora_alpha=a)`` on the built layer, as ``with_lora`` does; a Dense
  layer reloaded from a file has alpha = r for any training that follows.

Every method trains through ``fine_tuning.fine_tune`` (the one ``fit``), its learning rate
chosen on the validation split by ``fine_tuning.select_learning_rate`` (``tune``).
``budget`` says what a method trains and stores; one shared source model and a small file
per task is ``save_task_weights`` and ``load_task_weights``.
"""

import dataclasses

import keras
import numpy as np

from course_lib.core import checks
from course_lib.core.environment import seed_everything
from course_lib.core.layers import batchnorm_layers, copy_model, train_only
from course_lib.methods import fine_tuning as ft

METHODS = ("probe", "full", "lp_ft", "bitfit", "lora", "adapters")
#: The learning rates each method tries; the validation split picks one. The probe and the
#: whole model keep chapter 02's grids; the small additions and the biases start from small
#: or zero updates and take larger steps.
RATE_GRID = {
    "probe": ft.RATE_GRID["new_head"],
    "full": ft.RATE_GRID["full"],
    "lp_ft": ft.RATE_GRID["full"],
    "bitfit": (3e-3, 1e-2, 3e-2),
    "lora": (1e-3, 3e-3, 1e-2),
    "adapters": (1e-3, 3e-3, 1e-2),
}
#: The course CNN's kernels LoRA adapts by default: both convolutions and both Dense layers.
LORA_LAYERS = ("block1_conv", "block2_conv", "features", "head")
LORA_RANK = 4
#: alpha = 2 r: the update's scale alpha / r stays 2 whatever the rank.
LORA_ALPHA_PER_RANK = 2
#: The layers an adapter follows by default: the outputs of both conv blocks and the features.
ADAPTER_AFTER = ("block1_pool", "block2_pool", "features_relu")
ADAPTER_BOTTLENECK = 8
#: The names Keras gives the weights ``bitfit`` trains: biases, and BatchNorm's scale and offset.
BIAS, BATCHNORM_SCALE_OFFSET = ("bias",), ("gamma", "beta")


def _variable_name(variable):
    return variable.name.split("/")[-1]


def bitfit(source, batchnorm=False, seed=0):
    """A copy of ``source`` in which only the biases train (BitFit).

    Args:
        source: a trained Keras model; left unchanged.
        batchnorm: also train BatchNorm's scale and offset (gamma, beta). Their layers are
            then trainable, so they normalise with batch statistics while training and their
            moving statistics follow the target; without it BatchNorm is frozen and keeps the
            source's statistics (inference mode).
        seed: seeds the copy's dropout (``layers.copy_model``).

    Returns:
        an uncompiled ``keras.Model`` whose ``trainable_weights`` are the biases (and the
        gammas and betas).
    """
    model = copy_model(source, name="bitfit_bn" if batchnorm else "bitfit", seed=seed)
    wanted = BIAS + (BATCHNORM_SCALE_OFFSET if batchnorm else ())
    for layer in model.layers:
        layer.trainable = False  # every layer's flag changes here, so the next line takes hold
    for layer in model.layers:
        if any(_variable_name(v) in wanted for v in layer.weights):
            layer.trainable = True
            for variable in layer.trainable_weights:
                variable.trainable = _variable_name(variable) in wanted
    if not model.trainable_weights:
        raise ValueError(f"model {source.name!r} has no bias to train")
    return model


def with_lora(source, rank=LORA_RANK, alpha=None, layers=LORA_LAYERS, seed=0):
    """A copy of ``source`` with LoRA on ``layers`` and every other layer frozen.

    Each chosen Dense or Conv layer computes with ``W + (alpha / rank) A B``: Keras's
    ``enable_lora(rank, lora_alpha=alpha)`` freezes W and trains A, B and (Keras's choice)
    the layer's bias. B starts at zero, so the copy starts as ``source``.

    Args:
        rank: r, the rank of the update (at least 1).
        alpha: the update's scale numerator; default ``LORA_ALPHA_PER_RANK * rank``.
        layers: names of Dense or Conv layers of ``source``.
        seed: A's random start.

    Returns:
        an uncompiled ``keras.Model``.
    """
    rank = checks.whole_number(rank, "rank")
    alpha = LORA_ALPHA_PER_RANK * rank if alpha is None else checks.positive_number(alpha, "alpha")
    layers = [layers] if isinstance(layers, str) else list(layers)
    if not layers:
        raise ValueError("layers is empty; name at least one Dense or Conv layer, e.g. 'features'")
    model = copy_model(source, name=f"lora_r{rank}", seed=seed)
    names = [layer.name for layer in model.layers]
    for name in layers:
        if name not in names or not hasattr(model.get_layer(name), "enable_lora"):
            allowed = [n for n in names if hasattr(model.get_layer(n), "enable_lora")]
            raise ValueError(f"LoRA needs a Dense or Conv layer of {source.name!r}, got {name!r}; "
                             f"allowed: {', '.join(allowed)}")
    for layer in model.layers:
        layer.trainable = layer.name in layers  # before enable_lora, which then freezes the kernels
    seed_everything(seed)
    for name in layers:
        model.get_layer(name).enable_lora(rank, lora_alpha=alpha)
    return model


@keras.saving.register_keras_serializable(package="course_lib")
class Adapter(keras.layers.Layer):
    """A bottleneck with a residual connection: ``h + up(relu(down(h)))`` over the last axis.

    Input and output (batch, ..., channels): on a conv block's (batch, height, width,
    channels) maps the two Dense layers act as 1x1 convolutions. ``down`` maps channels to
    ``bottleneck`` (Glorot start), ``up`` maps back and starts at zero, so a new adapter is
    the identity: inserted into a trained network it changes nothing until it trains.
    """

    def __init__(self, bottleneck=ADAPTER_BOTTLENECK, **kwargs):
        super().__init__(**kwargs)
        self.bottleneck = checks.whole_number(bottleneck, "bottleneck")

    def build(self, input_shape):
        channels = int(input_shape[-1])
        self.down = keras.layers.Dense(self.bottleneck, activation="relu", name="down")
        self.up = keras.layers.Dense(channels, kernel_initializer="zeros", name="up")
        self.down.build(input_shape)
        self.up.build((*input_shape[:-1], self.bottleneck))

    def call(self, h):
        return h + self.up(self.down(h))

    def get_config(self):
        return {**super().get_config(), "bottleneck": self.bottleneck}


def with_adapters(source, bottleneck=ADAPTER_BOTTLENECK, after=ADAPTER_AFTER, seed=0):
    """A copy of ``source`` with an ``Adapter`` after each layer in ``after``; only the adapters train.

    Args:
        source: a functional model whose layers form a chain (each reads the one before),
            as the course CNN does; left unchanged.
        bottleneck: the adapters' inner width.
        after: names of the layers an adapter follows (its name: ``<layer>_adapter``).
        seed: the ``down`` projections' random start.

    Returns:
        an uncompiled ``keras.Model`` that predicts exactly as ``source`` until it trains.
    """
    after = [after] if isinstance(after, str) else list(after)
    base = copy_model(source, seed=seed)
    names = [layer.name for layer in base.layers]
    unknown = [name for name in after if name not in names]
    if unknown or not after:
        raise ValueError(f"adapters go after layers of {source.name!r}; got {unknown or 'none'}, "
                         f"allowed: {', '.join(names[1:])}")
    for previous, layer in zip(base.layers, base.layers[1:]):
        if layer.input is not previous.output:
            raise ValueError(f"model {source.name!r} is not a chain of layers ({layer.name!r} does "
                             f"not read {previous.name!r}): insert adapters by hand")
    for layer in base.layers:
        layer.trainable = False
    seed_everything(seed)
    inputs = keras.Input(base.input_shape[1:], name=base.layers[0].name)
    h = inputs
    for layer in base.layers[1:]:
        h = layer(h)
        if layer.name in after:
            h = Adapter(bottleneck, name=f"{layer.name}_adapter")(h)
    return keras.Model(inputs, h, name="adapters")


def build(method, source, seed=0, **options):
    """The model ``method`` trains, its weights frozen as the method says (uncompiled).

    Args:
        method: one of ``METHODS`` except ``lp_ft`` (two stages: see ``tune``).
        options: passed to ``bitfit`` (``batchnorm``), ``with_lora`` (``rank``, ``alpha``,
            ``layers``) or ``with_adapters`` (``bottleneck``, ``after``).
    """
    checks.choice(method, "method", tuple(m for m in METHODS if m != "lp_ft"))
    makers = {"probe": lambda: ft.build("new_head", source, seed=seed, **options),
              "full": lambda: ft.build("full", source, seed=seed, **options),
              "bitfit": lambda: bitfit(source, seed=seed, **options),
              "lora": lambda: with_lora(source, seed=seed, **options),
              "adapters": lambda: with_adapters(source, seed=seed, **options)}
    return makers[method]()


def tune(method, source, train, validation, seed=0, steps=ft.DEFAULT_STEPS, rates=None, probe=None,
         progress=None, **options):
    """Fine-tune ``method`` at each rate of ``rates``; keep the best on the validation split.

    LP-FT first tunes the probe (or takes ``probe``, a ``Selection`` of ``tune("probe", ...)``
    already made), then fine-tunes every weight of a copy of the chosen probe at each rate.

    Args:
        train, validation: ``(x, y)`` labelled target images.
        steps: gradient steps per run (per stage for LP-FT).
        rates: the learning rates to try; default ``RATE_GRID[method]``.
        options: the method's own (see ``build``).

    Returns:
        a ``fine_tuning.Selection``: the kept model, its rate, every rate's validation run.
    """
    checks.choice(method, "method", METHODS)
    rates = RATE_GRID[method] if rates is None else rates

    def train_at(model, rate):
        label = f"{progress} at rate {rate:g}" if progress else None
        return ft.fine_tune(model, train, validation, rate, steps=steps, seed=seed, progress=label)

    if method == "lp_ft":
        if probe is None:
            probe = tune("probe", source, train, validation, seed=seed, steps=steps, progress=progress)

        def make():
            model = copy_model(probe.model, name="lp_ft", seed=seed)
            train_only(model, None)  # the frozen layers' flags change: every weight trains
            return model
    else:
        def make():
            return build(method, source, seed=seed, **options)
    return ft.select_learning_rate(make, rates, train_at)


def task_weights(model):
    """The variables a task changes, the ones to store per task beside the shared source model.

    The trainable weights, and the moving mean and variance of every trainable
    BatchNormalization layer (they follow the target's batches while it trains).
    """
    changed = list(model.trainable_weights)
    for layer in batchnorm_layers(model):
        if layer.trainable:
            changed += [layer.moving_mean, layer.moving_variance]
    return changed


def _size(variables):
    return int(sum(np.prod(v.shape) for v in variables))


def learnable_size(model):
    """The number of weights of ``model`` that gradients train when every layer is trainable:
    all of them except BatchNorm's moving statistics (averaged from batches, never learned)."""
    moving = [v for layer in batchnorm_layers(model)
              for v in (layer.moving_mean, layer.moving_variance)]
    return _size(model.weights) - _size(moving)


@dataclasses.dataclass(frozen=True)
class Budget:
    """What a method trains and stores: ``trainable`` weights (a count), their ``share`` of the
    source model's learnable weights, and the ``bytes_per_task`` a task adds to the shared
    source model (``task_weights``, at their dtypes)."""

    trainable: int
    share: float
    bytes_per_task: int


def budget(model, source):
    """The ``Budget`` of ``model`` (frozen as it will train), measured against ``source``.

    ``share`` = trainable weights / ``learnable_size(source)``: 1.0 for full fine-tuning;
    more than 1.0 is possible for a method that adds weights and trains them all.
    """
    stored = task_weights(model)
    return Budget(trainable=_size(model.trainable_weights),
                  share=_size(model.trainable_weights) / learnable_size(source),
                  bytes_per_task=int(sum(np.prod(v.shape) * np.dtype(v.dtype).itemsize for v in stored)))


def save_task_weights(model, path):
    """Write the weights a task changed (``task_weights``) to ``path``, a ``.npz`` file.

    With the source model shared, this small file is all a task adds: rebuild the task's
    model from the source as it was built for training, then ``load_task_weights``.

    Returns:
        the ``pathlib.Path`` written.
    """
    from pathlib import Path

    path = Path(path)
    if path.suffix != ".npz":
        raise ValueError(f"the task file must end in .npz, got {path.name!r}")
    np.savez(path, **{v.path: np.asarray(v.numpy()) for v in task_weights(model)})
    return path


def load_task_weights(model, path):
    """Put the weights of a ``save_task_weights`` file into ``model`` (built as the task's was).

    Raises:
        ValueError: the file and the model's task weights do not name the same variables.

    Returns:
        ``model``, for chaining.
    """
    variables = {v.path: v for v in task_weights(model)}
    with np.load(path) as stored:
        if set(stored.files) != set(variables):
            missing = sorted(set(variables) - set(stored.files))
            extra = sorted(set(stored.files) - set(variables))
            raise ValueError(f"the task file does not fit this model: missing {missing[:3]}, "
                             f"unexpected {extra[:3]}; build the model as the task's was built")
        for name, variable in variables.items():
            variable.assign(stored[name])
    return model
