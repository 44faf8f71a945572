"""Chapter 04's exercise checks: a grey kernel made into an RGB kernel for colour images read as
their luminance, and CCSA's two pair losses with the cosine distance.

Each check runs the learner's function on inputs it makes itself (fresh kernels, fresh
embeddings), compares with its own computation, and refuses a function that hands the work to
the course's own ``adapt_kernel`` (and its kin) or ``alignment_losses``, or copies code the
notebook shows.
"""

import numpy as np

from course_lib.core.exercises import attempt, hint, shown_code, verdict
from course_lib.core.language import N_, _
from course_lib.methods.channel_copying import adapt_kernel, copied_model, inflate_kernel, transfer_weights
from course_lib.methods.shared_embedding import alignment_losses

HINTS = {
    1: N_("on a colour image the grey conv would see Y = 0.299 R + 0.587 G + 0.114 B and compute w * Y. "
          "A conv is linear: write w * Y as one term per channel; each term's factor is the RGB kernel's "
          "slice for that channel. Keep the channel axis (broadcast a (3, 1) array against it)."),
    2: N_("cos[i, j] = z_s[i] . z_t[j] / (|z_s[i]| |z_t[j]|): normalise each row to length 1, then a "
          "matrix product. d = 1 - cos. Align: the mean of d**2 over the same-class pairs only. "
          "Separate: the mean of max(0, margin - d)**2 over the different-class pairs only. A mean "
          "over no pairs is 0."),
}
INSTEAD = {1: N_("multiply the grey kernel by the three luminance weights, with NumPy."),
           2: N_("compute the cosine distances and the two means with NumPy.")}
#: ITU-R BT.601's luminance weights of R, G and B (what tf.image.rgb_to_grayscale uses).
LUMINANCE = np.array([0.299, 0.587, 0.114])
#: Kernels the first check makes: (height, width, 1 input channel, filters).
KERNEL_SHAPES = ((3, 3, 1, 16), (5, 5, 1, 4), (1, 1, 1, 7))
#: How close an answer must be to count as equal.
TOLERANCE = 1e-4
#: Seeds of the kernels and embeddings the checks make (fixed: a hint names the same case twice).
KERNEL_SEED, EMBEDDING_SEED = 303, 2017


def show_hint(exercise):
    """Print the hint of exercise 1 or 2."""
    hint(_(HINTS[exercise]))


def _attempt(function, *args, forbidden, exercise):
    return attempt(function, *args, forbidden=forbidden, shown=shown_code(__package__),
                   instead=_(INSTEAD[exercise]))


def _as_array(value):
    try:
        return np.asarray(value, dtype="float64"), None
    except (TypeError, ValueError):
        return None, _("return a NumPy array, not {kind}.").format(kind=type(value).__name__)


def _kernel_problem(got, kernel):
    """Why ``got`` is not the luminance RGB kernel for the grey ``kernel``, or None when it is."""
    want = kernel * LUMINANCE[:, None]
    if got.shape != want.shape:
        return _("for a grey kernel of shape {grey} your kernel has shape {shape}; an RGB conv wants {want}.").format(
            grey=kernel.shape, shape=got.shape, want=want.shape)
    if np.allclose(got, want, atol=TOLERANCE):
        return None
    if np.allclose(got, np.repeat(kernel, 3, axis=2) / 3, atol=TOLERANCE):
        return _("you shared the kernel equally among R, G and B: the chapter's rule, right for images with "
                 "R = G = B; a colour image's luminance weighs its channels 0.299, 0.587, 0.114.")
    if np.allclose(got, np.repeat(kernel, 3, axis=2), atol=TOLERANCE):
        return _("you copied the kernel to every channel: the outputs are now those of R + G + B, not of Y.")
    return _("not the kernel that gives the grey conv's output on the luminance. "
             "exercises.show_hint(1) gives a hint.")


def check_grey_to_luminance(my_function):
    """Exercise 1: ``my_function(grey_kernel)`` -> the RGB kernel (kh, kw, 3, filters) that gives, on
    a colour image, what the grey conv gives on its luminance 0.299 R + 0.587 G + 0.114 B."""
    rng = np.random.default_rng(KERNEL_SEED)
    forbidden = (adapt_kernel, transfer_weights, copied_model, inflate_kernel)
    for shape in KERNEL_SHAPES:
        kernel = rng.normal(size=shape).astype("float32")
        got, problem = _attempt(my_function, kernel.copy(), forbidden=forbidden, exercise=1)
        if problem:
            return verdict(False, "", problem)
        got, problem = _as_array(got)
        problem = problem or _kernel_problem(got, kernel)
        if problem:
            return verdict(False, "", _("on a {shape} kernel: {problem}").format(shape=shape, problem=problem))
    return verdict(True, _("a conv is linear in its input: the grey kernel times each channel's luminance "
                           "weight reads colour images as the grey model would see them, on three kernels "
                           "your function had never seen."), "")


def _unit_rows(rng, n, dim):
    z = rng.normal(size=(n, dim))
    return z / np.linalg.norm(z, axis=1, keepdims=True)


def _pair_cases():
    rng = np.random.default_rng(EMBEDDING_SEED)
    yield _("random unit vectors in 8-D, 4 classes"), _unit_rows(rng, 12, 8), rng.integers(0, 4, 12), \
        _unit_rows(rng, 9, 8), rng.integers(0, 4, 9), 1.0
    close = rng.normal(scale=0.2, size=(10, 2))
    yield _("close points in 2-D, margin 0.5"), close, rng.integers(0, 3, 10), \
        close[:6] + rng.normal(scale=0.1, size=(6, 2)), rng.integers(0, 3, 6), 0.5
    yield _("one class only (no different-class pairs)"), _unit_rows(rng, 5, 3), np.zeros(5, int), \
        _unit_rows(rng, 4, 3), np.zeros(4, int), 1.0


def _cosine_distances(z_source, z_target):
    """(n, m) matrix of 1 - cos between every source row and every target row."""
    unit = lambda z: z / np.linalg.norm(z, axis=1, keepdims=True)  # noqa: E731
    return 1.0 - unit(z_source) @ unit(z_target).T


def _pair_mistakes(z_source, y_source, z_target, y_target, margin):
    """The right values and what common slips give: ``{name: (align, separate)}``, the right one first
    (each slip's name is a message: show it with ``_()``)."""
    d = _cosine_distances(z_source, z_target)
    same = y_source[:, None] == y_target[None, :]
    shortfall = np.maximum(0, margin - d)

    def mean(values, mask):
        return float(values[mask].mean()) if mask.any() else 0.0

    right = (mean(d ** 2, same), mean(shortfall ** 2, ~same))
    return {
        "right": right,
        N_("you used the Euclidean distance (the chapter's); here d is the cosine distance 1 - cos"):
            tuple(float(v) for v in alignment_losses(z_source, y_source, z_target, y_target, margin)),
        N_("align uses the distance, not the squared distance"): (mean(d, same), right[1]),
        N_("align averages over every pair, not only the same-class pairs"): (float((d ** 2).mean()), right[1]),
        N_("separate uses max(0, margin - d), not its square"): (right[0], mean(shortfall, ~same)),
        N_("separate averages over every pair, not only the different-class pairs"):
            (right[0], float((shortfall ** 2).mean())),
        N_("separate misses the max(0, ...): pairs beyond the margin must add nothing"):
            (right[0], mean((margin - d) ** 2, ~same)),
    }


def check_cosine_pair_losses(my_function):
    """Exercise 2: ``my_function(z_source, y_source, z_target, y_target, margin)`` ->
    ``(align, separate)``, CCSA's two pair losses with d = 1 - cos, on embeddings the check makes."""
    for name, z_source, y_source, z_target, y_target, margin in _pair_cases():
        got, problem = _attempt(my_function, z_source.copy(), y_source.copy(), z_target.copy(),
                                y_target.copy(), margin, forbidden=(alignment_losses,), exercise=2)
        if problem:
            return verdict(False, "", problem)
        got, problem = _as_array(got)
        if problem or got.shape != (2,):
            return verdict(False, "", _("on {case}: return two numbers, (align, separate).").format(case=name))
        right, *slips = _pair_mistakes(z_source, y_source, z_target, y_target, margin).items()
        want = np.array(right[1])
        if np.allclose(got, want, atol=TOLERANCE):
            continue
        for slip, values in slips:
            if np.allclose(got, values, atol=TOLERANCE):
                return verdict(False, "", _("on {case}: {slip}.").format(case=name, slip=_(slip)))
        wrong = "align" if not np.isclose(got[0], want[0], atol=TOLERANCE) else "separate"
        return verdict(False, "", _("on {case}, {loss} is not right. exercises.show_hint(2) gives a hint.").format(
            case=name, loss=wrong))
    return verdict(True, _("same-class pairs pay their squared cosine distance, different-class pairs "
                           "their squared shortfall from the margin, whatever the embeddings' lengths, on "
                           "three sets of embeddings your function had never seen."), "")
