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
# # Solutions · 01 feature extraction
#
# Try the exercises in [the chapter](../01_feature_extraction.ipynb) first. Each solution below is
# checked by the same check the chapter uses.

# %%
import course_lib

course_lib.setup()
from course_lib.chapters.ch01_feature_extraction import exercises

# %% [markdown]
# **1 · A frozen extractor in plain Keras.** `keras.Model` built on the layers' own tensors reuses the
# layers, so the extractor shares the source's weights; freezing the new model leaves the source trainable.

# %%
import keras


def my_extractor(model, layer_name):
    extractor = keras.Model(model.input, model.get_layer(layer_name).output)
    extractor.trainable = False
    return extractor


assert exercises.check_extractor(my_extractor)

# %% [markdown]
# **2 · How many parameters does the new head train?** A weight per (feature, class) pair and a bias per
# class.

# %%
import numpy as np


def my_head_parameters(feature_shape, n_classes):
    return int(np.prod(feature_shape)) * n_classes + n_classes


assert exercises.check_head_parameters(my_head_parameters)
