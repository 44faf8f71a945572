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
# # 00 · Welcome: what transfer learning is, and the gap it closes
#
# **Run time** (measured on a 2-core CPU, `python3 make.py bench`, on two days): 28-36 s the first time
# (it trains the source model and caches it), 14-17 s after that. Peak memory about 1.1 GB.
#
# In this chapter you will:
# 1. check that your environment has what the course needs;
# 2. meet the course's three **domains** of handwritten digits;
# 3. train (or load) the **source model**, a small CNN trained on MNIST;
# 4. measure the **domain gap**: how much worse that model does on the other domains.
#
# Every later chapter is a way of closing that gap.

# %%
import course_lib

course_lib.setup()
course_lib.check_env()

# %% [markdown]
# ## What transfer learning is
#
# A **domain** (域) is where the data comes from: an input space and a distribution over it,
# $\mathcal{D} = \{\mathcal{X}, P(X)\}$. A **task** (任务) is what we want to predict: a label space
# and a function, $\mathcal{T} = \{\mathcal{Y}, f(x)\}$.
#
# **Transfer learning** (迁移学习) uses what a model learned on a **source domain** (源域)
# $\mathcal{D}_S$ with task $\mathcal{T}_S$ to learn a **target** (目标域) $\mathcal{D}_T$, $\mathcal{T}_T$
# better than it could from the target's own data alone: usually the target has few labels, or none.
#
# - Same task, different domain: digits written on paper vs digits on colour photos.
#   Adapting to it is **domain adaptation** (域适配, chapter 01 and 04).
# - Same domain, different task: digits 0-4 vs digits 5-9. Reusing the features for the new labels is
#   **feature extraction** (特征提取, chapter 01) or **fine-tuning** (任务微调, chapter 02).
#
# The source text this course is built on (a Chinese blog post; its terms name the chapters) groups the
# methods into feature extraction, task fine-tuning and transfer networks (迁移网络). Its explanations
# are muddled in places; each chapter teaches the standard technique and says, kindly, where the text errs.
#
# ## The course map
#
# | chapter | teaches | run time |
# |---|---|---|
# | 00 welcome | domains, tasks, the source model, the domain gap | < 60 s |
# | 01 feature extraction | frozen extractor + new head; DANN, Deep CORAL, MMD | < 90 s |
# | 02 task fine-tuning | what to unfreeze, learning rates, BatchNorm, forgetting | < 90 s |
# | 03 transfer networks | shared embeddings, fusion, channel copying done right | < 90 s |
# | 04 self-training and source-free adaptation | pseudo-labels, AdaBN, information maximisation | < 90 s |
# | 05 when transfer helps and when it hurts | label budgets, negative transfer, overfitting, imbalance, layer transferability | < 120 s |
# | 06 your own images | a pretrained ImageNet backbone on a folder of photos | < 120 s |
#
# Words in two languages: [GLOSSARY.md](GLOSSARY.md).

# %% [markdown]
# ## The three domains
#
# All three ship inside Python packages, so nothing is downloaded:
#
# - `mnist`: 5,000 real MNIST digits (500 per class), grey, 28x28;
# - `digits`: 1,797 scanned digits at 8x8 pixels, scaled up to 28x28: same task, blurrier style;
# - `mnist_m`: the same MNIST digits blended with crops of colour photos, as in the MNIST-M data set of
#   Ganin & Lempitsky (2015): same digits, very different pixels.
#
# `load_domain` returns float32 images in [0, 1] of shape (n, 28, 28, channels) and integer labels.

# %%
from course_lib import data, plots

domains = {name: data.load_domain(name, "test", channels=3) for name in data.DOMAINS}
for name, (x, y) in domains.items():
    print(f"{name:8s} test images {x.shape}, labels {y[:8]} ...")
plots.sample_grid(domains, n=8);

# %% [markdown]
# ## The source model
#
# A small CNN whose layers have names we can point at: two conv blocks, a 128-unit feature layer,
# and a softmax head. It trains on the 4,000 MNIST training images for 5 epochs (about 10 s on two
# cores), then it is cached on disk, so the next chapters load it in a blink.

# %%
from course_lib import models

source = models.source_model()
print("loaded from the cache" if source.source_cached else "trained now, and cached for next time")
models.block_table(source)

# %% [markdown]
# ## The domain gap
#
# Now test the source model on each domain's held-out test images. The same function is in the
# course's experiment registry, so a teacher can repeat it over several seeds:
# `python -m course_lib.experiments domain_gap --seeds 0 1 2 3 4`.

# %%
from course_lib.experiments import domain_gap

gap = domain_gap.run(seed=0)
accuracy = {name: m.value for name, m in gap.items()}
for name, value in accuracy.items():
    print(f"source model on {name:8s}: accuracy {value:.3f}")
plots.bar_chart(accuracy, title="Source model (trained on mnist) on each domain", chance=0.1);

# %% [markdown]
# The lesson depends on this gap, so the notebook checks it (margins measured over seeds 0-4):

# %%
drop = accuracy["mnist"] - accuracy["mnist_m"]
print(f"mnist -> mnist_m costs {100 * drop:.0f} points; mnist -> digits costs "
      f"{100 * (accuracy['mnist'] - accuracy['digits']):.0f} points")
assert accuracy["mnist"] > 0.93, "the source model should be good on its own domain"
assert drop > 0.35, "mnist_m should be far harder for the source model"
assert accuracy["mnist_m"] < accuracy["digits"] < accuracy["mnist"]

# %% [markdown]
# ### What to notice
#
# - The model is good on the domain it learned from and much worse elsewhere, although the
#   **task** (which digit is it?) never changed. Only the **domain** did.
# - The closer domain (`digits`, same grey ink on a plain background) costs fewer points than the far
#   one (`mnist_m`, the very same digits on photos).
# - Nothing here is specific to digits: a model trained on studio photos and used on phone photos, or on
#   one hospital's scanner and used on another's, meets the same gap.

# %% [markdown]
# ## Exercise
#
# Which digit does the source model get right least often on `mnist_m`? Compare its predictions
# (`source.predict(x)`, arg-max over the classes) with the labels, one class at a time, and set
# `worst_digit`.

# %%
from course_lib.exercises import welcome as exercises

x_target, y_target = data.load_domain("mnist_m", "test", channels=1)
worst_digit = None  # your answer: a digit 0-9
exercises.check_worst_digit(worst_digit, source, x_target, y_target);

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution: accuracy per class, then the class with the lowest.
import numpy as np

predicted = source.predict(x_target, verbose=0).argmax(axis=1)
per_class = [np.mean(predicted[y_target == c] == c) for c in range(10)]
worst_digit = int(np.argmin(per_class))
assert exercises.check_worst_digit(worst_digit, source, x_target, y_target)

# %% [markdown]
# **Next:** [01 · feature extraction](01_feature_extraction.ipynb): reuse the source model's features,
# and adapt them to `mnist_m` without a single target label.
