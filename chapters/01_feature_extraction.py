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
# # 01 · Feature extraction: reuse a trained model's layers, frozen, with a new head
#
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/transfer-learning-hands-on/course/HEAD?urlpath=lab/tree/chapters/01_feature_extraction.ipynb)
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/01_feature_extraction.ipynb)
#
# **Prerequisites:** chapter 00 (domains, the source model, the domain gap); what a layer of a CNN computes.
#
# **You will learn to**
# 1. cut a trained network at a named layer and **freeze** it: a shared feature extractor;
# 2. train only a **new head** on the frozen features of a few labelled target images;
# 3. choose the layer to cut at on **validation** images, and test the choice once;
# 4. tell when feature extraction helps (a new task on the source's kind of images) and when it does not (a new
#    domain: other images of the same task).
#
# **Run time:** the first code cell prints what the course benchmark measured for this notebook (its budget:
# 90<!-- fact: syllabus:BUDGET_SECONDS --> s on one CPU with a warm cache, 1.5<!-- fact: core.environment:CHAPTER_MEMORY_GB --> GB of memory).

# %%
# Colab only: install the course; anywhere else this cell does nothing.
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "course-lib @ git+https://github.com/transfer-learning-hands-on/course"], check=True)
    print("Installed course_lib from github.com/transfer-learning-hands-on/course")

# %%
import course_lib

course_lib.setup()
course_lib.check_env("01_feature_extraction")

# %% [markdown]
# ## 1 · A frozen extractor and a new head
#
# A trained network is two parts: a **feature extractor** $f_\theta$ (the conv blocks, and perhaps the
# feature layer) and a **head** $h_\phi$ (the last Dense layer). Feature extraction (特征提取) keeps
# $\theta$ from the source and trains only a new head on the target's few labels:
#
# $$\hat y = h_\phi\big(f_\theta(x)\big), \qquad \phi^\star = \arg\min_\phi \sum_{(x, y) \in \text{target}}
# L\big(h_\phi(f_\theta(x)), y\big), \quad \theta \text{ frozen.}$$
#
# Because $\theta$ never changes, the features of the target images are computed **once**; the head then
# trains on a small array in about a second.
#
# The setting: a source model learned only the `mnist_m` digits 0-4. The target is a **new task on the same kind
# of images**, the `mnist_m` digits 5-9 (same input space and style; strictly, $P(X)$ differs too, chapter 00), with **a few labelled images per class**: 10<!-- fact: .experiments:TRAIN_PER_CLASS --> to train on, 10<!-- fact: .experiments:VALIDATION_PER_CLASS --> to
# **validate** with (every choice below is made on these), and the test split, used once at the end.

# %%
import dataclasses

import numpy as np

from course_lib.chapters.ch01_feature_extraction import experiments as chapter
from course_lib.core import cnn, plots
from course_lib.core.pretrained import trained

source_0_4 = trained(dataclasses.replace(chapter.OLD_TASK, seed=0), progress="mnist_m 0-4 source")
train, validation, test = chapter.task_data(seed=0)
for name, (x, y) in {"train": train, "validation": validation, "test": test}.items():
    print(f"{name:10s} {len(x):5d} images of the digits 5-9 (labelled 0-4)")
cnn.block_table(source_0_4)

# %% [markdown]
# In plain Keras, cutting and freezing is two lines, and the head is one `Dense` layer trained on the
# features (the course's `methods.feature_extraction` does exactly this, with checks and a cache). Here
# on the 50<!-- fact: .experiments:TRAIN_IMAGES --> training images, beside the course's `train_head` on the same features:

# %%
import keras
import tensorflow as tf

from course_lib.core.evaluation import accuracy
from course_lib.methods import feature_extraction

(x_train, y_train), (x_val, y_val) = train, validation
keras.utils.set_random_seed(0)  # the course seeds its new head the same way

extractor = keras.Model(source_0_4.input, source_0_4.get_layer("block2_pool").output)
extractor.trainable = False
features = extractor.predict(x_train, verbose=0).reshape(len(x_train), -1)     # computed once
head = keras.Sequential([keras.Input((features.shape[1],)), keras.layers.Dense(5, activation="softmax")])
head.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
head.fit(tf.data.Dataset.from_tensors((features, y_train)).repeat(200), shuffle=False, verbose=0)  # 200 steps

course_head = feature_extraction.train_head(features, y_train, n_classes=5)
largest = max(float(np.abs(a - b).max()) for a, b in zip(head.get_weights(), course_head.get_weights()))
val_features = extractor.predict(x_val, verbose=0).reshape(len(x_val), -1)
print(f"plain Keras vs course_lib's train_head: weights differ by at most {largest:.1e}; validation accuracy "
      f"{accuracy(head, val_features, y_val):.3f} and {accuracy(course_head, val_features, y_val):.3f}")
assert largest < 1e-3

# %% [markdown]
# ## 2 · Where to cut: chosen on validation
#
# The extractor can end after conv block 1 (`block1_pool`), after conv block 2 (`block2_pool`) or after the
# feature layer (`features_relu`); the next cell prints how many numbers each gives per image. The registered
# experiment trains a linear head on each layer's frozen features, measures it on the **validation** images,
# keeps the best layer, and only then tests: the new head on that layer, and the same CNN trained from
# scratch on the same 50<!-- fact: .experiments:TRAIN_IMAGES --> training images. The three networks it compares:

# %%
from course_lib.chapters.ch01_feature_extraction import plots as chapter_plots

chapter_plots.cut_diagram(chapter.CANDIDATE_LAYERS);

# %%
for layer in chapter.CANDIDATE_LAYERS:
    shape = tuple(source_0_4.get_layer(layer).output.shape[1:])
    print(f"{layer:14s} output {shape}: {int(np.prod(shape)):5d} numbers per image")
measured = chapter.feature_extraction(seed=0)
validation_scores = {layer: measured.value("frozen_head", "validation_accuracy", target="new_task", layer=layer)
                     for layer in chapter.CANDIDATE_LAYERS}
chosen = chapter.CANDIDATE_LAYERS[int(measured.value("frozen_head", "chosen_layer_index", target="new_task"))]
plots.bar_chart(validation_scores, ylabel="validation accuracy", chance=0.2,
                title="a linear head on each layer's frozen features (mnist_m 5-9)")
print(f"chosen on validation: {chosen}")

# %% [markdown]
# ### What to notice
#
# - The middle layer is usually best. `block1_pool` holds generic edges, but thousands of numbers per image are
#   many for 50<!-- fact: .experiments:TRAIN_IMAGES --> labels; `features_relu` was shaped to separate the digits 0-4, not 5-9: the later a layer, the more
#   it is specialised to the source's task (chapter 07 measures this layer by layer, as Yosinski et al. did).
# - The choice used the validation images only. Choosing on the test images would make the test number
#   optimistic: it would no longer be a fair estimate of accuracy on new images.

# %% [markdown]
# ## 3 · Frozen features against training from scratch
#
# The test numbers, once, for the chosen layer, next to a CNN trained from random weights on the same 50<!-- fact: .experiments:TRAIN_IMAGES -->
# images. The second panel repeats the comparison on a **new domain**: the MNIST source model on all ten
# `mnist_m` digits.

# %%
import matplotlib.pyplot as plt

fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
for ax, target, title, chance in ((left, "new_task", "new task (mnist_m 5-9), 10 labels/class", 0.2),
                                  (right, "new_domain", "new domain (mnist -> mnist_m), 10 labels/class", 0.1)):
    plots.bar_chart({"frozen + head": measured.value("frozen_head", target=target),
                     "scratch": measured.value("scratch", target=target)},
                    ylabel="test accuracy", title=title, ax=ax, chance=chance)
head_params, scratch_params = (measured.value(arm, "trainable_parameters", target="new_task")
                               for arm in ("frozen_head", "scratch"))
print(f"trainable parameters: new head {head_params:,.0f}, scratch CNN {scratch_params:,.0f} "
      f"({scratch_params / head_params:.0f} times more)")

# %% [markdown]
# One seed can mislead. The same experiment over seeds 0-4, as the registry last ran it
# (`python -m course_lib.experiments feature_extraction --seeds 0 1 2 3 4 --save`), and the lesson's claims
# checked on every one of those seeds:

# %%
from course_lib import results

report = results.load("feature_extraction")
display(report.table(metric="target_accuracy"))
print(report.claims_text())
gain = measured.value("frozen_head", target="new_task") - measured.value("scratch", target="new_task")
print(f"this run (seed 0): the frozen extractor is {100 * gain:+.1f} points ahead of scratch on the new task")
assert all(report.claims().values())
assert head_params * 20 <= scratch_params

# %% [markdown]
# ### What to notice
#
# - **New task, same kind of images**: the conv blocks learned on 0-4 found strokes, curves and how to ignore a
#   photo background; those serve 5-9 as well, and 50<!-- fact: .experiments:TRAIN_IMAGES --> labels are enough to train a head on them. A network
#   trained from scratch has to learn all of that from the same 50<!-- fact: .experiments:TRAIN_IMAGES --> images, with many times more parameters
#   to fit (printed above).
# - **New domain**: the MNIST source's filters were made for black-on-white strokes; on photos, a frozen
#   extractor is no better than scratch. Letting the pretrained layers move as well (fine-tuning, chapter 02)
#   does better there; chapters 05 and 06 use the thousands of *unlabelled* target images instead.
# - The source text says (its section 2) that the shared extractor's parameters are "fine-tuned with the
#   target data". That mixes two techniques: a shared *feature extractor* is kept frozen (as here); updating
#   it is *fine-tuning*, chapter 02. Its formula also feeds an undefined $X_{st}$; the formula in section 1 is
#   the standard one.

# %% [markdown]
# ## Exercises
#
# **1 · A pooled extractor in plain Keras.** A conv layer's output is a feature map: a value per position and
# channel. Write `my_pooled_extractor(model, layer_name)`: a Keras model from `model`'s input to the output of
# its conv layer `layer_name` **averaged over the positions** (one number per channel, as
# `keras.applications` backbones give with `pooling="avg"`), frozen, sharing `model`'s weights (no copy). The
# course's `cut` and `frozen_extractor` do not count. The check builds small models of its own and compares
# with the layer's channel means. Stuck? `exercises.show_hint(1)`.

# %%
from course_lib.chapters.ch01_feature_extraction import exercises


def my_pooled_extractor(model, layer_name):
    """A frozen keras.Model: model's input -> layer `layer_name`'s output averaged over its positions."""
    return None  # your code


exercises.check_pooled_extractor(my_pooled_extractor);

# %% [markdown]
# **2 · How many parameters does a deeper head train?** A head on features of shape `feature_shape` (for
# example `(5, 5, 32)` at `block2_pool`): flatten, `Dense(hidden)`, `BatchNormalization`, ReLU, then
# `Dense(n_classes)`. Write `my_head_parameters(feature_shape, hidden, n_classes)` returning
# `(trainable, frozen)`: the parameters that train and those that do not (BatchNorm's moving statistics),
# by arithmetic (not with the course's `build_head` or `parameter_counts`). Then look back at section 2: how
# does the hidden layer change what 50<!-- fact: .experiments:TRAIN_IMAGES --> labelled images must pin down? Stuck? `exercises.show_hint(2)`.

# %%
def my_head_parameters(feature_shape, hidden, n_classes):
    """(trainable, frozen) parameters of Flatten -> Dense(hidden) -> BatchNorm -> ReLU -> Dense(n_classes)."""
    return None  # your code


exercises.check_head_parameters(my_head_parameters);

# %% [markdown]
# ## Key points
#
# - Feature extraction freezes the source's layers up to a cut and trains only a new head: cheap (the features
#   are computed once), and strong when the target is a new task on the source's kind of images.
# - Where to cut is a choice: make it on validation data. Early layers are generic but wide; late layers are
#   specialised to the source's task.
# - On a new domain, frozen source features may be no better than training from scratch: then fine-tune
#   (chapter 02) or adapt (chapters 05 and 06).
#
# ## Review questions
#
# 1. Why can the target features be computed once, and what would break that?
# 2. Why must the layer be chosen on validation images rather than test images?
# 3. The new-domain comparison came out level. Name two ways later chapters do better there.

# %% [markdown] tags=["sync:next"]
# The solutions are apart, so that Run All never shows them: `chapters/solutions/01_feature_extraction.ipynb`
# ([on GitHub](https://github.com/transfer-learning-hands-on/course/blob/main/chapters/solutions/01_feature_extraction.ipynb),
# [on Colab](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/solutions/01_feature_extraction.ipynb)).
#
# **Next:** [02 · task fine-tuning](02_task_fine_tuning.ipynb)
# ([on Colab](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/02_task_fine_tuning.ipynb)):
# let some of the extractor learn, and see how much it gains and what it forgets.
# Words in two languages: [GLOSSARY.md](GLOSSARY.md) ([on GitHub](https://github.com/transfer-learning-hands-on/course/blob/main/chapters/GLOSSARY.md)).
