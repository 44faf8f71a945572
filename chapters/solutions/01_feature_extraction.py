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
# **1 · A pooled extractor in plain Keras.** `keras.Model` built on the layers' own tensors reuses the layers,
# so the extractor shares the source's weights; `GlobalAveragePooling2D` averages the feature map over its
# positions. Freezing the new model leaves the source trainable.

# %%
import keras


def my_pooled_extractor(model, layer_name):
    pooled = keras.layers.GlobalAveragePooling2D()(model.get_layer(layer_name).output)
    extractor = keras.Model(model.input, pooled)
    extractor.trainable = False
    return extractor


assert exercises.check_pooled_extractor(my_pooled_extractor)

# %% [markdown]
# **2 · How many parameters does a deeper head train?** Each Dense layer has a weight per (input, output)
# pair and a bias per output; BatchNorm trains a scale and a shift per unit and keeps, untrained, a moving
# mean and variance per unit.

# %%
import numpy as np


def my_head_parameters(feature_shape, hidden, n_classes):
    d = int(np.prod(feature_shape))
    trainable = (d * hidden + hidden) + 2 * hidden + (hidden * n_classes + n_classes)
    return trainable, 2 * hidden


assert exercises.check_head_parameters(my_head_parameters)
