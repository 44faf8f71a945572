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
# # 08 · Your own images: a pretrained backbone on a folder of photos
#
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/transfer-learning-hands-on/course/HEAD?urlpath=lab/tree/chapters/08_your_own_images.ipynb)
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/08_your_own_images.ipynb)
#
# **Prerequisites**: chapter 01 (a frozen feature extractor and a new head), chapter 02 (fine-tuning)
# and chapter 03 (BatchNorm in inference mode); some NumPy.
#
# **You will learn to**
# 1. check a folder of photos the way training will read it, and split it into training,
#    validation and test images;
# 2. build a `tf.data` input pipeline whose steps are in the right order (decode once, new batches
#    every epoch);
# 3. put a `keras.applications` backbone, with ImageNet weights whose hash is checked, under a new
#    head, and train it in **two stages**, choosing epochs on the validation images;
# 4. read the test set once: per-class accuracy, confusion matrix, most confident mistakes; export;
# 5. run the same recipe from the shell on your own folder, on a GPU, several GPUs or several machines.
#
# **Run time**: `check_env` below prints what the course benchmark measured (one CPU, warm cache).
#
# **Honest note.** Without a network, and on machines where the weights were never fetched, the
# backbone starts from **random weights**: the same code and recipe, but *not transfer learning*.
# Every result below says which weights it came from.

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
course_lib.check_env("08_your_own_images")

# %% [markdown]
# ## 1. A folder of images, one sub-folder per class
#
# ```text
# my_photos/
#     cats/   img001.jpg  img002.png ...
#     dogs/   ...
# ```
#
# The class names are the sub-folder names. To use your own photos, set `MY_FOLDER` to such a folder
# (at least two classes, at least 10<!-- fact: methods.own_images.folder:MIN_IMAGES_PER_CLASS --> images each). Otherwise the course makes a **sample folder** offline:
# each class is one colour photo that ships with scikit-image or scikit-learn, and its images are random
# square crops of that photo. Telling crops of the cat photo from crops of the coffee photo is a small
# but real image-classification task. (The course writes its folders in its cache folder, and never
# into, over or instead of a folder it did not make.)

# %%
from course_lib.chapters.ch08_your_own_images import experiments as chapter

MY_FOLDER = None  # e.g. "~/Pictures/my_classes"
IMAGE_SIZE = chapter.SETTINGS.image_size  # pixels per side; the MobileNets take 32 to 512 here
image_folder = MY_FOLDER or chapter.sample_folder()
print("image folder:", image_folder)

# %% [markdown]
# ## 2. Check the folder the way training will read it
#
# Phones, cameras and downloads leave all sorts of files in a folder: a `.txt` note, a TIFF scan, a
# half-finished download, macOS's `._photo.jpg`, a panorama of a hundred million pixels. Picked by
# their name alone, one of them stops training halfway through an epoch. So `check_folder` **decodes
# every file with TensorFlow's own decoder**, the one the input pipeline uses: a file is accepted
# exactly when training can read it (phone photos that carry a second image, WebP, 16-bit PNG are fine),
# and everything else is **skipped with a reason you can read**. Images too large to decode safely are
# skipped *before* decoding (a PNG of a few kilobytes can unpack to hundreds of megabytes).

# %%
from course_lib.methods.own_images.folder import check_folder

report = check_folder(image_folder)
class_names = report.class_names
print(report.text())

# %% [markdown]
# ## 3. Training, validation and test images
#
# Every choice below (here: which epoch of each stage to keep) is made on the **validation** images;
# the **test** images give the final numbers, once. Both are *class-balanced*: they hold the same
# number of images of every class, so each class counts equally in their accuracy. The rest trains.

# %%
from course_lib.methods.own_images import pipeline, show

splits = pipeline.split_files(report, validation_share=0.2, test_share=0.2, seed=0)
for name, split in splits.items():
    print(f"{name:10s} {len(split):4d} images")
examples = splits["train"].paths[::max(1, len(splits["train"]) // 24)]
show.class_grid(pipeline.load_images(examples, IMAGE_SIZE),
                [class_names.index(p.parent.name) for p in examples], class_names, n=6);

# %% [markdown]
# ## 4. The input pipeline: decode once, new batches every epoch
#
# Decoding a phone's large JPEG can take longer than a training step on it (on a GPU, much longer),
# so a pipeline decodes **in parallel** and **only once**, and prepares the next batch while the
# model trains on this one. The order of the steps is the whole lesson:
#
# ```text
# files -> map: read, decode, crop, resize   (in parallel)      runs once per image
#       -> cache                             (memory, or disk)
#       -> shuffle every image               (new order each epoch)
#       -> batch -> prefetch                                     runs every epoch
# ```
#
# `keras.utils.image_dataset_from_directory(...)` shuffles and batches *inside*; putting `.cache()`
# after it, as this course's previous version did, stores the **first epoch's batches** and serves
# the same ones every epoch after. Twelve numbers standing in for twelve files show it:

# %%
import tensorflow as tf

files = tf.data.Dataset.range(12)  # stand-ins for 12 image files, in the folder's order


def batches(data, epochs=2):
    return [[sorted(batch.numpy().tolist()) for batch in data] for _ in range(epochs)]


for name, data in [("cache after shuffle and batch", files.shuffle(12, seed=0).batch(4).cache()),
                   ("cache, then shuffle, then batch", files.cache().shuffle(12, seed=0).batch(4))]:
    first, second = batches(data)
    print(f"{name}:\n   epoch 1 {first}\n   epoch 2 {second}")

# %% [markdown]
# In plain `tf.data` (what `pipeline.dataset` does, with a centre crop so nothing is squashed), on the
# training images, beside `pipeline.dataset`: the same shuffled batches, epoch after epoch.

# %%
import numpy as np


def load_image(path):
    return pipeline.load_image(path, IMAGE_SIZE)      # read, decode, centre-crop, resize: uint8 pixels


paths, labels = [str(p) for p in splits["train"].paths], splits["train"].labels
data = tf.data.Dataset.from_tensor_slices((paths, labels))
data = data.map(lambda path, label: (load_image(path), label), num_parallel_calls=tf.data.AUTOTUNE)
data = data.cache()                  # or .cache("/some/file") when the images do not fit in memory
data = data.shuffle(len(paths), seed=0).batch(32, drop_remainder=True).prefetch(tf.data.AUTOTUNE)

course_data = pipeline.dataset(splits["train"], IMAGE_SIZE, batch_size=32, training=True, seed=0)
same = all(np.array_equal(x.numpy(), x_course.numpy()) and np.array_equal(y.numpy(), y_course.numpy())
           for _ in range(2) for (x, y), (x_course, y_course) in zip(data, course_data))
print(f"plain tf.data vs pipeline.dataset, two epochs: the same batches in the same order: {same}")
assert same

# %% [markdown]
# `pipeline.dataset` keeps the decoded images as 8-bit pixels (and gives them to the model as float32), and
# on disk when they would take more than the memory cache may hold (`pipeline.MEMORY_CACHE_BYTES`). Reading
# the training images twice shows what the cache saves:

# %%
train_data = pipeline.dataset(splits["train"], IMAGE_SIZE, batch_size=32, training=True, seed=0)
decode_rate, cached_rate = pipeline.images_per_second(train_data, epochs=2)
print(f"pass 1, read and decode every file: {decode_rate:.0f} images per second")
print(f"pass 2, from the cache:             {cached_rate:.0f} images per second")

# %% [markdown]
# ### Exercise 1: the pipeline, with augmentation in the right place
#
# Random flips and crops (augmentation) are worth something only if each epoch sees **new** ones. Write
# `my_pipeline(files, decode, augment, batch_size, seed)`: `files` is a `tf.data.Dataset` of file numbers,
# `decode` turns one into its image, `augment` makes a random variant of one image. Return a dataset that
# **decodes each file once**, **augments every image afresh each epoch**, and gives every file once per
# epoch, in **new, shuffled batches** of `batch_size`. The course's `pipeline.dataset` does not count. The
# check counts how often your pipeline decodes and augments, and looks at three epochs. Stuck?
# `exercises.show_hint(1)`.
#
# The solutions are linked from the chapter's last cell.

# %%
from course_lib.chapters.ch08_your_own_images import exercises


def my_pipeline(files, decode, augment, batch_size, seed):
    return None  # your code: a tf.data.Dataset


exercises.check_pipeline(my_pipeline);

# %% [markdown]
# ## 5. The backbone and its ImageNet weights
#
# A **backbone** is a network trained on a large photo collection (ImageNet) with its classifier
# removed: it turns an image into a stack of feature maps. We reuse those features and train a small
# new head on our few hundred images. The course uses MobileNetV3Small: small, fast on a CPU, and with
# a **published hash** for its weights file.
#
# `imagenet_weights` looks for the file in Keras's cache (`~/.keras/models`) and otherwise tries one
# download with a short timeout. Either way, the file is used only if its MD5 hash is the one
# `keras.applications` publishes: a download cut off halfway is reported as *damaged*, not used as
# "ImageNet weights". Offline, the message says what is missing and how to get it.

# %%
from course_lib.methods.own_images.weights import imagenet_weights

status = imagenet_weights(chapter.SETTINGS.backbone)
print(status.message)
print(f"\nEvery result below is labelled: {status.label!r}")

# %% [markdown]
# ## 6. The transfer model, trained in two stages
#
# ```text
# image (0-255) -> augmentation: random flip, rotation, zoom   (training only)
#               -> backbone: frozen, its BatchNorm layers always (it rescales pixels itself)
#               -> global average pooling -> dropout -> Dense softmax head
# ```
#
# **Global average pooling** turns each image's $h \times w \times c$ feature map $F$ into $c$ numbers,
# $z_c = \frac{1}{hw}\sum_{i,j} F_{ijc}$; the head learns $p = \mathrm{softmax}(W z + b)$.
#
# - **Stage 1** trains only the head (Adam, $10^{-3}$): a random head on top of good features would
#   send large, random gradients into the backbone, so the head learns first.
# - **Stage 2** unfreezes the **top 2<!-- fact: .experiments:SETTINGS.top_blocks --> blocks** of the backbone (its most task-specific layers), but not
#   their BatchNorm layers, and trains on ten times more gently ($10^{-4}$): small steps adjust the
#   pretrained features without wiping them out. (The source text says that fine-tuning "cannot use
#   the source features and only trains from scratch"; kindly, no: fine-tuning *starts from* the
#   pretrained weights, which is why its steps are kept small.)
# - **Each stage keeps its epoch with the lowest validation loss**: the validation images choose, the
#   test images are not looked at.
# - A *randomly initialised* backbone gets one extra step, `calibrate_batchnorm`: its BatchNorm layers
#   start with mean $0$ and variance $1$, wrong for every layer, and the features shrink to almost nothing.
#   Measuring them on our images (as AdaBN did in chapter 05) gives random features a head can use.
#
# In plain Keras 3, without this course's library, run here for one step per stage (the backbone with the
# weights section 5 checked, or random ones; for time, without the validation images and the early
# stopping they drive) and compared with the course's model after each stage:

# %%
import keras

from course_lib.core.layers import parameter_counts
from course_lib.methods.own_images import backbone as bb
from course_lib.methods.own_images import recipe

n_classes = len(class_names)
augment = keras.Sequential([keras.layers.RandomFlip("horizontal"), keras.layers.RandomRotation(0.1),
                            keras.layers.RandomZoom(0.2)])
weights = "imagenet" if status.transfer else None       # "imagenet": Keras's cached, checked file

base = keras.applications.MobileNetV3Small(input_shape=(IMAGE_SIZE, IMAGE_SIZE, 3), include_top=False,
                                           weights=weights)
base.trainable = False
inputs = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3))
x = base(augment(inputs), training=False)
outputs = keras.layers.Dense(n_classes, activation="softmax")(
    keras.layers.Dropout(0.2)(keras.layers.GlobalAveragePooling2D()(x)))
model = keras.Model(inputs, outputs)
model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
# stage 1: model.fit(train_data, epochs=10, validation_data=validation_data, callbacks=[keras.callbacks.EarlyStopping(
#     "val_loss", patience=10, restore_best_weights=True)])   (train_folder below runs it; not twice here)
stage_1 = parameter_counts(model)[0]
first_layer_of_top_blocks = bb.top_blocks_start(base, 2)
base.trainable = True
for layer in base.layers[:first_layer_of_top_blocks]:
    layer.trainable = False
for layer in base.layers:
    if isinstance(layer, keras.layers.BatchNormalization):
        layer.trainable = False
model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="sparse_categorical_crossentropy",  # re-read the flags
              metrics=["accuracy"])
# stage 2: model.fit(...) as stage 1

course_model = recipe.build_transfer_model(n_classes, image_size=IMAGE_SIZE)
recipe.freeze_backbone(course_model)
course_stage_1 = parameter_counts(course_model)[0]
recipe.unfreeze_top_blocks(course_model, 2)
print(f"trainable parameters, plain Keras vs course_lib: stage 1 {stage_1:,} vs {course_stage_1:,}, "
      f"stage 2 {parameter_counts(model)[0]:,} vs {parameter_counts(course_model)[0]:,}")
assert (stage_1, parameter_counts(model)[0]) == (course_stage_1, parameter_counts(course_model)[0])
import gc

del model, base, course_model  # the comparison is done: free these models' memory
gc.collect()  # now (Keras models hold reference cycles)

# %% [markdown]
# `train_folder` does all of it (checks, split, pipeline, weights, model, both stages, the test set)
# and writes the model, a report and figures into a new folder of its own: the same code as the
# command line in section 9.

# %%
import dataclasses

from course_lib.methods.own_images.outputs import unique_output
from course_lib.methods.own_images.train import train_folder

# ImageNet weights if section 5 found or fetched them (no second download), else random init
settings = dataclasses.replace(chapter.SETTINGS, pretrained=True, download=False)
run = train_folder(image_folder, output=unique_output(), settings=settings)
head, top = run.stages["head"], run.stages["top blocks"]
print(f"weights: {run.weights.label}")
print(f"stage 1: {head.trainable:,} trainable parameters, kept epoch {head.best_epoch} of {len(head.logs['loss'])}")
print(f"stage 2: {top.trainable:,} trainable parameters, kept epoch {top.best_epoch} of {len(top.logs['loss'])}")
assert top.trainable > 100 * head.trainable  # stage 2 trains the top blocks too

# %%
show.two_stage_curves(run.stages, run.weights.label);

# %% [markdown]
# Dots are the training images (with augmentation and dropout on), squares the validation images; the
# stars mark the epoch each stage kept. A validation curve that keeps improving to the last epoch says
# more epochs could help; one that turns up says the model has started to learn its training images
# by heart.

# %% [markdown]
# ## 7. The test set, once
#
# Accuracy on the test images after each stage, and over several seeds from the course's results file
# (the sample folder, random initialisation: the recipe measured offline, not transfer):

# %%
import statistics

from course_lib import results

chance = 1 / len(class_names)
print(f"this run ({run.weights.label}), test accuracy: after stage 1 {run.head_only.accuracy:.3f}, "
      f"after stage 2 {run.final.accuracy:.3f}; chance is {chance:.3f}")
if MY_FOLDER is None and not run.weights.transfer:
    assert run.final.accuracy > chapter.CHANCE + chapter.MARGIN  # the margin the claims below state
saved = results.load("own_images_two_stage")
print(f"\n{saved.description}, test accuracy over seeds {saved.seeds}:")
display(saved.table())
print(saved.claims_text())
gains = saved.gains(chapter.TWO_STAGES, [chapter.HEAD_ONLY])
print("what stage 2 added, seed by seed: " + ", ".join(f"{g:+.3f}" for g in gains)
      + f" (median {statistics.median(gains):+.3f})")

# %% [markdown]
# A test set of a few dozen images is coarse: one image is a few percent, and the spread over seeds
# above is as much the test set's as the recipe's. The **per-class accuracy**
# and the **confusion matrix** say *which* classes are confused (rows: the true class, columns: what the
# model said; the diagonal is right).

# %%
import pandas as pd

display(pd.DataFrame({"class": class_names, "test images": run.final.confusion.sum(axis=1),
                      "accuracy": run.final.per_class.round(3)}))
show.confusion(run.final.confusion, class_names, f"test set ({run.weights.label})");

# %% [markdown]
# The **most confident mistakes** are the wrong predictions with the highest probability: the first
# place to look for mislabelled images, classes that look alike, images that show only background, or
# a shortcut the model took (a colour, a background) instead of the thing you meant.

# %%
from course_lib.methods.own_images.recipe import confident_mistakes

wrong = confident_mistakes(run.final.probabilities, run.final.labels, k=6)
print(f"{int((run.final.predicted != run.final.labels).sum())} mistakes among {len(run.final.labels)} test images")
show.mistakes_grid(pipeline.load_images([run.final.paths[i] for i in wrong], IMAGE_SIZE),
                   run.final.labels[wrong], run.final.probabilities[wrong], class_names,
                   f"most confident mistakes ({run.weights.label})");

# %% [markdown]
# ### Exercise 2: the largest losses, by hand
#
# The most confident mistakes rank wrong predictions by the probability of what the model said. The
# **largest losses** rank every image by the probability it gave the **true** label, $-\log p(y \mid x)$: a right
# prediction made with little confidence shows up too, and a mistake where the label came a close second does
# not. Write `my_top_losses(probabilities, labels, k)` with NumPy: `probabilities` is (n, classes), `labels`
# (n,). Return the indices of the `k` images with the largest cross-entropy loss, largest first (equal losses
# in index order). The course's `confident_mistakes` does not count. The check tries your function on cases
# it makes up. Stuck? `exercises.show_hint(2)`.

# %%
def my_top_losses(probabilities, labels, k):
    return None  # your code


exercises.check_top_losses(my_top_losses);

# %% [markdown]
# ## 8. New images, and the exported model
#
# `predict_files` crops and resizes image files exactly as training did, then predicts. For the sample
# folder the course makes a few *new* crops (their names say the true class); they come from the same
# photos, so they are easier than truly new photos. For your own photos, pass a list of their paths.

# %%
from course_lib.methods.own_images.recipe import predict_files
from course_lib.methods.own_images.samples import make_new_images

table = predict_files(run.model, make_new_images(per_class=2), class_names)
table["weights"] = run.weights.label
table

# %% [markdown]
# `train_folder` wrote its folder whole (into a temporary folder, renamed when complete), at a new
# path of its own, so two notebooks never read each other's model. `model.keras` holds the
# architecture, the weights and the compile settings: `keras.models.load_model(path)` anywhere gives
# the same predictions. In plain Keras: `model.save("model.keras")`, then `keras.models.load_model("model.keras")`.

# %%
import keras
import numpy as np

from course_lib.methods.own_images.recipe import predict_dataset

print(f"{run.output}:", ", ".join(sorted(p.name for p in run.output.iterdir())))
loaded = keras.models.load_model(run.output / "model.keras")
test_data = pipeline.dataset(splits["test"], IMAGE_SIZE, batch_size=64, training=False)
difference = np.abs(predict_dataset(loaded, test_data)[0] - run.final.probabilities).max()
print(f"loaded again; largest difference in a predicted probability: {difference:.1e}")
assert difference < 1e-5
print("\n".join((run.output / "report.md").read_text().splitlines()[:2]))

# %% [markdown]
# ## 9. Beyond this notebook: your folder on a GPU, several GPUs, several machines
#
# The same recipe is a command. It checks the folder, trains, and writes `model.keras`, `report.md`
# (per-class accuracy, the confusion matrix, the most confident mistakes, the training curves) and
# the figures into a new folder; bad input (an empty folder, one class, an output folder that exists)
# stops it with a message before anything is written:
#
# ```shell
# python -m course_lib.methods.own_images check ~/Pictures/my_classes        # what would be used, what skipped
# python -m course_lib.methods.own_images train ~/Pictures/my_classes --output my_model
# python -m course_lib.methods.own_images bench ~/Pictures/my_classes        # is the pipeline fast enough?
# ```
#
# - **One GPU**: nothing to change. TensorFlow uses it, and the command turns on **mixed precision**
#   (float16 arithmetic, float32 weights; the head stays float32 for a stable softmax).
# - **Several GPUs in one machine**: `--strategy mirrored` (`tf.distribute.MirroredStrategy`). Each GPU
#   holds a copy of the model (a *replica*), takes its share of every batch, and the replicas average
#   their gradients before each update, so the copies stay identical.
# - **Several machines**: `--strategy multiworker` (`MultiWorkerMirroredStrategy`): start the same
#   command on every machine, each with its own `TF_CONFIG` naming the cluster and its place in it;
#   the chief worker writes the outputs.
#
# ```shell
# TF_CONFIG='{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}' \
#     python -m course_lib.methods.own_images train photos --strategy multiworker      # on host1; index 1 on host2
# ```
#
# **Batch size and learning rate.** `--batch-size` is per replica, so the **global batch** is
# `batch size x replicas` (TensorFlow's guide: use the extra devices for a larger batch, and tune the
# learning rate to it). The course scales the learning rate in proportion to the global batch, the
# *linear scaling rule* of Goyal et al. (2017): twice the batch, twice the rate, half the steps per
# epoch. It is a starting point; the validation curves say whether it held.
#
# The commands are the module's `main`: here the first one on this chapter's folder (the course's tests run
# all three on a small folder, and check the multi-worker line).

# %%
from course_lib.methods.own_images.cli import main

assert main(["check", str(image_folder)]) == 0

# %%
from course_lib.methods.own_images.cli import command_help
from course_lib.methods.own_images.distribution import REFERENCE_BATCH, scaled

for replicas in (1, 2, 8):
    batch, rate = scaled(32, chapter.SETTINGS.head_learning_rate, replicas)
    print(f"{replicas} replica(s) of 32 images: global batch {batch:4d}, stage-1 learning rate {rate:g}")
print(f"(the recipe's rates are for a global batch of {REFERENCE_BATCH})\n")
print(command_help("train"))

# %% [markdown]
# In plain Keras, distributing is one `with` block around building **and compiling** the model (Keras 3
# creates the optimizer's variables when it compiles, and they must be made under the same strategy; the rest
# is unchanged). Here on this machine's one device, with a small model on a few dozen training images, beside the
# course's `make_strategy("mirrored")` and `fit(..., strategy=)` on the same batches:

# %%
from course_lib.core.training import fit
from course_lib.methods.own_images.distribution import make_strategy


def build_model():
    return keras.Sequential([keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3)), keras.layers.Rescaling(1 / 255),
                             keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(n_classes, activation="softmax")])


images = pipeline.load_images(splits["train"].paths[:64], IMAGE_SIZE).astype("float32")
data = tf.data.Dataset.from_tensor_slices((images, splits["train"].labels[:64]))

strategy = tf.distribute.MirroredStrategy()           # every GPU of this machine (here: the CPU)
with strategy.scope():
    keras.utils.set_random_seed(0)
    model = build_model()                             # variables are created on every replica
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
model.fit(data.batch(32 * strategy.num_replicas_in_sync), epochs=2, shuffle=False, verbose=0)

course_strategy = make_strategy("mirrored")
with course_strategy.scope():
    keras.utils.set_random_seed(0)
    course_model = build_model()
fit(course_model, data.batch(32 * course_strategy.num_replicas_in_sync), epochs=2, strategy=course_strategy)
largest = max(float(np.abs(a - b).max()) for a, b in zip(model.get_weights(), course_model.get_weights()))
print(f"{strategy.num_replicas_in_sync} replica(s); plain Keras vs the course's fit under the strategy: "
      f"weights differ by at most {largest:.1e}")
assert largest < 1e-3
import gc

del model, course_model  # the comparison is done: free these models' memory
gc.collect()  # now (Keras models hold reference cycles)

# %% [markdown]
# The course's tests run all three without a GPU: MirroredStrategy over the CPU split into two logical
# devices, and two worker processes on this machine (127.0.0.1), each training and exporting, and
# check that with the same global batch they reach the test accuracy of one device, within a
# tolerance the tests state.

# %% [markdown]
# ## Key points
#
# - A folder with one sub-folder per class is all a classifier needs; check it the way training reads
#   it, and read why files were skipped.
# - Decode once (map, then cache), then shuffle every image and batch, every epoch; prefetch.
# - A backbone's weights are only ImageNet weights if their hash says so; without them the same
#   recipe is not transfer learning, and should say so.
# - Two stages: the head alone first, then the top blocks at a ten times lower rate, BatchNorm frozen;
#   keep the epoch the validation images prefer, and read the test set once.
# - The most confident mistakes point at the data before they point at the model.
# - More devices: a larger global batch, a learning rate scaled with it, the model built inside
#   `strategy.scope()`.
#
# ## Review questions
#
# 1. Why does `.cache()` after `.shuffle().batch()` serve the same batches every epoch, and why does
#    that hurt training?
# 2. What would go wrong if the test images chose the epoch to keep?
# 3. A folder's `cats` class has $300$ images and `dogs` $30$. What would a validation set of $20\,\%$ of each
#    class say about the dogs, and why does the course hold out the same number of each?
# 4. You move from one GPU to four with the same `--batch-size`. What happens to the global batch, the
#    number of steps per epoch and the learning rate?
# 5. Why do the backbone's BatchNorm layers stay frozen, in inference mode, even while its top blocks train?
#
# **Your turn**: set `MY_FOLDER` to a folder of your own photos and run the notebook again.

# %% [markdown] tags=["sync:next"]
# The solutions are apart, so that Run All never shows them: `chapters/solutions/08_your_own_images.ipynb`
# ([on GitHub](https://github.com/transfer-learning-hands-on/course/blob/main/chapters/solutions/08_your_own_images.ipynb),
# [on Colab](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/solutions/08_your_own_images.ipynb)).
#
# **Next:** [09 · parameter-efficient fine-tuning](09_parameter_efficient.ipynb)
# ([on Colab](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/09_parameter_efficient.ipynb)):
# train a small part of the source model, or a small addition to it: LP-FT, BitFit, LoRA and adapters, each with its share of the weights and its accuracy.
# Words in two languages: [GLOSSARY.md](GLOSSARY.md) ([on GitHub](https://github.com/transfer-learning-hands-on/course/blob/main/chapters/GLOSSARY.md)).
