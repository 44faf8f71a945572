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
# # 参考答案 · 03 微调实战
# [English](../../solutions/03_fine_tuning_in_practice.ipynb) · 中文
#
# [03 · 微调实战](../03_fine_tuning_in_practice.ipynb)的练习，附解答和检查。请先在那里自己尝试；每个检查都会自己生成新的输入，所以本 notebook 不需要那一章里的任何东西。

# %%
import course_lib

course_lib.setup(language="zh")

from course_lib.chapters.ch03_fine_tuning_in_practice import exercises

# %% [markdown]
# ## 练习 1：为每一层设定学习率
#
# 从分类头往下逐块处理，每往下一块就多除一次 `decay`；每个带权重的层都取它所在块的学习率。

# %%
from course_lib.core.cnn import BLOCKS, build_cnn


def my_layer_rates(model, head_rate, decay):
    down = ["head", "features", "block2", "block1"]
    block_of = {name: block for block in down for name in BLOCKS[block]}
    return {layer.name: head_rate / decay ** down.index(block_of[layer.name])
            for layer in model.layers if layer.weights}


print({name: f"{rate:.2g}" for name, rate in my_layer_rates(build_cnn(), 1e-3, 2.6).items()})
assert exercises.check_layer_rates(my_layer_rates)

# %% [markdown]
# ## 练习 2：只在其他类别上平滑
#
# 当 K = 10、epsilon = 0.1 时，真实类别得到 0.9 而不是 0.91，其余每个类别得到 0.0111 而不是 0.01：很接近，但不是相同的目标。

# %%
import numpy as np


def my_smooth(y, n_classes, epsilon):
    one_hot = np.eye(n_classes)[np.asarray(y)]
    return (1 - epsilon) * one_hot + epsilon / (n_classes - 1) * (1 - one_hot)


print(my_smooth([3], 10, 0.1).round(4))
assert exercises.check_other_class_smoothing(my_smooth)
