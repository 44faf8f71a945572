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
# # 02 · Task fine-tuning: what to unfreeze, how fast, and what it costs
#
# **Run time** (measured on a 2-core CPU, `python3 make.py bench`, 2026-11-28): about 70 s once the course's
# cache is warm (chapter 00 fills it), about 94 s on a cold cache; it trains about twenty small models, a
# few seconds each. Peak memory about 1.3 GB.
#
# In this chapter you will:
# 1. freeze and unfreeze layers, and count what trains;
# 2. compare the three fine-tuning strategies (the head, the top blocks, the whole model) with training
#    from scratch, on a target with only **10 labels per class**;
# 3. try the source text's "fully connected" variant, a learned map between class probabilities;
# 4. see why frozen BatchNorm layers must run in inference mode;
# 5. give early layers a smaller learning rate than the head, and unfreeze gradually;
# 6. measure **forgetting**: what fine-tuning costs on the source task;
# 7. play with the **layer-freezing widget**.

# %%
import course_lib

course_lib.setup()
course_lib.check_env()

# %% [markdown]
# ## The task: from MNIST to MNIST-M with 10 labels per class
#
# The source model (chapter 00) learned digits on MNIST. The target is `mnist_m` (the same digits on
# photo backgrounds, here in grey so the source model can read them) and we have only **10 labelled
# target images per digit**: 100 images. The test set is the 1,000 `mnist_m` test images; the `mnist`
# test images tell us how much of the source task survives.

# %%
from course_lib import fine_tuning as ft
from course_lib import models

source = models.source_model()
task = ft.load_task(n_per_class=10, seed=0)
x_train, y_train = task["target_train"]
before = {name: models.accuracy(source, *task[name]) for name in ("target_test", "source_test")}
print(f"{len(x_train)} labelled target images; the source model as-is: "
      f"mnist_m {before['target_test']:.3f}, mnist {before['source_test']:.3f}")

# %% [markdown]
# ## Freezing layers
#
# **Fine-tuning** (任务微调) continues training a pretrained model on the target. A **frozen** layer
# (`layer.trainable = False`) keeps its weights; the optimiser only updates the trainable ones.
# With $\theta = (\theta_{\text{frozen}}, \theta_{\text{train}})$, fine-tuning solves
#
# $$\min_{\theta_{\text{train}}} \; \frac{1}{n}\sum_{i=1}^{n} \ell\big(f(x_i; \theta_{\text{frozen}}, \theta_{\text{train}}), y_i\big),
# \qquad \theta_{\text{train}} \text{ starting from the source weights.}$$
#
# `course_lib.fine_tuning` freezes by name, name pattern, index range or block, and counts what trains.
# Keras reads the flags when a model is compiled: change them, then compile again (the helpers do).

# %%
model = ft.copy_model(source)
ft.freeze(model, blocks=["block1", "block2", "features"])
ft.trainable_summary(model)

# %% [markdown]
# BatchNorm's moving mean and variance count as frozen even when the layer trains: they are averaged
# from batches, never learned by gradients.
#
# ## The three strategies side by side
#
# The source text (section 2) names three ways: fine-tune **the whole model**, **selected conv layers**,
# or **the fully connected layers**. Here they are, each with its own learning rate, all with the same
# budget of 150 gradient steps, against two baselines: the same CNN **trained from scratch** on the 100
# images, and a **new head** on frozen source features (chapter 01's feature extraction):
#
# | strategy | trains | learning rate |
# |---|---|---|
# | `head` | the classifier only (kept from the source: same ten digits) | 3e-3 |
# | `top` | conv block 2, the feature layer, the head | 1e-3 |
# | `full` | everything, starting from the source weights | 1e-3 |
#
# The same comparison over many seeds: `python -m course_lib.experiments fine_tuning_strategies --seeds 0 1 2 3 4`.

# %%
results = ft.compare_strategies(source, task, ("scratch", "new_head", "mapping", "head", "top", "full"),
                                seed=0)
target_acc = {r["strategy"]: r["target_accuracy"] for r in results}
for r in results:
    print(f"{r['strategy']:9s} mnist_m {r['target_accuracy']:.3f}  mnist {r['source_accuracy']:.3f}  "
          f"trainable {r['trainable_params']:7,d}  {r['seconds']:.1f} s")
ft.strategy_plot(results);

# %% [markdown]
# The lesson rests on these numbers, so the notebook checks them (margins measured over seeds 0-4 with
# the experiment above):

# %%
gain = target_acc["full"] - target_acc["scratch"]
print(f"full fine-tuning beats scratch by {100 * gain:.0f} points, "
      f"the head alone by {100 * (target_acc['full'] - target_acc['head']):.0f} points")
assert gain > 0.10, "starting from the source weights should beat starting from random ones"
assert target_acc["full"] > target_acc["head"] + 0.05
assert target_acc["full"] > before["target_test"] + 0.2

# %% [markdown]
# ### What to notice
#
# - **Full fine-tuning wins** with 100 labels. The source text says fine-tuning the whole model
#   "cannot use the source features and only trains from scratch" (不能利用源域数据进行特征提取，只能从头开始训练模型).
#   That is a slip: it starts from the pretrained weights, and the gap to `scratch` above is exactly
#   what those weights are worth.
# - Training only the head helps far less: the source features were learned on clean MNIST, and on
#   photo backgrounds the early blocks (edges, strokes) are what needs to change.
# - `top` lands in between: unfreezing more layers lets more of the network adapt.
# - The source text also gives the three ways names (域内微调 "in-domain", 域间微调 "cross-layer",
#   域外微调 "out-of-domain" fine-tuning) that you will not find elsewhere; the usual words are simply
#   fine-tuning the whole network, fine-tuning the top layers, and training a new classifier head.

# %% [markdown]
# ## The source text's "fully connected" variant
#
# Its section 2.3 keeps the whole source classifier and learns a map from its class probabilities to
# the target classes:
#
# $$p_i = \operatorname{softmax}_i\Big(\sum_{j=1}^{K_s} a_{ij}\, p_j^{s} + \alpha\, b_i\Big)$$
#
# where $p^s$ is the source model's softmax output **for this image** (the text calls it a "prior
# probability", 先验概率; it is the classifier's posterior), $A$ is $K_t \times K_s$, $b$ a bias, and
# $\alpha$ a fixed scale. In `course_lib` it is `ft.probability_mapping_model`; $A$ starts as the identity,
# so it starts as the source classifier. It ran above as `mapping`; compare it with replacing the head:

# %%
print(f"source model as-is  {before['target_test']:.3f}")
for name in ("mapping", "new_head", "head"):
    print(f"{name:18s} {target_acc[name]:.3f}")

# %% [markdown]
# A 10x10 map can only re-label: it fixes confusions the source model makes **systematically** (say it
# calls every target 7 a 1), but it never sees the image, so it cannot repair features that fail on
# photo backgrounds. It trains 110 parameters; replacing or fine-tuning the head trains a whole layer
# on the source features, and fine-tuning deeper layers repairs the features themselves.

# %% [markdown]
# ## How many labels does fine-tuning need?
#
# Scratch and full fine-tuning with 3, 10 and 30 labelled images per class (to keep this notebook fast it
# runs these two; `python -m course_lib.experiments labels_per_class` adds head-only and more seeds):

# %%
from course_lib.experiments import labels_per_class

shown = ("scratch", "full")
curve = labels_per_class.run(seed=0, budgets=(3, 30), strategies=shown)
curve.update({labels_per_class.arm(s, 10): target_acc[s] for s in shown})
for name, m in sorted(curve.items()):
    print(f"{name:11s} {getattr(m, 'value', m):.3f}")
labels_per_class.curve_plot(curve);

# %% [markdown]
# ### What to notice
#
# - The fewer the labels, the more the source weights are worth: the gap between `full` and `scratch`
#   is widest on the left.
# - With more labels, scratch catches up: transfer learning matters most when target labels are scarce.
#   (In the registry's run, head-only falls behind scratch as labels grow: its frozen features cap what it
#   can learn.)

# %%
value = lambda name: getattr(curve[name], "value", curve[name])  # noqa: E731
assert value("full@3") - value("scratch@3") > value("full@30") - value("scratch@30")

# %% [markdown]
# ## BatchNorm: frozen means inference mode
#
# A BatchNorm layer normalises with batch statistics in training and with its **moving** mean and
# variance at test time; the moving statistics follow the batches it sees,
# $\mu \leftarrow 0.9\,\mu + 0.1\,\mu_{\text{batch}}$. In Keras 3 a BatchNorm layer with
# `trainable = False` runs in **inference mode** even inside `fit`: stored statistics, no updates.
# That is what freezing should mean.
#
# The classic mistake is to freeze the conv and dense layers but not the BatchNorm layers between them.
# Then every small target batch moves the statistics under the "frozen" features. Below, the head is
# trained both ways; drift is the change of the moving means in units of the features' spread:

# %%
from course_lib import batchnorm

bn_table = batchnorm.wrong_freezing_demo(source, task, seed=0)
bn_table

# %%
right, wrong = bn_table.iloc[0], bn_table.iloc[1]
print(f"statistics drift {right.statistics_drift:.2f} vs {wrong.statistics_drift:.2f}; "
      f"source features changed by {right.source_feature_change:.2f} vs {wrong.source_feature_change:.2f}; "
      f"source accuracy {right.source_accuracy:.3f} vs {wrong.source_accuracy:.3f}")
assert right.statistics_drift == 0.0 and right.source_feature_change == 0.0
assert wrong.statistics_drift > 0.1 and wrong.source_feature_change > 0.3  # seeds 0-2: 0.27+, 0.94+

# %% [markdown]
# ### What to notice
#
# - Frozen the right way, the statistics do not move at all, and the features the head reads are exactly
#   the source model's.
# - Left trainable, the statistics drift to the target's: the "frozen" features of the very same `mnist`
#   images change by about their own size although no conv weight changed, and the source accuracy
#   moves with them (up or down, depending on the seed). The model is no longer the one you froze: a
#   comparison "frozen vs fine-tuned" made this way is not what it claims, and the source model you
#   meant to keep is gone.
# - Its target accuracy rose here. That is the useful side of re-estimating statistics on the target
#   (**AdaBN**, chapter 04): a method to use on purpose, with the source model kept, not an accident of
#   freezing.

# %% [markdown]
# ## Discriminative learning rates and gradual unfreezing
#
# Early layers hold general features that transfer well; the head is task-specific. So give each block
# its own learning rate, smaller towards the input (Howard & Ruder 2018):
# $\eta_{\text{block } k} = \eta_{\text{head}} / c^{\,K-k}$.
#
# Keras 3 has no per-layer learning rate inside one optimizer, and scaling the gradients does nothing for
# Adam (its step $m/\sqrt{v}$ ignores the gradient's scale). `course_lib.learning_rates` keeps **one
# optimizer per block** in a custom `train_step`. One Adam step moves each weight by about its rate;
# measured:

# %%
from course_lib import learning_rates as lr

rates = lr.layerwise_rates(top_rate=3e-3, factor=3.0)
lr.step_sizes(ft.copy_model(source), x_train[:64], y_train[:64], rates)

# %% [markdown]
# `step_per_rate` is close to 1 for every block: each block moves at its own rate.
#
# **Gradual unfreezing** trains the head first, then unfreezes one more block per stage from the top,
# so that early, large gradients from a poorly fitted head do not wreck the pretrained blocks:

# %%
gradual_model = ft.copy_model(source)
log = lr.gradual_unfreezing(gradual_model, x_train, y_train, rates, steps_per_stage=25,
                            validation_data=task["target_test"])
gradual = models.accuracy(gradual_model, *task["target_test"])
print(f"gradual unfreezing + discriminative rates: mnist_m {gradual:.3f}, "
      f"mnist {models.accuracy(gradual_model, *task['source_test']):.3f} "
      f"(full fine-tuning: {target_acc['full']:.3f})")
lr.plot_stages(log);

# %% [markdown]
# ### What to notice
#
# - Each stage adds a block (dotted lines, 25 steps each), and the accuracy climbs as more of the
#   network may adapt.
# - On this task gradual unfreezing ends below plain full fine-tuning (both printed above). These
#   tricks **protect** the pretrained early layers, which pays when those layers already suit the target
#   (a close domain, features from a large data set). Here the early blocks are exactly what has to
#   change for photo backgrounds. Compare both on your own task; neither is always better.

# %% [markdown]
# ## Forgetting
#
# Fine-tuning on the target changes the weights the source task relied on. Here the source task has the
# same ten digits, so we can test every fine-tuned model on the `mnist` test set and compare it with the
# source model before fine-tuning:

# %%
forgetting = ft.forgetting_table([r for r in results if r["strategy"] != "scratch"],
                                 source_before=before["source_test"])
print(f"source model before fine-tuning: mnist {before['source_test']:.3f}")
forgetting

# %% [markdown]
# ### What to notice
#
# - Every strategy loses a little on `mnist` (the `forgotten` column); the `mapping`, which changes no
#   weight of the source model, loses least.
# - The loss is small here because the target is the same ten digits in a new style: features that
#   read digits on photos still read them on paper. When the target has **other classes**, the new head
#   cannot answer the source task at all, and fine-tuned features drift away from it.
# - If you must keep the source task, freeze more, use smaller rates on early blocks, or keep a copy of
#   the source model: fine-tuning makes a new model, it does not extend the old one.

# %% [markdown]
# ## The layer-freezing widget
#
# Press a block to freeze it (locked), watch the parameter count change, pick a learning rate and press
# **Train**: a fresh copy of the source model fine-tunes for 3 epochs on 30 labels per class (a few
# seconds), its learning curve (accuracy on 500 `mnist_m` test images) is drawn over the earlier runs,
# and the table gains a row (source accuracy on 500 `mnist` test images).
# **Reset** starts over. Try: everything trainable; only the head; block1 frozen; a rate 10x larger.

# %%
from course_lib.widgets.layer_freezing import layer_freezing_demo

widget_task = ft.load_task(n_per_class=30, seed=0)
x_test, y_test = widget_task["target_test"]
x_src, y_src = widget_task["source_test"]
demo = layer_freezing_demo(source, (widget_task["target_train"], (x_test[:500], y_test[:500])),
                           (x_src[:500], y_src[:500]), epochs=3)
demo

# %% [markdown]
# The widget's buttons call the same code as this cell, which runs two settings so that the table above
# has rows even when nobody clicks (scroll up to see them):

# %%
for unit in ("block1", "block2", "features"):
    demo.toggles[unit].value = True  # freeze: only the head trains
demo.train_button.click()
for unit in ("block1", "block2", "features"):
    demo.toggles[unit].value = False  # unfreeze everything
demo.train_button.click()
demo.state.results_table()

# %%
runs = demo.state.results
assert len(runs) == 2 and runs[0]["trainable_params"] < runs[1]["trainable_params"]
assert runs[1]["target_accuracy"] > runs[0]["target_accuracy"]

# %% [markdown]
# ## Exercise 1: freeze for the `top` strategy
#
# Take a fresh copy of the source model and freeze it so that **only** `block2`, the feature layer
# (`features`) and `head` train, using `ft.freeze` / `ft.unfreeze` (by block, name, pattern or index).
# Then look at `ft.trainable_summary(my_model)`.

# %%
from course_lib.exercises import fine_tuning as exercises

my_model = ft.copy_model(source)
# your code here
exercises.check_top_freezing(my_model);

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution: freeze everything, then unfreeze the top blocks.
my_model = ft.copy_model(source)
ft.freeze(my_model, pattern=".")
ft.unfreeze(my_model, blocks=["block2", "features", "head"])
print(ft.trainable_summary(my_model).tail(1))
assert exercises.check_top_freezing(my_model)

# %% [markdown]
# ## Exercise 2: discriminative learning rates
#
# Write a dict `my_rates` with a learning rate for each block (`block1`, `block2`, `features`, `head`):
# the head at 1e-3, `block1` **10 times slower**, and no block faster than the block above it.
# Then measure the steps with `lr.step_sizes(ft.copy_model(source), x_train[:64], y_train[:64], my_rates)`.

# %%
my_rates = {}  # your answer
exercises.check_rates(my_rates);

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution: a constant factor per block, 10 ** (1/3), gives 10x over three steps down.
my_rates = lr.layerwise_rates(top_rate=1e-3, factor=10 ** (1 / 3))
print({block: f"{rate:.2g}" for block, rate in my_rates.items()})
assert exercises.check_rates(my_rates)

# %% [markdown]
# **Next:** [03 · transfer networks](03_transfer_networks.ipynb): share an embedding between domains, fuse
# a frozen source branch with a target branch, and reuse kernels across input channels.
