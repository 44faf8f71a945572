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
# # Solutions: 06 · When transfer helps, and when it hurts
#
# The exercises' solutions, each run against its check. The checks make their own inputs, so this
# notebook needs no data and trains nothing. Try the exercises in
# [the chapter](../06_when_transfer_helps.ipynb) first.

# %%
import course_lib

course_lib.setup()

import numpy as np

from course_lib.chapters.ch06_when_transfer_helps import exercises
from course_lib.core.cnn import build_cnn

# %% [markdown]
# ## Exercise 1: where does scratch catch up?
#
# Walk the budgets in increasing order; a budget qualifies when its gap and every later gap are at most
# the tolerance. The first that qualifies is the answer.


# %%
def my_catch_up(gaps, tolerance):
    budgets = sorted(gaps)
    for i, n in enumerate(budgets):
        if all(gaps[m] <= tolerance for m in budgets[i:]):
            return n
    return None


assert exercises.check_catch_up(my_catch_up)

# %% [markdown]
# ## Exercise 2: class weights
#
# Count each class present; its weight is the number of labels over (classes present times its count).


# %%
def my_class_weights(y):
    classes, counts = np.unique(y, return_counts=True)
    return {int(c): len(y) / (len(classes) * int(n)) for c, n in zip(classes, counts)}


assert exercises.check_class_weights(my_class_weights)

# %% [markdown]
# ## Exercise 3: an AnB network by hand
#
# The blocks are `block1`, `block2`, `features`; copy (and freeze) the layers with weights in the
# first `k` of them, by name. Everything else is the fresh network's own, head included.


# %%
def my_transplant(base, k, n_classes):
    blocks = {"block1": ("block1_conv", "block1_bn"), "block2": ("block2_conv", "block2_bn"),
              "features": ("features", "features_bn")}
    model = build_cnn(n_classes=n_classes)
    for block in list(blocks)[:k]:
        for name in blocks[block]:
            model.get_layer(name).set_weights(base.get_layer(name).get_weights())
            model.get_layer(name).trainable = False
    return model


assert exercises.check_transplant(my_transplant)
