"""The gradient reversal layer of DANN (Ganin & Lempitsky, 2015) and its lambda schedule.

Forward, the layer is the identity. Backward, it multiplies the gradient by
``-lambda``: the domain classifier behind it learns to tell the domains apart,
while the feature extractor in front of it is pushed to make them
indistinguishable.
"""

import math

import keras
from keras import ops


def ganin_schedule(progress, lambda_max=1.0, gamma=10.0):
    """Ganin & Lempitsky's ramp ``lambda_max * (2 / (1 + exp(-gamma * p)) - 1)``.

    Args:
        progress: p, the share of training done, in [0, 1].
        lambda_max: the value the ramp tends to at p = 1 (0.9999 of it for gamma = 10).
        gamma: how fast it rises (10 in the paper).

    Returns:
        a float: 0 at p = 0, rising smoothly towards ``lambda_max``.
    """
    if not 0.0 <= progress <= 1.0:
        raise ValueError(f"progress must be in [0, 1] (the share of training done), got {progress}")
    if lambda_max < 0:
        raise ValueError(f"lambda_max must be >= 0, got {lambda_max}")
    return lambda_max * (2.0 / (1.0 + math.exp(-gamma * progress)) - 1.0)


class GradientReversal(keras.layers.Layer):
    """Identity forward; gradient times ``-lambda`` backward. Shapes are unchanged.

    It is written with ``stop_gradient`` so it works on every Keras backend:
    ``y = stop_gradient((1 + lambda) x) - lambda x`` has the value x and the
    derivative ``-lambda``. ``lambda_`` is a non-trainable variable, so a
    schedule can change it during training without retracing.
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


class LambdaSchedule(keras.callbacks.Callback):
    """Set a ``GradientReversal`` layer's lambda by ``ganin_schedule`` before every batch.

    Progress p counts batches over the whole ``fit`` (all epochs), as in the paper.
    """

    def __init__(self, layer, lambda_max):
        super().__init__()
        if not isinstance(layer, GradientReversal):
            raise ValueError(f"layer must be a GradientReversal layer, got {type(layer).__name__}")
        self.layer = layer
        self.lambda_max = float(lambda_max)
        self.values = []

    def on_train_begin(self, logs=None):
        self._total = max(1, self.params["epochs"] * self.params["steps"])
        self._done = 0

    def on_train_batch_begin(self, batch, logs=None):
        value = ganin_schedule(min(1.0, self._done / self._total), self.lambda_max)
        self.layer.lambda_.assign(value)
        self._done += 1

    def on_epoch_end(self, epoch, logs=None):
        self.values.append(float(keras.ops.convert_to_numpy(self.layer.lambda_)))
        if logs is not None:
            logs["lambda"] = self.values[-1]
