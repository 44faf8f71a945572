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
# # 03 · 微调实战：BatchNorm、逐块学习率、训练计划与损失函数
# [English](../03_fine_tuning_in_practice.ipynb) · 中文
#
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/transfer-learning-hands-on/course/HEAD?urlpath=lab/tree/chapters/zh/03_fine_tuning_in_practice.ipynb) [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/zh/03_fine_tuning_in_practice.ipynb)
#
# **预备知识：** [02 · 任务微调](02_task_fine_tuning.ipynb)（[Colab](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/zh/02_task_fine_tuning.ipynb)）：它的任务、Keras 中的冻结，以及用在验证集上选出的学习率微调整个模型——本章的每一个比较都从这里出发。还需要熟悉 Keras 的 `compile` 和 `fit`。
#
# **运行时间：** 下面的环境检查会打印课程基准测试为本 notebook 测得的时间；在课程缓存已预热的情况下，它设计为在单个 CPU 上 90<!-- fact: syllabus:BUDGET_SECONDS --> s 内运行完毕。它现场训练几个小模型（一个随机种子）；所有跨多个种子的比较都读自课程的结果文件，这些文件由 `python -m course_lib.experiments NAME --seeds 0 1 2 3 4 --save` 生成。
#
# **本章你将学会**
# 1. 以正确的方式冻结 BatchNorm，并理解它的动量（momentum）起什么作用；
# 2. 给浅层更小的学习率，并逐层解冻；
# 3. 衡量标签平滑对准确率和校准是否有帮助；
# 4. 说清楚更换激活函数对预训练权重意味着什么；
# 5. 在验证集上，而不是凭名声，把每一个技巧与朴素的整体微调相比较。
#
# 双语术语：[GLOSSARY.md](../GLOSSARY.md)（[在 GitHub 上](https://github.com/transfer-learning-hands-on/course/blob/main/chapters/GLOSSARY.md)）。

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
course_lib.check_env("03_fine_tuning_in_practice")

# %% [markdown]
# ## 1 · 起点：第 02 章的任务及其朴素方案
#
# 任务沿用第 02 章：MNIST 源模型，加上每个数字少量带标签的 `mnist_m` 图像，分为训练图像和**验证**图像；所有选择都在验证集上做出，`mnist_m` 测试图像只在最后给出一次最终数字。第 02 章发现，以在验证集上选出的单一学习率微调整个模型，胜过其他所有策略。这就是本章每一项改进都必须超越的基线：在验证集上胜不过它的技巧，不值得它带来的复杂性。（§2.1 和 §2.2 指源文的章节，第 02 章对此有说明。）

# %%
import numpy as np
import pandas as pd

from course_lib import results
from course_lib.chapters.ch02_task_fine_tuning.plots import seed_bars
from course_lib.chapters.ch02_task_fine_tuning.task import load_task
from course_lib.chapters.ch03_fine_tuning_in_practice import experiments as chapter
from course_lib.chapters.ch03_fine_tuning_in_practice import plots as chapter_plots
from course_lib.core import layers
from course_lib.core.evaluation import accuracy
from course_lib.core.pretrained import source_model
from course_lib.methods import fine_tuning as ft

source = source_model()
task = load_task(seed=0)
for name in ("train", "validation", "test", "source_test"):
    x, y = task[name]
    print(f"{name:11s} {len(y):5d} images, {len(y) // 10:3d} per digit")
strategies = results.load("fine_tuning_strategies")
print(f"chapter 02's full fine-tuning: median mnist_m test accuracy {strategies.median('full'):.3f} "
      f"over {len(strategies.seeds)} seeds")

# %% [markdown]
# 第 2、4、5 节改变网络训练时所用的东西（BatchNorm 的模式、损失函数、激活函数）；第 3 节改变**怎样**训练：每个块用多大的学习率，以及哪些块在什么时候训练。下图把它们画了出来，学习率取验证集在五个种子上所选值的中位数（第 3 节从它的结果文件中读取；分类头以下的每个块都比它上面的块学得慢 `RATE_FACTOR` 倍）：

# %%
from course_lib.methods import learning_rates as lr

schedules = results.load("unfreezing_schedules")
block_rates = lr.layerwise_rates(top_rate=schedules.median("discriminative", metric="learning_rate"),
                                 factor=chapter.RATE_FACTOR)
chapter_plots.schedule_diagram(schedules.median("full", metric="learning_rate"), block_rates,
                               chapter.UNFREEZING_STAGES);


# %% [markdown]
# ## 2 · BatchNorm：动量，以及冻结即推理模式
#
# BatchNorm 层在训练时用当前批次的均值和方差做归一化，在测试时则用它的**滑动**均值和方差。滑动统计量跟随它所训练的批次而变化：
#
# $$\mu_{\text{moving}} \leftarrow m\, \mu_{\text{moving}} + (1 - m)\, \mu_{\text{batch}}$$
#
# （方差同理。）**动量** $m$ 表示每一步保留多少旧值。Keras 的默认值是 $m = 0.99$；本课程的 CNN 用的是 $m = 0.9$。经过 $t$ 步之后，初始统计量在滑动统计量中仍占 $m^t$ 的权重：用默认值时，短暂的微调之后它们可能还记着源域，而模型所训练的批次已经像目标域了。训练成千上万步的大模型使用默认值，那时缓慢的平均更平滑。两种动量在本课程微调所用的步数内各起什么作用，计算如下：

# %%
import keras

from course_lib.core.cnn import BN_MOMENTUM

keras_default = keras.layers.BatchNormalization().momentum
for momentum, whose in ((keras_default, "Keras's default"), (BN_MOMENTUM, "this course")):
    half_life = np.log(0.5) / np.log(momentum)
    print(f"momentum {momentum} ({whose}): half of the moving statistics is new after {half_life:.0f} "
          f"steps; after {ft.DEFAULT_STEPS} steps the starting value still weighs {momentum ** ft.DEFAULT_STEPS:.2g}")

# %% [markdown]
# 在 Keras 3 中，`trainable = False` 的 BatchNorm 层即使在 `fit` 内部也以**推理模式**运行：使用存储的统计量，不做更新。这正是冻结应有的含义。经典的错误是冻结了卷积层和全连接层，却没有冻结它们之间的 BatchNorm 层：于是每一个小小的目标域批次，都会在“冻结”的特征底下挪动统计量。下面用这两种方式分别微调分类头（以固定学习率短暂训练：这是演示，不是比较）；漂移（statistics drift）是滑动均值的变化量，以特征的离散程度为单位；特征变化（feature change）是特征层在 `mnist` 测试图像上的输出移动了多少：

# %%
demo = chapter.batchnorm_freezing(seed=0)
measures = ("statistics_drift", "feature_change", "source_accuracy", "target_validation_accuracy")
pd.DataFrame({chapter.FREEZINGS[way]: {m: demo.value(way, metric=m) for m in measures}
              for way in chapter.FREEZINGS}).T.round(3)

# %%
bn_runs = results.load("batchnorm_freezing")
print(bn_runs.claims_text())
assert demo.value("frozen", metric="statistics_drift") == 0 and demo.value("frozen", metric="feature_change") == 0
assert all(bn_runs.claims().values())

# %% [markdown]
# ### 值得注意的地方
#
# - 以正确的方式冻结时，统计量纹丝不动，分类头读到的特征与源模型的完全相同。
# - 若让它保持可训练，统计量就会漂向目标域的统计量：同样那些 `mnist` 图像的“冻结”特征发生了变化，尽管没有任何卷积权重被允许改变，源域准确率也随之变动。模型已不再是你冻结的那个模型。
# - 它的目标域准确率甚至可能上升。这是在目标域上重新估计统计量的有用一面（**自适应批归一化**，AdaBN，第 05 章）：它是一种应当有意使用、并保留源模型的方法，而不是冻结时出的意外。

# %% [markdown]
# ## 3 · 分层学习率与逐层解冻
#
# 浅层保存通用的特征；分类头则专属于任务。所以给每个块各自的学习率，越靠近输入越小（Howard & Ruder 2018）：$\eta_{\text{block } k} = \eta_{\text{head}} / c^{\,K-k}$。
#
# Keras 3 的单个优化器内没有逐层学习率，而缩放梯度对 Adam 不起作用（它的步长 $m/\sqrt{v}$ 与梯度的尺度无关）。`course_lib.methods.learning_rates` 在自己的 `train_step` 中**为每个块保留一个优化器**，用 `fit(lr.GroupedLearningRates(model, {block: rate}), data, learning_rate=None)` 训练。Adam 的一步让每个权重移动大约等于其学习率的量；实测如下：

# %%
rates = lr.layerwise_rates(top_rate=3e-3, factor=chapter.RATE_FACTOR)
lr.step_sizes(layers.copy_model(source), *task["train"], rates)

# %% [markdown]
# 每个块的 `step_per_rate` 都接近 1：每个块都按自己的学习率移动。
#
# **逐层解冻**（gradual unfreezing）先训练分类头，然后每个阶段从顶部起多解冻一个块，以免拟合不佳的分类头早期产生的大梯度毁掉预训练的块。每个阶段保留它在验证集上的最佳点。分类头的学习率取下面结果文件中验证集所选值的中位数；曲线是验证准确率，每个阶段正在训练的块写在该阶段的底部：

# %%
top_rate = schedules.median("gradual", metric="learning_rate")
gradual_model = ft.build("full", source)
gradual, log = chapter.gradual_run(gradual_model, task, top_rate, seed=0, progress="gradual")
print(f"head's rate {top_rate:g}; the model ends at step {gradual['best_step']}, "
      f"validation accuracy {gradual['best_val_accuracy']:.3f}")
chapter_plots.stage_plot(log, chapter.STEPS_PER_STAGE);

# %% [markdown]
# 它比朴素的整体微调更好吗？在五个种子上、相同的步数预算下，每种方式都用验证集选出的学习率：

# %%
ways = ["full", "discriminative", "gradual"]
seed_bars(schedules, ways, ylabel="mnist_m test accuracy");
print(schedules.claims_text())
assert all(schedules.claims().values())
schedules.table(arm=ways, metric="target_accuracy")

# %% [markdown]
# 验证集为每种方式选出的分类头学习率，逐个种子列出（其下的浅层块每往下一块，就学得慢 `RATE_FACTOR` 倍）：

# %%
pd.DataFrame({f"seed {seed}": [schedules.values(w, metric="learning_rate")[i] for w in ways]
              for i, seed in enumerate(schedules.seeds)}, index=ways)

# %% [markdown]
# ### 值得注意的地方
#
# - 每个阶段加入一个块（虚线），随着网络中可以适应的部分越来越多，验证准确率不断攀升。
# - 在这个任务上，朴素的整体微调在每个种子上都胜过两种更温和的方案。这些技巧**保护**预训练的浅层，当这些层已经适合目标域时（域相近、特征来自大型数据集）才有回报。而这里，浅层块恰恰是为了适应照片背景而必须改变的部分。
# - 对于分层学习率，验证集常常选中所试过的最大分类头学习率，这会把浅层块的学习率拉高，向整体微调靠拢：验证集本身在告诉我们，浅层块想要变化。两种方式都不是总是更好：在你自己的任务上、用它的验证集来比较。

# %% [markdown]
# ## 4 · 损失函数设计：标签平滑
#
# 源文（§2.1）把「标签平滑」和「损失函数设计」列为提升迁移效果的技巧，却没有说明它们是什么。交叉熵把真实类别的预测概率推向 1；这个任务的训练图像很少，微调后的网络很快就到达那里，变得过度自信。**标签平滑**（label smoothing，Szegedy et al. 2016）用软化的目标来训练：
#
# $$t_c = (1 - \varepsilon)\, [c = y] + \frac{\varepsilon}{K}, \qquad
# \ell = -\sum_{c=1}^{K} t_c \log p_c .$$
#
# 在纯 Keras 中：对 one-hot 标签使用 `keras.losses.CategoricalCrossentropy(label_smoothing=0.1)`；课程的 `ft.SmoothedCrossentropy()` 从整数标签出发做同样的事。取 $\varepsilon = 0.1$、十个类别时，数字 3 的目标为：

# %%
print(ft.smoothed_targets([3], n_classes=10, smoothing=ft.LABEL_SMOOTHING).round(3))

# %% [markdown]
# 它在这里有帮助吗？实验注册表在五个种子上分别用两种损失函数微调了整个模型（每次都用验证集选出各自的学习率）。除了准确率，它还测量了**期望校准误差**（expected calibration error，ECE）：按置信度把测试预测分组，再对各组准确率与其置信度之间的差距取平均（$0$ 表示：一个有 $p$ 把握的组，恰好有 $p$ 的比例是对的）。

# %%
smoothing = results.load("label_smoothing")
smoothing.table(metric=["target_accuracy", "expected_calibration_error"])

# %%
more_accurate = sum(s > c for s, c in zip(smoothing.values("label smoothing"), smoothing.values("cross-entropy")))
print(f"label smoothing was more accurate than cross-entropy on {more_accurate} of {len(smoothing.seeds)} seeds")
print(smoothing.claims_text())
assert all(smoothing.claims().values())

# %% [markdown]
# ### 这次运行说明了什么
#
# - **准确率：** 看上面的计数。如果标签平滑在一些种子上赢、在另一些种子上输，诚实的总结就是“在这个任务上没有明显差别”，本章也不对此作任何论断。
# - **校准：** 在每个种子上，平滑后模型的置信度都比朴素模型的更偏离其准确率（即注册的论断）。微调 150<!-- fact: methods.fine_tuning:DEFAULT_STEPS --> 步并停在验证集上的最佳点时，朴素模型已经接近校准；标签平滑是为在大型数据集上长时间训练、过度自信会不断累积的大网络设计的，在这里它无事可修，反而把置信度推离了准确率。
# - 源文推荐的技巧，是一个要在你的任务的验证集上检验的假设，而不是默认选项。

# %% [markdown]
# ## 5 · 更换激活函数
#
# §2.2 的结尾写道：「除此之外，还可以通过设置不同权重初始化参数，**修改激活函数的形式**，使用增强数据等方式对模型进行调整。」在设计和训练一个网络时，激活函数和其他选择一样，可以自由决定。而在**微调**时就不是这样了：预训练权重是为网络原有的激活函数学到的，后面的每一层都期待它产生的那种输出。把 ReLU 换成别的函数，同样的权重计算的就是另一个函数。下面在任何训练之前替换源模型的 ReLU，权重保持不动：

# %%
for activation in chapter.ACTIVATIONS:
    swapped = source if activation == "relu" else ft.with_activation(source, activation)
    print(f"{activation:5s} mnist_m validation accuracy {accuracy(swapped, *task['validation']):.3f}")

# %% [markdown]
# GELU 在较大的输入上接近 ReLU，改变不大；tanh 压扁了正半轴、又放行了负半轴，源模型的特征因此崩坏。微调可以修复其中一部分，但起点更差。实验注册表测量了替换后、训练前的源模型在它自己的 `mnist` 测试图像上的表现，并在替换后微调了整个模型：

# %%
activations = results.load("swapped_activation")
activations.table(metric=["source_accuracy_before", "target_accuracy"])

# %%
print(activations.claims_text())
assert all(activations.claims().values())
print(f"for comparison, chapter 02's scratch: median mnist_m test accuracy {strategies.median('scratch'):.3f}")

# %% [markdown]
# ### 值得注意的地方
#
# - 更换激活函数是一种**架构**上的改动：要么在预训练之前做，要么准备好重新训练网络的很大一部分。微调时，请保留源模型训练时所用的激活函数。
# - 把微调后的 `tanh` 与上面微调后的 `relu` 相比，再与论断下方打印的第 02 章的 `scratch` 相比：替换之后，微调的结果落在从头训练的附近。这次替换丢掉了源权重的大部分价值。

# %% [markdown]
# ## 6 · 练习
#
# 每个检查都会在它自己生成的新模型或数字上运行你的函数，有错时会说明错在哪里。卡住了？`exercises.show_hint(1)`（或换成另一道练习的编号）会打印提示，尝试之前或之后都可以用。
#
# 参考答案的链接在本章的最后一个单元格中。
#
# ### 练习 1：为每一层设定学习率
#
# 按变量接受学习率的优化器，需要的是逐层而不是逐块的学习率。编写 `my_layer_rates(model, head_rate, decay)`：为课程 CNN 中**每一个带权重的层**返回字典 `{layer name: rate}`，分类头的层取 `head_rate`，往下的每个块都比它上面的块慢 `decay` 倍（ULMFiT 的衰减系数是 $2.6$）。`course_lib.core.cnn.BLOCKS` 说明了每个块由哪些层组成。请自己实现（不要用 `lr.layerwise_rates` 或 `lr.GroupedLearningRates`）。

# %%
from course_lib.chapters.ch03_fine_tuning_in_practice import exercises


def my_layer_rates(model, head_rate, decay):
    # your code here
    return {}


exercises.check_layer_rates(my_layer_rates);

# %% [markdown]
# ### 练习 2：只在其他类别上平滑
#
# 第 4 节把 $\varepsilon$ 分摊到全部 $K$ 个类别上，真实类别也在其中。一种常见的变体让真实类别恰好得到 $1 - \varepsilon$，把 $\varepsilon$ 分给其余 $K - 1$ 个类别。编写 `my_smooth(y, n_classes, epsilon)`：对整数标签 `y` (n,)，返回 (n, n_classes) 数组 $t_c = (1 - \varepsilon)[c = y] + \frac{\varepsilon}{K - 1}[c \ne y]$，用 NumPy 实现（不要用课程的 `ft.smoothed_targets`）。当 $K = 10$、$\varepsilon = 0.1$ 时，两种版本的目标相差多少？

# %%
def my_smooth(y, n_classes, epsilon):
    # your code here
    return None


exercises.check_other_class_smoothing(my_smooth);

# %% [markdown]
# ## 7 · 测试集，只用一次
#
# 上面的每一个选择都是在验证集上做出的。现在，也只有现在，本 notebook 用逐层解冻训练出的模型才去面对 `mnist_m` 测试图像，旁边列出第 3 节三种方式在五个种子的结果文件中的中位数（它的学习率是各种子所选值的中位数，所以它不是那些运行中的任何一个）：

# %%
print(f"gradual unfreezing, this notebook: mnist_m test accuracy {accuracy(gradual_model, *task['test']):.3f}")
for way in ways:
    print(f"{way:14s} median over {len(schedules.seeds)} seeds: {schedules.median(way):.3f}")

# %% [markdown]
# ## 要点
#
# - 用以验证集选出学习率的朴素整体微调来衡量每一项改进；在这个任务上，没有一项在每个种子上都胜过它（见上面的计数和论断）。
# - 冻结的 BatchNorm 层必须保持推理模式；它的动量决定统计量跟随数据的快慢（Keras：$m = 0.99$；本课程为其短时间训练取 $m$ = 0.9<!-- fact: core.cnn:BN_MOMENTUM -->）。
# - 分层学习率和逐层解冻保护浅层；这里浅层恰恰是需要改变的部分，朴素微调在每个种子上都赢了。
# - 标签平滑针对的是过度自信；短暂的微调之后并没有过度自信可修，它反而在每个种子上都让模型的校准变差了。
# - 更换激活函数会改变预训练权重所计算的东西：微调时请保留源模型的激活函数。
#
# ## 复习题
#
# 1. 一位同事冻结了一个含 BatchNorm 的网络的所有卷积层和全连接层，只微调分类头；结果源域准确率变了。发生了什么？
# 2. 对 Adam 来说，为什么缩放梯度不能让一个块获得更小的学习率？课程改用了什么办法？
# 3. 在什么情况下，你会预期逐层解冻胜过朴素的整体微调？
# 4. 在这里，标签平滑让模型的校准变差了。一次训练需要满足什么条件，它才会有帮助？
# 5. 为什么在预训练模型中把 ReLU 换成 GELU 几乎无害，而换成 tanh 却不是？

# %% [markdown] tags=["sync:next"]
# 参考答案单独存放，这样“全部运行”时不会显示它们：`chapters/zh/solutions/03_fine_tuning_in_practice.ipynb`（[在 GitHub 上](https://github.com/transfer-learning-hands-on/course/blob/main/chapters/zh/solutions/03_fine_tuning_in_practice.ipynb)，[在 Colab 中](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/zh/solutions/03_fine_tuning_in_practice.ipynb)）。
#
# **下一章**：[04 · 迁移网络](04_transfer_networks.ipynb)（[在 Colab 中](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/zh/04_transfer_networks.ipynb)）：在域之间共享嵌入，把冻结的源域分支与目标域分支融合，并在输入通道之间复用卷积核。
# 双语术语表：[GLOSSARY.md](../GLOSSARY.md)（[在 GitHub 上](https://github.com/transfer-learning-hands-on/course/blob/main/chapters/GLOSSARY.md)）。
