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
# # 参考答案 · 04 迁移网络
# [English](../../solutions/04_transfer_networks.ipynb) · 中文
#
# [第 04 章](../04_transfer_networks.ipynb)的练习及解答。请先自己尝试：每个检查都在它自己生成的输入上测试你的函数，所以这里除了思路之外，没有什么可以照抄的。

# %%
import numpy as np

import course_lib
from course_lib.chapters.ch04_transfer_networks import exercises

course_lib.setup(language="zh");

# %% [markdown]
# ## 练习 1：从灰度到彩色，经由亮度
#
# 灰度卷积在亮度上计算的是 $w\,(0.299R + 0.587G + 0.114B) = (0.299w)R + (0.587w)G + (0.114w)B$：RGB 卷积核的通道 $c$ 就是灰度卷积核乘以通道 $c$ 的权重。（第 1 节的平均分配，每个通道 $w/3$，是权重取 $1/3$ 时的同一条规则。）

# %%
LUMINANCE = np.array([0.299, 0.587, 0.114])


def grey_to_luminance(grey_kernel):
    return grey_kernel * LUMINANCE[:, None]  # (kh, kw, 1, f) * (3, 1) -> (kh, kw, 3, f)


assert exercises.check_grey_to_luminance(grey_to_luminance)

# %% [markdown]
# ## 练习 2：CCSA 的成对损失，改用余弦距离
#
# 先把各行归一化为长度 1，这样一次矩阵乘法就得到所有的余弦；再用一个布尔掩码选出同类的图像对，并对每一组求平均（空组为 0）。

# %%
def cosine_pair_losses(z_source, y_source, z_target, y_target, margin):
    unit_s = z_source / np.linalg.norm(z_source, axis=1, keepdims=True)
    unit_t = z_target / np.linalg.norm(z_target, axis=1, keepdims=True)
    d = 1.0 - unit_s @ unit_t.T
    same = y_source[:, None] == y_target[None, :]
    align = (d[same] ** 2).mean() if same.any() else 0.0
    separate = (np.maximum(0.0, margin - d[~same]) ** 2).mean() if (~same).any() else 0.0
    return align, separate


assert exercises.check_cosine_pair_losses(cosine_pair_losses)
