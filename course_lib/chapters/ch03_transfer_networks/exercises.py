"""Chapter 03's exercise checks: the RGB-to-grey kernel, and CCSA's two pair losses.

Each check runs the learner's function on inputs it makes itself (fresh kernels,
fresh embeddings), so copying an array from the notebook cannot pass, and rejects a
function that hands the work to the course's own ``adapt_kernel`` or ``alignment_losses``.
"""

import numpy as np

from course_lib.core.exercises import attempt, hint, verdict
from course_lib.methods.channel_copying import adapt_kernel, copied_model, transfer_weights
from course_lib.methods.shared_embedding import alignment_losses

HINTS = {
    1: "a grey pixel g fed to all three input channels gives w_R*g + w_G*g + w_B*g. "
       "Which single kernel w gives w*g the same value? Keep the channel axis (keepdims=True).",
    2: "d[i, j] is the distance from source row i to target row j; same[i, j] says whether "
       "their labels agree. Align: the mean of d**2 over the same-class pairs only. Separate: "
       "the mean of max(0, margin - d)**2 over the different-class pairs only. A mean over no "
       "pairs is 0.",
}
#: Kernels the first check makes: (height, width, 3 input channels, filters).
KERNEL_SHAPES = ((3, 3, 3, 16), (5, 5, 3, 4), (1, 1, 3, 7))
#: How close an answer must be to count as equal.
TOLERANCE = 1e-4
#: Seeds of the kernels and embeddings the checks make (fixed: a hint names the same case twice).
KERNEL_SEED, EMBEDDING_SEED = 303, 2017


def show_hint(exercise):
    """Print the hint of exercise 1 or 2."""
    hint(HINTS[exercise])


def _as_array(value):
    try:
        return np.asarray(value, dtype="float64"), None
    except (TypeError, ValueError):
        return None, f"return a NumPy array, not {type(value).__name__}."


def _kernel_problem(got, kernel):
    """Why ``got`` is not the grey kernel for ``kernel``, or None when it is."""
    want = adapt_kernel(kernel, 1)
    if got.shape != want.shape:
        if got.shape == want.shape[:2] + want.shape[3:]:
            return (f"your kernel has shape {got.shape}, without the input-channel axis; a grey "
                    f"conv wants {want.shape}: keep that axis (keepdims=True).")
        return f"for an RGB kernel of shape {kernel.shape} your kernel has shape {got.shape}; a grey conv wants {want.shape}."
    if np.allclose(got, want, atol=TOLERANCE):
        return None
    if np.allclose(3 * got, want, atol=TOLERANCE):
        return ("you averaged the channels: every output is now 3 times too small. "
                "Write out w_R*g + w_G*g + w_B*g.")
    if np.allclose(got, kernel[..., :1, :], atol=TOLERANCE):
        return "you kept the red channel's weights only; green and blue see the grey pixel too."
    return "not the kernel that keeps the outputs. " + HINTS[1]


def check_rgb_to_grey(my_function):
    """Exercise 1: ``my_function(rgb_kernel)`` -> the grey kernel (kh, kw, 1, filters) that
    gives, on a grey image, what the RGB conv gives on that image repeated to R = G = B."""
    rng = np.random.default_rng(KERNEL_SEED)
    for shape in KERNEL_SHAPES:
        kernel = rng.normal(size=shape).astype("float32")
        got, problem = attempt(my_function, kernel.copy(),
                               forbidden=(adapt_kernel, transfer_weights, copied_model))
        if problem:
            return verdict(False, "", problem)
        got, problem = _as_array(got)
        problem = problem or _kernel_problem(got, kernel)
        if problem:
            return verdict(False, "", f"on a {shape} kernel: {problem}")
    return verdict(True, "R = G = B = g gives (w_R + w_G + w_B) * g: the grey kernel is the sum "
                         "over the input channels, on three kernels your function had never seen.", "")


def _unit_rows(rng, n, dim):
    z = rng.normal(size=(n, dim))
    return z / np.linalg.norm(z, axis=1, keepdims=True)


def _pair_cases():
    rng = np.random.default_rng(EMBEDDING_SEED)
    yield "random unit vectors in 8-D, 4 classes", _unit_rows(rng, 12, 8), rng.integers(0, 4, 12), \
        _unit_rows(rng, 9, 8), rng.integers(0, 4, 9), 1.0
    close = rng.normal(scale=0.2, size=(10, 2))
    yield "close points in 2-D, margin 0.5", close, rng.integers(0, 3, 10), \
        close[:6] + rng.normal(scale=0.1, size=(6, 2)), rng.integers(0, 3, 6), 0.5
    yield "one class only (no different-class pairs)", _unit_rows(rng, 5, 3), np.zeros(5, int), \
        _unit_rows(rng, 4, 3), np.zeros(4, int), 1.0


def _pair_mistakes(z_source, y_source, z_target, y_target, margin):
    """What common slips give: ``{what went wrong: (align, separate)}``."""
    d = np.sqrt(((z_source[:, None, :] - z_target[None, :, :]) ** 2).sum(-1))
    same = y_source[:, None] == y_target[None, :]
    shortfall = np.maximum(0, margin - d)

    def mean(values, mask):
        return float(values[mask].mean()) if mask.any() else 0.0

    right = (mean(d ** 2, same), mean(shortfall ** 2, ~same))
    return {
        "align uses the distance, not the squared distance": (mean(d, same), right[1]),
        "align averages over every pair, not only the same-class pairs": (float((d ** 2).mean()), right[1]),
        "separate uses max(0, margin - d), not its square": (right[0], mean(shortfall, ~same)),
        "separate averages over every pair, not only the different-class pairs":
            (right[0], float((shortfall ** 2).mean())),
        "separate misses the max(0, ...): pairs beyond the margin must add nothing":
            (right[0], mean((margin - d) ** 2, ~same)),
    }


def check_pair_losses(my_function):
    """Exercise 2: ``my_function(z_source, y_source, z_target, y_target, margin)`` ->
    ``(align, separate)``, CCSA's two pair losses, on embeddings the check makes."""
    for name, z_source, y_source, z_target, y_target, margin in _pair_cases():
        got, problem = attempt(my_function, z_source.copy(), y_source.copy(), z_target.copy(),
                               y_target.copy(), margin, forbidden=(alignment_losses,))
        if problem:
            return verdict(False, "", problem)
        got, problem = _as_array(got)
        if problem or got.shape != (2,):
            return verdict(False, "", f"on {name}: return two numbers, (align, separate).")
        want = np.array([float(v) for v in alignment_losses(z_source, y_source, z_target, y_target,
                                                            margin)])
        if np.allclose(got, want, atol=TOLERANCE):
            continue
        for slip, values in _pair_mistakes(z_source, y_source, z_target, y_target, margin).items():
            if np.allclose(got, values, atol=TOLERANCE):
                return verdict(False, "", f"on {name}: {slip}.")
        wrong = "align" if not np.isclose(got[0], want[0], atol=TOLERANCE) else "separate"
        return verdict(False, "", f"on {name}, {wrong} is not right. " + HINTS[2])
    return verdict(True, "same-class pairs pay their squared distance, different-class pairs "
                         "their squared shortfall from the margin, on three sets of embeddings "
                         "your function had never seen.", "")
