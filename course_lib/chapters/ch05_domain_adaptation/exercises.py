"""Chapter 05's exercise checks: the Deep CORAL loss in NumPy, and a gradient reversal layer in Keras.

Each check runs the learner's code on inputs it makes itself (fresh feature matrices,
fresh tensors and lambdas), compares with a reference it computes on its own, names the
common slips, and rejects an answer that hands the work to the course's own
``coral_loss`` (or its covariance helper) or ``GradientReversal``.
"""

import numpy as np

from course_lib.core.exercises import attempt, error_text, hint, verdict, watching
from course_lib.methods.adaptation import discrepancy
from course_lib.methods.adaptation.gradient_reversal import GradientReversal

HINTS = {
    1: "the covariance of the columns of a (n, d) matrix: centre each column (subtract its mean), "
       "then centred.T @ centred / (n - 1), a (d, d) matrix. CORAL is the sum of the squared "
       "differences of the two covariance matrices, divided by 4 d^2.",
    2: "with tf.custom_gradient: inside call, define f(x) that returns (x, grad), where "
       "grad(upstream) returns -lambda * upstream; then return f(inputs). (Or the stop_gradient "
       "trick: stop_gradient((1 + lambda) x) - lambda x has the value x and the derivative -lambda.)",
}
#: Seeds of the feature matrices and tensors the checks make.
CORAL_SEED, REVERSAL_SEED = 505, 1505
#: (n_a, n_b, d) of the matrix pairs the CORAL check makes.
CORAL_SHAPES = ((30, 25, 4), (12, 40, 7), (50, 50, 3))
#: The lambdas and input shapes the reversal check tries.
REVERSAL_CASES = ((0.3, (4, 3)), (2.5, (2, 5, 5, 3)), (1.0, (7,)))
#: How close an answer must be to count as equal (relative).
TOLERANCE = 1e-4


def show_hint(exercise):
    """Print the hint of exercise 1 or 2."""
    hint(HINTS[exercise])


# --- exercise 1: Deep CORAL --------------------------------------------------------------

def _covariance(x, divisor_offset=1):
    centred = x - x.mean(axis=0, keepdims=True)
    return centred.T @ centred / (len(x) - divisor_offset)


def _coral_variants(a, b):
    """The right value and what common slips give: ``{name: value}``, the right one first."""
    d = a.shape[1]
    difference = _covariance(a) - _covariance(b)
    right = float(np.sum(difference ** 2) / (4 * d * d))
    uncentred = a.T @ a / (len(a) - 1) - b.T @ b / (len(b) - 1)
    return {
        "right": right,
        "you divided the covariances by n, not n - 1 (np.cov divides by n - 1)":
            float(np.sum((_covariance(a, 0) - _covariance(b, 0)) ** 2) / (4 * d * d)),
        "the 1 / (4 d^2) is missing": right * 4 * d * d,
        "you divided by 4 d, not 4 d^2": right * d,
        "you took the Frobenius norm without squaring it": float(np.sqrt(np.sum(difference ** 2)) / (4 * d * d)),
        "the columns were not centred (subtract each column's mean first)":
            float(np.sum(uncentred ** 2) / (4 * d * d)),
    }


def _coral_pairs():
    rng = np.random.default_rng(CORAL_SEED)
    for n_a, n_b, d in CORAL_SHAPES:
        a = rng.normal(size=(n_a, d))
        b = rng.normal(size=(n_b, d)) * rng.uniform(0.5, 2.0, size=d) + rng.normal(size=d)
        yield f"a ({n_a}, {d}) and a ({n_b}, {d}) matrix", a, b


def check_coral(my_coral):
    """Exercise 1: ``my_coral(a, b)`` -> ``||C_a - C_b||_F^2 / (4 d^2)`` for (n_a, d), (n_b, d) arrays."""
    forbidden = (discrepancy.coral_loss, discrepancy._covariance)
    for name, a, b in _coral_pairs():
        got, problem = attempt(my_coral, a.copy(), b.copy(), forbidden=forbidden)
        if problem:
            return verdict(False, "", problem)
        try:
            got = float(np.asarray(got, dtype="float64"))
        except (TypeError, ValueError):
            return verdict(False, "", f"on {name}: return one number, not {type(got).__name__}.")
        variants = _coral_variants(a, b)
        if np.isclose(got, variants["right"], rtol=TOLERANCE, atol=1e-12):
            continue
        for slip, value in list(variants.items())[1:]:
            if np.isclose(got, value, rtol=TOLERANCE, atol=1e-12):
                return verdict(False, "", f"on {name}: {slip}.")
        return verdict(False, "", f"on {name} your value is not CORAL's. " + HINTS[1])
    same, _ = attempt(my_coral, *(2 * [np.random.default_rng(CORAL_SEED).normal(size=(20, 5))]))
    if same is None or not np.isclose(float(same), 0.0, atol=1e-12):
        return verdict(False, "", "two identical matrices must give 0: the same covariance.")
    return verdict(True, "covariances of the columns, their squared difference summed, over 4 d^2: "
                         "right on matrices of shapes your function had never seen.", "")


# --- exercise 2: gradient reversal ---------------------------------------------------------

def _forward_and_gradient(layer, x, upstream):
    """The layer's output on ``x`` and the gradient of ``sum(upstream * output)`` with respect to x."""
    import tensorflow as tf

    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
        objective = tf.reduce_sum(tf.constant(upstream) * y)
    gradient = tape.gradient(objective, x)
    return np.asarray(y), None if gradient is None else np.asarray(gradient)


def _gradient_problem(gradient, upstream, lambda_):
    """Why ``gradient`` is not ``-lambda_ * upstream``, or None when it is."""
    if gradient is None:
        return "no gradient flows back through your layer: it must pass -lambda times the gradient."
    if np.allclose(gradient, -lambda_ * upstream, rtol=TOLERANCE, atol=1e-6):
        return None
    slips = {"the gradient passes through unchanged: reverse it (times -lambda)": upstream,
             "the gradient is reversed but not scaled by lambda": -upstream,
             "the gradient is scaled by lambda but not reversed (the sign must flip)": lambda_ * upstream}
    for slip, value in slips.items():
        if np.allclose(gradient, value, rtol=TOLERANCE, atol=1e-6):
            return slip + "."
    return "the gradient reaching the input is not -lambda times the gradient from above. " + HINTS[2]


def check_reversal(MyReversal):
    """Exercise 2: ``MyReversal(lambda_)`` -> a Keras layer: the identity forward, the gradient
    times ``-lambda_`` backward; tried with fresh lambdas on fresh tensors."""
    import keras

    if isinstance(MyReversal, type) and issubclass(MyReversal, GradientReversal):
        return verdict(False, "", "your layer is the course's own GradientReversal (or built on it); "
                                  "the exercise is to write that part yourself.")
    rng = np.random.default_rng(REVERSAL_SEED)
    for lambda_, shape in REVERSAL_CASES:
        layer, problem = attempt(MyReversal, lambda_, forbidden=(GradientReversal.__init__,))
        if problem:
            return verdict(False, "", problem)
        if not isinstance(layer, keras.layers.Layer) or isinstance(layer, GradientReversal):
            return verdict(False, "", "MyReversal(lambda_) must give a keras.layers.Layer of your own "
                                      "(subclass keras.layers.Layer).")
        x = rng.normal(size=shape).astype("float32")
        upstream = rng.normal(size=shape).astype("float32")
        with watching(GradientReversal.call) as called:
            try:
                y, gradient = _forward_and_gradient(layer, x, upstream)
            except Exception as error:  # the learner's layer: report, never raise
                return verdict(False, "", f"calling your layer raised {error_text(error)}")
        if called:
            return verdict(False, "", "your layer calls the course's own GradientReversal; the exercise "
                                      "is to write that part yourself.")
        if y.shape != x.shape or not np.allclose(y, x, atol=1e-6):
            return verdict(False, "", f"with lambda {lambda_:g}, your layer changes its input of shape "
                                      f"{shape}: forward, it must be the identity.")
        problem = _gradient_problem(gradient, upstream, lambda_)
        if problem:
            return verdict(False, "", f"with lambda {lambda_:g}: {problem}")
    return verdict(True, "the identity forward and -lambda times the gradient backward, for lambdas "
                         "and tensors your layer had never seen: the domain classifier learns, the "
                         "extractor is pushed the other way.", "")
