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
# # 参考答案 · 05 从无标签的目标域学习
# [English](../../solutions/05_self_training_and_source_free.ipynb) · 中文
#
# 第 05 章练习的答案（[本章](../05_self_training_and_source_free.ipynb)）。每个检查都自己构造输入，所以不需要先运行本章的任何内容。请先自己尝试练习，再往下读。

# %%
import keras
import numpy as np

import course_lib
from course_lib.chapters.ch05_self_training_and_source_free import exercises

course_lib.setup(language="zh")


# %% [markdown]
# ## 练习 1：按每个类别的比例均衡的伪标签
#
# 对每个类别，取被预测为该类别的行，按置信度从高到低排序；保留前 `ceil(share * n_c)` 个。

# %%
import math


def my_class_share(probabilities, share):
    predicted, confidence = probabilities.argmax(axis=1), probabilities.max(axis=1)
    kept = []
    for c in range(probabilities.shape[1]):
        rows = np.flatnonzero(predicted == c)
        kept.extend(rows[np.argsort(-confidence[rows], kind="stable")[:math.ceil(share * len(rows))]])
    return np.sort(np.array(kept, dtype="int64"))


assert exercises.check_class_share(my_class_share)


# %% [markdown]
# ## 练习 2：信息最大化，把多样性写成散度
#
# $\mathrm{KL}(\bar p \,\|\, u) = \log K - H(\bar p)$：这个损失就是第 6 节的损失加上常数 $\beta \log K$。常数不改变任何梯度，所以训练所偏好的预测完全相同；只是读出来的数字不同：对置信且多样的批次为 0，永远不会低于 0。

# %%
def my_im_loss(p, beta):
    p = np.clip(p, 1e-6, 1.0)
    mean = p.mean(axis=0)
    kl_from_uniform = np.sum(mean * np.log(mean * p.shape[1]))
    return -np.sum(p * np.log(p), axis=1).mean() + beta * kl_from_uniform


assert exercises.check_im_kl_loss(my_im_loss)


# %% [markdown]
# ## 练习 3：与源域混合的 AdaBN
#
# 训练模式的一次前向传播本身就在做混合：moving = momentum x moving + (1 - momentum) x 该批次的统计量。所以动量取 1 - alpha，再把所有图像放在一个批次里传一遍，得到的就是 (1 - alpha) x source + alpha x target；在这次传播中，每一层都用该批次的（即目标域的）统计量做归一化，正如 AdaBN 测量它们时那样。没有优化器，所以没有权重会动。之后再把动量改回去。

# %%
def my_blended_adabn(model, x, alpha):
    layers = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    momenta = [layer.momentum for layer in layers]
    for layer in layers:
        layer.momentum = 1.0 - alpha
    model(x, training=True)
    for layer, momentum in zip(layers, momenta):
        layer.momentum = momentum
    return model


assert exercises.check_blended_adabn(my_blended_adabn)
