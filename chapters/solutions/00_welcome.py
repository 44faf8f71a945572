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
# # Solutions · 00 welcome
#
# Try the exercises in [the chapter](../00_welcome.ipynb) first. Each solution below is checked by the
# same check the chapter uses.

# %%
import course_lib

course_lib.setup()
from course_lib.chapters.ch00_welcome import exercises

# %% [markdown]
# **1 · Accuracy per class.** For each digit, the images labelled with it, and the share predicted right.

# %%
import numpy as np


def my_accuracy_per_class(y_true, y_pred):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return np.array([np.mean(y_pred[y_true == c] == c) if np.any(y_true == c) else np.nan
                     for c in range(10)])


assert exercises.check_accuracy_per_class(my_accuracy_per_class)

# %% [markdown]
# **2 · The gap in points.**

# %%
def my_gap_in_points(source_accuracy, target_accuracy):
    return 100 * (source_accuracy - target_accuracy)


assert exercises.check_gap_in_points(my_gap_in_points)
