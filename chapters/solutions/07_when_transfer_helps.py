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
# # Solutions · 07 when transfer helps and when it hurts
#
# The exercises' solutions, each run against its check. The checks make their own inputs, so this
# notebook needs no data and trains nothing. Try the exercises in
# [the chapter](../07_when_transfer_helps.ipynb) first.

# %%
import course_lib

course_lib.setup()

import numpy as np

from course_lib.chapters.ch07_when_transfer_helps import exercises
from course_lib.core.cnn import build_cnn

# %% [markdown]
# ## Exercise 1: where does scratch catch up, on every seed?
#
# A budget is within tolerance on every seed when its worst (largest) gap is. Walk the budgets in increasing
# order; a budget qualifies when its worst gap and every later worst gap are at most the tolerance. The first
# that qualifies is the answer.


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
# ## Exercise 2: class weights from the effective number of samples
#
# Count each class present, its effective number, the inverse, and a scale that makes the weights sum to the
# number of classes.


# %%
def my_class_weights(y, beta=0.99):
    classes, counts = np.unique(y, return_counts=True)
    effective = (1 - beta ** counts) / (1 - beta) if beta > 0 else np.ones(len(counts))
    raw = 1 / effective
    return {int(c): float(w) for c, w in zip(classes, raw * len(classes) / raw.sum())}


print({c: round(w, 3) for c, w in my_class_weights(np.repeat([0, 1], [40, 3]), beta=0.99).items()})
assert exercises.check_effective_weights(my_class_weights)

# %% [markdown]
# ## Exercise 3: a transplant of any blocks, by hand
#
# Copy (and freeze) the layers with weights in each named block, by name. Everything else is the fresh
# network's own, head included.


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
