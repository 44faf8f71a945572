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
# # 04 · 迁移网络：通道复制、共享嵌入、融合与多模态源域
# [English](../04_transfer_networks.ipynb) · 中文
#
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/transfer-learning-hands-on/course/HEAD?urlpath=lab/tree/chapters/zh/04_transfer_networks.ipynb) [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/zh/04_transfer_networks.ipynb)
#
# **预备知识：** 第 00 章（域和源模型）和第 02 章（冻结和微调层）。Keras 的函数式 API，达到会用 `keras.Model(inputs, outputs)` 的程度即可。
#
# **本章你将学会**
# 1. 在彩色模型中复用灰度源模型的卷积核（**通道复制**，channel copying），并明白源文中实现它的代码为什么无法运行；
# 2. 用 CCSA 的成对损失，为源域和目标域图像训练**一个嵌入**；
# 3. 在一个**融合**层中把冻结的源分支和可训练的目标分支连接起来；
# 4. 从**多模态源域**（每个样本有两种视图）迁移到只有一种视图的目标域；
# 5. 在少量目标标签划出的**验证集**上选择 epoch 数，并且只测试一次。
#
# **运行时间：** 下一个单元格会打印课程基准测试为本 notebook 测得的时间（它的预算：在缓存已预热的单个 CPU 上 90<!-- fact: syllabus:BUDGET_SECONDS --> s，内存 1.5<!-- fact: core.environment:CHAPTER_MEMORY_GB --> GB）。

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
course_lib.check_env("04_transfer_networks")

# %% [markdown]
# ## 迁移网络
#
# 源文把三种架构称为**迁移网络**（transfer network）。每一种都改变*网络*本身，让源域的知识能够到达目标域：
#
# | 源文的中文 | 源文的英文 | 本章使用的标准名称 |
# |---|---|---|
# | 通道复制 | channel copying | 通道复制（跨输入通道复用卷积核） |
# | 域内特征映射 | intra-modality mapping | **域内**映射（intra-domain mapping）：一个共享嵌入 |
# | 域间特征组合 | inter-modality fusion | **域间**融合（inter-domain fusion）：两个分支，一个融合层 |
#
# 关于用词：「域」的意思是 *domain*，所以「域内」「域间」就是 *intra-domain* / *inter-domain*；而源文给出的英文是 “modality”（模态：一类输入，如图像、声音、深度），那是另一回事。源文自己举的例子都是域，所以本章采用中文的含义。模态在最后另有专门的一节：源文的**多模态迁移**。
#
# 贯穿本章的例子沿用第 00 章：源域是灰度的 MNIST，目标域是彩色的 MNIST-M 风格的域。目标域的设定是 **每个数字只有少量带标签的图像**；其中一部分留作**验证集**，用来决定每个模型训练多久；测试集只读取一次，给出每个最终数字。

# %%
from course_lib.chapters.ch04_transfer_networks import experiments as chapter

print(f"labelled target images per digit: {chapter.LABELS_PER_CLASS}, of which "
      f"{chapter.VALIDATION_PER_CLASS} per digit are the validation split")

# %% [markdown]
# ## 1. 通道复制：在不同的输入通道数之间复用卷积核
#
# 源模型读取灰度图像（一个通道）；目标图像是彩色的（三个通道）。课程 CNN 的每一层在两个模型中形状都相同，**只有第一个卷积核例外**：源模型中是 (3, 3, 1, 16)，目标模型中是 (3, 3, 3, 16)。卷积的输出是对各输入通道求和，
#
# $$ y = \sum_{c=1}^{C} w_c * x_c + b, $$
#
# 所以，如果三个颜色通道各得到灰度卷积核的三分之一，那么把灰度图像复制成 R = G = B 之后，输出与灰度模型的输出*完全*相同：$\sum_{c=1}^{3} \tfrac{w}{3} * x = w * x$。一般地，从 N 个通道到 M 个通道：把卷积核在它的 N 个输入通道上求和，再让 M 个新通道中的每一个都得到这个和除以 M，
#
# $$ W'_{:,:,m,:} = \frac{1}{M} \sum_{n=1}^{N} W_{:,:,n,:} \qquad (m = 1, \dots, M). $$
#
# 其余每一层都在形状匹配时**按名称复制**。

# %%
from course_lib.chapters.ch04_transfer_networks import diagrams

diagrams.channel_copying_diagram();

# %% [markdown]
# 把灰度源模型复制到一个新的彩色 CNN 中，然后阅读报告：每层一行，说明这一层发生了什么。

# %%
import dataclasses

from course_lib.core import pretrained
from course_lib.methods import channel_copying

source = pretrained.trained(dataclasses.replace(pretrained.SOURCE, seed=0))
copied, report = channel_copying.copied_model(source, channels=3)
report

# %% [markdown]
# 检验这个恒等关系：把灰度 MNIST 测试数字复制成 RGB 送入复制得到的模型，与同样的数字送入灰度源模型相比较。

# %%
import numpy as np

from course_lib.core.data import load_domain
from course_lib.core.evaluation import predict

x_grey, _ = load_domain("mnist", "test", channels=1)
difference = np.abs(predict(copied, np.repeat(x_grey, 3, axis=-1)) - predict(source, x_grey)).max()
print(f"largest difference in predicted probabilities: {difference:.1e}")
assert difference < 1e-4

# %% [markdown]
# **在纯 Keras 中**，整个复制就是一个遍历各层、调用 `get_weights` 和 `set_weights` 的循环；只有第一个卷积核需要用到通道规则。下面在一个新的彩色 CNN 上运行它，得到的模型与 `copied_model` 的相同：

# %%
from course_lib.core.cnn import build_cnn

plain = build_cnn(channels=3, seed=1)
for layer in plain.layers:
    weights = source.get_layer(layer.name).get_weights()  # [] for layers without weights
    if layer.name == "block1_conv":  # (3, 3, 1, 16) -> (3, 3, 3, 16)
        kernel, bias = weights
        weights = [np.repeat(kernel, 3, axis=2) / 3, bias]
    layer.set_weights(weights)
assert all(np.allclose(a, b) for a, b in zip(plain.get_weights(), copied.get_weights()))

# %% [markdown]
# ### 复制的卷积核与随机初始化：在少量目标标签上
#
# 同一个彩色 CNN 在少量带标签的 MNIST-M 图像上训练，一次从复制的权重开始，一次从随机权重开始，训练方法相同。每个 epoch 之后都在**验证集**上测量一次（epoch 0 指任何训练之前）；每次运行都保留它在验证集上最好的那个 epoch 的权重，只有这个模型才去面对测试集。

# %%
runs = {}
copying = chapter.channel_copying(seed=0, keep=runs, progress=True)
from course_lib.chapters.ch04_transfer_networks import plots

plots.validation_curves({arm: runs[arm] for arm in (chapter.ARM_COPIED, chapter.ARM_RANDOM)});

# %%
for arm in (chapter.ARM_COPIED, chapter.ARM_RANDOM):
    print(f"{arm:15s} kept epoch {runs[arm].best_epoch:2d}, test accuracy {copying.value(arm):.3f}")
print(f"the copied model reaches random init's best validation accuracy after "
      f"{copying.value(chapter.ARM_COPIED, metric='epochs_to_match_random'):.0f} epochs")
assert copying.value(chapter.ARM_COPIED) - copying.value(chapter.ARM_RANDOM) > 0.15

# %% [markdown]
# 这只是一个随机种子。实验注册表在种子 0-4 上运行了同样的实验并保存了结果；本课的论断在每个种子上都经过检查：

# %%
from course_lib import results

copying_report = results.load("channel_copying")
display(copying_report.table())
copying_report.claims()

# %% [markdown]
# 第一层的滤波器：灰度源模型的卷积核，复制到彩色模型中的同样的卷积核（R = G = B，所以看起来仍然是灰色），以及在彩色数字上训练之后的同样的滤波器。中灰色表示零；每个滤波器都按它自己的最大权重缩放。

# %%
source_kernel = source.get_layer("block1_conv").get_weights()[0]
plots.filters({"source (grey)": source_kernel,
               "copied": channel_copying.adapt_kernel(source_kernel, 3),
               "after training": runs[chapter.ARM_COPIED].model.get_layer("block1_conv").get_weights()[0]});

# %% [markdown]
# ### 值得注意的地方
#
# - 在 epoch 0，复制的模型在验证图像上已经远高于随机猜测的水平，而随机初始化的模型就处在随机猜测的水平。
# - 复制的模型在第一个 epoch 之后可能会下降：它的 BatchNorm 统计量正从 MNIST 的移向 MNIST-M 的。之后它迅速攀升并保持领先。少量标签足以*适配*一个网络，却不足以*学会*一个网络。
# - 验证集很小，所以它的曲线起伏很大；这是用该设定真正拥有的标签来做选择的诚实代价。
# - 训练让复制的滤波器带上了一点颜色：R、G、B 一开始相等，在颜色有帮助的地方逐渐分开。

# %% [markdown]
# ### 源文的通道复制，以及应该怎么做
#
# 源文第 3.3.3 节用下面的公式定义通道复制：
#
# $$ W' = \frac{1}{\lambda / \sigma_W}\, W_t^{\mu}, $$
#
# 即一个目标域卷积核乘以两个超参数之比，而源文从未给出这两个超参数的值。它对通道只字未提，而且是从目标复制到源：「利用目标域的卷积核参数，复制到源域」。标准的规则就是上面那条：**源**卷积核在**目标**模型中复用，在源的各输入通道上求和，再平均分给目标的各个通道，这样各通道相等时输出不变。（同一条规则升高一个维度，就能把二维卷积核膨胀为三维的视频卷积核：I3D，Carreira & Zisserman 2017；`channel_copying.inflate_kernel`。）
#
# 它的代码示例（它的第 4 节）尝试在 Keras 中实现这一点。思路没有问题；代码却无法运行。下面是它的迁移循环，逐字照录，由课程保存；再下一个单元格在它自己的两个模型上运行这个循环（“AlexNet”目标模型只构建到它的 `Flatten` 为止，原因在下面打印）：

# %%
import inspect

from course_lib.chapters.ch04_transfer_networks import source_text_code

print(inspect.getsource(source_text_code.source_text_transfer))

# %%
from course_lib.chapters.ch04_transfer_networks import source_text_code

failure = source_text_code.source_text_failure()
print(f"{type(failure['error']).__name__}: {failure['error']}")
print(f"it copies from the source's last Dense kernel, shape {failure['kernel']}, into conv layers "
      f"whose kernel has shape {failure['wanted']}")
_, text_target = source_text_code.source_text_models()
print(f"the target's first Dense(4096) alone would hold "
      f"{source_text_code.alexnet_dense_params(text_target):,} weights "
      f"({source_text_code.alexnet_dense_gigabytes(text_target):.1f} GB as float32)")
print("its target's first block:", " -> ".join(source_text_code.first_block(text_target)))

# %% [markdown]
# 这些都不是读者的错，而且每一处都有标准的修正办法：
#
# - 它把**最后一个 Dense 层的 kernel**（128 x 10）用于**每一个卷积层**。用四个下标去索引一个二维数组，就会引发上面的 `IndexError`；即使修好了索引，一个 (128, 10) 的矩阵也永远填不满一个 (3, 3, 3, 96) 的卷积核。卷积核应当交给**角色相同**的层，就像 `transfer_weights` 按名称所做的那样，而且循环必须跳过没有权重的层。
# - 目标模型要求 `(227, 227, 3)` 的图像和 `1000` 个类别，面对的却是 28 x 28 的灰度数字，而且它的第一个 Dense 层比一个 Binder 会话的内存还大。源文把只有两个卷积层的源模型称为 `VGG16`（「源域分类器使用VGG模型（有16层）」）；标准的修正是采用与源模型同一家族、并具有目标的输入和类别的目标模型，就像 `copied_model` 所构建的那样。
# - 它的每个目标块都是 `Conv2D(activation="relu")` -> `BatchNormalization` -> `ReLU`：在归一化之前*和*之后各有一个 ReLU。标准的块是 Conv（无激活函数）-> BatchNorm -> ReLU（Ioffe & Szegedy 2015），课程的 CNN 就是这样构建的。
# - 它的正文说，接下来「用目标域分类器在源域数据上进行训练，并在目标域数据上进行测试」，但它的代码从未加载目标域数据，也从未训练或测量目标模型：它以 `summary()` 结束。只有当迁移得到的模型在目标的标签上训练、并在目标的测试集上与一个基线相比较时，才能表明迁移有帮助，正如上面的实验所做的那样。

# %% [markdown]
# ## 练习 1：从灰度到彩色，经由亮度
#
# 第 1 节把灰度卷积核平均分给 R、G、B：当彩色图像满足 R = G = B 时，这是对的。把彩色照片交给灰度模型时，通常先把它转换成**亮度**（luminance）$Y = 0.299R + 0.587G + 0.114B$（即 `tf.image.rgb_to_grayscale` 所做的）。编写 `grey_to_luminance(grey_kernel)`：给定形状为 (kh, kw, 1, filters) 的第一层卷积核，返回 RGB 卷积核 (kh, kw, 3, filters)，使它在任何彩色图像上的输出，都等于灰度卷积在该图像亮度上的输出，从而把这一转换内置到第一层中。请用 NumPy：检查会拒绝 `adapt_kernel`，并在它自己生成的卷积核上测试你的函数。卡住了？`exercises.show_hint(1)`。
#
# 参考答案的链接在本章的最后一个单元格中。

# %%
from course_lib.chapters.ch04_transfer_networks import exercises


def grey_to_luminance(grey_kernel):
    return None  # your code: the RGB kernel, shape (kh, kw, 3, filters)


exercises.check_grey_to_luminance(grey_to_luminance);

# %% [markdown]
# ## 2. 域内映射：两个域共用一个嵌入
#
# 不复制权重，而是同时在两个域上训练**一个**网络 $g$，并要求它把同一个数字的图像放在同一个位置，无论图像来自哪个域。利用全部源域标签和少量目标域标签，CCSA（Motiian et al. 2017）在通常的交叉熵之外，对（源，目标）图像对再加上两个损失：
#
# $$ d_{ij} = \lVert g(x^s_i) - g(x^t_j) \rVert, \qquad
#    L_{\text{align}} = \operatorname{mean}_{y^s_i = y^t_j}\, d_{ij}^2, \qquad
#    L_{\text{separate}} = \operatorname{mean}_{y^s_i \ne y^t_j}\, \max(0,\, m - d_{ij})^2 $$
#
# $$ L = (1-\alpha)\,(\mathrm{CE}_s + \mathrm{CE}_t) + \alpha\,(L_{\text{align}} + L_{\text{separate}}) $$
#
# 同类的图像对被拉近，不同类的图像对被推开至少一个间隔（margin）$m$，再由一个 softmax 分类头读取嵌入。源文把这描述为「将源域数据转变成目标域特征空间」，它的公式也没有说清训练的是什么、怎样训练；共享嵌入是这一想法标准的、可行的形式。

# %%
diagrams.shared_embedding_diagram();

# %% [markdown]
# **在纯 Keras 中**，带有自己的损失的方法是一个 `keras.Model` 子类，由它的 `train_step` 计算这个损失；然后 `fit` 像训练任何模型一样训练它（`shared_embedding.CCSA` 做的就是这件事，外加输入检查和日志）。这个单元格用五个批次的图像对训练它，并与课程的 `CCSA` 并排比较，后者在同样的批次上、从同样的权重出发：

# %%
import keras
import tensorflow as tf

from course_lib.core.layers import cut
from course_lib.core.training import fit
from course_lib.methods import shared_embedding
from course_lib.methods.shared_embedding import alignment_losses


class CCSA(keras.Model):
    def __init__(self, embedding, head, alpha=0.25, margin=1.0):
        super().__init__()
        self.embedding, self.head, self.alpha, self.margin = embedding, head, alpha, margin

    def call(self, x, training=False):
        return self.head(self.embedding(x, training=training))

    def train_step(self, data):
        (x_s, x_t, y_t), y_s = data             # a source batch and a labelled target batch
        with tf.GradientTape() as tape:
            z_s, z_t = self.embedding(x_s, training=True), self.embedding(x_t, training=True)
            ce = (self.compute_loss(y=y_s, y_pred=self.head(z_s))
                  + self.compute_loss(y=y_t, y_pred=self.head(z_t)))
            align, separate = alignment_losses(z_s, y_s, z_t, y_t, self.margin)
            loss = (1 - self.alpha) * ce + self.alpha * (align + separate)
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(grads, self.trainable_variables)
        return {"loss": loss, "align": align, "separate": separate}


x_source, y_source = (a[:320].copy() for a in load_domain("mnist", "train", channels=3))   # keep only what trains
x_target, y_target = (a[:30].copy() for a in load_domain("mnist_m", "train", channels=3))
pairs_x, pairs_y = shared_embedding.labelled_pairs(x_source, y_source, x_target, y_target)

classifier = shared_embedding.build_embedding_classifier(seed=0)
model = CCSA(cut(classifier, "embedding"), classifier.get_layer("head"))
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
pairs = tf.data.Dataset.from_tensor_slices(((pairs_x["source"], pairs_x["target"], pairs_x["target_labels"]),
                                            pairs_y)).batch(64)
model.fit(pairs, epochs=1, shuffle=False, verbose=0)   # and validation_data=(x_val, y_val) to watch it

course_classifier = shared_embedding.build_embedding_classifier(seed=0)
fit(shared_embedding.CCSA(course_classifier), tf.data.Dataset.from_tensor_slices((pairs_x, pairs_y)).batch(64),
    epochs=1)
largest = max(float(np.abs(a - b).max()) for a, b in zip(classifier.get_weights(), course_classifier.get_weights()))
print(f"plain Keras vs course_lib's CCSA after 5 steps on the same pairs: weights differ by at most {largest:.1e}")
assert largest < 1e-3
import gc

del model, classifier, course_classifier  # the comparison is done: free these models' memory
gc.collect()  # now (Keras models hold reference cycles)

# %% [markdown]
# 公平的基线是只在少量目标标签上训练的**同一个网络**。第三个实验组在两个域的标签上训练，但不用成对损失（$\alpha = 0$），以显示在单纯使用源域标签之外，对齐还能额外带来什么。下面是实验注册表在多个种子上的结果（图中每个点是一个种子的测试准确率，灰线连接同一种子的各实验组，所以一条上升的线表示在该种子上它右边的实验组获胜）：

# %%
embedding_report = results.load("shared_embedding")
display(embedding_report.table())
plots.seeds(embedding_report);
embedding_report.claims()

# %% [markdown]
# ### 成对损失在哪里有帮助？一次搜索
#
# 与“两个域的标签、无对齐”（同样的网络、图像对、步数和批次，$\alpha = 0$）相比，成对损失在一些种子上赢、在另一些种子上输。Motiian et al. 是在少得多的目标标签下展示其收益的：每类一到七个。所以 `ccsa_search` 实验用更少的每个数字带标签 MNIST-M 图像来训练（验证集保持每个数字 5<!-- fact: .experiments:VALIDATION_PER_CLASS --> 张），并在每个数量上训练三个实验组：无对齐；使用论文中的 $\alpha$ 和 $m$ 的 CCSA；以及在几种设置中按验证集选出 $\alpha$ 和 $m$ 的 CCSA（论文的设置排在第一，因此平局时它胜出）。其中一个间隔取在 $\sqrt{2}$ 附近，即两个不相关的单位向量之间的距离，这样分离损失就会作用于每一个比随机情况靠得更近的不同类图像对。每个成对损失都是对它自己那些图像对的平均，所以无论各有多少对，同类和不同类的图像对权重相同（论文的代码则是每个同类图像对采样三个不同类图像对）。下表给出种子 0-4 上 CCSA 相对于无对齐在测试准确率上的提升（百分点），以及它获胜的种子：

# %%
print(f"labels per digit: {chapter.SEARCH_LABELS}; (alpha, margin) tried: {chapter.SEARCH_GRID}, "
      f"the paper's: {chapter.SEARCH_GRID[0]}")
search_report = results.load("ccsa_search")
display(chapter.search_gains(search_report))

# %% [markdown]
# 现在现场运行一个种子，只跑其中两个实验组，看看它们的嵌入内部：跨越两个域，同类和不同类的图像对相距多远？用 MNIST 测试数字对同样数量的 MNIST-M 测试数字：

# %%
from course_lib.methods import shared_embedding

embedded = {}
chapter.shared_embedding(seed=0, arms=(chapter.ARM_TARGET_ONLY, chapter.ARM_CCSA), keep=embedded,
                         progress=True)
x_s, y_s = (a[:300].copy() for a in load_domain("mnist", "test", channels=3))   # keep only what is used
x_t, y_t = (a[:300].copy() for a in load_domain("mnist_m", "test", channels=3))
distances = {arm: shared_embedding.pair_distances(embedded[arm].model, x_s, y_s, x_t, y_t) for arm in embedded}
for arm, (same, different) in distances.items():
    print(f"{arm:26s} test accuracy {embedded[arm].test:.3f}; mean distance, same class "
          f"{same.mean():.2f}, different class {different.mean():.2f}")
plots.pair_distances(distances, margin=shared_embedding.MARGIN);

# %% [markdown]
# ### 值得注意的地方
#
# - 仅靠目标标签只能训练出一个弱网络；通过共享嵌入加入源域标签帮助很大，因为数字分类器必须学会的东西，大部分在两个域中是一样的。
# - 在第一张表中逐个种子比较 CCSA 实验组和“两个域的标签、无对齐”：大部分收益来自在两个域上训练这件事本身。
# - 在搜索中，成对损失收益的中位数在每种情形下都为正，且至多几个百分点；在大多数情形下都有某个种子输掉，有一次输了十个百分点以上（min 列）。
# - 有些情形可能在全部五个种子上都获胜（“seeds won”列）。在所试的八种情形中，五连胜可能只是运气：从搜索中挑出来的发现需要新的种子来检验，就像一个选择需要测试集来检验一样（`python -m course_lib.experiments ccsa_search --seeds 5 6 7` 会运行它们）。课程没有登记任何成对损失在每个种子上都胜过不带它们的同一网络的情形。
# - 按验证集选择的那个实验组训练了几种设置并保留最好的一个，而“无对齐”只训练一次：它的优势可能有一部分来自这些额外的尝试。
# - 在共享嵌入中，来自两个域的同类图像对比不同类图像对靠得更近：两个域已经被**映射到同一个空间**。
# - 在高维的单位球面上，不相关的点相距约 $\sqrt{2} \approx 1.41$，超过了间隔 $m = 1$（见直方图），所以分离损失只作用于那些靠得太近的不同类图像对；大部分工作由对齐项完成。

# %% [markdown]
# ## 练习 2：CCSA 的成对损失，改用余弦距离
#
# 嵌入的长度可以增长而方向不变；因此许多对比损失用夹角来度量图像对。用 NumPy 编写 `cosine_pair_losses(z_source, y_source, z_target, y_target, margin)`：给定源嵌入 (n, d) 及其标签 (n,)、目标嵌入 (m, d) 及其标签 (m,)，按上面的定义返回 `(align, separate)`，但改用**余弦距离** $d_{ij} = 1 - \frac{g(x^s_i) \cdot g(x^t_j)}{\lVert g(x^s_i) \rVert\, \lVert g(x^t_j) \rVert}$（对零个图像对求平均，结果为零）。检查会在它自己生成的嵌入上测试你的函数，并拒绝课程的 `alignment_losses`。卡住了？`exercises.show_hint(2)`。

# %%
def cosine_pair_losses(z_source, y_source, z_target, y_target, margin):
    return None  # your code: (align, separate)


exercises.check_cosine_pair_losses(cosine_pair_losses);

# %% [markdown]
# ## 3. 域间融合：一个冻结的源分支和一个可训练的目标分支
#
# 融合网络有两个输入分支，每个分支对应同一样本的一种视图，两者在一个中间的**融合层**中汇合。这里的 **源分支**是灰度源模型的卷积特征，已冻结，读取 MNIST-M 图像的灰度视图；**目标分支**是一个从头训练的小型 CNN，读取彩色视图。设两个分支的特征为 $a$ 和 $b$：
#
# $$ \text{concatenation: } h = [a; b] \qquad
#    \text{gated sum: } g = \sigma(W_g [a'; b'] + c),\; h = g \odot a' + (1 - g) \odot b' $$
#
# 其中 $a' = W_a a$ 和 $b' = W_b b$ 把两者投影到相同的宽度。一个 softmax 分类头读取 $h$。公平的基线是**各分支单独使用**，配同样的分类头，用同样的少量标签。
#
# **在纯 Keras 中**，它是一个带有冻结分支的双输入函数式模型。这个单元格构建它，并在几十张图像上训练一个 epoch；课程的 `fusion.build_fusion` 构建的是同一个模型（它的权重与这个模型的一一对应，并给出相同的预测）。分支读取的是源模型的一个副本（就像 `fusion.source_branch` 那样），所以冻结分支时，源模型本身仍然可训练。

# %%
from course_lib.methods import fusion

source_copy = keras.models.clone_model(source)
source_copy.set_weights(source.get_weights())
target_branch = fusion.target_branch(seed=0)    # a small CNN, trained from scratch
x_grey, y = (a[:256].copy() for a in load_domain("mnist_m", "train", channels=1))   # keep only what is used
x_colour = load_domain("mnist_m", "train", channels=3)[0][:256].copy()

source_branch = keras.Model(source_copy.input, source_copy.get_layer("flatten").output)
source_branch.trainable = False                   # the source's knowledge stays as it is
grey, colour = keras.Input((28, 28, 1)), keras.Input((28, 28, 3))
h = keras.layers.Concatenate()([source_branch(grey), target_branch(colour)])
h = keras.layers.Dropout(0.3)(h)
model = keras.Model([grey, colour], keras.layers.Dense(10, activation="softmax")(h))
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit([x_grey[:64], x_colour[:64]], y[:64], epochs=1, verbose=0)   # and validation_data=... to choose

course_model = fusion.build_fusion(fusion.source_branch(source), fusion.target_branch(seed=0))
course_model.set_weights(model.get_weights())     # raises unless every weight has the same shape
difference = np.abs(predict(model, [x_grey[:256], x_colour[:256]])
                    - predict(course_model, [x_grey[:256], x_colour[:256]])).max()
unchanged = all(np.array_equal(a, b) for a, b in zip(source_branch.get_weights(),
                                                     fusion.source_branch(source).get_weights()))
print(f"plain Keras vs course_lib's build_fusion: same weights give predictions within {difference:.1e}; "
      f"the frozen branch unchanged by training: {unchanged}")
assert difference < 1e-5 and unchanged

# %%
diagrams.fusion_diagram("concat");

# %%
from course_lib.core.layers import trainable_summary

fused = {}
chapter.fusion(seed=0, arms=(chapter.ARM_FUSION,), modes=("concat",), keep=fused, progress=True)
concat = fused[chapter.ARM_FUSION]["concat"]
summary = trainable_summary(concat.model).set_index("layer")
display(summary)
assert summary.loc["source_branch", "trainable_params"] == 0  # the frozen branch does no learning
print(f"concatenation, seed 0: kept epoch {concat.best_epoch}, test accuracy {concat.test:.3f}")

# %% [markdown]
# 与各分支单独使用、以及与门控求和相比较，跨多个种子（实验注册表的结果）：

# %%
fusion_report = results.load("fusion")
display(fusion_report.table())
plots.seeds(fusion_report);
fusion_report.claims()

# %% [markdown]
# ### 值得注意的地方
#
# - 每个分支单独使用都有局限：冻结的源特征是在干净的灰度数字上学到的，而目标分支只有少量图像可学。拼接之后，分类头可以同时利用两者。
# - 门控求和要从同样少的图像中学更多的东西（两个投影和一个门）；在表中逐个种子把它与拼接相比较。
# - 冻结源分支正是保住其知识的关键：它在这里没有可训练的权重，所以少量彩色图像无法覆盖成千上万张灰度图像教给它的东西。
# - 源文说融合层「将源域数据和目标域数据拼接起来」；实际拼接的是*同一样本的两个特征向量*，每个分支一个。

# %% [markdown]
# ## 4. 多模态迁移：源域有两种视图，目标域只有一种
#
# 源文把**多模态迁移**（multimodal transfer）列为迁移的一类：「源域具有多种模态信息……而目标域只有一种模态信息」，之后却再也没有回到这个话题。这里就来讲它。
#
# 设定：一个实验室用两个传感器同时记录数字，得到一份干净的**墨迹**扫描（`mnist` 图像）和一张彩色**照片**（同一个数字的 `mnist_m` 合成图；两个域以相同的方式划分，所以两者的第 *i* 行是同一个数字）。实验室有一个墨迹视图的模型，在带标签的墨迹扫描上训练；这些成对的记录**没有标签**。部署的系统**只有相机**：只有照片，其中少量带标签，与本章其余部分一样。
#
# 方法是**跨模态蒸馏**（cross-modal distillation，Gupta, Hoffman & Malik 2016，“supervision transfer”）：墨迹模型根据每一对的墨迹视图给它打标签，照片模型则在照片视图上从这些标签中学习。知识通过成对的样本从一种模态传到另一种模态；部署时永远不需要墨迹视图。照片模型从墨迹模型的卷积核出发，复制到三个通道（第 1 节），并保留它在照片验证集上最好的 epoch。

# %%
diagrams.multimodal_diagram();

# %%
multimodal_report = results.load("multimodal_transfer")
display(multimodal_report.table())
plots.seeds(multimodal_report, arm=[chapter.ARM_INK_ON_PHOTOS, chapter.ARM_PHOTO_FEW,
                                    chapter.ARM_PHOTO_TAUGHT, chapter.ARM_PHOTO_ALL]);
multimodal_report.claims()

# %% [markdown]
# 各实验组都在 MNIST-M 测试照片上测试：把墨迹模型原样用于照片（转为灰度）；只在少量带标签照片上训练的照片模型（单视图模型）；由墨迹视图教出来的照片模型；以及仅供参考的、用每一对的真实标签训练的照片模型，而这个设定并没有这些标签。“ink model's labels for the pairs”这一行表示它交出的标签有多大比例是对的。
#
# 现在在一个种子上现场运行这个被教出来的照片模型：

# %%
taught = {}
live = chapter.multimodal_transfer(seed=0, arms=(chapter.ARM_INK_LABELS, chapter.ARM_PHOTO_TAUGHT),
                                   keep=taught, progress=True)
print(f"the ink model labelled the pairs right {live.value(chapter.ARM_INK_LABELS):.1%} of the time; "
      f"the photo model it taught scores {live.value(chapter.ARM_PHOTO_TAUGHT):.3f} on the test photos")
few_labels = multimodal_report.values(chapter.ARM_PHOTO_FEW)[multimodal_report.seeds.index(0)]
print(f"the photo model trained on the few labels alone scored {few_labels:.3f} on this seed")
assert live.value(chapter.ARM_PHOTO_TAUGHT) - few_labels > 0.05

# %% [markdown]
# ### 值得注意的地方
#
# - 墨迹模型在墨迹上表现好，在照片上表现差：在一种模态上训练的模型，原样用在另一种模态上是行不通的。
# - 通过成对的样本，墨迹模型的知识到达了一个只看照片的模型，除了设定中本来就有的少量照片标签之外，不需要任何照片标签。它自己在这些样本对上犯的错误也随之传了过去。
# - 为什么不像第 3 节的融合那样，在两种视图上训练一个模型？双输入模型需要两个输入；部署时缺了一个，它就没有处理缺失视图的规则，除非训练时专门为此做过准备（modality dropout，Neverova et al. 2016，不时丢弃整个视图）。蒸馏得到的模型从来不需要第二种视图。
# - 这就是伪标签学习（第 05 章），只不过标签来自同一样本的**另一种视图**：这比模型为自己的输入给出的标签准确得多。
#
# **不要与跨域迁移混淆。** 源文的第一类「跨域迁移」，举的例子是「图像分类的车辆检测任务」。单单一个任务并不构成迁移设定，而且车辆检测也不是图像分类。使它成为域迁移的，是数据改变而任务不变：在某个城市的白天图像上训练的车辆检测器被用在夜间，或用在另一个城市，或者在合成的游戏画面上训练、用在真实照片上。MNIST 到 MNIST-M，即本课程贯穿始终的例子，就是同一类变化。

# %% [markdown]
# ## 要点
#
# - **通道复制**复用源模型的每一个权重；只有第一个卷积核改变：在源的各输入通道上求和，再分给目标的各个通道，使各通道相等时输出不变。
# - **共享嵌入**（CCSA）在两个域的标签上训练一个网络；它在每个种子上都胜过只用目标标签，而其中大部分来自使用源域标签这件事本身。在不同的标签数量和设置上搜索时，成对损失收益的中位数是几个百分点，并且在大多数情形下都会在某个种子上输；课程没有登记任何它们在每个种子上都获胜的情形。
# - **融合**把一个冻结的源分支和一个可训练的目标分支连接起来；冻结保住了源的知识。
# - **多模态迁移**通过成对的样本跨越模态：一种视图的模型给样本对打标签，另一种视图的模型从中学习。
# - 在设定所拥有的标签中划出验证集，用它选择 epoch 数；只测试一次。
#
# ## 复习题
#
# 1. 为什么把复制的卷积核除以三，就能保持灰度图像的激活？要从三个通道到四个通道，应该怎么做？
# 2. 在 CCSA 损失中，如果 $\alpha = 1$（完全没有交叉熵），会发生什么？
# 3. 为什么“各分支单独使用、同样的分类头、同样的标签”才是融合的正确基线，而不是原样的源模型？
# 4. 在第 4 节中，为什么成对的记录不能是墨迹模型训练时用过的那些图像？
# 5. 复制的模型的验证曲线在第一个 epoch 之后下降。网络中首先改变的是什么，为什么？

# %% [markdown] tags=["sync:next"]
# 参考答案单独存放，这样“全部运行”时不会显示它们：`chapters/zh/solutions/04_transfer_networks.ipynb`（[在 GitHub 上](https://github.com/transfer-learning-hands-on/course/blob/main/chapters/zh/solutions/04_transfer_networks.ipynb)，[在 Colab 中](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/zh/solutions/04_transfer_networks.ipynb)）。
#
# **下一章**：[05 · 自训练与无源域适应](05_self_training_and_source_free.ipynb)（[在 Colab 中](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/zh/05_self_training_and_source_free.ipynb)）：从无标签的目标域学习：AdaBN、自训练，以及不用源域数据的适应。
# 双语术语表：[GLOSSARY.md](../GLOSSARY.md)（[在 GitHub 上](https://github.com/transfer-learning-hands-on/course/blob/main/chapters/GLOSSARY.md)）。
