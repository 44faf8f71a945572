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
# # 02 · 任务微调：解冻什么，代价是什么
# [English](../02_task_fine_tuning.ipynb) · 中文
#
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/transfer-learning-hands-on/course/HEAD?urlpath=lab/tree/chapters/zh/02_task_fine_tuning.ipynb) [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/zh/02_task_fine_tuning.ipynb)
#
# **预备知识：** [00 · 欢迎](00_welcome.ipynb)（[Colab](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/zh/00_welcome.ipynb)）：三个域和源模型；[01 · 特征提取](01_feature_extraction.ipynb)（[Colab](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/zh/01_feature_extraction.ipynb)）：冻结的特征提取器加一个新的分类头。Keras 的 `compile` 和 `fit`。
#
# **运行时间：** 下面的环境检查会打印课程基准测试为本 notebook 测得的数据；本 notebook 的设计是：缓存预热后，在单个 CPU 上 90<!-- fact: syllabus:BUDGET_SECONDS --> s 内运行完。它现场训练少数几个小模型（一个随机种子）；所有在多个种子上的比较都从课程的结果文件中读取，这些文件由 `python -m course_lib.experiments NAME --seeds 0 1 2 3 4 --save` 写出。
#
# **本章你将学会**
# 1. 用纯 Keras 和 `course_lib` 冻结与解冻层，并数出哪些参数参与训练；
# 2. 比较三种微调策略（分类头、顶部几个块、整个模型）与从头训练，并在**验证集**上选择学习率和训练时长；
# 3. 读懂源文中关于微调的公式，并加以纠正；
# 4. 度量微调需要多少标签，以及**遗忘**（forgetting）：它让源任务付出了什么代价；
# 5. 在**层冻结控件**中探索上述一切。
#
# 中英对照术语：[GLOSSARY.md](../GLOSSARY.md)（[GitHub 上的版本](https://github.com/transfer-learning-hands-on/course/blob/main/chapters/GLOSSARY.md)）。

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
course_lib.check_env("02_task_fine_tuning")

# %% [markdown]
# ## 本章如何引用源文
#
# 源文分为五个编号的部分。第 2 部分和第 3 部分各有子部分（1）特征提取、（2）任务微调、（3）迁移网络，而第 3 部分的子部分下面还有自己的子部分：（2.1）微调整个模型、（2.2）微调卷积层、（2.3）微调全连接层。我们用 **§3.2.1** 表示第 3 部分的子部分（2.1），用 **§2.2** 表示第 2 部分的子部分（2）。本章讲授 §2.2（思路）和 §3.2（方法及其公式）。（第 2 部分开头还有一个编号列表，其中第 3、4 项是「源域适应」和「目标域自我学习」；它们属于第 05 章，不要与 §2.3，即第 04 章的迁移网络相混淆。）

# %% [markdown]
# ## 1 · 任务：用少量标签从 MNIST 迁移到 MNIST-M
#
# 源模型（第 00 章）在 MNIST 上学会了识别数字。目标是 `mnist_m`，即照片背景上的同样的数字（转为灰度，以便源模型能读取），而每个数字只有少量**有标签**的目标图像。其中一部分用于训练；其余的构成 **验证集**，本章中的每一个选择（学习率、训练多久、冻结什么）都在验证集上做出。`mnist_m` 的测试图像一直封存到最后，届时只用一次，给出最终的数字；`mnist` 的测试图像则告诉我们源任务还保留了多少。

# %%
from course_lib.chapters.ch02_task_fine_tuning import experiments as chapter
from course_lib.chapters.ch02_task_fine_tuning import plots as chapter_plots
from course_lib.chapters.ch02_task_fine_tuning.task import load_task
from course_lib.core.evaluation import accuracy
from course_lib.core.pretrained import source_model

source = source_model()
task = load_task(seed=0)
for name in ("train", "validation", "test", "source_test"):
    x, y = task[name]
    print(f"{name:11s} {len(y):5d} images, {len(y) // 10:3d} per digit")
print(f"the source model as-is: mnist_m validation accuracy {accuracy(source, *task['validation']):.3f}")

# %% [markdown]
# ## 2 · 冻结层
#
# **微调**（fine-tuning）是在目标上继续训练一个预训练模型。**冻结**（freezing）的层（`layer.trainable = False`）保持其权重不变；优化器只更新可训练的权重。把权重分为 $\theta = (\theta_{\text{frozen}}, \theta_{\text{train}})$，微调求解的是
#
# $$\min_{\theta_{\text{train}}} \; \frac{1}{n}\sum_{i=1}^{n} \ell\big(f(x_i; \theta_{\text{frozen}}, \theta_{\text{train}}), y_i\big),
# \qquad \text{starting from } \theta_{\text{train}} = \theta_{\text{source}}.$$
#
# 在纯 Keras 3 中，常用的做法（先在冻结的基础网络上训练一个新的分类头，再解冻基础网络）就是下一个单元格，这里在本章的训练图像上每个阶段运行一个 epoch。在它旁边，课程的 `fine_tuning.build` 构建同样的两个模型，并由这个单元格比较哪些参数参与训练：

# %%
import keras
import numpy as np

from course_lib.core import layers
from course_lib.methods import fine_tuning as ft

(x_train, y_train), (x_val, y_val) = task["train"], task["validation"]
pretrained = keras.models.clone_model(source)   # a trained classifier of our own to change
pretrained.set_weights(source.get_weights())   # (from a file: keras.models.load_model("source.keras"))
base = keras.Model(pretrained.input, pretrained.get_layer("dropout").output)   # all but its head

base.trainable = False                         # 1. freeze: layer.trainable = False, for every layer
inputs = keras.Input((28, 28, 1))
outputs = keras.layers.Dense(10, activation="softmax")(base(inputs))
plain = keras.Model(inputs, outputs)
plain.compile(optimizer=keras.optimizers.Adam(1e-3),   # 3. compile AFTER changing trainable flags
              loss="sparse_categorical_crossentropy", metrics=["accuracy"])
plain.fit(x_train, y_train, epochs=1, validation_data=(x_val, y_val), verbose=0)   # trains the new head
head_only = layers.parameter_counts(plain)[0]

base.trainable = True                          # unfreeze (or only its top layers),
for layer in base.layers:                      # 2. but not its BatchNorm layers
    if isinstance(layer, keras.layers.BatchNormalization):
        layer.trainable = False
plain.compile(optimizer=keras.optimizers.Adam(1e-4),   # 3. compile again, 4. with a low rate
              loss="sparse_categorical_crossentropy", metrics=["accuracy"])
plain.fit(x_train, y_train, epochs=1, validation_data=(x_val, y_val), verbose=0)

course_head = ft.build("new_head", source)
course_full = ft.build("full", source)
layers.freeze(course_full, pattern=".*_bn$")
course_counts = (layers.parameter_counts(course_head)[0], layers.parameter_counts(course_full)[0])
kept = all(np.array_equal(layer.moving_mean.numpy(), source.get_layer(layer.name).moving_mean.numpy())
           for layer in base.layers if isinstance(layer, keras.layers.BatchNormalization))
print(f"trainable weights, plain Keras vs course_lib: new head {head_only:,} vs {course_counts[0]:,}; "
      f"all but BatchNorm {layers.parameter_counts(plain)[0]:,} vs {course_counts[1]:,}")
print(f"BatchNorm moving means after the second stage equal the source's: {kept}")
assert (head_only, layers.parameter_counts(plain)[0]) == course_counts and kept

# %% [markdown]
# 有四点很重要：（1）`trainable = False` 表示冻结；（2）冻结的 BatchNorm 层以推理模式运行，使用它保存的统计量，即使在 `fit` 中也是如此（第 03 章第 2 节说明了这为什么重要）。Keras 2 的指南为此在调用基础网络时传入 `training=False`；而在 Keras 3 中，一旦基础网络被解冻，`fit` 的 `training=True` 无论如何都会传到基础网络内部的各层（[keras-team/keras#20285](https://github.com/keras-team/keras/issues/20285)），所以要冻结 BatchNorm 层本身；（3）Keras 在模型**编译**时读取 `trainable` 标志，所以改变标志之后要重新编译；（4）用**较小**的学习率微调，以免新分类头最初的几步破坏基础网络学到的东西。
#
# `course_lib.core.layers` 按块、名字、模式或下标做同样的事，并数出哪些参数参与训练；课程的 `fit` 每次训练时都会编译，所以这些标志总会被读取：

# %%
from course_lib.core import layers

model = layers.copy_model(source)
layers.freeze(model, blocks=["block1"])
layers.trainable_summary(model)

# %% [markdown]
# BatchNorm 的滑动均值和方差即使在该层参与训练时也算作冻结参数：它们是从各个批次平均得到的，从不通过梯度学习。
#
# ## 3 · 三种策略
#
# 源文（§2.2 和 §3.2）列出了三种微调方式：**微调整个模型**、**微调选定的卷积层**和**微调全连接层**。下图展示了课程运行时每种方式中哪些部分参与训练（同样是十个数字，因此保留了源模型的分类头）：

# %%
from course_lib.methods import fine_tuning as ft

counts = {s: (layers.parameter_counts(ft.build(s, source))[0], source.count_params()) for s in ft.STRATEGIES}
chapter_plots.strategy_diagram(ft.STRATEGIES, counts);

# %% [markdown]
# 源文还给它们起了名字（「域内微调」「域间微调」「域外微调」），这些名字你在别处是找不到的；通常的说法是微调整个网络、微调顶部几层，以及训练分类头。
#
# ### 源文的公式错在哪里
#
# **§2.2 说**微调整个模型「不能利用源域数据进行特征提取，只能从头开始训练模型」。这是一个失误：微调整个模型**从源模型的权重出发**，而这个起点就是它从源那里拿走的全部东西。从头训练是下文与之比较的基线，两者之间的差距正是源模型权重的价值所在。
#
# **§3.2.1**（整个模型）写出 $y_t' = \text{train target classifier}(X_t; W_t^+, b_t^+)$，然后说「$(W_t^+,\beta_t^+)$ 是分类器的权重参数；$b_t^+$ 是偏置项」：一个公式从未用到的 $\beta$；而且“train”返回的是预测，于是训练和预测成了同一步，既没有损失，也没有起点。完整写出来，微调整个模型是
#
# $$\theta^{(0)} = \theta_{\text{source}}, \qquad
# \theta^{(k+1)} = \theta^{(k)} - \eta \, \nabla_\theta \frac{1}{|B_k|}\sum_{(x, y) \in B_k} \ell\big(f(x; \theta^{(k)}), y\big),
# \qquad \hat y = \arg\max_c f_c(x; \theta^{(K)}),$$
#
# 其中每一层的每一个权重 $\theta = (W, b)$ 都参与更新，$B_k$ 是有标签目标图像的批次，$K$ 是步数（在验证集上选定）。之后的预测使用训练好的权重。
#
# **§3.2.2**（选定的卷积层）写出 $F^{(k)\prime}_t = \text{convolve}_t^{(k)}(\hat F^{(k-1)}_s, w^{(k)}, b^{(k)})$：目标域第 $k$ 层的特征图由**源域**（经零填充的）第 $k-1$ 层特征图计算得到。目标图像的特征从不经过源域的特征图；这个公式还丢掉了非线性，而且对微调的是什么只字未提。正确的写法是，目标的特征流经目标网络，
#
# $$F^{(0)}_t = x_t, \qquad F^{(k)}_t = \sigma\big(w^{(k)} * F^{(k-1)}_t + b^{(k)}\big),$$
#
# 而“微调选定的卷积层”说的是**哪些权重会变**：每个 $w^{(k)}, b^{(k)}$ 都从源模型的值出发；选定的层 $k \in S$ 沿梯度更新，$w^{(k)} \leftarrow w^{(k)} - \eta\, \partial L / \partial w^{(k)}$，其他层保持原样，$w^{(k)} = w^{(k)}_{\text{source}}$（冻结）。零填充是每个卷积自身的细节，与迁移无关。

# %% [markdown]
# ## 4 · 微调整个模型，在验证集上做选择
#
# 学习率取多大，训练多少步？这两者都不能从测试集上读出来，否则测试数字就成了谎言。所以 `chapter.tune` 在一个小的学习率网格中的每个学习率上微调整个模型，每隔 25<!-- fact: core.training:STEPS_PER_EPOCH --> 步测量一次验证准确率，保留每次运行的最佳点（Keras 的 `EarlyStopping` 配合 `restore_best_weights=True` 也是这样做的），并保留最佳点最好的那个学习率：

# %%
full = chapter.tune("full", source, task, seed=0, progress="full")
best = full.runs[full.learning_rate]
print(f"validation chose rate {full.learning_rate:g}: validation accuracy {best['best_val_accuracy']:.3f} "
      f"after {best['best_step']} steps")
chapter_plots.rate_curves(full);

# %% [markdown]
# ### 值得注意的地方
#
# - 每条曲线都是**验证**准确率，在模型从未用来训练的有标签目标图像上测得。星号是模型保留的点：之后在验证集上表现更差的步都被丢弃。
# - 不同学习率的区别在于上升得多快、在哪里趋于平稳；哪个学习率胜出可能随随机种子而变，这就是为什么下面的比较要在多个种子上把一切重复一遍。
# - 如果验证集在一个又一个种子上都选中网格中最大或最小的学习率，最佳学习率可能位于网格之外：移动网格再试一次。本课程最初为 `scratch` 和新分类头设定的网格偏低（验证集每次都选中它们最大的学习率），所以后来上调了。只在部分种子上选中边缘，只说明这些学习率差不多一样好，差别在小验证集的噪声之内。

# %% [markdown]
# ## 5 · 各策略并排比较，五个随机种子
#
# 对每种策略采用同样的流程（各自的学习率网格，各自的最佳验证点），并与两个基线比较：在同样图像上 **从头训练**的同一个 CNN，以及在冻结的源特征上的**新分类头**（第 01 章的特征提取）。每个种子抽取另一批有标签图像、另一种划分和另一个源模型。实验注册表运行了这些实验并保存了结果：

# %%
from course_lib import results

strategies = results.load("fine_tuning_strategies")
arms = ["source model", *chapter.ALL_STRATEGIES]
chapter_plots.seed_bars(strategies, arms, ylabel="mnist_m test accuracy");

# %%
strategies.table(metric="target_accuracy").loc[arms]

# %% [markdown]
# 验证集为每种策略逐个种子选出的学习率（每种策略的网格在 `ft.RATE_GRID` 中）：

# %%
import pandas as pd

pd.DataFrame({f"seed {seed}": [strategies.values(s, "learning_rate")[i] for s in chapter.ALL_STRATEGIES]
              for i, seed in enumerate(strategies.seeds)}, index=list(chapter.ALL_STRATEGIES))

# %% [markdown]
# 本课的论断建立在这些数字之上，所以它们被写成**论断**，由实验注册表在每个种子上逐一检验：

# %%
print(strategies.claims_text())
assert all(strategies.claims().values())

# %% [markdown]
# ### 值得注意的地方
#
# - **全量微调胜出**，在每个种子上都胜过从头训练：这个差距就是源模型权重的价值（也说明了 §2.2 所说的「只能从头开始训练模型」为什么是错的）。
# - 只训练分类头的帮助要小得多：源特征是在干净的 MNIST 上学到的，而在照片背景上，需要改变的恰恰是前面的块（边缘、笔画）。`top` 可以改变 `block2`，结果与 `full` 接近；解冻得越多，网络中能适应的部分就越多。
# - 看看选出的学习率：验证集并不会在每个种子上为同一策略选中同一个学习率。为所有种子一次性固定一个学习率，只能是猜测；而看着测试准确率来挑学习率，会让上面的测试数字好得令人难以置信。
#
# ### 源文的“全连接”变体（§3.2.3）
#
# §3.2.3 保留整个源分类器，并学习一个从它的类别概率到目标类别概率的映射：
#
# $$p_i = \operatorname{softmax}_i\Big(\sum_{j=1}^{K_s} a_{ij}\, p_j^{s} + \alpha\, b_i\Big)$$
#
# 其中 $p^s$ 是源模型**对这张图像**的 softmax 输出（源文称之为「先验概率」；它其实是分类器的后验概率），$A$ 是 $K_s \times K_t$ 矩阵，$b$ 是偏置，$\alpha$ 是一个固定的缩放系数。在 `course_lib` 中它是一个 Keras 层，`ft.ProbabilityMapping`；$A$ 初始化为单位矩阵，所以模型一开始就是源分类器。它在上面以 `mapping` 的名字运行过。（人们通常所说的微调全连接层，是 `head` 策略：在冻结的卷积特征上训练全连接层。）

# %%
for arm in ("source model", "mapping", "new_head", "head"):
    print(f"{arm:13s} median mnist_m test accuracy {strategies.median(arm):.3f}")
print(f"the mapping trains {layers.parameter_counts(ft.build('mapping', source))[0]} parameters")

# %% [markdown]
# 一个 $10 \times 10$ 的映射只能重新贴标签：它能纠正源模型**系统性**的混淆（比如它把大多数目标域的 7 认成 1），但它从不看图像，所以无法修复在照片背景上失效的特征。微调分类头或更深的层，修复的是特征本身。

# %% [markdown]
# ### 代价：遗忘
#
# 在目标上微调，会改变源任务所依赖的权重。这里源任务的十个数字与目标相同，所以上面每一个微调后的模型都可以在 `mnist` 测试图像上测试，并与微调前的源模型比较：

# %%
forgetting = pd.DataFrame({
    "mnist_m (target)": [strategies.median(a) for a in arms],
    "mnist (source)": [strategies.median(a, "source_accuracy") for a in arms],
    "forgotten (points)": [100 * (strategies.median("source model", "source_accuracy")
                                  - strategies.median(a, "source_accuracy")) for a in arms],
}, index=arms).round(3)
forgetting

# %% [markdown]
# #### 值得注意的地方
#
# - 微调让源任务损失了一点（最后一列，五个种子的中位数）；`mapping` 不改变源模型的任何权重，损失最少。其他模型遗忘多少，取决于它们可以改变什么、改变了多远；新分类头还必须仅凭目标图像重新学会源任务的类别。
# - `scratch` 从来没有学过 `mnist`：它对 `mnist` 的识别，仅限于两个域在数字形状上的共同之处。
# - 这里的损失很小，是因为目标是同样的十个数字，只是风格不同：能读懂照片上数字的特征，也能读懂纸上的数字。当目标有**其他类别**时，新分类头根本无法回答源任务，微调后的特征也会逐渐偏离源任务。
# - 如果必须保住源任务，就多冻结一些层，对前面的块用更小的学习率，或者保留一份源模型的副本：微调产生的是一个新模型，而不是对旧模型的扩展。

# %% [markdown]
# ## 6 · 微调需要多少标签？
#
# 从头训练、只训练分类头和微调整个模型，每个数字分别使用少量、中等和较多的有标签图像（这些预算是本章 `experiments.py` 中的 `BUDGETS`；其中一半用于验证），学习率和步数同样在验证集上选择：

# %%
budgets = results.load("labels_per_class")
chapter_plots.budget_curve(budgets);
print(budgets.claims_text())
assert all(budgets.claims().values())

# %% [markdown]
# ### 值得注意的地方
#
# - 标签越少，源模型的权重越有价值：`full` 与 `scratch` 之间的差距在左侧最大。
# - 标签多了，从头训练就追上来了：目标域标签稀缺时，迁移学习最为重要。
# - 只训练分类头从更多标签中获益最少：标签少时它胜过从头训练，标签多时它远远落后。冻结的特征限制了更多标签所能教给它的东西。

# %% [markdown]
# ## 7 · 层冻结控件
#
# 点击一个块将其冻结（锁定），观察参数数量的变化，选择一个学习率，然后点击 **Train**：源模型的一个新副本在训练图像上微调几个短 epoch（几秒钟），它的**验证**准确率曲线叠画在之前各次运行的曲线上，表格也会增加一行。**Reset** 从头开始。试试：全部可训练；只训练分类头；冻结 block1；学习率放大十倍。

# %%
from course_lib.chapters.ch02_task_fine_tuning.widget import layer_freezing_demo

widget = layer_freezing_demo(source, task["train"], task["validation"])
widget

# %% [markdown]
# 控件的按钮调用的代码与这个单元格相同；这个单元格运行两种设置，这样即使没有人点击，上面的表格也有内容（向上滚动即可看到）：

# %%
for unit in ("block1", "block2", "features"):
    widget.toggles[unit].value = True  # freeze: only the head trains
widget.train_button.click()
for unit in ("block1", "block2", "features"):
    widget.toggles[unit].value = False  # unfreeze everything
widget.train_button.click()
widget.state.results_table()

# %%
runs = widget.state.results
assert len(runs) == 2 and runs[0]["trainable_params"] < runs[1]["trainable_params"]

# %% [markdown]
# ## 8 · 练习
#
# 检查会在它自己新建的模型上运行你的函数，如果有错，它会说明错在哪里。卡住了？`exercises.show_hint(1)` 会打印一条提示，尝试之前或之后都可以用。
#
# 参考答案的链接在本章的最后一个单元格中。
#
# ### 练习 1：用纯 Keras 只微调 BatchNorm 层
#
# Frankle 等人（2021）**只**微调 BatchNorm 层的缩放和平移（$\gamma$、$\beta$）以及一个新的分类头，发现就这么少的参数而言，效果出奇地好。编写 `freeze_for_batchnorm_only(model)`：它设置 `layer.trainable`，使每个 BatchNorm 层和分类头参与训练，其他所有带权重的层都被冻结，然后返回模型。请自己使用 `layer.trainable`：课程的 `freeze`、`unfreeze`、`train_only` 和 `ft.build` 不能算数。检查还会交给你一个整体被冻结的模型（`model.trainable = False`）。

# %%
from course_lib.chapters.ch02_task_fine_tuning import exercises


def freeze_for_batchnorm_only(model):
    # your code here
    return model


exercises.check_batchnorm_only(freeze_for_batchnorm_only);

# %% [markdown]
# ## 9 · 测试集，只用一次
#
# 上面的每一个选择都是在验证集上做出的。现在，也只有现在，本 notebook 在第 4 节中微调的模型才面对 `mnist_m` 的测试图像。同样的全量微调在实验注册表中作为 `fine_tuning_strategies` 的种子 0 运行过，所以它的数字可以与结果文件中的数字比较，差别应在实验注册表测得的不同处理器数值误差范围之内（第 06 章说明了它们为什么会不同）。

# %%
tested = accuracy(full.model, *task["test"])
print(f"full fine-tuning, this notebook: mnist_m test accuracy {tested:.3f}")
print(results.beside(strategies, {"full": tested}))

# %% [markdown]
# ## 要点
#
# - 微调是**从源模型的权重出发**继续训练；冻结（`layer.trainable = False`，然后重新编译）决定其中哪些权重可以变。
# - 在有标签目标数据的**验证集**上选择学习率、训练时长和冻结什么；测试集只在最后打开一次。
# - 在标签很少、域相距较远时，微调整个模型胜过微调顶部几个块、分类头、新分类头、源文的概率映射，也胜过从头训练；标签越少，源模型的权重越有价值。
# - 微调产生一个新模型：源任务会被部分遗忘。
# - 如何把微调做好（BatchNorm、每个块一个学习率、逐层解冻、损失函数、激活函数）是第 03 章的内容，那里每一项都与本章的全量微调对比测量。
#
# ## 复习题
#
# 1. 为什么改变 `trainable` 标志之后必须重新编译？为什么要冻结 BatchNorm 层本身，而不是依赖于以 `training=False` 调用基础网络？
# 2. 验证集选中了某个策略网格中最大的学习率。接下来你该怎么做？为什么不改看测试准确率？
# 3. 源文说微调整个模型「只能从头开始训练模型」。本章中哪个数字表明事实并非如此？
# 4. 只训练分类头在标签最少时胜过从头训练，在标签最多时却输给了它。为什么？
# 5. 哪个微调后的模型对源任务遗忘得最少？为什么是它？

# %% [markdown] tags=["sync:next"]
# 参考答案单独存放，这样“全部运行”时不会显示它们：`chapters/zh/solutions/02_task_fine_tuning.ipynb`（[在 GitHub 上](https://github.com/transfer-learning-hands-on/course/blob/main/chapters/zh/solutions/02_task_fine_tuning.ipynb)，[在 Colab 中](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/zh/solutions/02_task_fine_tuning.ipynb)）。
#
# **下一章**：[03 · 微调实战](03_fine_tuning_in_practice.ipynb)（[在 Colab 中](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/zh/03_fine_tuning_in_practice.ipynb)）：BatchNorm、逐块学习率、逐步解冻、标签平滑与激活函数，每一项都与普通微调对比测量。
# 双语术语表：[GLOSSARY.md](../GLOSSARY.md)（[在 GitHub 上](https://github.com/transfer-learning-hands-on/course/blob/main/chapters/GLOSSARY.md)）。
