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
# **1 · Precision per class.** For each digit, the images *predicted* as it, and the share of them labelled
# with it (recall, `per_class_accuracy`, starts from the images *labelled* with it instead).

# %%
import numpy as np


def my_precision_per_class(y_true, y_pred):
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return np.array([np.mean(y_true[y_pred == c] == c) if np.any(y_pred == c) else np.nan
                     for c in range(10)])


assert exercises.check_precision_per_class(my_precision_per_class)

# %% [markdown]
# **2 · Same images, a different task.** The parity of a predicted digit is the predicted parity. A digit
# mistaken for another of the same parity (a 3 read as a 5) is still right for parity, so the parity task's
# gap is at most the digit task's.

# %%
def my_parity_gap(y_source, pred_source, y_target, pred_target):
    def parity_accuracy(y, pred):
        return np.mean(np.asarray(y) % 2 == np.asarray(pred) % 2)

    return 100 * (parity_accuracy(y_source, pred_source) - parity_accuracy(y_target, pred_target))


assert exercises.check_parity_gap(my_parity_gap)
