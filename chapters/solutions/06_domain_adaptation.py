# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,jupyter,-all
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,jupytext,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Solutions · 06 domain adaptation
#
# Try the exercises in [the chapter](../06_domain_adaptation.ipynb) first. Each solution below is checked by
# the same check the chapter uses.

# %%
import course_lib

course_lib.setup()
from course_lib.chapters.ch06_domain_adaptation import exercises

# %% [markdown]
# **1 · The CORAL loss of conv feature maps.** A reshape to (positions, channels) makes every position of
# every image a row; `np.cov(rows, rowvar=False)` is then the (c, c) covariance of the channels, divided by
# rows - 1; the loss is the sum of the squared differences of the two, over $4c^2$.

# %%
import numpy as np


def my_coral_maps(a, b):
    c = a.shape[-1]
    rows_a, rows_b = a.reshape(-1, c), b.reshape(-1, c)
    difference = np.cov(rows_a, rowvar=False) - np.cov(rows_b, rowvar=False)
    return np.sum(difference ** 2) / (4 * c * c)


assert exercises.check_coral_maps(my_coral_maps)

# %% [markdown]
# **2 · A gradient reversal layer whose lambda can change.** `add_weight(..., trainable=False)` makes
# $\lambda$ a variable the traced step reads every time (and the optimizer leaves alone); `tf.custom_gradient`
# returns the value and, beside it, the rule for its gradient: the identity, and `-lambda` times whatever
# gradient arrives.

# %%
import keras
import tensorflow as tf


class MyReversal(keras.layers.Layer):
    def __init__(self, lambda_, **kwargs):
        super().__init__(**kwargs)
        self.lambda_ = self.add_weight(shape=(), initializer=keras.initializers.Constant(lambda_),
                                       trainable=False, name="lambda")

    def call(self, x):
        lambda_ = tf.cast(self.lambda_, x.dtype)

        @tf.custom_gradient
        def reverse(inputs):
            def gradient(upstream):
                return -lambda_ * upstream

            return tf.identity(inputs), gradient

        return reverse(x)


assert exercises.check_reversal(MyReversal)
