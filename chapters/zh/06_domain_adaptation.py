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
# # 06 · 域适配：让无标签域的特征看起来像源域的特征
# [English](../06_domain_adaptation.ipynb) · 中文
#
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/transfer-learning-hands-on/course/HEAD?urlpath=lab/tree/chapters/zh/06_domain_adaptation.ipynb) [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/zh/06_domain_adaptation.ipynb)
#
# **预备知识：** 第 01 章，把网络当作特征提取器加一个分类头（[01_feature_extraction.ipynb](01_feature_extraction.ipynb)，[在 Colab 中打开](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/zh/01_feature_extraction.ipynb)）；第 05 章的 **AdaBN**，即在目标域上重新估计 BatchNorm 统计量，本章的每个模型在测试前都会用到它（[05_self_training_and_source_free.ipynb](05_self_training_and_source_free.ipynb)，[在 Colab 中打开](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/zh/05_self_training_and_source_free.ipynb)）。
#
# **整章的设定：** 有标签的源域图像（`mnist`）和**无标签**的目标域图像（`mnist_m`）。没有可以用来训练的目标域标签，也没有可以用来选择设置的目标域标签。
#
# **本章你将学会**
# 1. 说出无监督域适配（unsupervised domain adaptation）对齐的是什么，以及为什么：目标域误差的上界；
# 2. 训练 **DANN**：在一个网络中，把域分类器放在**梯度反转层**（gradient reversal layer）之后，也用纯 Keras 实现；
# 3. 训练 **Deep CORAL** 和 **MMD**，它们转而匹配两个域特征的统计量；
# 4. 诚实地比较：每个实验组使用相同的网络、热启动、步数和测试时的 BatchNorm，并与**最强的**仅源域基线比较；并看清为什么 DANN 需要一个跟得上的对手；
# 5. 观察特征空间，测量两个域相距多远（**代理 A 距离**）；
# 6. **不用目标域标签**选择适配权重，并看到在测试集上选择它会把结果美化多少。
#
# **运行时间：** 下面的检查会打印课程基准测试为本 notebook 测得的时间；预算是单个 CPU、缓存已预热时 90<!-- fact: syllabus:BUDGET_SECONDS --> s，内存 1.5<!-- fact: core.environment:CHAPTER_MEMORY_GB --> GB。中英术语对照：[GLOSSARY.md](../GLOSSARY.md)（[GitHub 上的版本](https://github.com/transfer-learning-hands-on/course/blob/main/chapters/GLOSSARY.md)）。

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
course_lib.check_env("06_domain_adaptation")

# %% [markdown]
# ## 1 · 设定：有标签的源域，无标签的目标域
#
# 课程的源模型学的是 MNIST 数字；在 `mnist_m`（同样的数字与照片混合而成）上，它丢掉了很大一部分准确率（第 00 章测量了这一差距；下面的仅源域各行会再次显示它）。这里目标域有图像，但**没有标签**。数据由下一个单元格加载（灰度图：源模型是灰度的，而照片的颜色与数字是几毫无关系）。
#
# `mnist_m` 是由 MNIST 数字制作的：它的测试图像来自 MNIST 的测试数字。因此本章的每一个选择都只看**验证**数字，它们被同时从两个训练集中留了出来：在 `mnist` 中带标签（模型还能完成源任务吗？），在 `mnist_m` 中不带标签（两个域相距多远？）。没有任何测试图像、也没有任何测试图像背后的数字参与任何选择；测试集只为每个模型给出一次数字。

# %%
import numpy as np

from course_lib.chapters.ch06_domain_adaptation import experiments as chapter

task = chapter.load_task(seed=0)
source = chapter.source_model(seed=0)
for what, images in (("labelled source (mnist train)", task.x_source),
                     ("unlabelled target (mnist_m train)", task.x_target),
                     ("source validation (held-out digits, labelled)", task.x_source_val),
                     ("target validation (the same digits, unlabelled)", task.x_target_val),
                     ("target test (mnist_m test, used once)", task.x_test)):
    print(f"{what:48s} {len(images):6,d} images")

# %% [markdown]
# 本章的每个模型都是同一个网络：源模型在其特征层处被拆成一个**提取器** $G_f$（从图像到特征层的输出）和一个 **标签分类器** $G_y$（分类头），并用源模型的权重热启动。三个**仅源域**（source-only）基线完全不做适配：
#
# - `source_only`：原样的源模型；
# - `source_only_bn`：同一个模型，在无标签的目标域图像上重新估计其 BatchNorm 统计量（AdaBN，第 05 章）：不做梯度步；
# - `source_only_trained`：适配方法自己的训练循环，训练同样多的步数，但关掉适配，然后做 AdaBN。如果一个方法只胜过前两个，它的提升可能来自额外的训练。
#
# 一个方法的提升，是逐个随机种子地相对于三者中**最强的**那个来测量的。不需要训练的两个，现在就运行：

# %%
runs = {}
measured = chapter.domain_adaptation(seed=0, arms=("source_only", "source_only_bn"), keep=runs)
for m in measured:
    if m.metric == "target_accuracy":
        print(f"{m.arm:16s} target test accuracy {m.value:.3f}")

# %% [markdown]
# ## 2 · 适配对齐的是什么，以及为什么
#
# Ben-David et al. (2010) 用三项给出了分类器 $h$ 在目标域上的误差的上界：
#
# $$\varepsilon_T(h) \;\le\; \varepsilon_S(h) \;+\; \tfrac12\, d_{\mathcal H\Delta\mathcal H}(S, T) \;+\; \lambda^\ast .$$
#
# $\varepsilon_S$ 是源域误差，源域标签让我们能把它保持在低位。$d_{\mathcal H\Delta\mathcal H}$ 衡量的是分类器能多好地区分源域**特征**与目标域特征：如果没有哪个分类器能区分，那么在源域上训练的分类头就会把目标域看作更多的同类数据。它可以不用任何标签来估计：**代理 A 距离**（proxy A-distance，PAD）训练一个线性分类器，区分留出的源域特征与目标域特征，设其测试误差为 $\varepsilon$，则 $\text{PAD} = 2(1 - 2\varepsilon)$：两个域完全可分时为 $2$，无法区分时为 $0$。$\lambda^\ast$ 是最佳联合分类器的误差，当一种标注能同时适用于两个域时它很小（这里是同样的十个数字）。所以：**保持源域误差低，并让两个域的特征难以区分**。下面三种方法的区别只在于它们如何衡量“相距”；每种方法都在源域损失上加一项来衡量它，并在两个域上训练同一个网络。
#
# 每种方法都把源域批次和目标域批次**分别**送入提取器：这样每个 BatchNorm 层都用每个域自己的统计量来归一化该域（一个混合批次会让 BatchNorm 用两个域统计量的平均来归一化两者，对哪个域都不对）。

# %% [markdown]
# ## 3 · DANN：一个域分类器，和一个指向反方向的梯度
#
# DANN（Ganin & Lempitsky 2015）加入一个**域分类器**（domain classifier）$G_d$，它读取特征并猜测其所属的域。$G_d$ 被训练去赢；提取器 $G_f$ 被训练去让它输，同时 $G_y$ 继续对源域做分类：
#
# $$\min_{G_f,\,G_y}\;\max_{G_d}\quad L_y\big(G_y(G_f(x_s)),\,y_s\big)\;-\;\lambda\,L_d\big(G_d(G_f(x)),\,d\big)$$
#
# 一次反向传播就同时完成两件事，这要归功于 $G_f$ 与 $G_d$ 之间的**梯度反转层** $R_\lambda$：前向时它是恒等映射，反向时它把梯度乘以 $-\lambda$。$G_d$ 照常最小化 $L_d$；$L_d$ 到达 $G_f$ 的梯度被反转了，所以 $G_f$ 是在让 $L_d$ 上升。随着训练推进，$\lambda$ 从 $0$ 升到 $\lambda_{\max}$，$\lambda_p = \lambda_{\max}\,(2 / (1 + e^{-10 p}) - 1)$，$p$ 是已完成训练的比例，这样未经训练的 $G_d$ 最初的猜测就不会扰乱提取器。这里的 $L_d$ 是在源域批次和目标域批次上合在一起取平均的二元交叉熵；Ganin et al. (2016) 则把源域批次的均值与目标域批次的均值相加，是这里的两倍，所以按他们的记号，同样的训练对应的 $\lambda_{\max}$ 只有本章的一半。

# %%
from course_lib.chapters.ch06_domain_adaptation import plots

plots.dann_diagram();

# %% [markdown]
# 在纯 Keras 中，反转就是一个值为 $x$、导数为 $-\lambda$ 的层；训练步把每个域单独送入提取器，并给域分类器配一个它自己的优化器（下一节说明原因）。这就是 `course_lib.methods.adaptation.DANN` 所做的，外加检查、日志和 $\lambda$ 的调度。这个单元格从相同的权重出发、用相同的批次，把这个 DANN 与课程的 DANN 并排训练几步，两者都取 $\lambda = 0$（课程的调度每一步都会改变 $\lambda$；这个层则把它固定）：相同的两次前向传播、损失和优化器，给出相同的权重。

# %%
import keras
import tensorflow as tf
from keras import ops

from course_lib.core.layers import split
from course_lib.core.training import fit
from course_lib.methods import adaptation


class GradientReversal(keras.layers.Layer):
    def __init__(self, lambda_):
        super().__init__()
        self.lambda_ = lambda_

    def call(self, x):           # value: x;  derivative: -lambda
        return ops.stop_gradient((1 + self.lambda_) * x) - self.lambda_ * x


class DANN(keras.Model):
    def __init__(self, extractor, classifier, domain_classifier, domain_optimizer):
        super().__init__()
        self.extractor, self.classifier = extractor, classifier
        self.domain_classifier, self.domain_optimizer = domain_classifier, domain_optimizer

    def call(self, x, training=False):
        return self.classifier(self.extractor(x, training=training), training=training)

    def train_step(self, data):
        x, y = data                              # x = {"source": ..., "target": ...}, y = source labels
        with tf.GradientTape() as tape:
            f_s = self.extractor(x["source"], training=True)    # two forward passes:
            f_t = self.extractor(x["target"], training=True)    # BatchNorm per domain
            task = self.compute_loss(y=y, y_pred=self.classifier(f_s, training=True))
            f = ops.concatenate([f_s, f_t])
            d = ops.concatenate([ops.zeros_like(f_s[:, :1]), ops.ones_like(f_t[:, :1])])  # 0 source, 1 target
            logits = self.domain_classifier(f, training=True)   # GradientReversal is its first layer
            domain = keras.losses.binary_crossentropy(d, logits, from_logits=True)
            loss = task + ops.mean(domain)
        main = self.extractor.trainable_variables + self.classifier.trainable_variables
        adversary = self.domain_classifier.trainable_variables
        grads = tape.gradient(loss, main + adversary)
        self.optimizer.apply(grads[:len(main)], main)
        self.domain_optimizer.apply(grads[len(main):], adversary)
        return {"loss": loss}


pairs = tf.data.Dataset.from_tensor_slices(
    adaptation.paired(task.x_source, task.y_source, task.x_target[:256])).batch(64)
course_dann = adaptation.DANN(*split(source, "features_relu"), total_steps=4, lambda_max=0.0)
domain_classifier = keras.Sequential([keras.Input((128,)), GradientReversal(0.0),
                                      keras.layers.Dense(256, activation="relu"),
                                      keras.layers.Dense(256, activation="relu"), keras.layers.Dense(1)])
domain_classifier.set_weights(course_dann.domain_classifier.get_weights()[1:])  # the same start (not its lambda)
model = DANN(*split(source, "features_relu"), domain_classifier, keras.optimizers.Adam(1e-2))
model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
model.fit(pairs, epochs=1, shuffle=False, verbose=0)
fit(course_dann, pairs, epochs=1)     # Adam at 1e-3, the domain classifier's at 10 times that
largest = max(float(np.abs(a - b).max()) for a, b in zip(model.extractor.get_weights() + domain_classifier.get_weights(),
                                                        course_dann.extractor.get_weights()
                                                        + course_dann.domain_classifier.get_weights()[1:]))
print(f"plain Keras vs course_lib's DANN after 4 steps: extractor and domain classifier weights differ by at "
      f"most {largest:.1e}")
assert largest < 1e-2  # rounding only (Adam turns a rounding-sized gradient into a full step)

# %% [markdown]
# 课程的调用：注册实验的 `dann` 实验组，以及用于公平比较的 `source_only_trained` 实验组。两者训练相同的步数（进度行显示了各自的用时）。

# %%
measured.extend(chapter.domain_adaptation(seed=0, arms=("source_only_trained", "dann"), keep=runs, progress=True))
dann_model = runs["dann"].model
print(f"trained {dann_model.total_steps} steps of {chapter.BATCH_SIZE} source + {chapter.BATCH_SIZE} target "
      f"images; lambda reached {dann_model.reversal.lambda_.numpy():.3f} (lambda_max {dann_model.lambda_max:g})")
strongest = max(chapter.SOURCE_ONLY, key=measured.value)
print(f"strongest source-only arm on this seed: {strongest} {measured.value(strongest):.3f}")
print(f"DANN: {measured.value('dann'):.3f} ({100 * (measured.value('dann') - measured.value(strongest)):+.1f} points)")

# %% [markdown]
# 结果文件保存了同一实验在种子 0-4 上的结果（`python -m course_lib.experiments domain_adaptation --seeds 0 1 2 3 4 --save`）：每个种子在一个新的进程中、用相同的代码运行。在写下它的那台机器上，本 notebook 种子 0 的运行给出与文件中种子 0 那一行一直到最后一位都相同的数字。在你的机器上可能不会：TensorFlow 的 oneDNN 内核根据处理器选择所用的指令（AVX2、AVX-512……），而每种指令以各自的顺序把同样的数相加。一步中的舍入差异会随着训练进行而放大。实验注册表测量了这会让每个数字移动多少（同样的种子，分别打开 oneDNN、关闭 oneDNN、以及限制到 AVX2，再加上文件本身的值）：这个**离散范围**就是容差，打印在下面。

# %%
from course_lib import results

report = results.load("domain_adaptation")
print(results.beside(report, {arm: measured.value(arm) for arm in ("source_only_trained", "dann")}))

# %% [markdown]
# ### 一个跟得上的对手
#
# 提取器一开始就是**训练好的**（热启动），而域分类器一开始是**随机的**。一个小的域分类器（只有一个小的隐藏层：`WEAK_ADVERSARY`），如果用提取器的优化器、以提取器的学习率训练，就追不上。一个接近随机水平（$0.5$）的域分类器看起来像是“两个域已经对齐”；对一个弱对手来说，它的意思却是“对手几乎什么也没发现”，而它传回的反转梯度也几乎不携带信息。因此，课程的 DANN 给它的域分类器两个隐藏层（`DOMAIN_UNITS`），以及 **它自己的 Adam 优化器，学习率是原来的 10<!-- fact: methods.adaptation.dann:DOMAIN_RATE_FACTOR --> 倍**（梯度被缩放时 Adam 的步长并不会变大，所以单独的优化器才是让某一部分学得更快的办法：第 03 章的分层学习率），以及第 6 节的无标签流程所选出的 $\lambda_{\max}$（`chapter.WEIGHTS`）。注册实验 `dann_adversary` 在 $\lambda_{\max} = 0.3$ 下运行了两种对手；其中 `label_free_score` 各行就是不用目标域标签选出对手的依据（第 6 节定义这个分数；越低越好），`domain_accuracy` 各行是域分类器在最后一个 epoch 的准确率（在训练批次上），`target_accuracy` 各行是目标域测试准确率。

# %%
adversary = results.load("dann_adversary")
display(adversary.table())
print(adversary.claims_text())
assert all(adversary.claims().values()) and adversary.seeds == report.seeds
weak_gain = np.array(adversary.values(chapter.WEAK_ADVERSARY)) - np.array(report.values("source_only_trained"))
print("the weak adversary minus source-only training, per seed: "
      + ", ".join(f"{100 * g:+.1f}" for g in weak_gain) + " points")

# %% [markdown]
# 再看本次运行的域分类器，逐个 epoch，在训练批次上（这是对这场博弈的诊断，不是模型的分数）：它一开始完全能区分两个域，随着 $\lambda$ 增大，提取器把它的准确率压了下去，但没有压到随机水平：一个仍能看出差异的对手，仍然会传回有用的梯度。

# %%
from course_lib.core import plots as course_plots

history = runs["dann"].history.history
ax = course_plots.learning_curves({"DANN": history}, metric="domain_accuracy")
ax.axhline(0.5, color="grey", linestyle="--", label="chance: cannot tell the domains apart")
ax.set(ylim=(0.4, 1.0), ylabel="domain classifier accuracy",
       title="DANN's domain classifier, on the training batches of each epoch")
ax.legend()
print("lambda per epoch (mean):", ", ".join(f"{v:.2f}" for v in history["lambda"]))

# %% [markdown]
# ### 与一个库对照
#
# 这个 DANN 和一个成熟库里的 DANN 一样好吗？`peer_adapt`（在本章的包里，但不属于课程：它需要 ADAPT 库，de Mathelin et al. 2021）在本章的任务上、种子 0-4 上训练了 ADAPT 的 DANN 和 Deep CORAL，每一个都在同一个进程里与课程的对应实验组并排运行，并保存了测得的结果；下面的单元格把它打印出来。ADAPT 像 Ganin et al. 那样把两个域的损失项相加（在同一个 $\lambda_{\max}$ 下是课程权重的两倍，见第 3 节），并通过重复一些图像补齐最后一个批次。与之**对齐**的课程 DANN（两倍的 $\lambda_{\max}$，完整的批次）在一些种子上低于 ADAPT 的，在另一些种子上高于它（最后一行：课程减去 ADAPT，逐个种子）。Deep CORAL 的几行属于第 4 节。

# %%
from course_lib.chapters.ch06_domain_adaptation import peer_adapt

peer = peer_adapt.load()
print(peer_adapt.table(peer))
for course, said in (("course", "as this chapter trains it"), ("course_matched", "matched to ADAPT's training")):
    print(f"the course's DANN {said}, minus ADAPT's, per seed (points):",
          ", ".join(f"{g:+.1f}" for g in peer_adapt.gaps(peer, course=course).values()))

# %% [markdown]
# ## 4 · Deep CORAL 与 MMD：匹配统计量，而不是骗过一个对手
#
# - **Deep CORAL**（Sun & Saenko 2016）匹配特征的**协方差**，其中 $C$ 是一个批次特征的 $(d, d)$ 协方差矩阵：$\; L_{\text{CORAL}} = \frac{1}{4d^2}\,\lVert C_S - C_T \rVert_F^2$（练习 1 要求在卷积特征图上计算它）。
# - **MMD**（最大均值差异，maximum mean discrepancy，如 DAN 中所用，Long et al. 2015）在高斯核 $k$ 的空间中比较两个特征分布，并对多个带宽求和：$\; \text{MMD}^2 = \overline{k(s, s')} + \overline{k(t, t')} - 2\,\overline{k(s, t)}$。
#
# 每一项都以一个权重加到源域损失上；训练步就是上面那个去掉域分类器的版本：`loss = task + weight * coral(f_s, f_t)`。下面用 `keras.ops` 写出 MMD，与课程的 `mmd_loss` 并列，作用在几十张源域图像和同样多张目标域图像的特征上：

# %%
from course_lib.core.evaluation import layer_output
from course_lib.methods.adaptation.discrepancy import mmd_loss


def mmd(s, t, multiples=(0.25, 0.5, 1.0, 2.0, 4.0)):
    both = ops.concatenate([s, t])
    sq = ops.sum(both ** 2, axis=1)
    dist = ops.maximum(sq[:, None] + sq[None, :] - 2 * both @ ops.transpose(both), 0.0)
    base = ops.stop_gradient(ops.mean(dist))
    k = sum(ops.exp(-dist / (base * m)) for m in multiples)
    n = ops.shape(s)[0]
    return ops.mean(k[:n, :n]) + ops.mean(k[n:, n:]) - 2 * ops.mean(k[:n, n:])


f_s = layer_output(source, "features_relu", task.x_source[:64])
f_t = layer_output(source, "features_relu", task.x_target[:64])
print(f"MMD^2 between the source model's features of the two domains: plain {float(mmd(f_s, f_t)):.5f}, "
      f"course_lib {float(mmd_loss(f_s, f_t)):.5f}")
assert abs(float(mmd(f_s, f_t)) - float(mmd_loss(f_s, f_t))) < 1e-5

# %% [markdown]
# 所有实验组在种子 0-4 上的目标域测试准确率（代理 A 距离在第 5 节出现），以及本课的论断，每一条都在这些种子中的每一个上检验过：

# %%
arms = [*chapter.SOURCE_ONLY, *chapter.METHODS]
display(report.table(arm=arms, metric="target_accuracy"))
print(report.claims_text())
for method in chapter.METHODS:
    gains = chapter.gains_over_source_only(report, method)
    print(f"{method:6s} gain over the strongest source-only arm, per seed: "
          + ", ".join(f"{100 * g:+.1f}" for g in gains) + " points")
assert all(report.claims().values())

# %%
names = {"source_only": "source\nonly", "source_only_bn": "source only\n+ AdaBN",
         "source_only_trained": "source only\ntrained", "dann": "DANN", "coral": "Deep\nCORAL", "mmd": "MMD"}
medians = {names[arm]: report.median(arm) for arm in arms}
course_plots.bar_chart(medians, ylabel="target test accuracy (median)", chance=0.1,
                       title=f"mnist -> mnist_m, no target labels: median over seeds {report.seeds}");
order = sorted(chapter.METHODS, key=report.median, reverse=True)
print("the methods by median accuracy:", " > ".join(order))
for a, b in zip(order, order[1:]):
    ahead = int(np.sum(np.array(report.values(a)) > np.array(report.values(b))))
    print(f"  {a} ahead of {b} on {ahead} of {len(report.seeds)} seeds")

# %% [markdown]
# ### 值得注意的地方
#
# - 单是 AdaBN 就是很大的提升，而且不需要任何训练成本；训练过的仅源域实验组在此基础上只多了一点。两者都属于基线，所以上面的提升是适配项本身的。
# - 每种方法在每个种子上都胜过最强的基线，而在这里 DANN 提升最多——现在它的对手跟得上了。方法之间的排序是这些种子所显示的（上面几行统计了每种方法在多少个种子上领先下一种）；换一个规模，它可能不同。
# - 每个实验组训练相同的步数。DANN 的额外工作是它的域分类器，只在训练中使用（第 3 节的进度行显示了本 notebook 两次运行的用时）。

# %% [markdown]
# ## 5 · 特征空间，之前与之后
#
# 源域和目标域验证图像（留出的数字，不用任何标签；单元格会打印有多少张）的特征，每个域都像训练时那样经过自己的 BatchNorm 统计量，再用 PCA 投影到二维：来自用训练循环训练的仅源域模型，以及来自 DANN；每个面板上方是第 2 节的代理 A 距离。

# %%
panels = {f"{arm}: PAD {runs[arm].scores.pad:.2f}": (runs[arm].scores.source_features, runs[arm].scores.target_features)
          for arm in ("source_only_trained", "dann")}
plots.feature_space(panels)
print(f"{len(runs['dann'].scores.source_features):,} source and {len(runs['dann'].scores.target_features):,} "
      f"target images, {runs['dann'].scores.source_features.shape[1]} features each");

# %%
display(report.table(metric="proxy_a_distance"))
before = np.array(report.values("source_only_trained", "proxy_a_distance"))
for method in chapter.METHODS:
    lower = int(np.sum(np.array(report.values(method, "proxy_a_distance")) < before))
    print(f"{method:6s} lowered the PAD below source-only training on {lower} of {len(report.seeds)} seeds")

# %% [markdown]
# ### 值得注意的地方
#
# - 每个域各自的 BatchNorm 统计量已经匹配了每个特征的均值和方差，所以即使是仅源域的特征，也远不是完全可分的（PAD 远低于 $2$）。剩下的是更细的结构。
# - DANN 和 MMD 在每个种子上都降低了 PAD（第 4 节的一条论断）；Deep CORAL 的计数打印在上面。第 6 节显示，随着 CORAL 的权重增大，它的 PAD 又回升了：它匹配的是协方差，而线性域分类器仍可能看穿这一点。PAD 只是“相距”的一种视角，不是目标域误差。
# - 更低的 PAD 是上界所要求的，但它不是目标：把每张图像都映射到同一个点的特征，PAD 为 $0$，却毫无用处。源域损失防止了这种情况。

# %% [markdown]
# ## 6 · 不用目标域标签选择权重
#
# 每种方法都有一个权重（DANN 的是 $\lambda_{\max}$）。有目标域标签的话，你会试几个，并在验证集上留下最好的那个。**无监督适配没有目标域标签**，所以这做不到，而依据目标域测试准确率来选择就是作弊：它让报告的数字过于乐观，而且真实项目也做不到这一点。项目能在验证数字上测量的是：
#
# - **源域验证准确率**，在留出的带标签源域图像上：模型还能完成源任务吗？
# - 一个**无标签准则**：这里是 $\;(1 - \text{source validation accuracy}) + \text{PAD}/2$，即第 2 节上界中不用目标域标签就能测量的两项（PAD 在目标域验证图像上测量）。
#
# 注册实验 `choosing_lambda` 在每个种子上以多个 $\lambda_{\max}$ 训练 DANN，测量这三者，并报告每个准则所选的 $\lambda_{\max}$ 的目标域测试准确率（`choosing_weights` 对 Deep CORAL 和 MMD 的权重做同样的事）。课程的默认值就是在这些种子上无标签分数中位数最低的权重（`chapter.default_weight`；有一个测试用它检查 `chapter.WEIGHTS`），而对手也是无标签分数所偏好的那个（第 3 节）：没有任何目标域标签参与选择它们。

# %%
choosing = results.load("choosing_lambda")
display(choosing.table())
print(choosing.claims_text())
assert all(choosing.claims().values())
same = sum(a == b for a, b in zip(choosing.values("dann", "lambda_max", criterion=chapter.CHOSEN_LABEL_FREE),
                                  choosing.values("dann", "lambda_max", criterion=chapter.CHOSEN_ON_TEST)))
print(f"the label-free criterion chose the same lambda_max as the test set on {same} of {len(choosing.seeds)} seeds")
flattery = choosing.gains({"arm": "dann", "criterion": chapter.CHOSEN_ON_TEST},
                          [{"arm": "dann", "criterion": chapter.CHOSEN_LABEL_FREE}])
print("choosing on the test set would have reported, per seed, "
      + ", ".join(f"{100 * g:+.1f}" for g in flattery) + " points more than the honest, label-free choice")
weights = results.load("choosing_weights")
display(chapter.weight_medians(weights, ("coral", "mmd")).round(3))
print(weights.claims_text())
assert all(weights.claims().values())
for method in chapter.METHODS:
    chosen_by = choosing if method == "dann" else weights
    print(f"{method}: default weight {chapter.WEIGHTS[method]:g}, the label-free choice over seeds "
          f"{chosen_by.seeds}: {chapter.default_weight(chosen_by, method):g}")

# %% [markdown]
# ### 值得注意的地方
#
# - 单看源域验证准确率是一个陷阱：适配会让源任务付出一点代价，所以它偏好（几乎）不做适配。它看不到目标域，而目标域恰恰是全部的意义所在。
# - 对 DANN 来说，同时还考虑了两个域特征相距多远的无标签准则，在各种子的中位数上胜过了依据源域验证的选择（那条论断），尽管它只在少数种子上选中了测试集上最好的权重（上面的计数）。对 MMD 来说，从默认权重往上，PAD 都接近零（见表），所以这个分数只能靠源域误差区分这些权重，本章对 MMD 的选择不作任何论断。
# - 对 Deep CORAL，它选不好：CORAL 的 PAD 随其权重增大而上升（上面的论断；第 5 节说明了原因），而它的准确率起初也在上升，所以这个分数偏向所试的最小权重。一个准则只能看到它所测量的东西；课程报告的是该准则所选权重下的 CORAL，并且说明了这一点。
# - 在测试集上选出的数字就不再是测试数字了：报告你用来选择的准则，以及它所选结果的测试准确率。

# %% [markdown]
# ### 轮到你了：适配实验室
#
# 选一种方法和它的权重，点击 **adapt**：一次注册实验组的运行（全部数据、相同的步数、种子 0：大约和上面的 DANN 运行一样长）会在表中添加一行。前面几列是项目能看到的东西；标有 ★ 的那一行就是项目会选的。最后一列单独放在一边，是只有课程才能展示的目标域测试准确率。试试权重为零，再试一个非常大的权重。表格从本 notebook 自己的运行开始。

# %%
from course_lib.chapters.ch06_domain_adaptation.widget import AdaptationLab, adaptation_widget, lab_runner

lab = AdaptationLab(lab_runner(source, task, seed=0))
lab.add("no adaptation", 0.0, runs["source_only_trained"].scores, measured.get("source_only_trained").seconds)
lab.add("dann", chapter.WEIGHTS["dann"], runs["dann"].scores, measured.get("dann").seconds)
adaptation_widget(lab)

# %% [markdown]
# ## 源文怎么说，以及善意的更正
#
# 源文（其第 3 节的（1.2））把域适配描述为一种特征提取方法，说它「不要求源域和目标域共享特征提取器」、「需要大量的源域数据」并且「需训练两套模型」。DANN、Deep CORAL 和 MMD 各自只训练**一个**网络，带有**一个共享的提取器**，所用的是源模型学过的同一批源域图像，再加上无标签的目标域图像；DANN 只额外加了一个小的域分类器，它只在训练中使用，训练完就扔掉。源文还给域适配列出了与共享特征提取器方法一模一样的三个步骤，却从未说明是什么让目标域的特征变得与源域的相似：那正是适配项（反转的域损失、CORAL、MMD），也就是这个方法的全部。

# %% [markdown]
# ## 练习
#
# **1 · 用 NumPy 计算卷积特征图的 CORAL 损失。** 第 3 节对齐的是特征层的数值。Deep CORAL 也可以对齐卷积层的输出，即一个特征图 (n, h, w, c)：这时每张图像的每个**位置**都是一个有 c 个通道的样本。为形状分别为 (n_a, h_a, w_a, c) 和 (n_b, h_b, w_b, c) 的特征图编写 `my_coral_maps(a, b)`（两个域的图像不必同样大小）：返回两个通道 (c, c) 协方差矩阵之差的平方和，除以 $4c^2$。检查会自己构造特征图，并与课程的 `coral_loss` 在这些位置上的结果比较；你自己调用它不算数。卡住了？`exercises.show_hint(1)`。

# %%
from course_lib.chapters.ch06_domain_adaptation import exercises


def my_coral_maps(a, b):
    """a: (n_a, h_a, w_a, c), b: (n_b, h_b, w_b, c). Return ||C_a - C_b||_F^2 / (4 c^2), C the channels' covariance."""
    return None  # your code


exercises.check_coral_maps(my_coral_maps);

# %% [markdown]
# **2 · 一个 lambda 可以改变的梯度反转层。** DANN 一步一步地增大 $\lambda$，而这是在 Keras 只追踪（trace）过一次的训练步内部进行的。第 3 节的层把 $\lambda$ 存为一个 Python 数，追踪会把它冻结下来。编写 `MyReversal`，一个 `keras.layers.Layer`：`MyReversal(lambda_)` 原样返回输入，传回 `-lambda_` 乘以梯度，并把 $\lambda$ 存放在一个**不可训练的变量** `self.lambda_` 中，使得 `layer.lambda_.assign(0.7)` 能改变一个已经追踪过的训练步的梯度。检查会追踪一个训练步，赋一个新的 lambda，再运行一次；课程的 `GradientReversal` 不算数。卡住了？`exercises.show_hint(2)`。

# %%
import keras
import tensorflow as tf


class MyReversal(keras.layers.Layer):
    def __init__(self, lambda_, **kwargs):
        super().__init__(**kwargs)
        self.lambda_ = lambda_  # your code: a non-trainable variable

    def call(self, x):
        return x  # your code: the identity forward, -lambda_ times the gradient backward


exercises.check_reversal(MyReversal);

# %% [markdown]
# 参考答案的链接在本章的最后一个单元格中。
#
# ## 要点
#
# - 无监督域适配在有标签的源域图像和无标签的目标域图像上训练**一个**网络：源域损失保住任务，适配项让两个域的特征难以区分。
# - DANN 用放在梯度反转层之后的域分类器做到这一点；Deep CORAL 和 MMD 匹配特征的统计量。每个域单独通过提取器，所以 BatchNorm 为每个域保留各自的统计量。
# - 对手必须有能力赢，提取器才能从骗过它中学到东西：域准确率从一开始就接近随机水平（$0.5$），意味着对手太弱，而不是两个域已经对齐。
# - 与使用相同网络、步数和测试时 BatchNorm 的**最强**仅源域基线作比较（单是 AdaBN 本身就是很大的提升）。
# - 没有目标域标签，就没有东西可以用来验证：依据项目能在留出图像上测量的东西来选择权重（一个无标签准则；只看源域验证准确率会偏好（几乎）不做适配），并报告这个选择的测试准确率。在测试集上做出的选择就是作弊，即使某个诚实的准则落在它附近；而且一个准则可能对某种方法失效（这里是 Deep CORAL）。
#
# ## 复习题
#
# 1. 如果去掉梯度反转层，让提取器把域损失和任务损失一起简单地最小化，会出什么问题？
# 2. DANN 的域准确率从第一个 epoch 起就停在随机水平（$0.5$）。给出两种解释，以及如何区分它们。
# 3. 为什么用相同步数训练的仅源域模型属于基线？
# 4. 一位同事报告了 DANN 在目标域测试准确率最好的那个 $\lambda_{\max}$ 下的结果。这个数字有什么问题？你会改为报告什么？

# %% [markdown] tags=["sync:next"]
# 参考答案单独存放，这样“全部运行”时不会显示它们：`chapters/zh/solutions/06_domain_adaptation.ipynb`（[在 GitHub 上](https://github.com/transfer-learning-hands-on/course/blob/main/chapters/zh/solutions/06_domain_adaptation.ipynb)，[在 Colab 中](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/zh/solutions/06_domain_adaptation.ipynb)）。
#
# **下一章**：[07 · 迁移何时有益，何时有害](07_when_transfer_helps.ipynb)（[在 Colab 中](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/zh/07_when_transfer_helps.ipynb)）：需要多少目标域标签、负迁移、过拟合、类别不均衡，以及哪些层可以迁移。
# 双语术语表：[GLOSSARY.md](../GLOSSARY.md)（[在 GitHub 上](https://github.com/transfer-learning-hands-on/course/blob/main/chapters/GLOSSARY.md)）。
