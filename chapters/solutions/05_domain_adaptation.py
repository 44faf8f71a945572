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
# # Solutions · 05 domain adaptation
#
# Try the exercises in [the chapter](../05_domain_adaptation.ipynb) first. Each solution below is checked by
# the same check the chapter uses.

# %%
import course_lib

course_lib.setup()
from course_lib.chapters.ch05_domain_adaptation import exercises

# %% [markdown]
# **1 · The CORAL loss in NumPy.** `np.cov(a, rowvar=False)` is the (d, d) covariance of the columns, divided
# by n - 1; the loss is the sum of the squared differences of the two, over $4d^2$.

# %%
import numpy as np


def my_coral(a, b):
    d = a.shape[1]
    difference = np.cov(a, rowvar=False) - np.cov(b, rowvar=False)
    return np.sum(difference ** 2) / (4 * d * d)


assert exercises.check_coral(my_coral)

# %% [markdown]
# **2 · A gradient reversal layer of your own.** `tf.custom_gradient` lets a function return its value and,
# beside it, the rule for its gradient: here the identity, and `-lambda` times whatever gradient arrives.

# %%
import keras
import tensorflow as tf


class MyReversal(keras.layers.Layer):
    def __init__(self, lambda_, **kwargs):
        super().__init__(**kwargs)
        self.lambda_ = float(lambda_)

    def call(self, x):
        lambda_ = self.lambda_

        @tf.custom_gradient
        def reverse(inputs):
            def gradient(upstream):
                return -lambda_ * upstream

            return tf.identity(inputs), gradient

        return reverse(x)


assert exercises.check_reversal(MyReversal)
