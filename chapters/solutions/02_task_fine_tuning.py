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
# # Solutions · 02 task fine-tuning
#
# The exercises of [02 · task fine-tuning](../02_task_fine_tuning.ipynb), solved and checked. Try them
# there first; each check builds its own fresh inputs, so this notebook needs nothing from the chapter.

# %%
import course_lib

course_lib.setup()

from course_lib.chapters.ch02_task_fine_tuning import exercises

# %% [markdown]
# ## Exercise 1: freeze for the `top` strategy, in plain Keras
#
# Unfreeze the model as a whole first (a model frozen with `model.trainable = False` trains nothing,
# whatever its layers' flags say), then freeze block1's layers and let every other layer train.

# %%
def freeze_for_top(model):
    model.trainable = True
    for layer in model.layers:
        layer.trainable = not layer.name.startswith("block1_")
    return model


assert exercises.check_top_freezing(freeze_for_top)

# %% [markdown]
# ## Exercise 2: discriminative learning rates
#
# Three steps down from the head make `slowdown`, so each step divides by `slowdown ** (1 / 3)`.

# %%
def my_rates(head_rate, slowdown):
    blocks = ["block1", "block2", "features", "head"]
    factor = slowdown ** (1 / 3)
    return {block: head_rate / factor ** (len(blocks) - 1 - i) for i, block in enumerate(blocks)}


print({block: f"{rate:.2g}" for block, rate in my_rates(1e-3, 10).items()})
assert exercises.check_rates(my_rates)

# %% [markdown]
# ## Exercise 3: label-smoothed targets

# %%
import numpy as np


def my_smooth(y, n_classes, epsilon):
    return (1 - epsilon) * np.eye(n_classes)[np.asarray(y)] + epsilon / n_classes


print(my_smooth([3], 10, 0.1).round(3))
assert exercises.check_smoothing(my_smooth)
