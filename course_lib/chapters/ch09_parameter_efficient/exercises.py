"""Chapter 09's exercise checks: BitFit with BatchNorm's scale and offset, in plain Keras; LoRA's merged kernel in NumPy; what LoRA trains.

Each check runs the learner's function on models or layers it makes itself (other sizes, other
ranks and scales, models frozen in other ways than the notebook's), so copying a cell of the
notebook cannot pass, and rejects a function that hands the work to the course's own
implementation (``parameter_efficient``) or, for the merge, to Keras's.
"""

import numpy as np

from course_lib.core.cnn import build_cnn
from course_lib.core.exercises import attempt, hint, shown_code, verdict
from course_lib.core.language import N_, _
from course_lib.core.layers import freeze, set_trainable, train_only, unfreeze
from course_lib.methods import parameter_efficient as pe

HINTS = {
    1: N_("a variable trains only if its layer is trainable and the variable is: set model.trainable = "
       "True, then for each layer set layer.trainable = True if it has a variable named 'bias', "
       "'gamma' or 'beta' (variable.name) and False otherwise, and in the kept layers set "
       "variable.trainable = False for every other variable. Return the model."),
    2: N_("the update is (alpha / rank) times A @ B, with A the layer's lora_kernel_a and B its "
       "lora_kernel_b (.numpy() gives arrays). np.matmul multiplies over the last axis of A, so "
       "it works for a Dense kernel (d_in, d_out) and a Conv2D kernel (k, k, c_in, c_out) alike; "
       "the frozen W is layer._kernel, not layer.kernel (which already adds the update)."),
    3: N_("enable_lora(rank) on a layer whose kernel has shape (..., d_in_last, d_out) adds A of the "
       "kernel's shape with its last axis replaced by rank, and B of shape (rank, d_out); A, B and "
       "the bias train. np.prod(kernel.shape[:-1]) is the rows of A."),
}


def show_hint(exercise):
    """Print the hint of exercise 1, 2 or 3."""
    hint(_(HINTS[exercise]))


def _trainable_paths(model):
    return {f"{layer.name}/{v.name}" for layer in model.layers for v in layer.trainable_weights}


# ----------------------------------------------------------------------------- exercise 1

def _fresh_models():
    """Small course CNNs the learner has not seen, in three starting states."""
    yield N_("a model with every layer trainable"), build_cnn(filters=(4, 8), units=16, seed=21)
    whole = build_cnn(filters=(6, 10), units=12, seed=22)
    whole.trainable = False
    yield N_("a model frozen as a whole (model.trainable = False)"), whole
    heads_only = build_cnn(filters=(4, 6), units=8, seed=23)
    for layer in heads_only.layers:
        layer.trainable = layer.name == "head"
    yield N_("a model whose head alone trains"), heads_only


#: The variables exercise 1 lets train: the biases, and BatchNorm's scale and offset.
BITFIT_BATCHNORM = ("bias", "gamma", "beta")


def check_bitfit_batchnorm(my_bitfit_batchnorm):
    """Exercise 1: ``my_bitfit_batchnorm(model)`` lets exactly the biases and BatchNorm's gamma and
    beta train (plain Keras: ``trainable`` flags of layers and variables), and returns the model.
    The notebook shows the biases alone; a copy of it, or the course's ``pe.bitfit``, is refused."""
    import keras

    forbidden = (pe.bitfit, pe.build, train_only, freeze, unfreeze, set_trainable)
    for name, model in _fresh_models():
        biases = {f"{layer.name}/{v.name}" for layer in model.layers for v in layer.weights
                  if v.name in BITFIT_BATCHNORM}
        got, problem = attempt(my_bitfit_batchnorm, model, forbidden=forbidden, shown=shown_code(__package__),
                               instead=_("let the biases and BatchNorm's gamma and beta train, with the flags"))
        if problem:
            return verdict(False, "", problem)
        if not isinstance(got, keras.Model):
            return verdict(False, "", _("on {name} your function returned a {type}; return the Keras "
                                        "model.").format(name=_(name), type=type(got).__name__))
        trained = _trainable_paths(got) if got.trainable else set()
        missing, extra = sorted(biases - trained), sorted(trained - biases)
        if missing or extra:
            return verdict(False, "", _("on {name}: ").format(name=_(name))
                           + (_("these do not train: {names}. ").format(names=missing[:3]) if missing else "")
                           + (_("these train but are neither biases nor gamma/beta: {names}. ").format(
                               names=extra[:3]) if extra else "")
                           + "show_hint(1).")
    return verdict(True, _("only the biases and BatchNorm's gamma and beta train, on three models that "
                           "started frozen in different ways."), "")


# ----------------------------------------------------------------------------- exercise 2

def _lora_layers():
    """LoRA layers the learner has not seen: a Dense and a Conv2D, each rank and scale its own, B
    made non-zero so that the update shows."""
    import keras

    rng = np.random.default_rng(2026)
    dense = keras.layers.Dense(6, name="unseen_dense")
    dense.build((None, 9))
    dense.enable_lora(3, lora_alpha=5)
    conv = keras.layers.Conv2D(5, 3, name="unseen_conv")
    conv.build((None, 8, 8, 4))
    conv.enable_lora(2, lora_alpha=7)
    for layer in (dense, conv):
        layer.lora_kernel_b.assign(rng.normal(size=layer.lora_kernel_b.shape).astype("float32"))
    return {N_("a Dense layer (rank 3, alpha 5)"): dense, N_("a Conv2D layer (rank 2, alpha 7)"): conv}


def check_merge(my_merge):
    """Exercise 2: ``my_merge(layer)`` -> the NumPy kernel ``W + (alpha / r) A B`` of a LoRA
    Dense or Conv layer (what saving writes), without Keras's own merge."""
    import keras

    # The merged kernel as Keras computes it (``kernel``) and saves it (Dense has a helper for that).
    forbidden = tuple(f for cls in (keras.layers.Dense, keras.layers.Conv2D)
                      for f in (cls.kernel.fget, cls.save_own_variables,
                                getattr(cls, "_get_kernel_with_merged_lora", None)) if f)
    for name, layer in _lora_layers().items():
        want = (layer._kernel.numpy() + (layer.lora_alpha / layer.lora_rank)
                * np.matmul(layer.lora_kernel_a.numpy(), layer.lora_kernel_b.numpy()))
        got, problem = attempt(my_merge, layer, forbidden=forbidden)
        if problem:
            return verdict(False, "", problem.replace(_("the course's own"), _("Keras's own")))
        try:
            got = np.asarray(got, dtype="float64")
        except (TypeError, ValueError):
            return verdict(False, "", _("on {name} return an array of numbers, the merged kernel.").format(
                name=_(name)))
        if got.shape != want.shape:
            return verdict(False, "", _("on {name} the merged kernel has the kernel's shape {want}; yours has "
                                        "shape {got}. show_hint(2).").format(name=_(name), want=want.shape,
                                                                             got=got.shape))
        if np.allclose(got, layer._kernel.numpy(), atol=1e-6):
            return verdict(False, "", _("on {name} yours is the frozen kernel W alone: add the update. "
                                        "show_hint(2).").format(name=_(name)))
        if not np.allclose(got, want, rtol=1e-4, atol=1e-5):
            return verdict(False, "", _("on {name} yours is not W + (alpha / rank) A B: check the scale alpha / "
                                        "rank. show_hint(2).").format(name=_(name)))
    return verdict(True, _("W + (alpha / r) A B, on a Dense and a Conv2D layer with their own ranks "
                           "and scales."), "")


# ----------------------------------------------------------------------------- exercise 3

CASES = (((4, 8), 16, ("block1_conv", "block2_conv"), 2),
         ((6, 10), 12, ("features", "head"), 5),
         ((4, 6), 8, ("block2_conv", "head"), 1))


def check_lora_count(my_count):
    """Exercise 3: ``my_count(model, layers, rank)`` -> how many weights train once LoRA of
    ``rank`` is on ``layers`` and every other layer is frozen, from the kernels' shapes alone."""
    import keras

    forbidden = (pe.with_lora, pe.build, pe.budget, keras.layers.Dense.enable_lora,
                 keras.layers.Conv2D.enable_lora)
    for filters, units, layers, rank in CASES:
        model = build_cnn(filters=filters, units=units, seed=31)
        want = pe.budget(pe.with_lora(model, rank=rank, layers=layers), model).trainable
        got, problem = attempt(my_count, model, layers, rank, forbidden=forbidden)
        case = _("for rank {rank} on {layers} of a CNN with filters {filters}").format(
            rank=rank, layers=", ".join(layers), filters=filters)
        if problem:
            return verdict(False, "", problem)
        if not isinstance(got, (int, float, np.number)) or got != want:
            biases = sum(int(np.prod(model.get_layer(n).bias.shape)) for n in layers)
            told = _(" (the biases train too)") if got == want - biases else ""
            return verdict(False, "", _("{case} your count {count} is not the number of weights that "
                                        "train{told}. show_hint(3).").format(case=case, count=repr(got), told=told))
    return verdict(True, _("A, B and the biases of the chosen layers, on three CNNs, layer choices "
                           "and ranks."), "")
