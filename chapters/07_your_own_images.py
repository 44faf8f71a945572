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
# # 06 · Your own images: a pretrained backbone on a folder of photos
#
# **Run time** (measured on a 2-core CPU, `python3 make.py bench`, 2026-11-28): about 35 s, warm or cold
# cache. Peak memory about 1.15 GB.
#
# "How do I do this on my own photos?" The way practitioners do it:
#
# 1. put the photos in a **folder with one sub-folder per class**, check it, and load it with
#    `keras.utils.image_dataset_from_directory`;
# 2. take a **backbone** from `keras.applications` (here MobileNetV3Small) with its **ImageNet
#    weights**, freeze it, and put a new head on top;
# 3. train in **two stages**: first the head alone, then the top blocks of the backbone too, with a
#    low learning rate;
# 4. look at the **confusion matrix** and the **most confident mistakes**, predict on new images,
#    and **export** the model to a `.keras` file.
#
# The ImageNet weights are downloaded once (Binder has them already). Without a network the chapter
# still runs, with a **randomly initialised** backbone, and says so on every result: that run shows
# the recipe, but it is **not transfer learning**.

# %%
import course_lib

course_lib.setup()
course_lib.check_env()

# %% [markdown]
# ## 1. A folder of images, one sub-folder per class
#
# ```
# my_photos/
#     cats/   img001.jpg  img002.png ...
#     dogs/   ...
# ```
#
# The class names are the sub-folder names. To use your own photos, set `MY_FOLDER` to such a folder
# (at least 2 classes, at least 10 images each). Otherwise the course makes a **sample folder** offline:
# each class is one colour photo that ships with scikit-image or scikit-learn, and its images are random
# square crops of that photo. Telling crops of the cat photo from crops of the coffee photo is a small
# but real image-classification task.

# %%
from course_lib.own_images import folder

MY_FOLDER = None  # e.g. "~/Pictures/my_classes"
IMAGE_SIZE = 96   # pixels; the MobileNets accept 32 and up (ImageNet used 224)
image_folder = MY_FOLDER or folder.make_sample_folder(per_class=50)
print("image folder:", image_folder)

# %% [markdown]
# ## 2. Check the folder, then load it
#
# `image_dataset_from_directory` picks files by their **extension** only. One damaged `.jpg`, a
# half-finished download, or a macOS `._photo.jpg` file, and training stops with a decoding error in
# the middle of an epoch. So `folder.load_folder` first opens every file with Pillow, **skips** what it
# cannot read (and says how many), and raises a clear error for a missing or empty folder, a single
# class, or a class with too few images. Then Keras loads the rest:
#
# - each image is cropped to a square at its centre and **resized** to `IMAGE_SIZE` pixels;
# - 20 % of the files are held out for **validation** (a seeded shuffle decides which);
# - the datasets are **cached** in memory after the first pass and **prefetched** (the next batch is
#   prepared while the model trains on this one).

# %%
train, validation, report = folder.load_folder(image_folder, image_size=IMAGE_SIZE, seed=0)
class_names = report.class_names
print(report.text())
x_train, y_train = folder.to_arrays(train)
x_val, y_val = folder.to_arrays(validation)
print(f"{len(x_train)} training and {len(x_val)} validation images of shape {x_train.shape[1:]}, "
      f"pixel values {x_train.min():.0f} to {x_train.max():.0f}")

# %%
from course_lib.own_images import show

show.class_grid(x_train, y_train, class_names, n=6);

# %% [markdown]
# ## 3. The backbone and its ImageNet weights
#
# A **backbone** is a network trained on a large photo dataset (here ImageNet) with its classifier
# removed: what is left turns an image into a stack of feature maps. We
# reuse those features (迁移) and train only a small new head on our few hundred images.
#
# `backbone.imagenet_weights` looks for the weights file in Keras's cache (`~/.keras/models`), and if
# it is not there tries **one** download with a short timeout (Keras's own download has none: offline
# it can hang). If that fails, the message says what is missing, how to get it, and what happens
# instead.

# %%
from course_lib.own_images import backbone

BACKBONE = "MobileNetV3Small"  # or "MobileNetV2"
status = backbone.imagenet_weights(BACKBONE, IMAGE_SIZE)
WEIGHTS = status.label  # "ImageNet weights" or "random init, not transfer": on every result below
print(status.message)

# %% [markdown]
# ## 4. The transfer model
#
# ```
# image (0-255) -> augmentation: random flip, rotation, zoom   (training only)
#               -> backbone: frozen, called with training=False
#               -> global average pooling -> dropout -> Dense softmax head
# ```
#
# - **Preprocessing** belongs to the backbone: MobileNetV3 rescales pixels to $[-1, 1]$ inside the
#   model; MobileNetV2 needs `keras.applications.mobilenet_v2.preprocess_input` (the course adds it as
#   a layer, so the saved model carries it along).
# - **Augmentation** shows the model a slightly different version of each image in every epoch: with a
#   few dozen images per class it is the cheapest protection against over-fitting.
# - The backbone is called with `training=False`, so its BatchNorm layers always normalise with the
#   statistics they learned on ImageNet, also later when some of its layers train (chapter 02 showed
#   what goes wrong otherwise).
# - **Global average pooling** turns the backbone's $h \times w \times c$ feature map $F$ of each image
#   into one vector of $c$ numbers, $z_c = \frac{1}{hw}\sum_{i,j} F_{ijc}$ (the sizes are printed
#   below). The head learns $p = \mathrm{softmax}(W z + b)$.

# %%
from course_lib import fine_tuning as ft
from course_lib.own_images import recipe

model = recipe.build_transfer_model(len(class_names), BACKBONE, IMAGE_SIZE, weights_path=status.path)
if not status.transfer:  # random init: its BatchNorm statistics are placeholders, measure them here
    print(f"calibrated {recipe.calibrate_batchnorm(model, x_train)} BatchNorm layers on our images")
print("feature map per image (h, w, c):", recipe.get_backbone(model).output_shape[1:])
ft.trainable_summary(model)

# %% [markdown]
# A randomly initialised backbone needs one extra step, `calibrate_batchnorm`: its BatchNorm layers
# start with mean 0 and variance 1, which are wrong for every layer, and the features shrink layer after
# layer to almost nothing. Measuring the statistics on our own images (as AdaBN did in chapter 04) gives
# *random features* that a head can learn from. With ImageNet weights this step is skipped: their
# statistics are real.

# %% [markdown]
# ## 5. Two stages: the head, then the top blocks
#
# **Stage 1** trains only the head (the backbone is frozen), with Adam at $10^{-3}$. A random head
# on top of good features would send large, random gradients into the backbone; so the head learns first.
#
# **Stage 2** unfreezes the **top 2 blocks** of the backbone (its most task-specific layers) but keeps
# their BatchNorm layers frozen, **recompiles** (Keras reads the trainable flags when compiling), and
# trains on with a learning rate ten times lower, $10^{-4}$: small steps adjust the pretrained
# features without wiping them out. Freezing and unfreezing use chapter 02's helpers.

# %%
result = recipe.two_stage_fit(model, train, validation, head_epochs=10, fine_epochs=10, top_blocks=2)
print(f"trainable parameters: stage 1 {result['trainable']['stage 1']:,}, "
      f"stage 2 {result['trainable']['stage 2']:,} ({len(result['unfrozen'])} backbone layers unfrozen)")

# %%
show.two_stage_curves(result, WEIGHTS);

# %% [markdown]
# ## 6. How good is it, and where does it go wrong?
#
# The validation images were never trained on. The **confusion matrix** counts, for each true class
# (row), what the model predicted (column); the diagonal is right.

# %%
from course_lib import models

probabilities = recipe.predict_probabilities(model, x_val)
predicted = probabilities.argmax(axis=1)
val_accuracy = models.accuracy(model, x_val, y_val)
print(f"validation accuracy ({WEIGHTS}): {val_accuracy:.3f}; chance is {1 / len(class_names):.3f}")
if MY_FOLDER is None:
    assert val_accuracy > 1 / len(class_names) + 0.25  # 0.72 to 0.80 over seeds 0-2 with random init
show.confusion(y_val, predicted, class_names, f"validation ({WEIGHTS})");

# %% [markdown]
# The **most confident mistakes** are the wrong predictions with the highest probability: the first
# place to look for mislabelled images, classes that look alike, images that show only background,
# or a shortcut the model took (a colour, a background) instead of the thing you meant.

# %%
mistakes = recipe.confident_mistakes(probabilities, y_val, k=6)
print(f"{int((predicted != y_val).sum())} mistakes among {len(y_val)} validation images")
show.mistakes_grid(x_val, y_val, probabilities, mistakes, class_names,
                   f"most confident mistakes ({WEIGHTS})");

# %% [markdown]
# ## 7. Predicting on new images
#
# `recipe.predict_files` loads image files, crops and resizes them as the training images were,
# and predicts. For the sample folder the course makes a few *new* crops (their file names say the true
# class); they come from the same photos, so they are easier than truly new photos would be.
# For your own photos, pass a list of their paths.

# %%
new_images = folder.make_new_images(per_class=2)
table = recipe.predict_files(model, new_images, class_names)
table["weights"] = WEIGHTS
table

# %% [markdown]
# ## 8. Export the model, load it again
#
# A `.keras` file holds the architecture, the weights and the compile settings: everything needed to
# predict later, elsewhere. The augmentation layers are saved too; they do nothing at prediction time.
# Load it with `keras.models.load_model(path)`, and check that it predicts what the model predicted.

# %%
import numpy as np

path = course_lib.cache_dir() / "own_images_model.keras"
loaded = recipe.export(model, path)
difference = np.abs(recipe.predict_probabilities(loaded, x_val) - probabilities).max()
print(f"saved {path.name} ({path.stat().st_size / 1e6:.1f} MB); loaded again, largest difference "
      f"in predicted probability: {difference:.1e}")
assert difference < 1e-5

# %% [markdown]
# ### What to notice
#
# - The results above say which weights they came from. With **ImageNet weights** (Binder, or after
#   `python -m course_lib.own_images.backbone --fetch`), the frozen features already separate most
#   classes, stage 1 does most of the work, and stage 2 adds a little. With a **random** backbone (the
#   offline run) this is not transfer: the head learns from random features, and stage 2 has to build
#   useful features from scratch out of a few dozen images per class. Compare the curves of the two runs
#   if you can.
# - Validation accuracy on a few dozen images moves by several points from one seed to the next: one
#   image is several percent of the set. Do not read much into a difference of one or two images.
# - Look at the mistakes before changing the model: wrong labels and look-alike classes are fixed in the
#   folder, not in the network.

# %% [markdown]
# ## Exercise: the most confident mistakes, by hand
#
# Write `my_confident_mistakes(probabilities, labels, k)` in NumPy: `probabilities` is (n, classes),
# `labels` (n,). Return the indices of the images the model gets **wrong**, sorted by the model's
# **confidence** (its largest probability), highest first, at most `k` of them. The check compares your
# function with the library's on made-up cases and on this chapter's validation predictions.

# %%
from course_lib.exercises import own_images as exercises


def my_confident_mistakes(probabilities, labels, k):
    return None  # your code


exercises.check_confident_mistakes(my_confident_mistakes, probabilities, y_val);

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution: keep the wrong ones, sort them by confidence (highest first), keep k.
def my_confident_mistakes(probabilities, labels, k):
    wrong = np.flatnonzero(probabilities.argmax(axis=1) != labels)
    confidence = probabilities[wrong].max(axis=1)
    return wrong[np.argsort(-confidence, kind="stable")][:k]


assert exercises.check_confident_mistakes(my_confident_mistakes, probabilities, y_val)

# %% [markdown]
# **Your turn:** set `MY_FOLDER` at the top to a folder of your own photos and run the notebook again.
# With the ImageNet weights, a few dozen photos per class are often enough.
