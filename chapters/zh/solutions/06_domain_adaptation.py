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
# # 参考答案 · 06 域适配
# [English](../../solutions/06_domain_adaptation.ipynb) · 中文
#
# 请先在[本章](../06_domain_adaptation.ipynb)中尝试这些练习。下面的每个答案都用本章所用的同一个检查来检验。

# %%
import course_lib

course_lib.setup(language="zh")
from course_lib.chapters.ch06_domain_adaptation import exercises

# %% [markdown]
# **1 · 卷积特征图的 CORAL 损失。** 把特征图 reshape 成 (positions, channels)，每张图像的每个位置就成了一行；这时 `np.cov(rows, rowvar=False)` 就是通道的 (c, c) 协方差矩阵（除以 rows - 1）；损失是两者之差的平方和，再除以 $4c^2$。

# %%
import numpy as np


def my_coral_maps(a, b):
    c = a.shape[-1]
    rows_a, rows_b = a.reshape(-1, c), b.reshape(-1, c)
    difference = np.cov(rows_a, rowvar=False) - np.cov(rows_b, rowvar=False)
    return np.sum(difference ** 2) / (4 * c * c)


assert exercises.check_coral_maps(my_coral_maps)

# %% [markdown]
# **2 · 一个 lambda 可以改变的梯度反转层。** `add_weight(..., trainable=False)` 把 $\lambda$ 变成一个变量，追踪过的训练步每次都会读取它（而优化器不会去动它）；`tf.custom_gradient` 返回值，并在旁边返回它的梯度规则：恒等映射，以及把传来的任何梯度乘以 `-lambda`。

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
