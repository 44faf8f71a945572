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
# # Solutions · 03 · Transfer networks
#
# The exercises of [chapter 03](../03_transfer_networks.ipynb), solved. Try them first: each
# check tests your function on inputs it makes itself, so there is nothing to copy from here
# but the idea.

# %%
import numpy as np

import course_lib
from course_lib.chapters.ch03_transfer_networks import exercises

course_lib.setup();

# %% [markdown]
# ## Exercise 1: from colour to grey
#
# On a grey image fed to all three channels (R = G = B = g) the RGB conv computes
# $w_R g + w_G g + w_B g = (w_R + w_G + w_B)\, g$: the grey kernel is the **sum** over the input
# channels (not the mean), and the channel axis stays, with length 1.

# %%
def rgb_to_grey(rgb_kernel):
    return rgb_kernel.sum(axis=2, keepdims=True)


assert exercises.check_rgb_to_grey(rgb_to_grey)

# %% [markdown]
# ## Exercise 2: CCSA's pair losses
#
# All (source, target) distances at once by broadcasting, a boolean mask for the same-class pairs,
# and a mean over each group (0 for an empty group).

# %%
def pair_losses(z_source, y_source, z_target, y_target, margin):
    d = np.sqrt(((z_source[:, None, :] - z_target[None, :, :]) ** 2).sum(axis=-1))
    same = y_source[:, None] == y_target[None, :]
    align = (d[same] ** 2).mean() if same.any() else 0.0
    separate = (np.maximum(0.0, margin - d[~same]) ** 2).mean() if (~same).any() else 0.0
    return align, separate


assert exercises.check_pair_losses(pair_losses)
