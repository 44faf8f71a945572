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
# # 参考答案 · 08 你自己的图像
# [English](../../solutions/08_your_own_images.ipynb) · 中文
#
# [第 08 章](../08_your_own_images.ipynb)各练习的答案，每一个都经过它的检查。请先自己尝试这些练习；每个检查也提供提示（`exercises.show_hint(n)`）。

# %%
import course_lib

course_lib.setup(language="zh")

import numpy as np
import tensorflow as tf

from course_lib.chapters.ch08_your_own_images import exercises

# %% [markdown]
# ## 练习 1：把增强放在正确位置的流水线
#
# 解码（第一个 map）只做一次，并缓存它的结果；在缓存之后对单张图像做增强，这样每个 epoch 都会抽取新的变体；然后用与数据集一样大的缓冲区打乱每一张图像，使每个 epoch 都有新的顺序；再分批，使每个 epoch 都有新的批次；最后预取。

# %%
def my_pipeline(files, decode, augment, batch_size, seed):
    decoded = files.map(decode, num_parallel_calls=tf.data.AUTOTUNE).cache()
    augmented = decoded.map(augment, num_parallel_calls=tf.data.AUTOTUNE)
    shuffled = augmented.shuffle(int(files.cardinality()), seed=seed, reshuffle_each_iteration=True)
    return shuffled.batch(batch_size).prefetch(tf.data.AUTOTUNE)


assert exercises.check_pipeline(my_pipeline)

# %% [markdown]
# ## 练习 2：手工找出损失最大的图像
#
# 每张图像的损失是其标签概率的对数的相反数；对损失的相反数做稳定排序，就能把最大的排在最前面，并让相等的损失保持索引顺序。

# %%
def my_top_losses(probabilities, labels, k):
    loss = -np.log(probabilities[np.arange(len(labels)), labels])
    return np.argsort(-loss, kind="stable")[:k]


assert exercises.check_top_losses(my_top_losses)
