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
# # Solutions · 05 self-training and source-free adaptation
#
# The solutions of chapter 05's exercises ([the chapter](../05_self_training_and_source_free.ipynb)). Each
# check makes its own inputs, so nothing of the chapter needs to run first. Try the exercises before reading on.

# %%
import keras
import numpy as np

import course_lib
from course_lib.chapters.ch05_self_training_and_source_free import exercises

course_lib.setup()


# %% [markdown]
# ## Exercise 1: pseudo-labels balanced by a share of each class
#
# For each class, the rows predicted as that class, sorted by confidence, highest first; keep the first
# `ceil(share * n_c)`.

# %%
import math


def my_class_share(probabilities, share):
    predicted, confidence = probabilities.argmax(axis=1), probabilities.max(axis=1)
    kept = []
    for c in range(probabilities.shape[1]):
        rows = np.flatnonzero(predicted == c)
        kept.extend(rows[np.argsort(-confidence[rows], kind="stable")[:math.ceil(share * len(rows))]])
    return np.sort(np.array(kept, dtype="int64"))


assert exercises.check_class_share(my_class_share)


# %% [markdown]
# ## Exercise 2: information maximisation, its diversity as a divergence
#
# $\mathrm{KL}(\bar p \,\|\, u) = \log K - H(\bar p)$: this loss is section 6's plus the constant $\beta \log K$. A
# constant changes no gradient, so training prefers exactly the same predictions; only the numbers read
# differently: 0 for confident and diverse batches, never below.

# %%
def my_im_loss(p, beta):
    p = np.clip(p, 1e-6, 1.0)
    mean = p.mean(axis=0)
    kl_from_uniform = np.sum(mean * np.log(mean * p.shape[1]))
    return -np.sum(p * np.log(p), axis=1).mean() + beta * kl_from_uniform


assert exercises.check_im_kl_loss(my_im_loss)


# %% [markdown]
# ## Exercise 3: AdaBN, blended with the source
#
# A training-mode pass already blends: moving = momentum x moving + (1 - momentum) x the batch's statistic. So
# momentum 1 - alpha and one pass of all the images in one batch give (1 - alpha) x source + alpha x target;
# every layer normalises with the batch's, the target's, statistics during that pass, as AdaBN measures them.
# No optimizer, so no weight moves. The momentum goes back afterwards.

# %%
def my_blended_adabn(model, x, alpha):
    layers = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    momenta = [layer.momentum for layer in layers]
    for layer in layers:
        layer.momentum = 1.0 - alpha
    model(x, training=True)
    for layer, momentum in zip(layers, momenta):
        layer.momentum = momentum
    return model


assert exercises.check_blended_adabn(my_blended_adabn)
