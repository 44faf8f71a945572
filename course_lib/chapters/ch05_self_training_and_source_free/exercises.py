"""Chapter 05's exercise checks: pseudo-labels balanced by a share of each class, the
information-maximisation loss with its diversity as a divergence from uniform, and AdaBN blended
with the source's statistics.

Each check runs the learner's function on inputs it makes itself (fresh probabilities, a fresh
small model), so copying a number cannot pass; it compares with the course's implementation of
the variant (or its own computation), and refuses a function that hands the work to the course's
own implementation or copies code the notebook shows.
"""

import math

import numpy as np

from course_lib.core.exercises import attempt, hint, shown_code, verdict
from course_lib.core.language import N_, _
from course_lib.core.layers import batchnorm_layers
from course_lib.methods import batchnorm, self_training, source_free

HINTS = {
    1: N_("predicted = probabilities.argmax(axis=1) and confidence = probabilities.max(axis=1); for "
       "each class c take the rows where predicted == c, sort them by confidence (highest first), "
       "keep the first ceil(share * their number) (math.ceil); return all kept rows, sorted."),
    2: N_("H(p) = -sum_k p_k log p_k; KL(q || uniform) = sum_k q_k log(q_k K) = log K - H(q). Take the "
       "mean of the rows' entropies, and add beta times the KL of the mean row p.mean(axis=0). Clip p "
       "to at least 1e-6 before the logarithm."),
    3: N_("a BatchNorm layer in training mode moves moving = momentum * moving + (1 - momentum) * batch "
       "statistic: that is already a blend. Which momentum gives (1 - alpha) * source + alpha * target "
       "after one training-mode pass of all the images in one batch? Set it, pass, and set every "
       "momentum back."),
}
INSTEAD = {1: N_("rank each predicted class's rows by confidence with NumPy and keep its share."),
           2: N_("compute the entropies and the divergence with NumPy."),
           3: N_("blend each BatchNorm layer's statistics with a training-mode forward pass of your own.")}
#: How close the learner's loss must be to the right value.
LOSS_TOLERANCE = 1e-3
#: How close re-estimated statistics must be (float32 sums over a few hundred images).
STATISTICS_TOLERANCE = 1e-3
#: The BatchNorm momentum of exercise 3's models (the course CNN's).
MOMENTUM = 0.9
#: Exercise 3's (seed, alpha) cases.
BLEND_CASES = ((16, 0.3), (17, 0.75))


def show_hint(exercise):
    """Print the hint of exercise 1, 2 or 3."""
    hint(_(HINTS[exercise]))


def _attempt(function, *args, forbidden, exercise):
    return attempt(function, *args, forbidden=forbidden, shown=shown_code(__package__),
                   instead=_(INSTEAD[exercise]))


def _softmax(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _selection_cases():
    rng = np.random.default_rng(404)
    favoured = rng.normal(0, 2, (300, 10))
    favoured[:, 3] += 3  # one class the model over-predicts
    yield N_("300 predictions that favour digit 3, share 0.2"), _softmax(favoured), 0.2
    rare = rng.normal(0, 2, (200, 5))
    rare[:, 4] -= 4  # a class predicted only a few times
    yield N_("200 predictions over 5 classes, one of them rare, share 0.35"), _softmax(rare), 0.35
    yield N_("50 predictions, share 1 (every row)"), _softmax(rng.normal(0, 1, (50, 10))), 1.0


def share_per_class(probabilities, share):
    """The rows the check expects: the ceil(share * n_c) most confident of each predicted class c
    (the course's ``select_class_balanced`` run on each class with its own k)."""
    predicted = probabilities.argmax(axis=1)
    kept = []
    for c in np.unique(predicted):
        rows = np.flatnonzero(predicted == c)
        picked = self_training.select_class_balanced(probabilities[rows], math.ceil(share * len(rows)))
        kept.extend(rows[picked])
    return np.sort(np.array(kept, dtype="int64"))


def check_class_share(my_function):
    """Exercise 1: ``my_function(probabilities, share)`` -> the indices of the ceil(share * n_c) most
    confident predictions of each predicted class c, sorted."""
    forbidden = (self_training.select_class_balanced, self_training.pseudo_labels)
    for name, probabilities, share in _selection_cases():
        got, problem = _attempt(my_function, probabilities.copy(), share, forbidden=forbidden, exercise=1)
        if problem:
            return verdict(False, "", problem)
        want = share_per_class(probabilities, share)
        try:
            got = np.sort(np.asarray(got, dtype="int64").ravel())
        except (TypeError, ValueError):
            return verdict(False, "", _("return an array of row indices, not {type}.").format(
                type=type(got).__name__))
        if len(got) != len(want):
            return verdict(False, "", _("on {name} you keep {kept} rows; each predicted class keeps "
                                        "ceil(share x its number of rows). exercises.show_hint(1) gives a "
                                        "hint.").format(name=_(name), kept=len(got)))
        if not np.array_equal(got, want):
            return verdict(False, "", _("on {name} the right number of rows, but not the most confident of "
                                        "each class. exercises.show_hint(1) gives a hint.").format(name=_(name)))
    return verdict(True, _("every class keeps the same share of its predictions, its most confident ones: a "
                           "favoured class cannot crowd out a rare one; checked on three sets of predictions."), "")


def _loss_cases():
    rng = np.random.default_rng(2020)
    eye = np.eye(10)
    smooth = lambda p: (p + 1e-3) / (p + 1e-3).sum(axis=1, keepdims=True)  # noqa: E731
    yield N_("a confident and diverse batch"), smooth(eye[np.arange(40) % 10])
    yield N_("a uniform batch"), np.full((30, 10), 0.1)
    yield N_("a collapsed batch (every image the same digit)"), smooth(eye[np.zeros(25, dtype=int)])
    yield N_("a random batch"), rng.dirichlet(np.ones(10) * 0.5, size=33)


#: Exercise 2's diversity weights.
BETAS = (1.0, 0.3, 2.0, 0.5)


def check_im_kl_loss(my_loss):
    """Exercise 2: ``my_loss(p, beta)`` (NumPy, p of shape (n, classes)) -> the mean entropy plus beta
    times the KL divergence of the mean prediction from the uniform distribution."""
    forbidden = (source_free.information_maximisation_loss, source_free.entropy,
                 source_free._entropy_terms, source_free.InformationMaximisation)
    for (name, p), beta in zip(_loss_cases(), BETAS):
        got, problem = _attempt(my_loss, p.copy(), beta, forbidden=forbidden, exercise=2)
        if problem:
            return verdict(False, "", problem)
        try:
            got = float(np.asarray(got))
        except (TypeError, ValueError):
            return verdict(False, "", _("return one number, not {type}.").format(type=type(got).__name__))
        log_k = math.log(p.shape[1])
        im = float(source_free.information_maximisation_loss(p.astype("float32"), beta))
        want = im + beta * log_k
        if np.isfinite(got) and abs(got - im) <= LOSS_TOLERANCE:
            return verdict(False, "", _("on {name} (beta {beta:g}) you return the chapter's loss, mean "
                                        "entropy minus beta H(mean): the divergence from uniform adds beta "
                                        "log K. exercises.show_hint(2) gives a hint.").format(name=_(name), beta=beta))
        if not np.isfinite(got) or abs(got - want) > LOSS_TOLERANCE:
            return verdict(False, "", _("on {name} (beta {beta:g}) your loss is {loss:.4f}, which is not the "
                                        "mean entropy plus beta KL(mean prediction || uniform). "
                                        "exercises.show_hint(2) gives a hint.").format(name=_(name), beta=beta,
                                                                                       loss=got))
    return verdict(True, _("the divergence from uniform is 0 for a diverse batch and log K for a collapsed one, "
                           "so your loss is never below 0 and is 0 only for confident, diverse batches; "
                           "four batches checked."), "")


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


def blended_statistics(model, x, alpha):
    """``{layer: (mean, variance)}``: (1 - alpha) x the model's own moving statistics + alpha x those the
    course's AdaBN gives on ``x``; ``model`` is left unchanged."""
    source = batchnorm.moving_statistics(model)
    target = batchnorm.moving_statistics(batchnorm.adabn(model, x))
    return {layer: tuple((1 - alpha) * s + alpha * t for s, t in zip(source[layer], target[layer]))
            for layer in source}


def check_blended_adabn(my_adabn):
    """Exercise 3: ``my_adabn(model, x, alpha)`` sets every BatchNorm layer's moving statistics to
    (1 - alpha) x its own + alpha x the target's (AdaBN's) and returns the model."""
    if not callable(my_adabn):
        return verdict(False, "", attempt(my_adabn)[1])
    rng = np.random.default_rng(16)
    forbidden = (batchnorm.adabn, batchnorm.reestimate, batchnorm.input_statistics)
    for seed, alpha in BLEND_CASES:
        x = (rng.random((160, 28, 28, 1)) * 0.4 + 0.5).astype("float32")  # brighter than "training"
        model = _small_model(seed=seed)
        want = blended_statistics(model, x, alpha)
        weights = {w.path: w.numpy() for w in model.trainable_weights}
        got_model, problem = _attempt(my_adabn, model, x, alpha, forbidden=forbidden, exercise=3)
        if problem:
            return verdict(False, "", problem)
        if not hasattr(got_model, "layers"):
            return verdict(False, "", _("return the Keras model, not {type}.").format(type=type(got_model).__name__))
        try:
            got = batchnorm.moving_statistics(got_model)
        except ValueError as error:
            return verdict(False, "", _("the model you returned: {error}.").format(error=error))
        if set(got) != set(want):
            return verdict(False, "", _("return the model you were given, with its BatchNorm layers."))
        for variable in got_model.trainable_weights:
            if variable.path in weights and not np.array_equal(variable.numpy(), weights[variable.path]):
                return verdict(False, "", _("{variable} changed: AdaBN takes no gradient step, only the "
                                            "moving statistics change.").format(variable=variable.path))
        for layer in want:
            for what, g, w in ((N_("moving mean"), got[layer][0], want[layer][0]),
                               (N_("moving variance"), got[layer][1], want[layer][1])):
                if not np.allclose(g, w, rtol=STATISTICS_TOLERANCE, atol=STATISTICS_TOLERANCE):
                    return verdict(False, "", _("with alpha {alpha:g}, the {what} of layer {layer} is not "
                                                "(1 - alpha) x its own + alpha x the images'. "
                                                "exercises.show_hint(3) gives a hint.").format(
                                                    alpha=alpha, what=_(what), layer=repr(layer)))
        momentum = {layer.name: layer.momentum for layer in batchnorm_layers(got_model)}
        if any(m != MOMENTUM for m in momentum.values()):
            return verdict(False, "", _("set the momentum back afterwards (it is now {momentum}).").format(
                momentum=momentum))
    return verdict(True, _("every BatchNorm layer now normalises with a blend of the source's and the new "
                           "images' statistics, and no weight moved; checked on two models and two alphas."), "")
