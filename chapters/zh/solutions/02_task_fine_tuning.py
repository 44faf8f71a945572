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
# # 参考答案 · 02 任务微调
# [English](../../solutions/02_task_fine_tuning.ipynb) · 中文
#
# [02 · 任务微调](../02_task_fine_tuning.ipynb)的练习，附解答和检验。请先在那里自己尝试；每个检查都会自己构建新的输入，所以本 notebook 不需要本章中的任何东西。

# %%
import course_lib

course_lib.setup(language="zh")

from course_lib.chapters.ch02_task_fine_tuning import exercises

# %% [markdown]
# ## 练习 1：用纯 Keras 只微调 BatchNorm 层
#
# 先把模型作为整体解冻（用 `model.trainable = False` 冻结的模型什么都不会训练，无论它各层的标志是什么），然后，当一个层是 BatchNorm 层或分类头时，让它参与训练。

# %%
import keras


def freeze_for_batchnorm_only(model):
    model.trainable = True
    for layer in model.layers:
        layer.trainable = isinstance(layer, keras.layers.BatchNormalization) or layer.name == "head"
    return model


assert exercises.check_batchnorm_only(freeze_for_batchnorm_only)
