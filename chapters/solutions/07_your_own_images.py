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
# # 07 · Your own images: solutions
#
# The solutions of [chapter 07](../07_your_own_images.ipynb)'s exercises, each run through its check.
# Try the exercises first; each check also offers a hint (`exercises.show_hint(n)`).

# %%
import course_lib

course_lib.setup()

import numpy as np
import tensorflow as tf

from course_lib.chapters.ch07_your_own_images import exercises

# %% [markdown]
# ## Exercise 1: the pipeline, in the right order
#
# Decode (the map) once and cache its result; then shuffle every image, with a buffer as large as the
# data set, so each epoch has a new order; then batch, so each epoch has new batches; prefetch last.

# %%
def my_pipeline(files, decode, batch_size, seed):
    decoded = files.map(decode, num_parallel_calls=tf.data.AUTOTUNE).cache()
    shuffled = decoded.shuffle(int(files.cardinality()), seed=seed, reshuffle_each_iteration=True)
    return shuffled.batch(batch_size).prefetch(tf.data.AUTOTUNE)


assert exercises.check_pipeline(my_pipeline)

# %% [markdown]
# ## Exercise 2: the most confident mistakes, by hand
#
# Keep the wrong predictions, sort them by confidence (the largest probability), highest first, keep k.
# A stable sort keeps equally confident mistakes in index order.

# %%
def my_confident_mistakes(probabilities, labels, k):
    wrong = np.flatnonzero(probabilities.argmax(axis=1) != labels)
    confidence = probabilities[wrong].max(axis=1)
    return wrong[np.argsort(-confidence, kind="stable")][:k]


assert exercises.check_confident_mistakes(my_confident_mistakes)
