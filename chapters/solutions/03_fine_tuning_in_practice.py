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
# # Solutions · 03 fine-tuning in practice
#
# The exercises of [03 · fine-tuning in practice](../03_fine_tuning_in_practice.ipynb), solved and checked. Try
# them there first; each check builds its own fresh inputs, so this notebook needs nothing from the chapter.

# %%
import course_lib

course_lib.setup()

from course_lib.chapters.ch03_fine_tuning_in_practice import exercises

# %% [markdown]
# ## Exercise 1: a learning rate for every layer
#
# The blocks from the head down, each one more division by `decay`; every layer with weights takes its
# block's rate.

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
# ## Exercise 2: smoothing over the other classes
#
# For K = 10 and epsilon = 0.1 the true class gets 0.9 instead of 0.91, every other class 0.0111 instead of
# 0.01: close, but not the same targets.

# %%
import numpy as np


def my_smooth(y, n_classes, epsilon):
    one_hot = np.eye(n_classes)[np.asarray(y)]
    return (1 - epsilon) * one_hot + epsilon / (n_classes - 1) * (1 - one_hot)


print(my_smooth([3], 10, 0.1).round(4))
assert exercises.check_other_class_smoothing(my_smooth)
