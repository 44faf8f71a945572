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
# # Solutions · 04 transfer networks
#
# The exercises of [chapter 04](../04_transfer_networks.ipynb), solved. Try them first: each
# check tests your function on inputs it makes itself, so there is nothing to copy from here
# but the idea.

# %%
import numpy as np

import course_lib
from course_lib.chapters.ch04_transfer_networks import exercises

course_lib.setup();

# %% [markdown]
# ## Exercise 1: from grey to colour, through the luminance
#
# The grey conv on the luminance computes $w\,(0.299R + 0.587G + 0.114B) = (0.299w)R + (0.587w)G +
# (0.114w)B$: the RGB kernel's channel $c$ is the grey kernel times channel $c$'s weight. (Section 1's
# equal shares, $w/3$ each, are the same rule with the weights $1/3$.)

# %%
LUMINANCE = np.array([0.299, 0.587, 0.114])


def grey_to_luminance(grey_kernel):
    return grey_kernel * LUMINANCE[:, None]  # (kh, kw, 1, f) * (3, 1) -> (kh, kw, 3, f)


assert exercises.check_grey_to_luminance(grey_to_luminance)

# %% [markdown]
# ## Exercise 2: CCSA's pair losses, with the cosine distance
#
# Rows normalised to length 1, so one matrix product gives every cosine; then a boolean mask for the
# same-class pairs, and a mean over each group (0 for an empty group).

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
