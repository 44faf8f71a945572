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
# # 07 · 迁移何时有益，何时有害
# [English](../07_when_transfer_helps.ipynb) · 中文
#
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/transfer-learning-hands-on/course/HEAD?urlpath=lab/tree/chapters/zh/07_when_transfer_helps.ipynb) [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/zh/07_when_transfer_helps.ipynb)
#
# **预备知识：** 第 01 章（冻结的特征提取器加一个新的分类头）和第 02 章（微调整个模型或其中的部分层）；Python，以及一点 NumPy。
#
# **本章你将学会**
# - 衡量一个预训练的源模型是否值得使用：随着目标域标签数量的增加，与在相同标签上从头训练的同一个网络作比较。
# - 识别**负迁移**（negative transfer），以及一种在任何训练之前就能发出警告的检查。
# - 在验证集上看出**过拟合**（overfitting），在验证集上做出每一个选择，并且只测试一次。
# - 在含有**稀有类别**的目标域上训练（过采样、类别权重），以及在类别**少于**源域的目标域上训练。
# - 网络的哪些层是**通用的**、哪些是**特定的**（Yosinski et al. 2014），以及他们的 AnB / BnB 实验如何把两者区分开。
# - 迁移在**语言和语音**中是什么样子，以及源文所说的**开放问题**指的是什么。
#
# **运行时间：** 下面的环境检查会打印课程基准测试在单个 CPU、缓存已预热的条件下为本 notebook 测得的时间。

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

course_lib.setup(language="zh")
course_lib.check_env("07_when_transfer_helps")

# %% [markdown]
# 源文在结尾（其第 5 节）列出了迁移学习仍然面临的挑战：「如过拟合问题、数据不匹配问题、样本不均衡问题、目标域数据的稀疏性问题、标签一致性问题等」，即**过拟合**、**数据不匹配**、**样本不均衡**、**目标域数据的稀疏性**和**标签一致性**。本章把其中每一项都变成一个由你亲手运行的实验：
#
# 1. **需要多少目标域数据？** 在一个离源域近的目标域和一个离源域远的目标域上，准确率随标签数量的变化（目标域数据的稀疏性）；
# 2. **负迁移**：一个比不用源模型还糟糕的源模型，以及一种能提前发出警告的检查（数据不匹配的最坏情形）；
# 3. 极小目标域上的**过拟合**：先在验证集上看出它，再用早停和数据增强应对；
# 4. 目标域中的**样本不均衡**：逐类准确率、过采样、类别权重；
# 5. **标签不一致**：目标域的类别少于源域；
# 6. 仿照 Yosinski et al. (2014) 的**层的可迁移性**：哪些层是通用的？
#
# 之后是两节没有实验的内容：**语言和语音**中的迁移，以及源文提到的**开放问题**。
#
# **本章如何测量。** 下面的每一次运行都只用一个随机种子（种子 0），现场运行。跨种子成立的结论来自本章的结果文件，由课程的实验注册表（experiment registry）在种子 0-4 上写出；本课的**论断**（claims）在其中每一个种子上都经过检验。不论标签有多少，每次训练都走固定步数的 Adam，因此最小的标签预算与最大的花费相同；也没有任何设置是在测试集上调出来的。这些设置取自代码：

# %%
from course_lib import results
from course_lib.chapters.ch07_when_transfer_helps import evidence, plots
from course_lib.chapters.ch07_when_transfer_helps import experiments as chapter

print(f"every training run: {chapter.STEPS} steps of {chapter.BATCH} images (Adam), "
      f"except section 3's: {chapter.OVERFITTING_STEPS} steps")
print("learning rates:", chapter.LEARNING_RATES)

# %% [markdown]
# ## 1. 需要多少目标域数据？（目标域数据的稀疏性）
#
# 灰度的源模型（在 `mnist` 上训练）在目标域每类 $n$ 张带标签的图像上微调，并与在同样 $n$ 张图像上 **从头训练**（from scratch）的同一个 CNN 作比较。起点有三种，与第 02 章相同：`scratch`（随机权重）、`head`（只训练源模型的分类头，其余冻结）和 `full`（所有层都训练，从源模型的权重出发）。目标域有两个：
#
# - **近**：`digits`，扫描的数字，和 MNIST 一样是黑底上的浅色笔画；
# - **远**：`mnist_m`，与彩色照片混合的 MNIST 数字（这里转为灰度，也就是源模型看到的样子）。
#
# 有多近？源模型原样在每个目标域测试集上的表现：

# %%
from course_lib.core.evaluation import evaluate_on_domains
from course_lib.core.pretrained import trained

source = trained(chapter.SOURCE)
evaluate_on_domains(source, domains=("mnist", *chapter.TARGETS.values())).round(3)

# %% [markdown]
# 现场运行：在近目标域上，以两个预算做从头训练和全量微调，一个是最小的预算，一个是第 2 节使用的预算（共四次运行，每次几秒）。实验注册表中的 `label_budget` 在更多预算下、在两个目标域上、对种子 0-4 运行了每一种策略：下图中的线和带是它的中位数和范围，空心标记是本次运行。

# %%
budget = chapter.label_budget(seed=0, targets=("digits",), budgets=(1, chapter.NEGATIVE_PER_CLASS),
                              strategies=("scratch", "full"), progress=True)
budget_report = results.load("label_budget")
plots.budget_curves(budget_report, live=budget);

# %% [markdown]
# 差距，即全量微调减去从头训练，以准确率的百分点计：先是本次运行，再是实验注册表在两个目标域上的中位数。

# %%
live_gap = chapter.budget_gaps(budget, "digits")
print("this run, near target:", "  ".join(f"{n} per class: {100 * g:+.1f}" for n, g in live_gap.items()))
for where, target in chapter.TARGETS.items():
    gaps = chapter.budget_gaps(budget_report, target)
    print(f"median over seeds, {where} target ({target}):",
          "  ".join(f"{n}: {100 * g:+.1f}" for n, g in gaps.items()))
evidence.summary("label_budget", arm=[]);
# Checked on seeds 0-7: one label per class gains far more than ten do.
assert live_gap[1] > live_gap[chapter.NEGATIVE_PER_CLASS] + 0.05

# %% [markdown]
# ### 值得注意的地方
#
# - 每类只有**一个**标签时，源模型的价值很大：微调的起点是已经能区分数字的特征；从头训练则必须从十张图像中学出这些特征。
# - 在**近**目标域上，从头训练很快就追了上来：每类十张图像时，一个小 CNN 靠自己就能把干净的扫描数字学得几乎一样好。
# - 在**远**目标域上，差距缩小得更慢：照片背景很难从少量图像中学会，而源模型的笔画检测器只要经过微调，就一直有帮助。冻结的特征（`head`）在那里随着标签增多而落后于从头训练：源模型学到的东西不足以应对照片。
# - 「迁移有益」是一个关于标签**预算**和域之间**距离**的陈述。
# - 本节没有任何东西是看着测试准确率选出来的：步数和学习率都是事先定好的。（每类只有一个标签时，也根本没有东西可以留出来做验证集。）

# %% [markdown]
# ## 练习 1：在每个种子上，从头训练从哪里开始追上？
#
# 中位数可能已经追上，而某个种子仍然远远落后。编写 `my_catch_up(gaps, tolerance)`。`gaps` 把一个预算（每类标签数）映射到**一个差距列表，每个种子一个**，即全量微调减去从头训练，以比例表示（$0.05$ 即五个百分点）；预算的顺序可以任意。返回**最小的那个预算：从它开始，每个种子在该预算以及每个更大的预算上的差距都至多为** `tolerance`，也就是说，从这一点起，不论哪个种子，从头训练都保持在迁移的 `tolerance` 之内。负的差距（从头训练领先）算作在范围之内。如果不存在这样的预算，返回 `None`。课程自带的 `catch_up` 不算数。
#
# 参考答案的链接在本章的最后一个单元格中。
#
# 检查会用它自己编造的曲线来测试你的函数，其中有一条曲线的中位数远在它最差的种子之前就追上了。`exercises.show_hint(1)` 会打印提示。你的函数通过之后，下一个单元格会把它逐个种子地应用于实验注册表的运行结果，两个目标域都有。

# %%
from course_lib.chapters.ch07_when_transfer_helps import exercises


def my_catch_up(gaps, tolerance):
    return None  # your code


exercises.check_worst_seed_catch_up(my_catch_up);

# %%
TOLERANCE = 0.02
for where, target in chapter.TARGETS.items():
    per_seed = {n: budget_report.gains("full", ["scratch"], domain=target, labels_per_class=n)
                for n in budget_report.distinct("labels_per_class", domain=target)}
    answer = my_catch_up(per_seed, TOLERANCE)
    print(f"{where} target ({target}), by your function: on every seed, scratch stays within "
          f"{100 * TOLERANCE:.0f} points of full fine-tuning from {answer} labels per class on" if answer is not None
          else f"{where} target ({target}), by your function: None (not within the budgets measured)")

# %% [markdown]
# ## 2. 负迁移（数据不匹配问题）
#
# 源模型之所以有帮助，是因为它学到的东西对目标域也成立。如果它学到的东西没有一样成立呢？课程的 CNN 按照源模型的方式训练，用的是同一批 `mnist` 图像中的一部分，但标签被**打乱**了（其配方打印在下面）：不论它学到了什么，都不是数字的样子。在 `digits` 上，使用第 1 节中较大预算的标签：
#
# - `scratch`：不用源模型（第 1 节恰好训练过这一次运行：相同的图像、种子和步数）；
# - 从 `shuffled` 源模型出发的 `new_head`：打乱标签的源模型的特征，冻结，再加一个新的分类头（第 01 章的做法）；
# - 从真正的 `source` 出发的 `new_head`：同样的做法，用在真正的源模型的特征上。
#
# 此外还有一个不需要训练的**警告检查**：在少数带标签的目标域图像上，对每个网络冻结的特征做一次**探针**（probe）。每张带标签的图像 $i$ 被判给这样一个类别：该类别的平均特征向量（在*其余*带标签图像上计算）离它最近：
#
# $$\hat y_i = \arg\min_c \big\lVert f(x_i) - \mu_c^{(-i)} \big\rVert, \qquad
#   \text{probe} = \frac{1}{n}\sum_i [\hat y_i = y_i].$$
#
# 它只用目标域已有的标签（不用测试图像），代价是网络的一次前向传递。用探针来比较候选的源模型：谁的特征能把带标签的目标域图像分得更开，谁就更值得押注。一个从未训练过的网络的探针（`random` 网络的 `probe`）作为参照。

# %%
print(chapter.SHUFFLED_SOURCE)
print(f"target: {chapter.NEGATIVE_TARGET}, {chapter.NEGATIVE_PER_CLASS} labelled images per class")
negative = chapter.negative_transfer(seed=0, transfers=[("new_head", "shuffled"), ("new_head", "source")],
                                     progress=True)
negative.insert(0, budget.get("scratch", domain=chapter.NEGATIVE_TARGET,   # section 1's run
                              labels_per_class=chapter.NEGATIVE_PER_CLASS))
for m in negative:
    print(f"{m.arm:9s} {m.fields.get('source', ''):9s} {m.metric:16s} {m.value:.3f}")

# %%
plots.negative_transfer_bars(negative, title="An unhelpful source (seed 0)");
evidence.summary("negative_transfer");
# Checked on seeds 0-7:
assert negative.value("new_head", source="shuffled") < negative.value("scratch")
assert negative.value("probe", "probe_accuracy", source="source") > \
    negative.value("probe", "probe_accuracy", source="shuffled")

# %% [markdown]
# ### 值得注意的地方
#
# - **负迁移**：在打乱标签的源模型的冻结特征上加一个新的分类头，结果*比完全不用源模型还差*。同样的做法用在真正的源模型的特征上则好得多，与从头训练持平或更高。
# - 从打乱标签的源模型出发微调*所有层*（实验注册表表格中从 `shuffled` 出发的 `full`），最终与从头训练持平：重新训练各层消除了损害。它的卷积滤波器仍然从错误的标签中学到了一些关于数字图像的东西；Maennel et al. (2020) 在用随机标签预训练的网络中也看到了同样的现象。
# - 探针在任何训练之前、在每个种子上都把两个源模型排对了：在重用候选源模型的冻结特征之前，先对它们做探针。不过，探针的值本身并不是结论：未经训练的网络的探针在不同种子之间变化很大（见上表），所以在一百张图像上，「比随机特征好」只是一个很弱的检验。
# - 现实中无益的源模型很少这么极端：它往往是一个来自另一个域或另一个任务的源模型，其特征与目标域契合得不好。
#
# 有两个已发表的分数，同样不需要训练、在同样的带标签图像上回答这个问题：
#
# - **LogME**（You et al. 2021）：冻结特征上一个贝叶斯线性模型的证据（evidence，即标签的概率，按每张图像计），它的两个精度参数用不动点迭代拟合；没有任何东西需要手工调节。
# - **LEEP**（Nguyen et al. 2020）读取源模型自己的分类头：记 $\theta(x)$ 为它在源类别 $z$ 上的输出，$P(y \mid z)$ 为分类头判为 $z$ 的图像中目标标签 $y$ 所占的经验比例，则 LEEP $= \frac1n \sum_i \log \sum_z P(y_i \mid z)\, \theta(x_i)_z$。一个对目标域一无所知的分类头得分为 $\log \frac{1}{10}$，即均匀分布的下限。
#
# 本节的每个网络，在实验注册表的种子上由这三个分数打分（`methods.transferability`）：

# %%
import numpy as np

scores = results.load("transferability_scores")
display(scores.table())
print(scores.claims_text())
print(f"the uniform floor of LEEP: log(1/10) = {np.log(1 / 10):.3f}")

# %% [markdown]
# - LogME 与探针一样，在每个种子上都把真正的源模型排在打乱标签的源模型之上，而且高出很多。与未训练的网络相比，两者都不能下结论：请逐个种子地读表中各自的两行。
# - LEEP 在每个种子上都把打乱标签的源模型放在均匀下限上：它的分类头的类别对目标域的类别毫无信息。这就是警告：不论它的特征里有什么，这个源模型是用毫无意义的标签训练出来的。

# %% [markdown]
# ## 3. 极小目标域上的过拟合（过拟合问题）
#
# 每类只有寥寥几张带标签的图像时，网络很快就能把每一张训练图像都判对，而它在没见过的图像上的准确率却不再上升：它拟合的是这些图像，而不是数字。要*看到*这一点，以及要选择任何东西（何时停止、是否做增强），就要把一部分带标签的图像留出来作为**验证集**（validation split）：这种设定下真正拥有的带标签数据，被分成用来训练的图像和用来做选择的图像。测试集只在最后对选定的模型使用一次。
#
# 两种标准的补救办法：
#
# - **早停**（early stopping）：当验证损失连续几个 epoch 没有改善时停止，并回到最佳 epoch 的权重：epoch 数是在验证集上选出来的；
# - **数据增强**（data augmentation）：随机的小幅旋转、平移和缩放，作为 Keras 预处理层放在模型前面，让模型在每一步都看到一张略有不同的图像。它们只在训练时起作用；验证和测试看到的是真实的图像。
#
# 现场运行：用四种方式从头训练 CNN（不加补救、早停、增强、两者都用）；被选中的是验证准确率最高的那一种。

# %%
train_o, val_o, test_o = chapter.overfitting_data(seed=0)
print(f"labelled digits: {len(train_o[1])} to train on, {len(val_o[1])} to validate with "
      f"(one validation image is {100 / len(val_o[1]):.0f} points); {len(test_o[1])} test images, used once")
runs = {}
overfit = chapter.overfitting(seed=0, runs=runs, progress=True)
plots.overfitting_curves(runs);

# %%
for arm, run in runs.items():
    went_back = f", went back to epoch {run.best_epoch + 1}" if run.best_epoch is not None else ""
    print(f"{arm:25s} {run.steps} steps{went_back}: training accuracy {overfit.value(arm, 'train_accuracy'):.3f}, "
          f"validation {run.validation:.3f}")
chosen = chapter.choose(runs)
print(f"\nchosen on validation: {chosen}; its test accuracy, measured once: {overfit.value('chosen'):.3f}")
# Checked on seeds 0-7: with no remedy, every training image right and the validation split below.
assert overfit.value("plain", "train_accuracy") == 1.0 and runs["plain"].validation < 1.0

# %% [markdown]
# 跨种子的结果，来自实验注册表：每个实验组（arm）的测试准确率、它训练的步数，以及 `chosen`，即每个种子的验证集所选实验组的测试准确率。

# %%
evidence.summary("overfitting", metric=["target_accuracy", "steps"]);

# %% [markdown]
# ### 值得注意的地方
#
# - 训练准确率在一两个 epoch 内就达到 $1$，而验证准确率始终低于它：这个差距就是过拟合。
# - 增强让训练准确率在更长的时间内保持在 $1$ 以下（任务变难了）。它在新图像上是否胜出，要由验证集逐个种子地回答：比较上面各实验组的范围。
# - 早停在验证集上选出了 epoch 数。这里的验证损失在最初几个 epoch 之后几乎不动，所以早停对准确率影响很小，主要是省下了步数。
# - 验证图像这么少时，一张图像就值上面打印的那么多个百分点：在它们上面做的选择带有噪声。这是小目标域的代价，而不是在测试集上做选择的理由。
# - 增强必须与数据相符：平移和旋转会用黑色填充角落，这对 `digits`（黑色背景）是对的，对照片则是错的。
#
# **在纯 Keras 中**，同样的两种补救办法，这里用在本节的数字上（一个新的 CNN，epoch 数和步数见代码）；在它们旁边，课程的 `target_data.augmenter` 和 `early_stopping` 包含同样的层和同样的回调设置：

# %%
import keras
import numpy as np
import tensorflow as tf

from course_lib.core.cnn import build_cnn
from course_lib.methods import target_data

(x_train, y_train), (x_val, y_val), (x_test, y_test) = train_o, val_o, test_o
model = build_cnn(seed=0)

augment = keras.Sequential([
    keras.layers.RandomRotation(0.05, fill_mode="constant"),          # up to 18 degrees
    keras.layers.RandomTranslation(0.1, 0.1, fill_mode="constant"),   # up to 10 % of the side
    keras.layers.RandomZoom(0.1, fill_mode="constant"),
])
inputs = keras.Input((28, 28, 1))
trainee = keras.Model(inputs, model(augment(inputs)))   # trains `model`; test `model` itself
trainee.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
batches = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(len(y_train)).repeat().batch(32)
trainee.fit(batches, steps_per_epoch=25, epochs=30, shuffle=False,  # the dataset shuffles; 25 steps an epoch
            validation_data=(x_val, y_val), callbacks=[stop], verbose=0)
print(f"went back to epoch {stop.best_epoch + 1}; test loss and accuracy, once:",   # trainee, as `model` is
      np.round(trainee.evaluate(x_test, y_test, verbose=0), 3))   # not compiled; no augmentation in testing


def settings(layer):
    return {k: v for k, v in layer.get_config().items() if k not in ("name", "seed")}


same_layers = [(type(a), settings(a)) for a in augment.layers] == \
              [(type(b), settings(b)) for b in target_data.augmenter().layers]
course_stop = target_data.early_stopping()
same_stop = (stop.monitor, stop.patience, stop.restore_best_weights) == \
            (course_stop.monitor, course_stop.patience, course_stop.restore_best_weights)
print(f"the same augmentation layers as course_lib's augmenter: {same_layers}; "
      f"the same early stopping: {same_stop}")
assert same_layers and same_stop

# %% [markdown]
# ## 4. 目标域中的样本不均衡（样本不均衡问题）
#
# 一个 `digits` 目标域：0-4 每个数字都有很多带标签的图像，而 5-9 每个数字只有少数几张（数量打印在柱状图下方）。在源模型的冻结特征上加一个新的分类头（第 01 章的做法），用三种方式训练：
#
# - `as_sampled`：用带标签的图像原样训练；
# - `oversampled`：重复稀有类别（有放回地抽取），直到每个类别都和最常见的类别一样多；
# - `class_weighted`：用图像原样训练，但每张图像的损失乘以它所属类别的权重 $w_c = \frac{n}{K\, n_c}$（$n$ 张图像，$K$ 个类别，类别 $c$ 有 $n_c$ 张）：这样每个类别承载相同的总权重。
#
# **平衡准确率**（balanced accuracy），即十个逐类准确率的平均，对每个类别一视同仁；测试集是平衡的，所以这里它与普通准确率很接近。

# %%
imbalance = chapter.class_imbalance(seed=0, progress=True)
per_class = {scheme: [imbalance.value(scheme, "class_accuracy", digit=c) for c in range(10)]
             for scheme in chapter.SCHEMES}
plots.per_class_bars(per_class, counts=[chapter.IMBALANCE_COUNTS[c] for c in range(10)]);
for scheme in chapter.SCHEMES:
    print(f"{scheme:15s} common digits {imbalance.value(scheme, classes='common'):.3f}   "
          f"rare digits {imbalance.value(scheme, classes='rare'):.3f}   "
          f"balanced accuracy {imbalance.value(scheme, classes='all'):.3f}")

# %%
evidence.summary("class_imbalance", metric="mean_class_accuracy");
# Checked on seeds 0-7: both remedies raise the rare digits.
rare = {scheme: imbalance.value(scheme, classes="rare") for scheme in chapter.SCHEMES}
assert min(rare["oversampled"], rare["class_weighted"]) > rare["as_sampled"]

# %% [markdown]
# ### 值得注意的地方
#
# - 总体准确率掩盖了问题：常见数字几乎总是判对，稀有数字判对的次数则少得多，因为分类头学到了「拿不准的时候，多半是 0-4」。
# - 过采样和类别权重分别在数据里和在损失里移动了这个先验：稀有数字大幅提高，常见数字只付出一点代价。这样的权衡是否合适，取决于每种错误的代价；逐类准确率把它摆在眼前。
# - 这里没有做任何选择：这个比较是一项跨种子的研究。在实际项目中，你会在验证集上选择补救办法，而当稀有类别只有几张图像时，这个验证集很小：这本身也是不均衡问题的一部分。
#
# **在纯 Keras 中**，类别权重是 `fit` 的一个参数（课程把同样的权重作为一个损失传入，即 `target_data.ClassWeightedLoss`，因为课程的 `fit` 接受由批次组成的数据集）。这里用在本节带标签图像的源模型特征上的一个新分类头上，旁边是课程的损失在相同步数上的结果：

# %%
from course_lib.core.data import load_domain
from course_lib.core.evaluation import layer_output
from course_lib.core.training import fit
from course_lib.methods.feature_extraction import build_head

x_imbalanced, y = target_data.imbalanced_subset(*load_domain("digits", "train"), chapter.IMBALANCE_COUNTS)
x = layer_output(source, "features_relu", x_imbalanced)     # (n, 128) features, the head's inputs
weights = target_data.class_weights(y)                       # exercise 2 computes a variant

model = build_head(128, 10, seed=0)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
model.fit(x, y, epochs=20, batch_size=len(y), shuffle=False, class_weight=weights, verbose=0)

course_head = build_head(128, 10, seed=0)
fit(course_head, tf.data.Dataset.from_tensors((x, y)).repeat(20), epochs=1,
    loss=target_data.ClassWeightedLoss(weights, 10))
largest = max(float(np.abs(a - b).max()) for a, b in zip(model.get_weights(), course_head.get_weights()))
print(f"class_weight vs course_lib's ClassWeightedLoss, 20 steps: head weights differ by at most {largest:.1e}")
assert largest < 1e-3

# %% [markdown]
# ## 练习 2：基于有效样本数的类别权重
#
# 上面的权重 $w_c = \frac{n}{K\, n_c}$ 认为一个常见类别的最后一张图像和第一张一样有价值；但同一类别的图像彼此会有重叠。Cui et al. (2019) 用**有效样本数**（effective number of samples）$E_c = \frac{1 - \beta^{n_c}}{1 - \beta}$ 来计数一个类别（$\beta \to 1$ 时 $E_c = n_c$，$\beta = 0$ 时为 $1$），并以 $1/E_c$ 加权，再缩放，使出现的 $K$ 个类别的权重之和为 $K$。编写 `my_class_weights(y, beta=0.99)`，为标签 `y` 中出现的每个类别返回一个字典 `{class: weight}`。课程的 `class_weights` 不算数。检查会用它自己构造的标签集和 beta 来测试你的函数；`exercises.show_hint(2)` 会打印提示。然后看看你的函数为第 4 节的标签算出的权重。

# %%
import numpy as np


def my_class_weights(y, beta=0.99):
    return None  # your code


exercises.check_effective_weights(my_class_weights);

# %%
counts = np.array([chapter.IMBALANCE_COUNTS[c] for c in range(10)])
print("your weights for section 4's labels:", my_class_weights(np.repeat(np.arange(10), counts)))

# %% [markdown]
# ## 5. 标签不一致：目标域的类别少于源域（标签一致性问题）
#
# 目标域只有数字 0-4（**部分迁移**，partial transfer：它的标签集是源域标签集的子集）。源模型的分类头仍有十个输出，所以它可能对一张不可能是 7 的图像回答「7」。把它的 arg-max 限制在目标域的类别上，不花任何代价：$\hat y = \arg\max_{c \in \mathcal{Y}_T} p(c \mid x)$。

# %%
mismatch = chapter.label_mismatch(seed=0)
print(f"{mismatch.value('ten_way', 'outside_share'):.1%} of the digits test images of 0-4 are predicted as 5-9")
print(f"accuracy, ten-way arg-max {mismatch.value('ten_way'):.3f}; "
      f"restricted to 0-4 {mismatch.value('restricted'):.3f}")
evidence.summary("label_mismatch");

# %% [markdown]
# ### 值得注意的地方
#
# - 在较大标签集上训练的分类头，会把概率分给不可能出现的类别；每一个这样的预测都是错误。把 arg-max 限制在目标域的类别上，就能白白修正这些错误。
# - 反方向的不匹配（目标域有源模型从未见过的类别）需要一个新的分类头，如第 01 章和第 02 章：源模型的特征也许能迁移，它的分类头却不能。
# - 部分域适配（partial domain adaptation）方法（例如 Cao et al. 2018）更进一步：在适配的同时，它们还降低目标域所没有的源类别的权重，使这些类别不会把目标域的特征拉向自己。当目标域有源域没有的类别，*并且*这些类别没有标签时，问题就成了开放集适配（open-set adaptation）。

# %% [markdown]
# ## 6. 层的可迁移性（Yosinski et al. 2014）
#
# 哪些层是**通用的**（对其他任务有用），哪些层**特定于**它们所学的任务？Yosinski et al. 把 ImageNet 的类别分成 A、B 两半，在每一半上各训练一个网络（base A、base B），然后为 B 构建新的网络，其前 $k$ 层是复制来的：
#
# - **AnB**：base A 的前 $k$ 层，**冻结**；它们上面的层从随机权重开始，在 B 上训练；
# - **AnB+**：同上，但复制来的层与其余部分一起**微调**；
# - **BnB**，即对照组：base B 自己的前 $k$ 层，冻结，其余是新的。如果 BnB 低于 base B，说明切分切断了只能协同工作的层（**协同适应**，co-adaptation）；如果 AnB 比 BnB 下降得更多，说明 A 的层是**特定于** A 的。

# %%
plots.transplant_diagram(k=2);

# %% [markdown]
# 在这里：任务 A 是 `mnist` 的数字 0-4，任务 B 是数字 5-9，每类只有少量标签。A 网络用的是本章自己的配方，训练一次后缓存（打印在下面）；base B 是在 B 的标签上从头训练的网络，因此 BnB 从它复制。$k = 0$ 什么也不复制（即从头训练）；$k = 3$ 复制分类头以下的全部。为了节省时间，现场只训练四个网络：从头训练、$k = 2$ 和 $3$ 的 AnB、$k = 3$ 的 AnB+。实验注册表在种子 0-4 上运行了 AnB、AnB+ 和 BnB 的每一个 $k$：BnB 对照只来自它的结果文件，因为更多的现场运行会超出本 notebook 的时间。

# %%
print("task A network:", chapter.TASK_A_SOURCE)
print(f"task B: digits {chapter.TASK_B}, {chapter.TASK_B_PER_CLASS} labelled images per class")
layers_live = chapter.layer_transferability(seed=0, frozen_ks=(2, 3), fine_tuned_ks=(3,), bnb_ks=(),
                                            progress=True)
transfer_report = results.load("layer_transferability")
plots.transfer_curves(transfer_report, live=layers_live);

# %%
for m in layers_live:
    print(f"{m.arm:10s} k = {m.fields.get('blocks', 0)}  {m.value:.3f}")
evidence.summary("layer_transferability", arm=[]);
frozen = {k: layers_live.value("frozen", blocks=k) for k in (2, 3)}
# Checked on seeds 0-7: freezing the feature layer too costs far more than freezing blocks 1-2.
assert frozen[3] < frozen[2] - 0.05 and layers_live.value("fine-tuned", blocks=3) > frozen[3] + 0.05

# %% [markdown]
# ### 值得注意的地方，以及与 Yosinski et al. 的比较
#
# - **低层是通用的，与论文一致。** 在数字 0-4 上学到的前两个块，冻结后用于数字 5-9，效果与在 5-9 本身上学到的块差不多：边缘和笔画并不特定于某个数字。
# - **顶层是特定的，与论文一致。** 把特征层也冻结，代价要大得多：它的单元被塑造成用来区分 0-4，在它上面加一个新的分类头，无法同样好地区分 5-9。
# - **BnB 对照说明了原因。** B 自己的三个块冻结后损失很小：AnB 在 $k = 3$ 处的下降来自 A 的特定性，而不是层被分开后就不再起作用。Yosinski et al. 在一个八层网络的中部看到协同适应损害了 BnB；只有三个块时，几乎没有「中部」可切。
# - **与论文不同：这里的微调没有带来持久的提升。** Yosinski et al. 发现 AnB+ 在每个 $k$ 上都*高于* base B。这里 AnB+ 最终与从头训练大致持平：任务 B 很简单，网络很小，而且它只在少量标签上训练几秒钟，而不是在半个 ImageNet 上训练几天。
#
# **在纯 Keras 中**，在两个架构相同的模型之间复制层，就是按名称调用 `set_weights`；冻结则是 `trainable = False`（然后编译，使这些标志生效）。这里是从任务 A 网络得到的 $k = 2$ 的 AnB，旁边是课程的 `transferability.transplant(base, 2, ...)`：

# %%
from course_lib.methods import transferability

old_model = trained(chapter.TASK_A_SOURCE)
new_model = build_cnn(n_classes=len(chapter.TASK_B), seed=0)
for name in ["block1_conv", "block1_bn", "block2_conv", "block2_bn"]:   # whatever layers you copy
    new_model.get_layer(name).set_weights(old_model.get_layer(name).get_weights())
    new_model.get_layer(name).trainable = False     # AnB; leave True for AnB+
new_model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])

course_model = transferability.transplant(old_model, 2, n_classes=len(chapter.TASK_B), seed=0)
same_weights = all(np.array_equal(a, b) for a, b in zip(new_model.get_weights(), course_model.get_weights()))
same_flags = [layer.trainable for layer in new_model.layers] == [layer.trainable for layer in course_model.layers]
print(f"the same weights as course_lib's transplant: {same_weights}; the same frozen layers: {same_flags}")
assert same_weights and same_flags

# %% [markdown]
# ## 练习 3：手工移植任意的块
#
# 第 6 节复制的是**前** `k` 个块。Yosinski et al. 还问：一个块离开了与它一起学习的那些块，单独有多大价值？编写 `my_transplant(base, blocks, n_classes)`：返回一个**新的**课程 CNN（`build_cnn(n_classes=n_classes)`），其中位于所列 `blocks`（`block1`、`block2`、`features` 中的任意几个，例如单独的 `("block2",)`）中的带权重的层，是 `base` 中对应层的冻结副本，而其他每一层都重新开始并参与训练，分类头的宽度等于任务 B 的类别数。课程的 `transplant` 和 `copied_layers` 不算数。检查会用它自己构建的一个任务 A 网络，以及两组 `blocks` 和 `n_classes` 来调用你的函数；`exercises.show_hint(3)` 会打印提示。

# %%
from course_lib.core.cnn import BLOCKS, build_cnn

print("the course CNN's blocks:", BLOCKS)


def my_transplant(base, blocks, n_classes):
    return None  # your code


exercises.check_transplant(my_transplant);

# %% [markdown]
# ## 7. 图像之外：语言和语音中的迁移
#
# 源文说迁移学习被用于计算机视觉、自然语言处理和语音识别（「迁移学习（transfer learning）是计算机视觉、自然语言处理、语音识别等领域的一个重要研究方向」），还说它「可以轻松解决很多实际问题，比如图片分类、文本分类等」。这些它一样也没有展示。标准的做法是这样的：
#
# - **语言：先预训练一个语言模型，再微调。** 词向量（word2vec，Mikolov et al. 2013）只迁移了第一层。ELMo（Peters et al. 2018）把整个预训练语言模型的表示作为特征传给任务的模型；ULMFiT（Howard & Ruder 2018，第 03 章用到的分层学习率和逐层解冻就出自它）则微调了整个语言模型。BERT（Devlin et al. 2019）和 GPT（Radford et al. 2018）让这成为默认做法：一个在大型文本语料上预训练、用来预测被隐藏的词或下一个词的 Transformer，再加一个新的分类头，在任务的带标签样本上微调：这就是本课程的配方，只是换了一个骨干网络。多语言模型（XLM-R，Conneau et al. 2020）甚至能把在一种语言中学到的任务迁移到另一种语言。
# - **语音：在无标签音频上做自监督预训练。** wav2vec 2.0（Baevski et al. 2020）和 HuBERT（Hsu et al. 2021）从没有转写文本的原始语音中学习；wav2vec 2.0 加一个小的分类头微调后，仅凭十分钟的转写音频就能识别语音。Whisper（Radford et al. 2022）在一个非常大的弱转写音频集上训练，可以直接使用，也可以针对新的语言、口音或领域进行微调。
# - **适配器和其他参数高效微调方法。** 当一个模型有数亿个权重时，为每个任务微调全部权重，训练和存储的成本都很高。**适配器**（adapter，Houlsby et al. 2019）在冻结的网络中插入小的可训练层；**LoRA**（Hu et al. 2021）学习冻结权重矩阵的一个低秩改变 $W + BA$；提示调优和前缀调优（prompt tuning、prefix tuning；Lester et al. 2021；Li & Liang 2021）只学习少数几个输入向量。每一种都是第 02 章「冻结什么、训练什么」这一选择在大规模上的体现。
#
# 决定它是否有帮助的，是与本章相同的问题：有多少目标域标签，目标域的文本或音频离预训练数据有多远，以及训练哪些层。[第 09 章 · 参数高效微调](09_parameter_efficient.ipynb)（[在 Colab 上打开](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/zh/09_parameter_efficient.ipynb)）在本课程的源模型和目标域上运行 BitFit、适配器和 LoRA（通过 Keras 自己的 `layer.enable_lora`），在五个种子上测量每种方法训练的权重占多大比例、在准确率上付出多少代价，并展示 `enable_lora` 冻结了什么、保存时合并了什么。它的第 8 节把这些用在语言上：一个在真实推文（随一个软件包一起提供）上预训练的小 Transformer，用少量标签微调，并在注意力投影上使用 LoRA。课程没有找到可以离线安装的软件包中附带的语音录音，所以语音在这里只作描述。

# %% [markdown]
# ## 8. 源文提到的开放问题
#
# 在讲完三类方法之后，源文列出了一些「目前仍然有待解决的研究问题」：「如跨模态注意力机制（cross-modal attention mechanism）、深层网络（deep networks）、多样性（diversity）、隐式学习（implicitly learned transfer）、注意力池化（attention pooling）等」。它没有说明其中任何一个是什么意思。说得客气些，其中多数是已经成熟的技术，而不是开放问题；下面是每一个通常的含义，以及它与迁移的交汇之处。
#
# - **跨模态注意力**：查询（query）来自一种模态，键（key）和值（value）来自另一种模态，例如文本词元关注图像区域（ViLBERT，Lu et al. 2019），或语音解码器关注音频编码器（Whisper）。它是*连接*预训练单模态模型的标准方式：Flamingo（Alayrac et al. 2022）把一个预训练的视觉编码器和一个预训练的语言模型保持冻结，只训练它们之间的新层，其中就有交叉注意力层。第 04 章的融合层是它的一个简单的近亲。仍然困难的是在配对样本很少时对齐不同的模态。
# - **深层网络**不是一个有待解决的问题，而是所有现代迁移的前提。真正的问题是第 6 节的那些（哪些层是通用的、复制多少层、微调哪些层），以及更好的源模型是否迁移得更好（对 ImageNet 模型来说大体如此，但有例外：Kornblith et al. 2019）。
# - **多样性**在文中没有定义。它有两种成熟的含义：*多样的预训练集*（涵盖许多域、类别和风格）往往能给出迁移得更远的特征；而在没有标签的适配中，*多样性项*防止模型对所有输入都预测同一个类别（第 05 章的信息最大化目标就含有这样一项）。
# - **隐式学习的迁移**不是一个标准术语。最接近的成熟思想是元学习（meta-learning，例如 MAML，Finn et al. 2017），它学习一个能在几步之内适应新任务的初始化；以及那些学习迁移哪些层、迁移多少，而不是由人来选择的方法（例如 Jang et al. 2019）。
# - **注意力池化**用一个学习得到的、按注意力加权的平均，取代对位置（或对一组实例）的平均，例如基于注意力的多示例池化（Ilse et al. 2018），或 CLIP 图像编码器中的注意力池化（Radford et al. 2021）。它是一个可以加进冻结特征上的新分类头里的层，而不是开放问题。
#
# 真正开放的问题更接近本章：在训练*之前*预测一个源模型是否有帮助（第 2 节的探针是一个粗糙的版本；Wang et al. 2019 系统地研究了负迁移），在标签集以未知的方式不同时进行适配（第 5 节），以及在目标域标签极少时进行迁移而不过拟合（第 3 节）。

# %% [markdown]
# ## 要点
#
# - 目标域标签**稀缺**时，迁移的帮助最大；随着标签增多，从头训练会追上来，在近的目标域上很快，在远的目标域上很慢。要在相同的标签上与从头训练作比较。
# - 源模型可能让结果**更差**（负迁移）。在带标签的目标域图像上，对候选模型的冻结特征做探针或 LogME，可以在任何训练之前给它们排序（上面真正的源模型在每个种子上都排在打乱标签的源模型之上）；LEEP 读取源模型自己的分类头，在每个种子上都发出了警告：打乱标签的源模型落在它的均匀下限上。
# - 在目标域已有标签中划出的**验证集**上做出每一个选择（epoch 数、增强、补救办法）；只测试一次。
# - 有**稀有类别**时，要看逐类准确率；过采样和类别权重把模型的先验移向它们。类别多于目标域的源分类头应当加以**限制**。
# - **低层通用，顶层特定**：如果必须冻结，就冻结低层；微调或替换顶层。BnB 对照把特定性与协同适应区分开来。
#
# ## 复习题
#
# 1. 第 1 节的远目标域：为什么随着标签增多，`head` 策略落后于从头训练，而 `full` 微调却没有？
# 2. 在第 2 节中，探针没有训练任何东西，就把打乱标签的源模型排在了真正的源模型之下。你会拿一个新源模型的探针与什么比较？为什么要与一个未训练的网络比较？
# 3. 为什么 epoch 数必须在验证集上选择，而不能在测试集上选择？对一个每类只有寥寥几个标签的目标域来说，这样做的代价是什么？
# 4. 类别权重和过采样都让每个类别得到相同的总权重。它们在一个训练批次所包含的内容上有什么不同？
# 5. AnB 在 $k = 3$ 处下降，BnB 在 $k = 3$ 处没有。这告诉了你哪些单看 AnB 无法知道的东西？

# %% [markdown] tags=["sync:next"]
# 参考答案单独存放，这样“全部运行”时不会显示它们：`chapters/zh/solutions/07_when_transfer_helps.ipynb`（[在 GitHub 上](https://github.com/transfer-learning-hands-on/course/blob/main/chapters/zh/solutions/07_when_transfer_helps.ipynb)，[在 Colab 中](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/zh/solutions/07_when_transfer_helps.ipynb)）。
#
# **下一章**：[08 · 你自己的图像](08_your_own_images.ipynb)（[在 Colab 中](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/zh/08_your_own_images.ipynb)）：在一个照片文件夹上使用 ImageNet 预训练骨干网络，从文件夹一直到导出的模型。
# 双语术语表：[GLOSSARY.md](../GLOSSARY.md)（[在 GitHub 上](https://github.com/transfer-learning-hands-on/course/blob/main/chapters/GLOSSARY.md)）。
