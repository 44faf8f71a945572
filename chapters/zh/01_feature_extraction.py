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
# # 01 · 特征提取：复用训练好的模型的冻结层，配上一个新的分类头
# [English](../01_feature_extraction.ipynb) · 中文
#
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/transfer-learning-hands-on/course/HEAD?urlpath=lab/tree/chapters/zh/01_feature_extraction.ipynb) [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/zh/01_feature_extraction.ipynb)
#
# **预备知识：** 第 00 章（域、源模型、域差异）；CNN 的一层计算的是什么。
#
# **本章你将学会**
# 1. 在一个有名字的层处截断训练好的网络并将其**冻结**：得到一个共享特征提取器；
# 2. 在少量有标签目标图像的冻结特征上，只训练一个**新的分类头**；
# 3. 在**验证**图像上选择截断的层，并只对这一选择测试一次；
# 4. 判断特征提取何时有用（在源的同类图像上的新任务），何时没用（新的域：同一任务的另一类图像）。
#
# **运行时间：** 第一个代码单元格会打印课程基准测试为本 notebook 测得的数据（它的预算：缓存已预热时，在单个 CPU 上 90<!-- fact: syllabus:BUDGET_SECONDS --> s，内存 1.5<!-- fact: core.environment:CHAPTER_MEMORY_GB --> GB）。

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
course_lib.check_env("01_feature_extraction")

# %% [markdown]
# ## 1 · 冻结的提取器与新的分类头
#
# 一个训练好的网络分为两部分：**特征提取器** $f_\theta$（各卷积块，也许还包括特征层）和**分类头** $h_\phi$（最后一个 Dense 层）。特征提取（feature extraction）保留源模型的 $\theta$，只在目标域的少量标签上训练一个新的分类头：
#
# $$\hat y = h_\phi\big(f_\theta(x)\big), \qquad \phi^\star = \arg\min_\phi \sum_{(x, y) \in \text{target}}
# L\big(h_\phi(f_\theta(x)), y\big), \quad \theta \text{ frozen.}$$
#
# 因为 $\theta$ 从不改变，目标图像的特征只需计算**一次**；之后分类头在一个小数组上训练，大约一秒钟即可完成。
#
# 本章的设定：源模型只学过 `mnist_m` 的数字 0-4。目标是**在同类图像上的一个新任务**，即 `mnist_m` 的数字 5-9（输入空间和风格相同；严格说 $P(X)$ 也不同，见第 00 章），每个类别只有**少量有标签的图像**10<!-- fact: .experiments:TRAIN_PER_CLASS --> 10<!-- fact: .experiments:VALIDATION_PER_CLASS --> 张用于 **验证**（下面的每一个选择都在这些图像上做出），测试集则只在最后使用一次。

# %%
import dataclasses

import numpy as np

from course_lib.chapters.ch01_feature_extraction import experiments as chapter
from course_lib.core import cnn, plots
from course_lib.core.pretrained import trained

source_0_4 = trained(dataclasses.replace(chapter.OLD_TASK, seed=0), progress="mnist_m 0-4 source")
train, validation, test = chapter.task_data(seed=0)
for name, (x, y) in {"train": train, "validation": validation, "test": test}.items():
    print(f"{name:10s} {len(x):5d} images of the digits 5-9 (labelled 0-4)")
cnn.block_table(source_0_4)

# %% [markdown]
# 用纯 Keras 写，截断和冻结只需两行，分类头则是一个在特征上训练的 `Dense` 层（课程的 `methods.feature_extraction` 做的正是这件事，外加检查和缓存）。这里在 50<!-- fact: .experiments:TRAIN_IMAGES --> 张训练图像上运行它，旁边是课程的 `train_head` 在相同特征上的运行：

# %%
import keras
import tensorflow as tf

from course_lib.core.evaluation import accuracy
from course_lib.methods import feature_extraction

(x_train, y_train), (x_val, y_val) = train, validation
keras.utils.set_random_seed(0)  # the course seeds its new head the same way

extractor = keras.Model(source_0_4.input, source_0_4.get_layer("block2_pool").output)
extractor.trainable = False
features = extractor.predict(x_train, verbose=0).reshape(len(x_train), -1)     # computed once
head = keras.Sequential([keras.Input((features.shape[1],)), keras.layers.Dense(5, activation="softmax")])
head.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
head.fit(tf.data.Dataset.from_tensors((features, y_train)).repeat(200), shuffle=False, verbose=0)  # 200 steps

course_head = feature_extraction.train_head(features, y_train, n_classes=5)
largest = max(float(np.abs(a - b).max()) for a, b in zip(head.get_weights(), course_head.get_weights()))
val_features = extractor.predict(x_val, verbose=0).reshape(len(x_val), -1)
print(f"plain Keras vs course_lib's train_head: weights differ by at most {largest:.1e}; validation accuracy "
      f"{accuracy(head, val_features, y_val):.3f} and {accuracy(course_head, val_features, y_val):.3f}")
assert largest < 1e-3

# %% [markdown]
# ## 2 · 在哪里截断：在验证集上选择
#
# 提取器可以止于第一个卷积块之后（`block1_pool`）、第二个卷积块之后（`block2_pool`），或特征层之后（`features_relu`）；下一个单元格打印每一层为每张图像给出多少个数。注册的实验在每一层的冻结特征上训练一个线性分类头，在**验证**图像上衡量它，保留最好的那一层，然后才进行测试：测试该层上的新分类头，以及在同样 50<!-- fact: .experiments:TRAIN_IMAGES --> 张训练图像上从头训练的同一个 CNN。它比较的三个网络如下：

# %%
from course_lib.chapters.ch01_feature_extraction import plots as chapter_plots

chapter_plots.cut_diagram(chapter.CANDIDATE_LAYERS);

# %%
for layer in chapter.CANDIDATE_LAYERS:
    shape = tuple(source_0_4.get_layer(layer).output.shape[1:])
    print(f"{layer:14s} output {shape}: {int(np.prod(shape)):5d} numbers per image")
measured = chapter.feature_extraction(seed=0)
validation_scores = {layer: measured.value("frozen_head", "validation_accuracy", target="new_task", layer=layer)
                     for layer in chapter.CANDIDATE_LAYERS}
chosen = chapter.CANDIDATE_LAYERS[int(measured.value("frozen_head", "chosen_layer_index", target="new_task"))]
plots.bar_chart(validation_scores, ylabel="validation accuracy", chance=0.2,
                title="a linear head on each layer's frozen features (mnist_m 5-9)")
print(f"chosen on validation: {chosen}")

# %% [markdown]
# ### 值得注意的地方
#
# - 中间层通常最好。`block1_pool` 含有通用的边缘信息，但每张图像几千个数，对 50<!-- fact: .experiments:TRAIN_IMAGES --> 个标签来说太多了；`features_relu` 是为区分数字 0-4 而塑造的，而不是 5-9：层越靠后，就越专门针对源任务（第 07 章会像 Yosinski 等人那样逐层度量这一点）。
# - 这个选择只用了验证图像。如果在测试图像上做选择，测试数字就会偏乐观：它将不再是对新图像上准确率的公正估计。

# %% [markdown]
# ## 3 · 冻结特征与从头训练的对比
#
# 下面是测试数字，只测一次：所选层上的结果，旁边是在同样 50<!-- fact: .experiments:TRAIN_IMAGES --> 张图像上从随机权重训练的 CNN。第二个面板在一个**新的域**上重复这一比较：MNIST 源模型用于 `mnist_m` 的全部十个数字。

# %%
import matplotlib.pyplot as plt

fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4))
for ax, target, title, chance in ((left, "new_task", "new task (mnist_m 5-9), 10 labels/class", 0.2),
                                  (right, "new_domain", "new domain (mnist -> mnist_m), 10 labels/class", 0.1)):
    plots.bar_chart({"frozen + head": measured.value("frozen_head", target=target),
                     "scratch": measured.value("scratch", target=target)},
                    ylabel="test accuracy", title=title, ax=ax, chance=chance)
head_params, scratch_params = (measured.value(arm, "trainable_parameters", target="new_task")
                               for arm in ("frozen_head", "scratch"))
print(f"trainable parameters: new head {head_params:,.0f}, scratch CNN {scratch_params:,.0f} "
      f"({scratch_params / head_params:.0f} times more)")

# %% [markdown]
# 单个随机种子可能产生误导。下面是实验注册表最近一次在种子 0-4 上运行的同一实验（`python -m course_lib.experiments feature_extraction --seeds 0 1 2 3 4 --save`），以及在其中每个种子上逐一检验的本课论断：

# %%
from course_lib import results

report = results.load("feature_extraction")
display(report.table(metric="target_accuracy"))
print(report.claims_text())
gain = measured.value("frozen_head", target="new_task") - measured.value("scratch", target="new_task")
print(f"this run (seed 0): the frozen extractor is {100 * gain:+.1f} points ahead of scratch on the new task")
assert all(report.claims().values())
assert head_params * 20 <= scratch_params

# %% [markdown]
# ### 值得注意的地方
#
# - **新任务，同类图像**：在 0-4 上学到的卷积块会寻找笔画、曲线，并学会了忽略照片背景；这些对 5-9 50<!-- fact: .experiments:TRAIN_IMAGES --> 个标签就足以在其上训练一个分类头。从头训练的网络则必须从同样的 50<!-- fact: .experiments:TRAIN_IMAGES --> 张图像中学会这一切，而且要拟合的参数多出许多倍（见上面打印的数字）。
# - **新的域**：MNIST 源模型的滤波器是为白底黑字的笔画而生的；在照片上，冻结的提取器并不比从头训练好。让预训练的层也动起来（微调，第 02 章）在那里效果更好；第 05 章和第 06 章则转而利用成千上万张*无标签*的目标图像。
# - 源文（其第 2 部分）说共享特征提取器的方法是「利用目标域数据对特征提取器的参数进行微调」。这混淆了两种技术：共享*特征提取器*是保持冻结的（如本章所示）；更新它就是*微调*，即第 02 章的内容。源文的公式还输入了一个未加定义的 $X_{st}$；本章第 1 节中的公式是标准写法。

# %% [markdown]
# ## 练习
#
# **1 · 用纯 Keras 写一个池化提取器。** 卷积层的输出是一张特征图：每个位置、每个通道一个值。编写 `my_pooled_extractor(model, layer_name)`：一个 Keras 模型，从 `model` 的输入到其卷积层 `layer_name` 的输出**在各位置上的平均**（每个通道一个数，就像 `keras.applications` 的骨干网络在 `pooling="avg"` 时给出的那样），它是冻结的，并与 `model` 共享权重（不复制）。课程的 `cut` 和 `frozen_extractor` 不能算数。检查会构建它自己的小模型，并与该层各通道的均值比较。卡住了？`exercises.show_hint(1)`。

# %%
from course_lib.chapters.ch01_feature_extraction import exercises


def my_pooled_extractor(model, layer_name):
    """A frozen keras.Model: model's input -> layer `layer_name`'s output averaged over its positions."""
    return None  # your code


exercises.check_pooled_extractor(my_pooled_extractor);

# %% [markdown]
# **2 · 更深的分类头要训练多少参数？** 在形状为 `feature_shape` 的特征（例如 `block2_pool` 处的 `(5, 5, 32)`）上的一个分类头：展平，`Dense(hidden)`，`BatchNormalization`，ReLU，然后 `Dense(n_classes)`。编写 `my_head_parameters(feature_shape, hidden, n_classes)`，返回 `(trainable, frozen)`：参与训练的参数和不参与训练的参数（BatchNorm 的滑动统计量），要用算术求出（不能用课程的 `build_head` 或 `parameter_counts`）。然后回顾第 2 节：隐藏层如何改变了 50<!-- fact: .experiments:TRAIN_IMAGES --> 张有标签图像必须确定下来的东西？卡住了？`exercises.show_hint(2)`。

# %%
def my_head_parameters(feature_shape, hidden, n_classes):
    """(trainable, frozen) parameters of Flatten -> Dense(hidden) -> BatchNorm -> ReLU -> Dense(n_classes)."""
    return None  # your code


exercises.check_head_parameters(my_head_parameters);

# %% [markdown]
# ## 要点
#
# - 特征提取把源模型截断处之前的层冻结，只训练一个新的分类头：代价低（特征只计算一次），当目标是源的同类图像上的新任务时效果很好。
# - 在哪里截断是一个选择：要在验证数据上做出。靠前的层通用但维度高；靠后的层专门针对源任务。
# - 在新的域上，冻结的源特征可能并不比从头训练好：这时就该微调（第 02 章）或做适配（第 05 章和第 06 章）。
#
# ## 复习题
#
# 1. 为什么目标特征只需计算一次？什么会打破这一点？
# 2. 为什么必须在验证图像而不是测试图像上选择层？
# 3. 新的域上的比较打成了平手。请举出后面章节在那里做得更好的两种方法。

# %% [markdown] tags=["sync:next"]
# 参考答案单独存放，这样“全部运行”时不会显示它们：`chapters/zh/solutions/01_feature_extraction.ipynb`（[在 GitHub 上](https://github.com/transfer-learning-hands-on/course/blob/main/chapters/zh/solutions/01_feature_extraction.ipynb)，[在 Colab 中](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/zh/solutions/01_feature_extraction.ipynb)）。
#
# **下一章**：[02 · 任务微调](02_task_fine_tuning.ipynb)（[在 Colab 中](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/zh/02_task_fine_tuning.ipynb)）：让特征提取器的一部分继续学习，看看它得到多少、遗忘什么。
# 双语术语表：[GLOSSARY.md](../GLOSSARY.md)（[在 GitHub 上](https://github.com/transfer-learning-hands-on/course/blob/main/chapters/GLOSSARY.md)）。
