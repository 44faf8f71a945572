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
# # 05 · When transfer helps, and when it hurts
#
# **Run time** (measured on a 2-core CPU, `python3 make.py bench`, 2026-11-28): about 49 s once the course's
# cache is warm, about 89 s on a cold cache. Peak memory about 1.2 GB.
#
# The source text ends (section 5) with a list of challenges: **overfitting** (过拟合问题),
# **data mismatch** (数据不匹配问题), **class imbalance** (样本不均衡问题), **sparse target data**
# (目标域数据的稀疏性问题) and **label consistency** (标签一致性问题). Here most of them are experiments
# you run and see:
#
# 1. **how much target data?** accuracy against labels per class, on a target near the source (and, in the
#    course's registry, one far from it);
# 2. **negative transfer**: a source that makes things *worse* than no source, and a check that warns you;
# 3. **overfitting** with a tiny target: see it in the curves, then early stopping and augmentation;
# 4. **class imbalance** in the target: accuracy per class, then balanced sampling;
# 5. **label mismatch**: a target with fewer classes than the source (partial transfer);
# 6. **layer transferability** after Yosinski et al. (2014): which layers are general, which specific?
#
# Every training run below is a fixed number of gradient steps of 32 images (150; 60 in section 6), the
# same for every method, whatever the number of labels. The notebook runs one seed and a few settings;
# the course's registry runs more (the commands are at the end).

# %%
import course_lib

course_lib.setup()
course_lib.check_env()

# %% [markdown]
# ## 1. How much target data? (目标域数据的稀疏性)
#
# The grey source model (trained on `mnist`) is fine-tuned on $n$ labelled images per class of a target,
# and compared with the same CNN trained **from scratch** on the same $n$ images. Two targets:
#
# - **near**: `digits`, scanned digits, grey strokes on black as in MNIST;
# - **far**: `mnist_m`, MNIST digits blended with colour photos.
#
# How near? The source model as it is, on each target's test split:

# %%
from course_lib import data, models

source = models.source_model(seed=0)
models.evaluate_on_domains(source, domains=("mnist", "digits", "mnist_m")).round(3)

# %% [markdown]
# Scratch and full fine-tuning with 1 and 10 labels per class on the near target: 4 runs of a few
# seconds. To stay within its time the notebook leaves the far target to the registry's `label_budget`,
# which runs 1, 2, 5, 10, 20 and 50 labels per class on both targets, head-only fine-tuning too, over
# several seeds (the command is at the end).

# %%
from course_lib.experiments import label_budget

measured = label_budget.run(seed=0, targets=("digits",), budgets=(1, 10), strategies=("scratch", "full"),
                            progress=True)
label_budget.curve_plots(measured);

# %% [markdown]
# The gap, full fine-tuning minus scratch, in accuracy points, at each budget:

# %%
near = label_budget.gaps(measured, "digits")
print("near target (digits):", "  ".join(f"{n} per class: {100 * g:+.1f}" for n, g in near.items()))
# measured with the registry's label_budget, seeds 0-2 (full minus scratch, points):
assert near[1] > 0.08  # near, 1 per class: +16.4 to +24.1
assert near[10] < near[1] - 0.05  # near, 10 per class: +1.7 to +5.8, 14 to 22 points less than at 1

# %% [markdown]
# ### What to notice
#
# - With **one** label per class, the source is worth a lot: fine-tuning starts from features that
#   already separate digits, scratch must learn them from ten images.
# - On the **near** target, scratch catches up fast: with 10 images per class, a small CNN already learns
#   clean scanned digits nearly as well by itself, and the source adds little.
# - On the **far** target (run the registry's `label_budget`), the gap also shrinks, but much more slowly:
#   photo backgrounds are hard to learn from a few images, and the source's stroke detectors keep helping,
#   once fine-tuned. Frozen features (head-only) fall *behind* scratch there as labels grow.
# - "Transfer helps" is a statement about a *budget*: the fewer the target labels, the more it helps.

# %% [markdown]
# ## 2. Negative transfer (数据不匹配问题)
#
# A source helps when what it learned is true of the target too. What if it learned nothing true? The
# course's CNN trained like the source model (same epochs and learning rate, on 1,000 of the same `mnist`
# images), but on **shuffled labels**: whatever it learned, it is not what digits look like. Then, on `digits` with 10
# labels per class:
#
# - `scratch`: no source (trained in section 1, on the same images);
# - `shuffled:new_head`: the shuffled source's features, frozen, and a new head (feature extraction,
#   chapter 01's recipe).
#
# And a **warning check** that needs no fine-tuning: a **linear probe**, a softmax regression trained on
# a model's frozen features of the few labelled target images. Compare the source's probe with the probe
# of a CNN that was never trained: features no better than random ones will not transfer.

# %%
from course_lib.experiments import negative_transfer

neg = {"scratch": measured["digits:scratch@10"].value}  # section 1 trained it: the same images and seed
neg.update({arm: m.value for arm, m in negative_transfer.run(
    seed=0, progress=True, arms=("shuffled:new_head", "probe:source", "probe:shuffled",
                                 "probe:random")).items()})
for arm, value in neg.items():
    print(f"{arm:18s} {value:.3f}")

# %%
from course_lib import plots

plots.bar_chart({k.replace(":", "\n"): v for k, v in neg.items()}, ylabel="digits test accuracy",
                title="An unhelpful source (seed 0)", chance=0.1);
# measured with the registry's negative_transfer, seeds 0-4 (points):
assert neg["shuffled:new_head"] < neg["scratch"] - 0.01  # frozen shuffled features: -3.3 to -9.7
assert neg["probe:source"] > neg["probe:shuffled"] + 0.02  # probes: +3.8 to +7.2 for the real source

# %% [markdown]
# ### What to notice
#
# - **Negative transfer**: reusing the shuffled-label source's features, frozen, is *worse than no
#   source at all*; scratch, with the same ten images per class, does better.
# - Fine-tuning *everything* from it instead (`arms=("shuffled:full",)`, left out here for time) ends level
#   with scratch or a little above in the registry's runs: the harm sits in the top layers, and training
#   them again undoes it. Its convolution filters learned something about digit images even from wrong labels;
#   Maennel et al. (2020) saw the same in networks pretrained on random labels.
# - The probe warned us for the price of a second: the shuffled source's features are only a little better
#   for digits than an untrained network's, and clearly worse than the real source's. Probe before you
#   reuse frozen features.
# - A real unhelpful source is rarely this extreme; it is a source from another domain or task whose
#   features fit the target badly. The probe (or chapter 01's proxy A-distance between source and target
#   features) is the same cheap check.

# %% [markdown]
# ## 3. Overfitting with a tiny target (过拟合问题)
#
# With ten images per class, a network soon gets every training image right while the accuracy on
# images it has not seen stops rising: it fits the images, not the digits. To *see* it, hold out a few
# labelled images for **validation** (here 5 per class of `digits`, besides 10 per class to train on) and
# watch both curves. Two standard fixes:
#
# - **early stopping**: stop when the validation loss stops improving and go back to the best weights
#   (`keras.callbacks.EarlyStopping(restore_best_weights=True)`);
# - **data augmentation**: Keras preprocessing layers in front of the model (random rotations up to 18
#   degrees, shifts up to 10 %, zooms up to 10 %) show it a slightly different image at every step. They
#   act only in training; predictions see the real images.
#
# Here: the CNN from scratch, 200 steps (about 64 passes over the 100 images), without and with
# augmentation. The registry's `overfitting` runs 400 steps and early stopping too.

# %%
from course_lib.experiments import overfitting

train_o, val_o, test_o = overfitting.load(seed=0)
runs = {arm: overfitting.train_arm(arm, train_o, val_o, seed=0, steps=200, progress=arm)
        for arm in ("plain", "augmented")}
plots.learning_curves({arm: history for arm, (_, history) in runs.items()}, metric="accuracy");

# %%
import numpy as np

for arm, (model, history) in runs.items():
    h = history.history
    print(f"{arm:10s} train accuracy {h['accuracy'][-1]:.3f}, validation {h['val_accuracy'][-1]:.3f}, "
          f"test {models.accuracy(model, *test_o):.3f}")
plain = runs["plain"][1].history
best_epoch = int(np.argmin(plain["val_loss"])) + 1
print(f"plain run: lowest validation loss after epoch {best_epoch} of {len(plain['val_loss'])} "
      "(where early stopping would go back to)")
# measured seeds 0-5: plain reaches training accuracy 1.0, validation 0.90 to 0.96
assert plain["accuracy"][-1] > 0.98 and plain["accuracy"][-1] - plain["val_accuracy"][-1] > 0.02

# %% [markdown]
# ### What to notice
#
# - The plain run's training accuracy reaches 1.0 while validation stays below it: the gap is
#   overfitting, and on a tiny target it comes fast.
# - Augmentation keeps the training accuracy below 1.0 (the task got harder). Whether it helps on new
#   images depends on the seed at this scale: at 200 steps it gained up to 3 points on some of seeds 0-5 and
#   lost up to 2.5 on others; at 400 steps (the registry's `overfitting`) it gained 1.9 points in the
#   median, still not on every seed. With 50 validation images, one image is 2 points: measure over seeds.
# - **Early stopping** here mostly saves time: the validation loss bottoms out after a few epochs, and in
#   the registry's runs going back to that epoch gave the same test accuracy as training on (within 0.3
#   points on seeds 0-5).
# - Augmentation must fit the data: shifting and rotating fills corners with black, which suits `digits`
#   (black background) but not photo backgrounds; measure it against a plain run before trusting it.

# %% [markdown]
# ## 4. Class imbalance in the target (样本不均衡问题)
#
# A `digits` target with 40 labelled images of each of 0-4 but only 3 of each of 5-9. We train a new
# head on the source's frozen features (chapter 01's recipe, a second per head) and look at accuracy
# **per class**, then train it again on **balanced samples**: the rare classes repeated until every class
# is as frequent as the most frequent. (Keras's `fit(class_weight=...)` does the same through the loss;
# exercise 2 computes those weights.)

# %%
from course_lib import feature_extraction as fe, target_data as td

x_d, y_d = data.load_domain("digits", "train", seed=0)
x_dt, y_dt = data.load_domain("digits", "test", seed=0)
counts = {c: 40 if c < 5 else 3 for c in range(10)}
x_imb, y_imb = td.imbalanced_subset(x_d, y_d, counts, seed=0)
extractor = fe.cut(source)
f_imb, f_test = fe.features(extractor, x_imb), fe.features(extractor, x_dt)
per_class = {}
for name, (f, y) in {"as sampled": (f_imb, y_imb), "balanced sampling": td.balanced_resample(f_imb, y_imb)}.items():
    head = fe.train_head(f, y, n_classes=10)
    per_class[name] = td.per_class_accuracy(y_dt, head.predict(f_test, verbose=0).argmax(axis=1))
td.imbalance_plot(per_class, counts=[counts[c] for c in range(10)]);

# %%
for name, acc in per_class.items():
    print(f"{name:18s} digits 0-4: {acc[:5].mean():.3f}   digits 5-9 (rare): {acc[5:].mean():.3f}   "
          f"mean over classes: {acc.mean():.3f}")
rare_gain = per_class["balanced sampling"][5:].mean() - per_class["as sampled"][5:].mean()
assert rare_gain > 0.03  # measured seeds 0-4: +5.0 to +11.4 points on the rare classes
assert per_class["balanced sampling"].mean() > per_class["as sampled"].mean()  # +1.9 to +5.1 points

# %% [markdown]
# ### What to notice
#
# - Overall accuracy hides the problem: the common classes are almost perfect, the rare ones are not,
#   because the head learned that "when in doubt, it is probably a 0-4".
# - Balanced sampling moves that prior: the rare classes gain several points for a point or two on the
#   common ones. Whether that trade is right depends on what errors cost; accuracy per class shows it.

# %% [markdown]
# ## 5. Label mismatch: fewer target classes than source classes (标签一致性问题)
#
# The target has only digits 0-4 (**partial transfer**: its label set is a subset of the source's).
# The source model's head still has ten outputs, so it can answer "7" for an image that cannot be a 7.

# %%
x_p, y_p = data.class_subset(x_dt, y_dt, classes=range(5), relabel=False)
probabilities = source.predict(x_p, verbose=0)
outside = td.outside_share(probabilities, classes=range(5))
as_is = (probabilities.argmax(axis=1) == y_p).mean()
restricted = (td.restrict_predictions(probabilities, classes=range(5)) == y_p).mean()
print(f"{len(y_p)} digits test images of 0-4; {outside:.1%} of them predicted as 5-9, a class the target does not have")
print(f"accuracy, ten-way head: {as_is:.3f}; the same head restricted to 0-4: {restricted:.3f}")
assert outside > 0.02 and restricted > as_is + 0.02  # seeds 0-4: 6.1-12.2 % outside, +3.9 to +11.7 points

# %% [markdown]
# ### What to notice
#
# - A head trained on the wrong label set spends probability on classes that cannot occur; every such
#   prediction is an error. Restricting the arg-max to the target's classes repairs those for free.
# - The reverse mismatch (target classes the source never saw) needs a new head, as in chapters 01 and 02:
#   the source's features may transfer, its head cannot.
# - Partial-transfer methods go further: they also down-weight the source classes the target lacks
#   while adapting, so those classes do not pull the target's features towards them.

# %% [markdown]
# ## 6. Layer transferability (Yosinski et al. 2014)
#
# Which layers are **general** (useful for other tasks) and which **specific** to the task they learned?
# Yosinski et al. split ImageNet's classes into two halves, A and B. Here: **task A** = `mnist` digits
# 0-4, **task B** = digits 5-9 with 20 labelled images per class. A network trained on A (cached, from
# chapter 01) gives its first $k$ blocks to a fresh network for B:
#
# - **AnB, frozen**: the copied blocks stay fixed, the rest trains on B;
# - **AnB+, fine-tuned**: the copied blocks train too, starting from A's weights.
#
# $k = 0$ copies nothing (scratch); $k = 3$ copies everything below the head. For time, the notebook runs
# $k$ = 0, 2 and 3 frozen and $k = 3$ fine-tuned, 60 steps each; the registry's `layer_transferability`
# runs every $k$ both ways, 150 steps each: the same shape, with a smaller (but still large) fall for the
# frozen feature layer, whose new head has more steps to make the best of it.

# %%
from course_lib.experiments import layer_transferability
from course_lib.transferability import transfer_plot

layers_measured = layer_transferability.run(seed=0, ks=(0, 2, 3), fine_tuned_ks=(3,), steps=60,
                                             progress=True)
curve = layer_transferability.as_curve(layers_measured)
transfer_plot(curve, title="Digits 0-4 (A) -> 5-9 (B), 20 labels per class");
for mode, points in curve.items():
    print(f"{mode:10s}", "  ".join(f"k={k}: {v:.3f}" for k, v in points.items()))

# %%
frozen, tuned = curve["frozen"], curve["fine-tuned"]
print(f"k=2 frozen minus scratch: {100 * (frozen[2] - frozen[0]):+.1f} points; "
      f"k=3 frozen minus k=2 frozen: {100 * (frozen[3] - frozen[2]):+.1f}; "
      f"k=3 fine-tuned minus frozen: {100 * (tuned[3] - frozen[3]):+.1f}")
# measured with these settings (60 steps), seeds 0-3, in points (150 steps, seeds 0-2, in brackets):
assert frozen[2] > frozen[0] - 0.03  # the first two blocks, frozen, vs scratch: +1.4 to +3.4 (-1.6 to 0.0)
assert frozen[3] < frozen[2] - 0.10  # freezing the feature layer too: -47 to -51 (-17 to -22)
assert tuned[3] > frozen[3] + 0.10  # fine-tuning it instead: +46 to +50 (+18 to +21)
assert abs(tuned[3] - frozen[0]) < 0.04  # fine-tuned k=3 vs scratch: -0.2 to +2.8 (-1.8 to -0.8)

# %% [markdown]
# ### What to notice, and how it compares with Yosinski et al.
#
# - **General low layers, as in the paper.** The first two blocks learned on digits 0-4 serve digits 5-9
#   frozen about as well as blocks learned on 5-9 itself: edges and strokes are not specific to a digit.
# - **A specific top layer, as in the paper.** Freezing the feature layer too costs far more: its 128
#   units were shaped to tell 0-4 apart, and a new head on them cannot tell 5-9 apart as well.
#   Yosinski et al. saw the same fall for frozen top layers of an 8-layer ImageNet network.
# - **Different from the paper: fine-tuning brings no boost here.** Yosinski et al. found AnB+ *above* the
#   network trained on B alone at every $k$, a lasting benefit of transfer. Here AnB+ ends about level with
#   scratch (within three points, either way over seeds and step counts): task B is easy (scratch reaches
#   about 0.9 with 20 images per class), the network has three blocks, not seven, and it trains for
#   seconds, not days.
# - The paper also measured **BnB** (copy from a network trained on B itself) to separate specificity
#   from "fragile co-adaptation" of middle layers; with three blocks there is hardly a middle, so it is
#   left out.

# %% [markdown]
# ## Exercise 1: where does scratch catch up?
#
# From section 1's numbers (`measured`), find the smallest budget (1 or 10 labels per class) from which
# training from scratch stays within 2 accuracy points of full fine-tuning on the **near** target; `None`
# if it never does. `label_budget.gaps(measured, "digits")` gives the gaps.

# %%
from course_lib.exercises import when_transfer_helps as exercises

catch_up_near = None  # your answer: 1, 10 or None
exercises.check_catch_up(catch_up_near, measured, target="digits");

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution: walk the budgets from the smallest; keep the first from which every gap is <= 0.02.
gap = label_budget.gaps(measured, "digits")
budgets = list(gap)
catch_up_near = next((n for i, n in enumerate(budgets) if all(gap[m] <= 0.02 for m in budgets[i:])), None)
print(catch_up_near)
assert exercises.check_catch_up(catch_up_near, measured, target="digits")

# %% [markdown]
# ## Exercise 2: class weights
#
# Instead of resampling, Keras can weigh each image's loss by its class: `model.fit(..., class_weight=w)`
# with `w = {class: weight}`. Write `my_class_weights(y)` returning, for each class $c$ present in `y`,
#
# $$w_c = \frac{n}{K\, n_c},$$
#
# with $n$ images, $K$ classes present and $n_c$ images of class $c$. Then every class carries the same
# total weight. What weight do the rare digits of section 4 get, compared with the common ones?

# %%
def my_class_weights(y):
    return None  # your code


exercises.check_class_weights(my_class_weights);

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution: count each class, then n / (K * count).
def my_class_weights(y):
    classes, counts = np.unique(y, return_counts=True)
    return {int(c): len(y) / (len(classes) * n) for c, n in zip(classes, counts)}


print({c: round(w, 2) for c, w in my_class_weights(y_imb).items()})
assert exercises.check_class_weights(my_class_weights)

# %% [markdown]
# ## Exercise 3: an AnB network by hand
#
# Build the network that section 6 calls **k = 2, frozen**, without `transplant`: a fresh
# `models.build_cnn(n_classes=5)`, whose layers `block1_conv`, `block1_bn`, `block2_conv` and `block2_bn`
# get the weights of the task-A network `task_a` (`layer.set_weights(other.get_weights())`) and are
# frozen (`layer.trainable = False`). Everything else must stay trainable.

# %%
task_a = fe.subtask_source_model((0, 1, 2, 3, 4), seed=0)
anb = None  # your model
exercises.check_transplant(anb, task_a, k=2);

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution: same layer names in both networks, so copy by name.
anb = models.build_cnn(n_classes=5)
for name in ("block1_conv", "block1_bn", "block2_conv", "block2_bn"):
    anb.get_layer(name).set_weights(task_a.get_layer(name).get_weights())
    anb.get_layer(name).trainable = False
assert exercises.check_transplant(anb, task_a, k=2)

# %% [markdown]
# ## Summary, and where the source text is too hopeful
#
# - Transfer helps most when target labels are **scarce**; as labels grow, scratch catches up, quickly on a
#   near target, slowly on a far one (section 1 and the registry's `label_budget`).
# - A source can make things **worse** (section 2); a linear probe of its features is a one-second check.
# - Imbalanced targets need per-class accuracy and balanced sampling or class weights (section 4); a
#   source head with more classes than the target needs restricting (section 5).
# - Low layers are general, the top feature layer is specific: freeze the low ones if you must freeze
#   anything, fine-tune the top (section 6).
#
# The source text lists these points as challenges of a young field, after saying that transfer learning
# "can easily solve many practical problems" (可以轻松解决很多实际问题). Kindly put, that is too hopeful on
# one side and too gloomy on the other: transfer is not automatically a gain (with enough labels it buys
# little, and an unrelated source can cost accuracy: **negative transfer**, which the list does not name),
# and the challenges are not only open research problems: each has everyday checks and remedies, measured
# above.
#
# To measure over more seeds, budgets, the far target and every arm (a few minutes per seed):
#
# ```
# python -m course_lib.experiments label_budget --seeds 0 1 2
# python -m course_lib.experiments negative_transfer --seeds 0 1 2 3 4
# python -m course_lib.experiments layer_transferability --seeds 0 1 2
# ```
