"""Chapter 06's exercise checks: the Deep CORAL loss of conv feature maps in NumPy, and a gradient
reversal layer whose lambda training can change without retracing.

Each check runs the learner's code on inputs it makes itself (fresh feature maps, fresh tensors
and lambdas), compares with the course's implementation of the variant or its own computation,
names the common slips, and refuses an answer that hands the work to the course's own
``coral_loss`` (or its covariance helper) or ``GradientReversal``, or copies code the notebook
shows.
"""

import numpy as np

from course_lib.core.exercises import attempt, error_text, hint, shown_code, verdict, watching
from course_lib.core.language import N_, _
from course_lib.methods.adaptation import discrepancy
from course_lib.methods.adaptation.gradient_reversal import GradientReversal

HINTS = {
    1: N_("each position of each image is one sample of c channels: reshape (n, h, w, c) to (n*h*w, c). "
       "Then the covariance of the columns: centre each column, centred.T @ centred / (rows - 1), a "
       "(c, c) matrix. CORAL is the sum of the squared differences of the two, divided by 4 c^2."),
    2: N_("keep lambda in a variable: self.lambda_ = self.add_weight(shape=(), initializer="
       "keras.initializers.Constant(lambda_), trainable=False). Then, with tf.custom_gradient inside "
       "call: f(x) returns (x, grad) where grad(upstream) is -lambda * upstream, reading the variable "
       "(or: stop_gradient((1 + lambda) x) - lambda x)."),
}
INSTEAD = {1: N_("reshape the maps to (positions, channels) and compute the covariances with NumPy."),
           2: N_("subclass keras.layers.Layer and keep lambda in a non-trainable variable of your own.")}
#: Seeds of the feature maps and tensors the checks make.
CORAL_SEED, REVERSAL_SEED = 505, 1505
#: (shape of a, shape of b) of the feature-map pairs the CORAL check makes: channels last, and the
#: two domains' images need not be the same size.
CORAL_SHAPES = (((6, 5, 5, 3), (4, 6, 6, 3)), ((10, 2, 2, 8), (12, 2, 2, 8)), ((3, 7, 7, 4), (5, 7, 7, 4)))
#: The lambdas and input shapes the reversal check tries; then the lambda it changes to.
REVERSAL_CASES = ((0.3, (4, 3)), (2.5, (2, 5, 5, 3)), (1.0, (7,)))
NEW_LAMBDA = 0.7
#: How close an answer must be to count as equal (relative).
TOLERANCE = 1e-4


def show_hint(exercise):
    """Print the hint of exercise 1 or 2."""
    hint(_(HINTS[exercise]))


# --- exercise 1: Deep CORAL of feature maps ----------------------------------------------

def _covariance(x, divisor_offset=1):
    centred = x - x.mean(axis=0, keepdims=True)
    return centred.T @ centred / (len(x) - divisor_offset)


def _coral(a, b, covariance=_covariance):
    d = a.shape[1]
    return float(np.sum((covariance(a) - covariance(b)) ** 2) / (4 * d * d))


def _coral_variants(a, b):
    """The right value (the course's ``coral_loss`` on the maps' positions) and what common slips
    give: ``{name: value}``, the right one first."""
    rows_a, rows_b = a.reshape(-1, a.shape[-1]), b.reshape(-1, b.shape[-1])
    c = a.shape[-1]
    right = float(discrepancy.coral_loss(rows_a.astype("float32"), rows_b.astype("float32")))
    difference = _covariance(rows_a) - _covariance(rows_b)
    variants = {
        "right": right,
        N_("you averaged each image over its positions first; here every position is a sample"):
            _coral(a.mean(axis=(1, 2)), b.mean(axis=(1, 2))),
        N_("you divided the covariances by n, not n - 1 (np.cov divides by n - 1)"):
            _coral(rows_a, rows_b, lambda x: _covariance(x, 0)),
        N_("the 1 / (4 c^2) is missing"): right * 4 * c * c,
        N_("you divided by 4 c, not 4 c^2"): right * c,
        N_("you took the Frobenius norm without squaring it"): float(np.sqrt(np.sum(difference ** 2)) / (4 * c * c)),
        N_("the columns were not centred (subtract each column's mean first)"):
            _coral(rows_a, rows_b, lambda x: x.T @ x / (len(x) - 1)),
    }
    if a.shape[1:] == b.shape[1:]:
        variants[N_("you made each image one row of h*w*c numbers; here each position is a row of c channels")] = \
            _coral(a.reshape(len(a), -1), b.reshape(len(b), -1))
    return variants


def _coral_pairs():
    rng = np.random.default_rng(CORAL_SEED)
    for shape_a, shape_b in CORAL_SHAPES:
        c = shape_a[-1]
        a = rng.normal(size=shape_a)
        b = rng.normal(size=shape_b) * rng.uniform(0.5, 2.0, size=c) + rng.normal(size=c)
        yield _("feature maps of shapes {a} and {b}").format(a=shape_a, b=shape_b), a, b


def check_coral_maps(my_coral):
    """Exercise 1: ``my_coral(a, b)`` -> CORAL between (n_a, h_a, w_a, c) and (n_b, h_b, w_b, c) feature
    maps, every position of every image a sample of c channels: ``||C_a - C_b||_F^2 / (4 c^2)``."""
    forbidden = (discrepancy.coral_loss, discrepancy._covariance)
    for name, a, b in _coral_pairs():
        got, problem = attempt(my_coral, a.copy(), b.copy(), forbidden=forbidden,
                               shown=shown_code(__package__), instead=_(INSTEAD[1]))
        if problem:
            return verdict(False, "", problem)
        try:
            got = float(np.asarray(got, dtype="float64"))
        except (TypeError, ValueError):
            return verdict(False, "", _("on {name}: return one number, not {type}.").format(
                name=name, type=type(got).__name__))
        slips = _coral_variants(a, b)
        if np.isclose(got, slips.pop("right"), rtol=TOLERANCE, atol=1e-9):
            continue
        for slip, value in slips.items():
            if np.isclose(got, value, rtol=TOLERANCE, atol=1e-12):
                return verdict(False, "", _("on {name}: {slip}.").format(name=name, slip=_(slip)))
        return verdict(False, "", _("on {name} your value is not CORAL's. exercises.show_hint(1) gives a "
                                    "hint.").format(name=name))
    same = np.random.default_rng(CORAL_SEED).normal(size=(4, 3, 3, 5))
    twice = attempt(my_coral, same, same.copy())[0]
    if twice is None or not np.isclose(float(twice), 0.0, atol=1e-9):
        return verdict(False, "", _("two identical feature maps must give 0: the same covariance."))
    return verdict(True, _("every position a sample of c channels, the covariances of the channels, their "
                           "squared difference summed over 4 c^2: right on maps your function had never seen."), "")


# --- exercise 2: gradient reversal ---------------------------------------------------------

def _forward_and_gradient(layer, x, upstream, eager=True):
    """The layer's output on ``x`` and the gradient of ``sum(upstream * output)`` with respect to x
    (as arrays when ``eager``; as tensors inside a ``tf.function``)."""
    import tensorflow as tf

    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
        objective = tf.reduce_sum(tf.convert_to_tensor(upstream) * y)
    gradient = tape.gradient(objective, x)
    if not eager:
        return y, gradient
    return np.asarray(y), None if gradient is None else np.asarray(gradient)


def _gradient_problem(gradient, upstream, lambda_):
    """Why ``gradient`` is not ``-lambda_ * upstream``, or None when it is."""
    if gradient is None:
        return _("no gradient flows back through your layer: it must pass -lambda times the gradient.")
    if np.allclose(gradient, -lambda_ * upstream, rtol=TOLERANCE, atol=1e-6):
        return None
    slips = {N_("the gradient passes through unchanged: reverse it (times -lambda)."): upstream,
             N_("the gradient is reversed but not scaled by lambda."): -upstream,
             N_("the gradient is scaled by lambda but not reversed (the sign must flip)."): lambda_ * upstream}
    for slip, value in slips.items():
        if np.allclose(gradient, value, rtol=TOLERANCE, atol=1e-6):
            return _(slip)
    return _("the gradient reaching the input is not -lambda times the gradient from above. "
             "exercises.show_hint(2) gives a hint.")


def _retraced_gradient(layer, shape, rng):
    """Trace the layer's gradient once in a ``tf.function``, change its lambda to ``NEW_LAMBDA`` with
    ``assign``, and run the same trace again: a problem sentence, or None."""
    import tensorflow as tf

    variable = getattr(layer, "lambda_", None)
    if not hasattr(variable, "assign"):
        return _("keep lambda in a variable named lambda_ (self.add_weight(..., trainable=False)): a number "
                 "is baked into the traced training step, and DANN's schedule changes it every step.")
    if any(v is variable for v in layer.trainable_weights):
        return _("lambda_ must not be trainable (trainable=False): the optimizer would learn it.")
    x = rng.normal(size=shape).astype("float32")
    upstream = rng.normal(size=shape).astype("float32")
    step = tf.function(lambda x, upstream: _forward_and_gradient(layer, x, upstream, eager=False))
    step(tf.constant(x), tf.constant(upstream))
    variable.assign(NEW_LAMBDA)
    gradient = step(tf.constant(x), tf.constant(upstream))[1]
    if step.experimental_get_tracing_count() != 1:
        return _("changing lambda_ retraced the step: read the variable in call, not a copy of its value.")
    problem = _gradient_problem(np.asarray(gradient), upstream, NEW_LAMBDA)
    return None if problem is None else _("after lambda_.assign({value}) inside an already traced step, the "
                                          "gradient does not follow the new lambda.").format(value=NEW_LAMBDA)


def check_reversal(MyReversal):
    """Exercise 2: ``MyReversal(lambda_)`` -> a Keras layer: the identity forward, the gradient times
    ``-lambda_`` backward, for fresh lambdas on fresh tensors; its ``lambda_`` a non-trainable
    variable that a traced training step follows when it is assigned."""
    import keras

    rng = np.random.default_rng(REVERSAL_SEED)
    for lambda_, shape in REVERSAL_CASES:
        layer, problem = attempt(MyReversal, lambda_, forbidden=(GradientReversal,),
                                 shown=shown_code(__package__), instead=_(INSTEAD[2]))
        if problem:
            return verdict(False, "", problem)
        if not isinstance(layer, keras.layers.Layer) or isinstance(layer, GradientReversal):
            return verdict(False, "", _("MyReversal(lambda_) must give a keras.layers.Layer of your own "
                                        "(subclass keras.layers.Layer)."))
        x = rng.normal(size=shape).astype("float32")
        upstream = rng.normal(size=shape).astype("float32")
        with watching(GradientReversal) as called:
            try:
                y, gradient = _forward_and_gradient(layer, x, upstream)
                problem = _retraced_gradient(layer, shape, rng) if lambda_ == REVERSAL_CASES[0][0] else None
            except Exception as error:  # the learner's layer: report, never raise
                return verdict(False, "", _("calling your layer raised {error}").format(error=error_text(error)))
        if called:
            return verdict(False, "", _("your layer calls the course's own GradientReversal; the exercise "
                                        "is to write that part yourself: {instead}").format(instead=_(INSTEAD[2])))
        if y.shape != x.shape or not np.allclose(y, x, atol=1e-6):
            return verdict(False, "", _("with lambda {lambda_:g}, your layer changes its input of shape "
                                        "{shape}: forward, it must be the identity.").format(lambda_=lambda_,
                                                                                              shape=shape))
        problem = _gradient_problem(gradient, upstream, lambda_) or problem
        if problem:
            return verdict(False, "", _("with lambda {lambda_:g}: {problem}").format(lambda_=lambda_, problem=problem))
    return verdict(True, _("the identity forward and -lambda times the gradient backward, with a lambda a "
                           "traced training step follows: DANN's schedule can raise it step by step."), "")
