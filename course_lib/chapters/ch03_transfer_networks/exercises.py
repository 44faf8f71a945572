"""Chapter 03's exercise checks."""

import numpy as np

from course_lib.exercises import verdict


def check_rgb_to_grey(grey_kernel, rgb_kernel):
    """Exercise 1: ``grey_kernel`` must make a grey conv give the RGB conv's output on R = G = B.

    Args:
        grey_kernel: the learner's answer, shape (3, 3, 1, filters).
        rgb_kernel: the RGB model's kernel, shape (3, 3, 3, filters).
    """
    if grey_kernel is None:
        return verdict(False, "", "set grey_kernel to an array of shape (3, 3, 1, filters).")
    grey_kernel, rgb_kernel = np.asarray(grey_kernel, dtype="float32"), np.asarray(rgb_kernel)
    wanted = rgb_kernel.shape[:2] + (1,) + rgb_kernel.shape[3:]
    if grey_kernel.shape != wanted:
        return verdict(False, "", f"grey_kernel has shape {grey_kernel.shape}; it needs {wanted}. "
                       "Keep the channel axis with keepdims=True.")
    right = rgb_kernel.sum(axis=-2, keepdims=True)
    if np.allclose(grey_kernel, right, atol=1e-5):
        return verdict(True, "a grey pixel g fed to all three channels gives "
                       "w_R*g + w_G*g + w_B*g = (w_R + w_G + w_B)*g: the sum over the input channels.", "")
    if np.allclose(grey_kernel * 3, right, atol=1e-5):
        return verdict(False, "", "you averaged the channels: every output is now 3 times too small. "
                       "Write out w_R*g + w_G*g + w_B*g.")
    return verdict(False, "", "not the kernel that keeps the outputs. What does the RGB conv compute "
                   "when R, G and B all equal the same grey value g?")


def check_zero_alignment(z_target, z_source, y_source, y_target, margin=1.0):
    """Exercise 2: place target embeddings so that both CCSA pair losses are zero."""
    from course_lib.transfer_networks.shared_embedding import alignment_losses

    if z_target is None:
        return verdict(False, "", "set z_target to an array with one row per target label.")
    z_target = np.asarray(z_target, dtype="float32")
    if z_target.shape != (len(y_target), np.shape(z_source)[1]):
        return verdict(False, "", f"z_target has shape {z_target.shape}; it needs "
                       f"{(len(y_target), np.shape(z_source)[1])}, one row per target label.")
    align, separate = (float(v) for v in alignment_losses(z_source, y_source, z_target, y_target,
                                                          margin))
    if align < 1e-6 and separate < 1e-6:
        return verdict(True, "every target point sits on its class's source points, and the "
                       f"other classes are at least the margin ({margin}) away.", "")
    return verdict(False, "", f"alignment loss {align:.3f}, separation loss {separate:.3f}. "
                   "Same-class pairs must be at distance 0, different-class pairs at least "
                   f"{margin} apart. Where are the source points of each class?")
