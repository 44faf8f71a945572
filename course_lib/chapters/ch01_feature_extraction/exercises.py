"""Chapter 01's exercise checks: a frozen extractor of pooled features in plain Keras; the
parameters of a head with a hidden BatchNorm layer.

Each check builds its own inputs (small models, random shapes), so no number from the notebook
can pass it; it refuses an answer that calls the course's own extractor, head or parameter
counts, or copies code the notebook shows.
"""

import numpy as np

from course_lib.core.exercises import attempt, error_text, hint, shown_code, verdict
from course_lib.core.language import N_, _
from course_lib.core.layers import cut, parameter_counts, trainable_summary
from course_lib.methods.feature_extraction import build_head, frozen_extractor

HINTS = {
    1: N_("the layer's output has shape (batch, height, width, channels); "
          "keras.layers.GlobalAveragePooling2D()(model.get_layer(layer_name).output) averages it over the "
          "positions. keras.Model(model.input, that) shares the layers; then set its .trainable to False."),
    2: N_("d = the product of the feature shape's sizes. Dense(hidden): a d x hidden kernel and hidden "
          "biases. BatchNormalization: gamma and beta train (hidden each); the moving mean and variance "
          "do not (hidden each). Dense(n_classes): hidden x n_classes weights and n_classes biases."),
}
INSTEAD = {1: N_("build a keras.Model from model.input to the layer's output averaged over its positions."),
           2: N_("add up each layer's weights and biases with arithmetic.")}
#: The conv layers the extractor check cuts at (their outputs are feature maps).
POOLED_LAYERS = ("block1_pool", "block2_conv")


def show_hint(exercise):
    """Print the hint of exercise 1 or 2."""
    hint(_(HINTS[exercise]))


def _small_cnn(seed):
    from course_lib.core.cnn import build_cnn

    return build_cnn(channels=1, n_classes=3, seed=seed, filters=(4, 6), units=8, name=f"check_cnn_{seed}")


def check_pooled_extractor(my_extractor):
    """Exercise 1: ``my_extractor(model, layer_name)`` -> a frozen model from the input to that
    layer's output averaged over its positions: (batch, channels)."""
    rng = np.random.default_rng(11)
    x = rng.random((4, 28, 28, 1)).astype("float32")
    for seed, layer in enumerate(POOLED_LAYERS, 1):
        model = _small_cnn(seed)
        got, problem = attempt(my_extractor, model, layer, forbidden=(frozen_extractor, cut),
                               shown=shown_code(__package__), instead=_(INSTEAD[1]))
        if problem:
            return verdict(False, "", problem)
        try:
            out = np.asarray(got(x, training=False))
        except Exception as error:  # the learner's model: report, never raise
            return verdict(False, "", _("calling your extractor on images raised {error}").format(
                error=error_text(error)))
        feature_map = np.asarray(cut(model, layer)(x, training=False))
        want = feature_map.mean(axis=(1, 2))
        if out.shape == feature_map.shape:
            return verdict(False, "", _("for layer {layer!r} your extractor outputs the feature map {shape}; "
                                        "average it over the positions to {pooled}. "
                                        "exercises.show_hint(1) gives a hint.").format(
                layer=layer, shape=out.shape, pooled=want.shape))
        if out.shape != want.shape or not np.allclose(out, want, atol=1e-5):
            return verdict(False, "", _("for layer {layer!r} your extractor's output has shape {shape}; "
                                        "the pooled features have {pooled}, or the values differ. "
                                        "exercises.show_hint(1) gives a hint.").format(
                layer=layer, shape=out.shape, pooled=want.shape))
        if getattr(got, "trainable_weights", None):
            return verdict(False, "", _("your extractor still has trainable weights: freeze it."))
        if not model.trainable_weights:
            return verdict(False, "", _("freezing the extractor froze the original model too; freeze the "
                                        "new model only (extractor.trainable = False)."))
        shared = {id(v) for v in model.weights}
        if not all(id(v) in shared for v in got.weights):
            return verdict(False, "", _("your extractor has weights of its own: it should reuse the model's "
                                        "layers, not copies of them."))
    return verdict(True, _("your extractor reuses the model's layers, frozen, and gives one number per "
                           "channel: the channel's mean over the positions."), "")


def head_parameters(feature_shape, hidden, n_classes):
    """``(trainable, frozen)`` parameters of Flatten -> Dense(hidden) -> BatchNorm -> Dense(n_classes),
    counted by Keras on a model the check builds."""
    import keras

    inputs = keras.Input(tuple(feature_shape))
    h = keras.layers.Dense(hidden)(keras.layers.Flatten()(inputs))
    h = keras.layers.BatchNormalization()(h)
    model = keras.Model(inputs, keras.layers.Dense(n_classes)(keras.layers.ReLU()(h)))
    size = lambda weights: sum(int(np.prod(w.shape)) for w in weights)  # noqa: E731
    return size(model.trainable_weights), size(model.non_trainable_weights)


def check_head_parameters(my_head_parameters):
    """Exercise 2: ``my_head_parameters(feature_shape, hidden, n_classes)`` -> ``(trainable, frozen)``
    of a head Flatten -> Dense(hidden) -> BatchNorm -> ReLU -> Dense(n_classes)."""
    rng = np.random.default_rng(5)
    cases = [((5, 5, 32), 16, 5), ((128,), 64, 10),
             (tuple(int(v) for v in rng.integers(2, 9, size=3)), int(rng.integers(3, 20)), int(rng.integers(2, 7)))]
    forbidden = (build_head, parameter_counts, trainable_summary)
    for shape, hidden, n_classes in cases:
        got, problem = attempt(my_head_parameters, shape, hidden, n_classes, forbidden=forbidden,
                               shown=shown_code(__package__), instead=_(INSTEAD[2]))
        if problem:
            return verdict(False, "", problem)
        want = head_parameters(shape, hidden, n_classes)
        try:
            got = tuple(int(v) for v in got)
        except (TypeError, ValueError):
            return verdict(False, "", _("return two whole numbers: (trainable, frozen)."))
        case = _("for features of shape {shape}, {hidden} hidden units and {classes} classes").format(
            shape=shape, hidden=hidden, classes=n_classes)
        if got == (sum(want), 0):
            return verdict(False, "", _("{case} you count every parameter as trainable; BatchNorm's moving "
                                        "mean and variance are not trained. exercises.show_hint(2) gives a "
                                        "hint.").format(case=case))
        if got != want:
            return verdict(False, "", _("{case} you return {got}, which is not (trainable, frozen). "
                                        "exercises.show_hint(2) gives a hint.").format(case=case, got=got))
    return verdict(True, _("a hidden layer multiplies the head's weights by its width: with d features, "
                           "d x hidden for the first layer alone."), "")
