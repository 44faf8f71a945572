"""Chapter 01's exercise checks: a frozen extractor in plain Keras; the parameters of a new head.

Each check builds its own inputs (small models, random shapes), so no number from the
notebook can pass it, and the first rejects an answer that calls the course's own extractor.
"""

import numpy as np

from course_lib.core.exercises import attempt, error_text, hint, verdict
from course_lib.core.layers import cut
from course_lib.methods.feature_extraction import frozen_extractor

HINTS = {
    1: "keras.Model(model.input, model.get_layer(layer_name).output) shares the layers (and so the "
       "weights); then set the new model's .trainable to False.",
    2: "flatten the feature shape: d = the product of its sizes. A Dense layer has a d x n_classes "
       "kernel and n_classes biases.",
}


def show_hint(exercise):
    """Print the hint of exercise 1 or 2."""
    hint(HINTS[exercise])


def _small_cnn(seed):
    from course_lib.core.cnn import build_cnn

    return build_cnn(channels=1, n_classes=3, seed=seed, filters=(4, 6), units=8, name=f"check_cnn_{seed}")


def check_extractor(my_extractor):
    """Exercise 1: ``my_extractor(model, layer_name)`` -> a frozen model from the input to that layer."""
    rng = np.random.default_rng(11)
    x = rng.random((4, 28, 28, 1)).astype("float32")
    for seed, layer in ((1, "block2_pool"), (2, "features_relu")):
        model = _small_cnn(seed)
        got, problem = attempt(my_extractor, model, layer, forbidden=(frozen_extractor, cut))
        if problem:
            return verdict(False, "", problem)
        try:
            out = np.asarray(got(x, training=False))
        except Exception as error:  # the learner's model: report, never raise
            return verdict(False, "", f"calling your extractor on images raised {error_text(error)}")
        want = np.asarray(cut(model, layer)(x, training=False))
        if out.shape != want.shape or not np.allclose(out, want, atol=1e-5):
            return verdict(False, "", f"for layer {layer!r} your extractor's output has shape {out.shape}; "
                                      f"the layer's has {want.shape}, or the values differ. " + HINTS[1])
        if getattr(got, "trainable_weights", None):
            return verdict(False, "", "your extractor still has trainable weights: freeze it.")
        if not model.trainable_weights:
            return verdict(False, "", "freezing the extractor froze the original model too; freeze the "
                                      "new model only (extractor.trainable = False).")
        shared = {id(v) for v in model.weights}
        if not all(id(v) in shared for v in got.weights):
            return verdict(False, "", "your extractor has weights of its own: it should reuse the model's "
                                      "layers, not copies of them.")
    return verdict(True, "your extractor reuses the model's layers, frozen, and outputs exactly the "
                         "layer's features.", "")


def check_head_parameters(my_head_parameters):
    """Exercise 2: ``my_head_parameters(feature_shape, n_classes)`` -> d * n_classes + n_classes."""
    rng = np.random.default_rng(5)
    shapes = [(5, 5, 32), (128,), tuple(int(v) for v in rng.integers(2, 9, size=3))]
    for shape, n_classes in zip(shapes, (5, 10, int(rng.integers(2, 7)))):
        got, problem = attempt(my_head_parameters, shape, n_classes)
        if problem:
            return verdict(False, "", problem)
        want = int(np.prod(shape)) * n_classes + n_classes
        try:
            right = int(got) == want
        except (TypeError, ValueError):
            return verdict(False, "", f"return one whole number, not {type(got).__name__}.")
        if not right:
            return verdict(False, "", f"for features of shape {shape} and {n_classes} classes you return "
                                      f"{got}, which is not the head's parameter count. " + HINTS[2])
    return verdict(True, "a head has a weight per feature and class, and a bias per class. On "
                         "block1_pool that is thousands of weights per class for 50 labels.", "")
