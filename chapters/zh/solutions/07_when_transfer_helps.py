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
# # 参考答案 · 07 迁移何时有益，何时有害
# [English](../../solutions/07_when_transfer_helps.ipynb) · 中文
#
# 各练习的答案，每一个都经过它的检查。检查会自己构造输入，所以本 notebook 不需要数据，也不训练任何东西。请先在[本章](../07_when_transfer_helps.ipynb)中尝试这些练习。

# %%
import course_lib

course_lib.setup(language="zh")

import numpy as np

from course_lib.chapters.ch07_when_transfer_helps import exercises
from course_lib.core.cnn import build_cnn

# %% [markdown]
# ## 练习 1：在每个种子上，从头训练从哪里开始追上？
#
# 一个预算在每个种子上都处于容差之内，当且仅当它最差（最大）的差距处于容差之内。按递增顺序遍历各个预算；一个预算符合条件，当它的最差差距以及其后每一个最差差距都至多为容差。第一个符合条件的预算就是答案。


# %%
def my_catch_up(gaps, tolerance):
    worst = {n: max(seeds) for n, seeds in gaps.items()}
    budgets = sorted(worst)
    for i, n in enumerate(budgets):
        if all(worst[m] <= tolerance for m in budgets[i:]):
            return n
    return None


assert exercises.check_worst_seed_catch_up(my_catch_up)

# %% [markdown]
# ## 练习 2：基于有效样本数的类别权重
#
# 统计出现的每个类别，算出它的有效样本数，取倒数，再乘以一个缩放因子，使权重之和等于类别数。


# %%
def my_class_weights(y, beta=0.99):
    classes, counts = np.unique(y, return_counts=True)
    effective = (1 - beta ** counts) / (1 - beta) if beta > 0 else np.ones(len(counts))
    raw = 1 / effective
    return {int(c): float(w) for c, w in zip(classes, raw * len(classes) / raw.sum())}


print({c: round(w, 3) for c, w in my_class_weights(np.repeat([0, 1], [40, 3]), beta=0.99).items()})
assert exercises.check_effective_weights(my_class_weights)

# %% [markdown]
# ## 练习 3：手工移植任意的块
#
# 按名称复制（并冻结）每个所列块中带权重的层。其余一切都是新网络自己的，包括分类头。


# %%
from course_lib.core.cnn import BLOCKS


def my_transplant(base, blocks, n_classes):
    model = build_cnn(n_classes=n_classes)
    for block in blocks:
        for name in BLOCKS[block]:
            if model.get_layer(name).weights:
                model.get_layer(name).set_weights(base.get_layer(name).get_weights())
                model.get_layer(name).trainable = False
    return model


assert exercises.check_transplant(my_transplant)
