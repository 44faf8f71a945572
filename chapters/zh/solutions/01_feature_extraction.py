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
# # 参考答案 · 01 特征提取
# [English](../../solutions/01_feature_extraction.ipynb) · 中文
#
# 请先在[本章](../01_feature_extraction.ipynb)中自己尝试这些练习。下面的每个答案都经过本章所用的同一个检查。

# %%
import course_lib

course_lib.setup(language="zh")
from course_lib.chapters.ch01_feature_extraction import exercises

# %% [markdown]
# **1 · 用纯 Keras 写一个池化提取器。** 在各层自己的张量上构建的 `keras.Model` 会重用这些层，因此提取器与源模型共享权重；`GlobalAveragePooling2D` 把特征图在各位置上取平均。冻结这个新模型并不会冻结源模型，源模型仍然可训练。

# %%
import keras


def my_pooled_extractor(model, layer_name):
    pooled = keras.layers.GlobalAveragePooling2D()(model.get_layer(layer_name).output)
    extractor = keras.Model(model.input, pooled)
    extractor.trainable = False
    return extractor


assert exercises.check_pooled_extractor(my_pooled_extractor)

# %% [markdown]
# **2 · 更深的分类头要训练多少参数？** 每个 Dense 层对每一对（输入，输出）有一个权重，对每个输出有一个偏置；BatchNorm 对每个单元训练一个缩放和一个平移，并为每个单元保存（不经训练的）滑动均值和方差。

# %%
import numpy as np


def my_head_parameters(feature_shape, hidden, n_classes):
    d = int(np.prod(feature_shape))
    trainable = (d * hidden + hidden) + 2 * hidden + (hidden * n_classes + n_classes)
    return trainable, 2 * hidden


assert exercises.check_head_parameters(my_head_parameters)
