"""Discrepancy losses between two feature batches, and a model that adds one to the source loss.

Deep CORAL (Sun & Saenko, 2016) matches second-order statistics::

    CORAL(S, T) = || C_S - C_T ||_F^2 / (4 d^2)

with C the (d, d) feature covariance of each batch. MMD (as in DAN, Long et al. 2015)
compares the two batches' mean embeddings in the space of a Gaussian (RBF) kernel; a sum
of kernels over several bandwidths avoids picking one::

    MMD^2(S, T) = mean k(s, s') + mean k(t, t') - 2 mean k(s, t),  k = sum_b exp(-|a - b|^2 / h_b)
"""

from keras import ops

from course_lib.core import checks
from course_lib.methods.adaptation.two_domain import TwoDomainModel

#: MMD bandwidths, as multiples of the mean squared distance between all the features.
MMD_BANDWIDTHS = (0.25, 0.5, 1.0, 2.0, 4.0)


def _pair(source, target):
    """The two feature batches as float32 tensors, if both are (n >= 2, d) of one width."""
    s_shape, t_shape = tuple(source.shape), tuple(target.shape)
    if len(s_shape) != 2 or len(t_shape) != 2:
        raise ValueError(f"features must be 2-D (batch, width), got shapes {s_shape} and {t_shape}")
    if s_shape[1] is not None and t_shape[1] is not None and s_shape[1] != t_shape[1]:
        raise ValueError(f"source and target features must have the same width, "
                         f"got {s_shape[1]} and {t_shape[1]}")
    for name, n in (("source", s_shape[0]), ("target", t_shape[0])):
        if n is not None and n < 2:
            raise ValueError(f"the {name} batch has {n} rows; need at least 2 to compare distributions")
    return ops.convert_to_tensor(source, "float32"), ops.convert_to_tensor(target, "float32")


def _covariance(x):
    """(d, d) covariance of the rows of x (divided by n - 1, and by 1 for a single row)."""
    n = ops.cast(ops.shape(x)[0], x.dtype)
    centred = x - ops.mean(x, axis=0, keepdims=True)
    return ops.matmul(ops.transpose(centred), centred) / ops.maximum(n - 1.0, 1.0)


def coral_loss(source, target):
    """Deep CORAL loss between (n_s, d) and (n_t, d) features; a scalar >= 0."""
    source, target = _pair(source, target)
    d = ops.cast(ops.shape(source)[1], "float32")
    difference = _covariance(source) - _covariance(target)
    return ops.sum(difference ** 2) / (4.0 * d * d)


def _squared_distances(a, b):
    return ops.maximum(ops.sum(a ** 2, axis=1)[:, None] + ops.sum(b ** 2, axis=1)[None, :]
                       - 2.0 * ops.matmul(a, ops.transpose(b)), 0.0)


def mmd_loss(source, target, bandwidths=MMD_BANDWIDTHS):
    """Squared MMD (biased estimate) between (n_s, d) and (n_t, d) features, multi-bandwidth RBF.

    Args:
        bandwidths: multiples of the mean squared distance over all pairs of the two
            batches together; that base value is held constant for the gradient.

    Returns:
        a scalar, about 0 for two samples of one distribution.
    """
    if not bandwidths or min(bandwidths) <= 0:
        raise ValueError(f"bandwidths must be positive numbers, got {bandwidths!r}")
    source, target = _pair(source, target)
    both = ops.concatenate([source, target], axis=0)
    distances = _squared_distances(both, both)
    base = ops.stop_gradient(ops.mean(distances)) + 1e-8
    kernel = sum(ops.exp(-distances / (base * b)) for b in bandwidths)
    n = ops.shape(source)[0]
    k_ss, k_tt, k_st = kernel[:n, :n], kernel[n:, n:], kernel[:n, n:]
    return ops.mean(k_ss) + ops.mean(k_tt) - 2.0 * ops.mean(k_st)


DISCREPANCIES = {"coral": coral_loss, "mmd": mmd_loss}


class DiscrepancyModel(TwoDomainModel):
    """Source classification loss + ``weight`` x a discrepancy between source and target features.

    Args:
        discrepancy: ``"coral"`` or ``"mmd"``.
        weight: how much the discrepancy counts against the task loss (0: plain source training).
    """

    def __init__(self, extractor, classifier, discrepancy="coral", weight=1.0, **kwargs):
        super().__init__(extractor, classifier, **kwargs)
        self.discrepancy = checks.choice(discrepancy, "discrepancy", tuple(DISCREPANCIES))
        self.weight = checks.positive_number(weight, "weight", allow_zero=True)

    def adaptation_loss(self, source_features, target_features):
        return self.weight * DISCREPANCIES[self.discrepancy](source_features, target_features)
