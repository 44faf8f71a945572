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
# # Solutions · 04 Learning from the unlabelled target
#
# The solutions of chapter 04's exercises ([the chapter](../04_self_training_and_source_free.ipynb)). Each
# check makes its own inputs, so nothing of the chapter needs to run first. Try the exercises before reading on.

# %%
import keras
import numpy as np

import course_lib
from course_lib.chapters.ch04_self_training_and_source_free import exercises

course_lib.setup()


# %% [markdown]
# ## Exercise 1: class-balanced pseudo-labels
#
# For each class, the rows predicted as that class, sorted by confidence, highest first; keep the first `k`.

# %%
def my_class_balanced(probabilities, k):
    predicted, confidence = probabilities.argmax(axis=1), probabilities.max(axis=1)
    kept = []
    for c in range(probabilities.shape[1]):
        rows = np.flatnonzero(predicted == c)
        kept.extend(rows[np.argsort(-confidence[rows], kind="stable")[:k]])
    return np.sort(np.array(kept, dtype="int64"))


assert exercises.check_class_balanced(my_class_balanced)


# %% [markdown]
# ## Exercise 2: the information-maximisation loss
#
# The mean of the per-image entropies, minus the entropy of the mean prediction. The confident and diverse batch
# gets the lowest loss ($-\log 10$); the uniform batch and the collapsed batch both get about 0: the collapsed one
# is confident image by image, but its mean prediction has entropy 0, so the diversity term gives it nothing.

# %%
def my_im_loss(p):
    p = np.clip(p, 1e-6, 1.0)
    mean = p.mean(axis=0)
    return -np.sum(p * np.log(p), axis=1).mean() + np.sum(mean * np.log(mean))


assert exercises.check_im_loss(my_im_loss)


# %% [markdown]
# ## Exercise 3: AdaBN in plain Keras
#
# Momentum 0 makes each moving statistic the statistic of the last batch; one training-mode pass of all the
# images in one batch makes that batch the whole target, and every layer normalises with the target's
# statistics of what it receives. No optimizer, so no weight moves. The momentum goes back afterwards.

# %%
def my_adabn(model, x):
    layers = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    momenta = [layer.momentum for layer in layers]
    for layer in layers:
        layer.momentum = 0.0
    model(x, training=True)
    for layer, momentum in zip(layers, momenta):
        layer.momentum = momentum
    return model


assert exercises.check_adabn(my_adabn)
