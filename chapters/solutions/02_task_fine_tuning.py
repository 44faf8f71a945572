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
# ## Exercise 1: fine-tune only the BatchNorm layers, in plain Keras
#
# Unfreeze the model as a whole first (a model frozen with `model.trainable = False` trains nothing,
# whatever its layers' flags say), then let a layer train when it is a BatchNorm layer or the head.

# %%
import keras


def freeze_for_batchnorm_only(model):
    model.trainable = True
    for layer in model.layers:
        layer.trainable = isinstance(layer, keras.layers.BatchNormalization) or layer.name == "head"
    return model


assert exercises.check_batchnorm_only(freeze_for_batchnorm_only)
