"""Chapter 04's exercise checks: class-balanced pseudo-labels, the information-maximisation
loss, and AdaBN in plain Keras.

Each check runs the learner's function on inputs it makes itself (fresh probabilities, a
fresh small model), so copying a number cannot pass, and rejects a function that hands the
work to the course's own implementation of that very thing.
"""

import numpy as np

from course_lib.core.exercises import attempt, hint, verdict
from course_lib.core.layers import batchnorm_layers
from course_lib.methods import batchnorm, self_training, source_free

HINTS = {
    1: "predicted = probabilities.argmax(axis=1) and confidence = probabilities.max(axis=1); for "
       "each class c take the rows where predicted == c, sort them by confidence (highest first), "
       "keep the first k; return all kept rows, sorted. A class predicted fewer than k times keeps "
       "all its rows.",
    2: "H(p) = -sum_k p_k log p_k. Take the entropy of every row and average it; subtract the "
       "entropy of the mean row p.mean(axis=0). Clip p to at least 1e-6 before the logarithm.",
    3: "a BatchNorm layer in training mode normalises with the batch's own statistics and moves "
       "moving = momentum * moving + (1 - momentum) * batch statistic. Set every BatchNorm "
       "layer's momentum to 0, call the model once on all the images with training=True, and "
       "set the momentum back. (Or assign each layer's moving_mean and moving_variance yourself, "
       "layer by layer.)",
}
#: How close the learner's loss must be to the right value.
LOSS_TOLERANCE = 1e-3
#: How close re-estimated statistics must be (float32 sums over a few hundred images).
STATISTICS_TOLERANCE = 1e-3
#: The BatchNorm momentum of exercise 3's model (the course CNN's).
MOMENTUM = 0.9


def show_hint(exercise):
    """Print the hint of exercise 1, 2 or 3."""
    hint(HINTS[exercise])


def _softmax(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _selection_cases():
    rng = np.random.default_rng(404)
    favoured = rng.normal(0, 2, (300, 10))
    favoured[:, 3] += 3  # one class the model over-predicts
    yield "300 predictions that favour digit 3, k = 12", _softmax(favoured), 12
    rare = rng.normal(0, 2, (200, 5))
    rare[:, 4] -= 4  # a class predicted only a few times
    yield "200 predictions over 5 classes, one of them rare, k = 9", _softmax(rare), 9
    yield "50 predictions, k larger than any class", _softmax(rng.normal(0, 1, (50, 10))), 40


def check_class_balanced(my_function):
    """Exercise 1: ``my_function(probabilities, k)`` -> the indices of the ``k`` most confident
    predictions of each predicted class, sorted."""
    forbidden = (self_training.select_class_balanced, self_training.pseudo_labels)
    for name, probabilities, k in _selection_cases():
        got, problem = attempt(my_function, probabilities.copy(), k, forbidden=forbidden)
        if problem:
            return verdict(False, "", problem)
        want = self_training.select_class_balanced(probabilities, k)
        try:
            got = np.sort(np.asarray(got, dtype="int64").ravel())
        except (TypeError, ValueError):
            return verdict(False, "", f"return an array of row indices, not {type(got).__name__}.")
        if len(got) != len(want):
            return verdict(False, "", f"on {name} you keep {len(got)} rows; at most k per predicted "
                                      "class should be kept. " + HINTS[1])
        if not np.array_equal(got, want):
            return verdict(False, "", f"on {name} the right number of rows, but not the most "
                                      "confident of each class. " + HINTS[1])
    return verdict(True, "no class can take more than k pseudo-labels, however much the model "
                         "favours it; checked on three sets of predictions it had never seen.", "")


def _loss_cases():
    rng = np.random.default_rng(2020)
    eye = np.eye(10)
    smooth = lambda p: (p + 1e-3) / (p + 1e-3).sum(axis=1, keepdims=True)  # noqa: E731
    yield "a confident and diverse batch", smooth(eye[np.arange(40) % 10])
    yield "a uniform batch", np.full((30, 10), 0.1)
    yield "a collapsed batch (every image the same digit)", smooth(eye[np.zeros(25, dtype=int)])
    yield "a random batch", rng.dirichlet(np.ones(10) * 0.5, size=33)


def check_im_loss(my_loss):
    """Exercise 2: ``my_loss(p)`` (NumPy, p of shape (n, classes)) -> the information-maximisation
    loss (diversity weight 1): mean entropy minus the entropy of the mean prediction."""
    for name, p in _loss_cases():
        got, problem = attempt(my_loss, p.copy(), forbidden=(source_free.information_maximisation_loss,
                                                             source_free.entropy))
        if problem:
            return verdict(False, "", problem)
        try:
            got = float(np.asarray(got))
        except (TypeError, ValueError):
            return verdict(False, "", f"return one number, not {type(got).__name__}.")
        want = float(source_free.information_maximisation_loss(p.astype("float32")))
        if not np.isfinite(got) or abs(got - want) > LOSS_TOLERANCE:
            return verdict(False, "", f"on {name} your loss is {got:.4f}, which is not the mean "
                                      "entropy minus the entropy of the mean prediction. " + HINTS[2])
    return verdict(True, "your loss ranks confident-and-diverse batches lowest and gives a collapsed "
                         "batch no credit for confidence; checked on four batches.", "")


def _small_model(seed):
    """A fresh little CNN with two BatchNorm layers (one after a conv, one after a dense layer)."""
    import keras

    from course_lib.core.environment import seed_everything

    seed_everything(seed)
    inputs = keras.Input((28, 28, 1))
    h = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    h = keras.layers.BatchNormalization(momentum=MOMENTUM, name="conv_bn")(h)
    h = keras.layers.Flatten()(keras.layers.ReLU()(h))
    h = keras.layers.BatchNormalization(momentum=MOMENTUM, name="dense_bn")(keras.layers.Dense(8)(h))
    return keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(h), name="exercise_cnn")


def check_adabn(my_adabn):
    """Exercise 3: ``my_adabn(model, x)`` sets every BatchNorm layer's moving statistics to
    those of ``x`` (AdaBN) and returns the model; the check builds the model and the images."""
    if not callable(my_adabn):
        return verdict(False, "", attempt(my_adabn)[1])
    rng = np.random.default_rng(16)
    x = (rng.random((160, 28, 28, 1)) * 0.4 + 0.5).astype("float32")  # brighter than "training"
    model = _small_model(seed=16)
    want = batchnorm.moving_statistics(batchnorm.adabn(model, x))
    weights = {w.path: w.numpy() for w in model.trainable_weights}
    forbidden = (batchnorm.adabn, batchnorm.reestimate, batchnorm.input_statistics)
    got_model, problem = attempt(my_adabn, model, x, forbidden=forbidden)
    if problem:
        return verdict(False, "", problem)
    if not hasattr(got_model, "layers"):
        return verdict(False, "", f"return the Keras model, not {type(got_model).__name__}.")
    try:
        got = batchnorm.moving_statistics(got_model)
    except ValueError as error:
        return verdict(False, "", f"the model you returned: {error}.")
    if set(got) != set(want):
        return verdict(False, "", "return the model you were given, with its BatchNorm layers.")
    for variable in got_model.trainable_weights:
        if variable.path in weights and not np.array_equal(variable.numpy(), weights[variable.path]):
            return verdict(False, "", f"{variable.path} changed: AdaBN takes no gradient step, only "
                                      "the moving statistics change.")
    for layer in want:
        for what, g, w in (("moving mean", got[layer][0], want[layer][0]),
                           ("moving variance", got[layer][1], want[layer][1])):
            if not np.allclose(g, w, rtol=STATISTICS_TOLERANCE, atol=STATISTICS_TOLERANCE):
                return verdict(False, "", f"the {what} of layer {layer!r} is not the statistic of "
                                          "the images. " + HINTS[3])
    momentum = {layer.name: layer.momentum for layer in batchnorm_layers(got_model)}
    if any(m != MOMENTUM for m in momentum.values()):
        return verdict(False, "", f"set the momentum back afterwards (it is now {momentum}).")
    return verdict(True, "every BatchNorm layer now normalises with the new images' statistics, "
                         "and no weight moved; checked on a model and images made just now.", "")
