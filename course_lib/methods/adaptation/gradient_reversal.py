"""The gradient reversal layer of DANN (Ganin & Lempitsky, 2015) and its lambda schedule.

Forward, the layer is the identity. Backward, it multiplies the gradient by
``-lambda``: the domain classifier behind it learns to tell the domains apart,
while the feature extractor in front of it is pushed to make them
indistinguishable.
"""

import keras
from keras import ops

#: Ganin & Lempitsky's gamma: how fast lambda rises from 0 towards lambda_max.
GAMMA = 10.0


def ganin_schedule(progress, lambda_max=1.0, gamma=GAMMA):
    """Ganin & Lempitsky's ramp ``lambda_max * (2 / (1 + exp(-gamma * p)) - 1)``.

    Works on Python numbers, NumPy arrays and tensors alike (``keras.ops``), so the same
    function draws the curve in a notebook and sets lambda inside a training step.

    Args:
        progress: p, the share of training done; values outside [0, 1] are clipped to it.
        lambda_max: the value the ramp tends to at p = 1 (0.9999 of it for gamma = 10).
        gamma: how fast it rises (10 in the paper).

    Returns:
        a float32 tensor shaped like ``progress``: 0 at p = 0, rising smoothly towards
        ``lambda_max`` (0.99 of it at p = 0.5).
    """
    if lambda_max < 0:
        raise ValueError(f"lambda_max must be >= 0, got {lambda_max}")
    p = ops.clip(ops.cast(progress, "float32"), 0.0, 1.0)
    return lambda_max * (2.0 / (1.0 + ops.exp(-gamma * p)) - 1.0)


class GradientReversal(keras.layers.Layer):
    """Identity forward; gradient times ``-lambda`` backward. Shapes are unchanged.

    It is written with ``stop_gradient`` so it works on every Keras backend:
    ``y = stop_gradient((1 + lambda) x) - lambda x`` has the value x and the
    derivative ``-lambda``. ``lambda_`` is a non-trainable variable, so training can
    change it from step to step without retracing (``DANN`` sets it every step).
    """

    def __init__(self, lambda_=1.0, **kwargs):
        super().__init__(**kwargs)
        if lambda_ < 0:
            raise ValueError(f"lambda_ must be >= 0 (0 switches reversal off), got {lambda_}")
        self.lambda_ = self.add_weight(shape=(), initializer=keras.initializers.Constant(lambda_),
                                       trainable=False, name="lambda")

    def call(self, x):
        lam = ops.cast(self.lambda_, x.dtype)
        return ops.stop_gradient((1.0 + lam) * x) - lam * x

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "lambda_": float(keras.ops.convert_to_numpy(self.lambda_))}
