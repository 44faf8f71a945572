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
# # Solutions · 08 your own images
#
# The solutions of [chapter 08](../08_your_own_images.ipynb)'s exercises, each run through its check.
# Try the exercises first; each check also offers a hint (`exercises.show_hint(n)`).

# %%
import course_lib

course_lib.setup()

import numpy as np
import tensorflow as tf

from course_lib.chapters.ch08_your_own_images import exercises

# %% [markdown]
# ## Exercise 1: the pipeline, with augmentation in the right place
#
# Decode (the first map) once and cache its result; augment after the cache, on single images, so every epoch
# draws new variants; then shuffle every image, with a buffer as large as the data set, so each epoch has a
# new order; then batch, so each epoch has new batches; prefetch last.

# %%
def my_pipeline(files, decode, augment, batch_size, seed):
    decoded = files.map(decode, num_parallel_calls=tf.data.AUTOTUNE).cache()
    augmented = decoded.map(augment, num_parallel_calls=tf.data.AUTOTUNE)
    shuffled = augmented.shuffle(int(files.cardinality()), seed=seed, reshuffle_each_iteration=True)
    return shuffled.batch(batch_size).prefetch(tf.data.AUTOTUNE)


assert exercises.check_pipeline(my_pipeline)

# %% [markdown]
# ## Exercise 2: the largest losses, by hand
#
# Each image's loss is minus the log of the probability of its label; a stable sort of minus the losses puts
# the largest first and keeps equal losses in index order.

# %%
def my_top_losses(probabilities, labels, k):
    loss = -np.log(probabilities[np.arange(len(labels)), labels])
    return np.argsort(-loss, kind="stable")[:k]


assert exercises.check_top_losses(my_top_losses)
