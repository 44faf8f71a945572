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
# # 04 · Learning from the target itself: self-training and source-free adaptation
#
# **Run time** (measured on a 2-core CPU, `python3 make.py bench`, 2026-11-28): about 67 s once the course's
# cache is warm (chapter 00 fills it), about 70 s on a cold cache. Peak memory about 1.4 GB.
#
# Chapter 01 adapted the source model with source and target data side by side. Here the target's
# **unlabelled images** are all we use besides the trained model:
#
# 1. **pseudo-labels** (伪标签): let the model label the target, keep the predictions it is sure of,
#    and train on them; a widget shows how many pass a confidence threshold and how many are right;
# 2. **self-training** (目标域自我学习) in rounds, and the trap it falls into when the model is weak:
#    **confirmation bias**;
# 3. **source-free adaptation** (源域无关适配): adapt the model with *no source data at all*:
#    **AdaBN** re-estimates BatchNorm statistics, **information maximisation** (SHOT) trains the
#    feature extractor to make confident, diverse predictions;
# 4. a results table, and two exercises.

# %%
import course_lib

course_lib.setup()
course_lib.check_env()

# %% [markdown]
# ## The starting point: the source model on the MNIST-M style target
#
# The grey source model from chapter 00 (trained on `mnist`), and the `mnist_m` target in grey.
# We adapt on the target's **train** split *without its labels*, and test on its **test** split.
# The course keeps the train labels `y_target` only to *count* how many pseudo-labels are right;
# no method below trains on them.

# %%
from course_lib import data, models

source = models.source_model(channels=1, seed=0)
x_target, y_target = data.load_domain("mnist_m", "train", seed=0, channels=1)  # y_target: only to score
x_test, y_test = data.load_domain("mnist_m", "test", seed=0, channels=1)
results = {"source only": models.accuracy(source, x_test, y_test)}
print(f"{len(x_target):,} unlabelled target images to adapt on, {len(x_test):,} to test on")
print(f"source model on the mnist_m test split: {results['source only']:.3f}")

# %% [markdown]
# ## Pseudo-labels and the confidence threshold
#
# The model's **confidence** in an image is its largest softmax probability, $\max_k p_k(x)$.
# A pseudo-label is its prediction $\hat y = \arg\max_k p_k(x)$, kept only when
#
# $$\max_k p_k(x) \ge \tau .$$
#
# A high threshold $\tau$ keeps few images but more of them are right; a low one keeps many, with more
# mistakes. Because the course knows the target labels, the widget can show both. Move the slider
# (the numbers under it are for the threshold 0.9).

# %%
from course_lib.widgets.confidence_threshold import confidence_threshold_widget

probabilities = source.predict(x_target, batch_size=500, verbose=0)
widget = confidence_threshold_widget(probabilities, y_target, threshold=0.9)
display(widget)
at_90 = widget.state.summary()
print(widget.state.text())
print("pseudo-labels per predicted digit:", at_90["per_class"])

# %% [markdown]
# ### What to notice
#
# - A model that is "90 % sure" should be right at least 90 % of the time. On the target, the source
#   model's confident predictions are right less often than that (printed below; over seeds 0-5 the
#   share right ran from about half to 0.90): its confidence was learned on the source, and does not
#   carry over to the target.
# - The passing pseudo-labels are not spread over the ten digits: the digit the model over-predicts on
#   photos takes a large share of them. Training on these would teach the model its own bias.

# %%
share_top = at_90["per_class"].max() / at_90["passed"]
print(f"right among those passing 0.9: {at_90['precision']:.2f}; digit {at_90['per_class'].argmax()}, "
      f"the most frequent pseudo-label, takes {share_top:.0%} of them (an even share would be 10%)")
assert at_90["precision"] < 0.95  # 0.53 to 0.90 over seeds 0-5
assert share_top > 0.25  # 34 % to 63 % over seeds 0-5

# %% [markdown]
# ## Self-training in rounds, and confirmation bias
#
# A round of **self-training**: predict the unlabelled target, choose pseudo-labels, train on them.
# The next round predicts with the newly trained model, so better predictions give better
# pseudo-labels... or worse ones give worse. In `course_lib.self_training.self_train`, every round
# starts again from the *starting* model's weights, trains on the current pseudo-labels, and re-estimates its
# BatchNorm statistics on the target (more on that below).
#
# First the naive version, from the weak source model: keep every prediction above $\tau = 0.9$.

# %%
from course_lib import self_training

_, naive = self_training.self_train(source, x_target, x_test, y_test, y_target, rounds=3,
                                    selection="threshold", threshold=0.9, seed=0)
self_training.history_table(naive).round(3)

# %% [markdown]
# The model learns from its own confident mistakes, so the next round's pseudo-labels are no better:
# this is **confirmation bias**. Two fixes, used together below:
#
# 1. start from a **better model**, so that the first pseudo-labels are mostly right;
# 2. choose them **class-balanced**: the $k$ most confident predictions *of each predicted class*, with
#    $k$ growing each round (here 20 %, 40 %, 60 % of the target), so no digit can take over and the
#    first rounds keep only the easiest images.
#
# The better start needs no labels and no source data either: AdaBN.

# %% [markdown]
# ## Source-free adaptation 1: AdaBN
#
# **Source-free** means: the trained model and unlabelled target images, *not one source image*. Much
# of a domain gap sits in the statistics of the activations. A BatchNorm layer computes
#
# $$\mathrm{BN}(h) = \gamma\,\frac{h - \mu}{\sqrt{\sigma^2 + \epsilon}} + \beta ,$$
#
# with $\mu$ and $\sigma^2$ the mean and variance it saw in training: the **source's**. AdaBN (Li et al.
# 2016) replaces them by the target's, layer after layer, without a single gradient step; $\gamma$,
# $\beta$ and every other weight stay as they were.

# %%
from course_lib import source_free

adabn_model = source_free.adabn(source, x_target)
results["AdaBN"] = models.accuracy(adabn_model, x_test, y_test)
for layer in source_free.batchnorm_layers(source):
    shift = abs(adabn_model.get_layer(layer.name).moving_mean.numpy() - layer.moving_mean.numpy()).mean()
    print(f"{layer.name:12s} mean statistic moved by {shift:.3f} on average")
print(f"source only {results['source only']:.3f} -> AdaBN {results['AdaBN']:.3f}")
assert results["AdaBN"] > results["source only"] + 0.05  # +13 to +18 points over seeds 0-4

# %% [markdown]
# ## Class-balanced self-training from AdaBN
#
# Now self-training with both fixes: start from the AdaBN model, class-balanced pseudo-labels.

# %%
_, balanced = self_training.self_train(adabn_model, x_target, x_test, y_test, y_target, rounds=3,
                                       selection="balanced", fractions=(0.2, 0.4, 0.6), seed=0)
results["AdaBN + class-balanced self-training"] = balanced[-1].target_accuracy
self_training.plot_rounds({"threshold 0.9 from the source model": naive,
                           "class-balanced from AdaBN": balanced})
self_training.history_table(balanced).round(3)

# %% [markdown]
# ### What to notice
#
# - Naive: the share of right pseudo-labels stays about where it started, round after round; the model
#   keeps re-learning the same mistakes, and ends below the AdaBN model, which needed no training at all.
# - Class-balanced: the first round's pseudo-labels are almost all right; as $k$ grows the share right
#   falls, but the model trained on them is better each round.
# - Accuracy, not the number of pseudo-labels, is what counts: more pseudo-labels are worth it only while
#   most of them are right.

# %%
gain = balanced[-1].target_accuracy - balanced[0].target_accuracy
print(f"naive: right share per round {[round(h.precision, 2) for h in naive[1:]]}, "
      f"accuracy {naive[0].target_accuracy:.3f} -> {naive[-1].target_accuracy:.3f}")
print(f"class-balanced: first round {balanced[1].precision:.2f} right; "
      f"accuracy {balanced[0].target_accuracy:.3f} -> {balanced[-1].target_accuracy:.3f} ({100 * gain:+.1f} points)")
assert balanced[1].precision > 0.85  # 0.99 for seed 0: the top 20 % per class are nearly all right
assert gain > 0.03  # +9.6 to +15.4 points over seeds 0-4
assert naive[-1].target_accuracy < balanced[-1].target_accuracy - 0.1  # 15 to 23 points over seeds 0-4
assert naive[-1].target_accuracy < results["AdaBN"]  # below AdaBN, which trains nothing: 4 to 9 points

# %% [markdown]
# ## Source-free adaptation 2: information maximisation (SHOT)
#
# SHOT (Liang et al. 2020) keeps the source classifier (the `head` layer) **frozen**: it is the
# source's "hypothesis". It trains the feature extractor so that, on the target, the frozen head's
# predictions are **confident** for each image and **diverse** over the batch:
#
# $$L = \underbrace{\frac1n\sum_{i} H\big(p(x_i)\big)}_{\text{each image: low entropy}}
#   \;-\; \underbrace{H\Big(\frac1n\sum_i p(x_i)\Big)}_{\text{the batch: all classes used}},
#   \qquad H(p) = -\sum_k p_k \log p_k .$$
#
# Entropy minimisation alone has a cheap way out: call every image the same digit. The diversity term
# closes it. (SHOT adds pseudo-labels from clustering the features: `cluster_weight` turns them on.)
# Our function starts from AdaBN and trains for 5 epochs on the unlabelled target.

# %%
im_model, im_history = source_free.information_maximisation(source, x_target, epochs=5, seed=0)
results["information maximisation"] = models.accuracy(im_model, x_test, y_test)
print("loss per epoch:", [round(v, 3) for v in im_history["loss"]])
print(f"AdaBN {results['AdaBN']:.3f} -> information maximisation {results['information maximisation']:.3f}")
assert results["information maximisation"] > results["AdaBN"] + 0.08  # +15 to +34 points over seeds 0-4

# %% [markdown]
# ## Results
#
# Every number on the `mnist_m` test split, for seed 0. The course's experiment registry runs the same
# comparisons over several seeds:
#
# ```
# python -m course_lib.experiments source_free --seeds 0 1 2 3 4
# python -m course_lib.experiments self_training --seeds 0 1 2 3 4
# ```

# %%
import pandas as pd

from course_lib import plots

table = pd.DataFrame({"method": list(results), "mnist_m test accuracy": list(results.values())})
display(table.round(3))
short = {"source only": "source\nonly", "AdaBN": "AdaBN", "AdaBN + class-balanced self-training":
         "AdaBN +\nself-training", "information maximisation": "information\nmaximisation"}
plots.bar_chart({short[k]: v for k, v in results.items()}, title="Adapting without labels (seed 0)",
                chance=0.1);

# %% [markdown]
# ### What to notice
#
# - Without one target label and without the source data, the model gained a lot: re-estimating a few
#   hundred BatchNorm statistics already helps, and training the extractor against a frozen head helps more.
# - Self-training depends on where it starts. From the weak source model, its pseudo-labels repeat the
#   model's bias; from AdaBN, class-balanced, it improves steadily.
# - The source text this chapter covers (2.3, 2.4) errs here, kindly put:
#   - it calls source-free adaptation training on target data "provided by an external source, such as
#     a corpus, without going through source-domain training". The standard meaning is the opposite
#     half: the model *was* trained on the source, and is adapted to the target **without access to the
#     source data** (Liang et al. 2020), as above;
#   - it says self-training on the target "uses source data to train further on the target". Self-training
#     uses the model's *own predictions* on unlabelled target data; no source data is needed.

# %% [markdown]
# ## Exercise 1: a threshold you can trust
#
# The source model's confident predictions were often wrong. Are the AdaBN model's better? With its
# predictions on the unlabelled target, find the **lowest** threshold among 0.50, 0.51, ..., 0.99 for
# which at least 90 % of the passing pseudo-labels are right. `state.set_threshold(t)` returns a summary
# with `"precision"` (or build a widget on `adabn_probabilities` and use the slider). How many images
# pass there?

# %%
from course_lib.exercises import self_training as exercises
from course_lib.widgets.confidence_threshold import ThresholdState

adabn_probabilities = adabn_model.predict(x_target, batch_size=500, verbose=0)
state = ThresholdState(adabn_probabilities, y_target)
threshold_90 = None  # your answer, e.g. 0.83
exercises.check_threshold(threshold_90, adabn_probabilities, y_target);

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution: try every threshold from 0.50 up; keep the first that reaches 90 %.
import numpy as np

threshold_90 = next(t for t in np.round(np.arange(0.50, 0.995, 0.01), 2)
                    if state.set_threshold(t)["precision"] >= 0.9)
print(state.text())
assert exercises.check_threshold(threshold_90, adabn_probabilities, y_target)

# %% [markdown]
# ## Exercise 2: the information-maximisation loss by hand
#
# Write `my_im_loss(p)` in NumPy: `p` is an (n, 10) array of predicted probabilities; return the mean
# over images of the entropy $H(p_i)$ minus the entropy of the mean prediction $\bar p$. The check
# compares it with the library's loss on confident, uniform, collapsed and random batches.
# Which of those batches gets the lowest loss, and why is the collapsed one not as low?

# %%
def my_im_loss(p):
    return None  # your code


exercises.check_im_loss(my_im_loss);

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution: per-image entropy, averaged, minus the entropy of the batch's mean prediction.
def my_im_loss(p):
    per_image = -np.sum(p * np.log(p), axis=1).mean()
    mean = p.mean(axis=0)
    return per_image + np.sum(mean * np.log(mean))


assert exercises.check_im_loss(my_im_loss)

# %% [markdown]
# **Next:** chapter 05, when transfer helps and when it hurts.
