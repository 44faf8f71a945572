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

# %%

# %% [markdown]
# # 参考答案 · 09 参数高效微调
# [English](../../solutions/09_parameter_efficient.ipynb) · 中文
#
# [09 · 参数高效微调](../09_parameter_efficient.ipynb)的练习，附解答并已检查。请先在那里自己尝试；每个检查都会构建它自己的新输入，所以本 notebook 不需要本章中的任何东西。

# %%
import course_lib

course_lib.setup(language="zh")

from course_lib.chapters.ch09_parameter_efficient import exercises

# %% [markdown]
# ## 练习 1：用纯 Keras 实现 BitFit
#
# 先把模型整体解冻（用 `model.trainable = False` 冻结的模型什么都不训练，无论它的层的标志怎么设）。有偏置的层参与训练；在这样的层里，只有名为 `bias` 的变量训练。先设置层的标志，再设置变量的标志：设置层的标志会设置它所有变量的标志。

# %%
def my_bitfit_batchnorm(model):
    model.trainable = True
    for layer in model.layers:
        layer.trainable = any(v.name in ("bias", "gamma", "beta") for v in layer.weights)
        for variable in layer.trainable_weights:
            variable.trainable = variable.name in ("bias", "gamma", "beta")
    return model


assert exercises.check_bitfit_batchnorm(my_bitfit_batchnorm)

# %% [markdown]
# ## 练习 2：合并后的核
#
# `np.matmul` 在 A 的最后一个轴和 B 的第一个轴上相乘，所以同一行代码既适用于 Dense 的核 (d_in, d_out)，也适用于 Conv2D 的核 (k, k, c_in, c_out)。

# %%
import numpy as np


def my_merge(layer):
    update = np.matmul(layer.lora_kernel_a.numpy(), layer.lora_kernel_b.numpy())
    return layer._kernel.numpy() + (layer.lora_alpha / layer.lora_rank) * update


assert exercises.check_merge(my_merge)

# %% [markdown]
# ## 练习 3：LoRA 训练什么
#
# 逐层计算，设核的形状为 (..., d_out)：A 有 prod(kernel.shape[:-1]) 行、`rank` 列，B 有 `rank` 行、d_out 列，而偏置（d_out）也仍然训练。

# %%
def my_count(model, layers, rank):
    count = 0
    for name in layers:
        shape = model.get_layer(name).kernel.shape
        count += int(np.prod(shape[:-1])) * rank + rank * shape[-1] + shape[-1]
    return count


assert exercises.check_lora_count(my_count)
