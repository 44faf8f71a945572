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
# # 参考答案 · 00 欢迎
# [English](../../solutions/00_welcome.ipynb) · 中文
#
# 请先在[本章](../00_welcome.ipynb)中自己尝试这些练习。下面的每个答案都经过本章所用的同一个检查。

# %%
import course_lib

course_lib.setup(language="zh")
from course_lib.chapters.ch00_welcome import exercises

# %% [markdown]
# **1 · 每个类别的精确率。** 对每个数字，取出被*预测*为它的图像，计算其中标签正是它的比例（召回率，即 `per_class_accuracy`，则是从标签为它的图像出发）。

# %%
import numpy as np


def my_precision_per_class(y_true, y_pred):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return np.array([np.mean(y_true[y_pred == c] == c) if np.any(y_pred == c) else np.nan
                     for c in range(10)])


assert exercises.check_precision_per_class(my_precision_per_class)

# %% [markdown]
# **2 · 同样的图像，不同的任务。** 预测数字的奇偶性就是预测的奇偶性。一个数字被错认成另一个奇偶性相同的数字（把 3 认成 5），在奇偶任务上仍然是对的，所以奇偶任务的差距至多等于数字任务的差距。

# %%
def my_parity_gap(y_source, pred_source, y_target, pred_target):
    def parity_accuracy(y, pred):
        return np.mean(np.asarray(y) % 2 == np.asarray(pred) % 2)

    return 100 * (parity_accuracy(y_source, pred_source) - parity_accuracy(y_target, pred_target))


assert exercises.check_parity_gap(my_parity_gap)
