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
# # Solutions · 09 parameter-efficient fine-tuning
#
# The exercises of [09 · parameter-efficient fine-tuning](../09_parameter_efficient.ipynb), solved and
# checked. Try them there first; each check builds its own fresh inputs, so this notebook needs nothing
# from the chapter.

# %%
import course_lib

course_lib.setup()

from course_lib.chapters.ch09_parameter_efficient import exercises

# %% [markdown]
# ## Exercise 1: BitFit in plain Keras
#
# Unfreeze the model as a whole first (a model frozen with `model.trainable = False` trains nothing,
# whatever its layers' flags say). A layer with a bias trains; inside it, only the variable named `bias`
# does. Set the layer's flag before the variables' flags: setting a layer's flag sets all its variables'.

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
# ## Exercise 2: the merged kernel
#
# `np.matmul` multiplies over the last axis of A and the first of B, so the same line works for a
# Dense kernel (d_in, d_out) and a Conv2D kernel (k, k, c_in, c_out).

# %%
import numpy as np


def my_merge(layer):
    update = np.matmul(layer.lora_kernel_a.numpy(), layer.lora_kernel_b.numpy())
    return layer._kernel.numpy() + (layer.lora_alpha / layer.lora_rank) * update


assert exercises.check_merge(my_merge)

# %% [markdown]
# ## Exercise 3: what LoRA trains
#
# Per layer, with kernel shape (..., d_out): A has prod(kernel.shape[:-1]) rows and `rank` columns, B has
# `rank` rows and d_out columns, and the bias (d_out) still trains.

# %%
def my_count(model, layers, rank):
    count = 0
    for name in layers:
        shape = model.get_layer(name).kernel.shape
        count += int(np.prod(shape[:-1])) * rank + rank * shape[-1] + shape[-1]
    return count


assert exercises.check_lora_count(my_count)
