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
# # 08 · 你自己的图像：在一个照片文件夹上使用预训练骨干网络
# [English](../08_your_own_images.ipynb) · 中文
#
# [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/transfer-learning-hands-on/course/HEAD?urlpath=lab/tree/chapters/zh/08_your_own_images.ipynb) [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/zh/08_your_own_images.ipynb)
#
# **预备知识：** 第 01 章（冻结的特征提取器和一个新的分类头）、第 02 章（微调）和第 03 章（推理模式下的 BatchNorm）；一些 NumPy。
#
# **本章你将学会**
# 1. 按训练读取文件的方式检查一个照片文件夹，并把它划分为训练、验证和测试图像；
# 2. 构建一个步骤顺序正确的 `tf.data` 输入流水线（只解码一次，每个 epoch 都有新的批次）；
# 3. 把一个 `keras.applications` 骨干网络（backbone，其 ImageNet 权重经过哈希校验）放在一个新的分类头下面，并以**两个阶段**训练它，在验证图像上选择 epoch；
# 4. 只读一次测试集：逐类准确率、混淆矩阵、置信度最高的错误；导出模型；
# 5. 在 shell 中对你自己的文件夹运行同样的配方，可以在一个 GPU、多个 GPU 或多台机器上运行。
#
# **运行时间：** 下面的 `check_env` 会打印课程基准测试测得的时间（单个 CPU，缓存已预热）。
#
# **坦白说明。** 在没有网络、并且从未取得过权重的机器上，骨干网络从**随机权重**开始：代码和配方相同，但这*不是迁移学习*。下面的每一个结果都会说明它来自哪种权重。

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
course_lib.check_env("08_your_own_images")

# %% [markdown]
# ## 1. 一个图像文件夹，每个类别一个子文件夹
#
# ```text
# my_photos/
#     cats/   img001.jpg  img002.png ...
#     dogs/   ...
# ```
#
# 类别名就是子文件夹的名字。要使用你自己的照片，把 `MY_FOLDER` 设为这样一个文件夹（至少两个类别，每个类别至少 10<!-- fact: methods.own_images.folder:MIN_IMAGES_PER_CLASS --> 张图像）。否则课程会离线生成一个**示例文件夹**：每个类别对应 scikit-image 或 scikit-learn 自带的一张彩色照片，它的图像是从这张照片上随机裁出的正方形。区分猫照片的裁剪和咖啡照片的裁剪，是一个小而真实的图像分类任务。（课程把它的文件夹写在自己的缓存文件夹里，绝不会写进、覆盖或替代一个不是它创建的文件夹。）

# %%
from course_lib.chapters.ch08_your_own_images import experiments as chapter

MY_FOLDER = None  # e.g. "~/Pictures/my_classes"
IMAGE_SIZE = chapter.SETTINGS.image_size  # pixels per side; the MobileNets take 32 to 512 here
image_folder = MY_FOLDER or chapter.sample_folder()
print("image folder:", image_folder)

# %% [markdown]
# ## 2. 按训练读取的方式检查文件夹
#
# 手机、相机和下载会在文件夹里留下各种各样的文件：一个 `.txt` 笔记、一张 TIFF 扫描件、一个下载到一半的文件、macOS 的 `._photo.jpg`、一张上亿像素的全景图。如果只凭文件名挑选，其中某一个就会让训练在一个 epoch 进行到一半时停下来。因此 `check_folder` **用 TensorFlow 自己的解码器解码每一个文件**，也就是输入流水线所用的那个解码器：一个文件被接受，当且仅当训练能读取它（带有第二张图像的手机照片、WebP、16 位 PNG 都没有问题），其余的一切都会被**跳过，并附上你能读懂的原因**。太大、无法安全解码的图像会在解码*之前*就被跳过（一个几 KB 的 PNG 可能解压成几百 MB）。

# %%
from course_lib.methods.own_images.folder import check_folder

report = check_folder(image_folder)
class_names = report.class_names
print(report.text())

# %% [markdown]
# ## 3. 训练、验证和测试图像
#
# 下面的每一个选择（在这里：每个阶段保留哪个 epoch）都在**验证**图像上做出；**测试**图像给出最终的数字，只用一次。两者都是*类别均衡的*：它们包含每个类别相同数量的图像，因此每个类别在它们的准确率中分量相同。其余的图像用于训练。

# %%
from course_lib.methods.own_images import pipeline, show

splits = pipeline.split_files(report, validation_share=0.2, test_share=0.2, seed=0)
for name, split in splits.items():
    print(f"{name:10s} {len(split):4d} images")
examples = splits["train"].paths[::max(1, len(splits["train"]) // 24)]
show.class_grid(pipeline.load_images(examples, IMAGE_SIZE),
                [class_names.index(p.parent.name) for p in examples], class_names, n=6);

# %% [markdown]
# ## 4. 输入流水线：只解码一次，每个 epoch 都有新的批次
#
# 解码一张手机拍的大 JPEG 可能比在它上面做一个训练步还要久（在 GPU 上更是久得多），所以流水线要**并行**地解码，而且**只解码一次**，并在模型训练当前批次时准备好下一个批次。步骤的顺序就是这一课的全部内容：
#
# ```text
# files -> map: read, decode, crop, resize   （并行）               每张图像只运行一次
#       -> cache                             （内存或磁盘）
#       -> shuffle every image               （每个 epoch 一个新的顺序）
#       -> batch -> prefetch                                     每个 epoch 都运行
# ```
#
# `keras.utils.image_dataset_from_directory(...)` 在*内部*就做了打乱和分批；像本课程的上一个版本那样在它后面加上 `.cache()`，存下的是**第一个 epoch 的批次**，之后的每个 epoch 都提供同样的批次。用十二个数字代表十二个文件，就能看出这一点：

# %%
import tensorflow as tf

files = tf.data.Dataset.range(12)  # stand-ins for 12 image files, in the folder's order


def batches(data, epochs=2):
    return [[sorted(batch.numpy().tolist()) for batch in data] for _ in range(epochs)]


for name, data in [("cache after shuffle and batch", files.shuffle(12, seed=0).batch(4).cache()),
                   ("cache, then shuffle, then batch", files.cache().shuffle(12, seed=0).batch(4))]:
    first, second = batches(data)
    print(f"{name}:\n   epoch 1 {first}\n   epoch 2 {second}")

# %% [markdown]
# 用纯 `tf.data` 写（即 `pipeline.dataset` 所做的事，用中心裁剪，这样不会把图像压扁），在训练图像上，与 `pipeline.dataset` 并列：一个 epoch 接一个 epoch，得到同样的打乱后的批次。

# %%
import numpy as np


def load_image(path):
    return pipeline.load_image(path, IMAGE_SIZE)      # read, decode, centre-crop, resize: uint8 pixels


paths, labels = [str(p) for p in splits["train"].paths], splits["train"].labels
data = tf.data.Dataset.from_tensor_slices((paths, labels))
data = data.map(lambda path, label: (load_image(path), label), num_parallel_calls=tf.data.AUTOTUNE)
data = data.cache()                  # or .cache("/some/file") when the images do not fit in memory
data = data.shuffle(len(paths), seed=0).batch(32, drop_remainder=True).prefetch(tf.data.AUTOTUNE)

course_data = pipeline.dataset(splits["train"], IMAGE_SIZE, batch_size=32, training=True, seed=0)
same = all(np.array_equal(x.numpy(), x_course.numpy()) and np.array_equal(y.numpy(), y_course.numpy())
           for _ in range(2) for (x, y), (x_course, y_course) in zip(data, course_data))
print(f"plain tf.data vs pipeline.dataset, two epochs: the same batches in the same order: {same}")
assert same

# %% [markdown]
# `pipeline.dataset` 把解码后的图像保存为 8 位像素（交给模型时转为 float32）；当它们超出内存缓存所能容纳的大小（`pipeline.MEMORY_CACHE_BYTES`）时，就缓存到磁盘上。把训练图像读两遍，就能看出缓存省下了什么：

# %%
train_data = pipeline.dataset(splits["train"], IMAGE_SIZE, batch_size=32, training=True, seed=0)
decode_rate, cached_rate = pipeline.images_per_second(train_data, epochs=2)
print(f"pass 1, read and decode every file: {decode_rate:.0f} images per second")
print(f"pass 2, from the cache:             {cached_rate:.0f} images per second")

# %% [markdown]
# ### 练习 1：把增强放在正确位置的流水线
#
# 随机翻转和裁剪（数据增强）只有在每个 epoch 都看到**新的**变体时才有价值。编写 `my_pipeline(files, decode, augment, batch_size, seed)`：`files` 是一个由文件编号组成的 `tf.data.Dataset`，`decode` 把一个编号变成它的图像，`augment` 生成一张图像的一个随机变体。返回一个数据集，它**每个文件只解码一次**，**每个 epoch 都重新增强每一张图像**，并且每个 epoch 把每个文件恰好给出一次，组成大小为 `batch_size` 的**新的、打乱的批次**。课程的 `pipeline.dataset` 不算数。检查会统计你的流水线解码和增强的次数，并查看三个 epoch。卡住了？`exercises.show_hint(1)`。
#
# 参考答案的链接在本章的最后一个单元格中。

# %%
from course_lib.chapters.ch08_your_own_images import exercises


def my_pipeline(files, decode, augment, batch_size, seed):
    return None  # your code: a tf.data.Dataset


exercises.check_pipeline(my_pipeline);

# %% [markdown]
# ## 5. 骨干网络及其 ImageNet 权重
#
# **骨干网络**（backbone）是一个在大型照片集（ImageNet）上训练、去掉了分类器的网络：它把一张图像变成一叠特征图。我们重用这些特征，并在我们的几百张图像上训练一个小的新分类头。课程使用 MobileNetV3Small：它小巧，在 CPU 上很快，并且其权重文件有一个**公开的哈希值**。
#
# `imagenet_weights` 先在 Keras 的缓存（`~/.keras/models`）中寻找这个文件，找不到就尝试以较短的超时下载一次。无论哪种方式，只有当文件的 MD5 哈希值与 `keras.applications` 公布的一致时才会使用它：一个下载到一半被中断的文件会被报告为*已损坏*，而不会被当作「ImageNet 权重」使用。离线时，消息会说明缺少什么以及如何获取。

# %%
from course_lib.methods.own_images.weights import imagenet_weights

status = imagenet_weights(chapter.SETTINGS.backbone)
print(status.message)
print(f"\nEvery result below is labelled: {status.label!r}")

# %% [markdown]
# ## 6. 迁移模型，分两个阶段训练
#
# ```text
# image (0-255) -> augmentation: random flip, rotation, zoom   （仅在训练时）
#               -> backbone：冻结，其中的 BatchNorm 层始终冻结   （它自己会缩放像素）
#               -> global average pooling -> dropout -> Dense softmax head
# ```
#
# **全局平均池化**（global average pooling）把每张图像 $h \times w \times c$ 的特征图 $F$ 变成 $c$ 个数，$z_c = \frac{1}{hw}\sum_{i,j} F_{ijc}$；分类头学习 $p = \mathrm{softmax}(W z + b)$。
#
# - **阶段 1** 只训练分类头（Adam，$10^{-3}$）：一个随机的分类头放在好的特征之上，会把大而随机的梯度传进骨干网络，所以先让分类头学习。
# - **阶段 2** 解冻骨干网络**顶部的 2<!-- fact: .experiments:SETTINGS.top_blocks --> 个块**（它最特定于任务的层），但不解冻其中的 BatchNorm 层，并以十分之一的学习率（$10^{-4}$）更温和地继续训练：小的步子在调整预训练特征的同时不会把它们抹掉。（源文说微调「不能利用源域数据进行特征提取，只能从头开始训练模型」；客气地说，并非如此：微调是*从*预训练权重*出发*的，这正是它的步子要保持很小的原因。）
# - **每个阶段都保留验证损失最低的那个 epoch**：由验证图像来选择，测试图像一眼都不看。
# - *随机初始化*的骨干网络多一个步骤，`calibrate_batchnorm`：它的 BatchNorm 层一开始的均值为 $0$、方差为 $1$，这对每一层都是错的，特征会缩小到几乎为零。在我们的图像上测量这些统计量（就像第 05 章中 AdaBN 所做的那样），就能得到分类头可以使用的随机特征。
#
# 下面用纯 Keras 3 来写，不用本课程的库，这里每个阶段只运行一步（骨干网络用第 5 节校验过的权重，或者随机权重；为了节省时间，不用验证图像，也不用由它们驱动的早停），并在每个阶段之后与课程的模型比较：

# %%
import keras

from course_lib.core.layers import parameter_counts
from course_lib.methods.own_images import backbone as bb
from course_lib.methods.own_images import recipe

n_classes = len(class_names)
augment = keras.Sequential([keras.layers.RandomFlip("horizontal"), keras.layers.RandomRotation(0.1),
                            keras.layers.RandomZoom(0.2)])
weights = "imagenet" if status.transfer else None       # "imagenet": Keras's cached, checked file

base = keras.applications.MobileNetV3Small(input_shape=(IMAGE_SIZE, IMAGE_SIZE, 3), include_top=False,
                                           weights=weights)
base.trainable = False
inputs = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3))
x = base(augment(inputs), training=False)
outputs = keras.layers.Dense(n_classes, activation="softmax")(
    keras.layers.Dropout(0.2)(keras.layers.GlobalAveragePooling2D()(x)))
model = keras.Model(inputs, outputs)
model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
# stage 1: model.fit(train_data, epochs=10, validation_data=validation_data, callbacks=[keras.callbacks.EarlyStopping(
#     "val_loss", patience=10, restore_best_weights=True)])   (train_folder below runs it; not twice here)
stage_1 = parameter_counts(model)[0]
first_layer_of_top_blocks = bb.top_blocks_start(base, 2)
base.trainable = True
for layer in base.layers[:first_layer_of_top_blocks]:
    layer.trainable = False
for layer in base.layers:
    if isinstance(layer, keras.layers.BatchNormalization):
        layer.trainable = False
model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="sparse_categorical_crossentropy",  # re-read the flags
              metrics=["accuracy"])
# stage 2: model.fit(...) as stage 1

course_model = recipe.build_transfer_model(n_classes, image_size=IMAGE_SIZE)
recipe.freeze_backbone(course_model)
course_stage_1 = parameter_counts(course_model)[0]
recipe.unfreeze_top_blocks(course_model, 2)
print(f"trainable parameters, plain Keras vs course_lib: stage 1 {stage_1:,} vs {course_stage_1:,}, "
      f"stage 2 {parameter_counts(model)[0]:,} vs {parameter_counts(course_model)[0]:,}")
assert (stage_1, parameter_counts(model)[0]) == (course_stage_1, parameter_counts(course_model)[0])
import gc

del model, base, course_model  # the comparison is done: free these models' memory
gc.collect()  # now (Keras models hold reference cycles)

# %% [markdown]
# `train_folder` 完成上面的全部工作（检查、划分、流水线、权重、模型、两个阶段、测试集），并把模型、一份报告和若干图表写进一个属于它自己的新文件夹：它与第 9 节的命令行是同一份代码。

# %%
import dataclasses

from course_lib.methods.own_images.outputs import unique_output
from course_lib.methods.own_images.train import train_folder

# ImageNet weights if section 5 found or fetched them (no second download), else random init
settings = dataclasses.replace(chapter.SETTINGS, pretrained=True, download=False)
run = train_folder(image_folder, output=unique_output(), settings=settings)
head, top = run.stages["head"], run.stages["top blocks"]
print(f"weights: {run.weights.label}")
print(f"stage 1: {head.trainable:,} trainable parameters, kept epoch {head.best_epoch} of {len(head.logs['loss'])}")
print(f"stage 2: {top.trainable:,} trainable parameters, kept epoch {top.best_epoch} of {len(top.logs['loss'])}")
assert top.trainable > 100 * head.trainable  # stage 2 trains the top blocks too

# %%
show.two_stage_curves(run.stages, run.weights.label);

# %% [markdown]
# 圆点是训练图像（开启了增强和 dropout），方块是验证图像；星号标出每个阶段保留的 epoch。一条一直改善到最后一个 epoch 的验证曲线说明更多的 epoch 可能有帮助；一条开始上翘的验证曲线则说明模型已经开始死记它的训练图像了。

# %% [markdown]
# ## 7. 测试集，只用一次
#
# 每个阶段之后在测试图像上的准确率，以及来自课程结果文件的多个随机种子上的结果（示例文件夹，随机初始化：这是离线测得的配方本身，而不是迁移）：

# %%
import statistics

from course_lib import results

chance = 1 / len(class_names)
print(f"this run ({run.weights.label}), test accuracy: after stage 1 {run.head_only.accuracy:.3f}, "
      f"after stage 2 {run.final.accuracy:.3f}; chance is {chance:.3f}")
if MY_FOLDER is None and not run.weights.transfer:
    assert run.final.accuracy > chapter.CHANCE + chapter.MARGIN  # the margin the claims below state
saved = results.load("own_images_two_stage")
print(f"\n{saved.description}, test accuracy over seeds {saved.seeds}:")
display(saved.table())
print(saved.claims_text())
gains = saved.gains(chapter.TWO_STAGES, [chapter.HEAD_ONLY])
print("what stage 2 added, seed by seed: " + ", ".join(f"{g:+.3f}" for g in gains)
      + f" (median {statistics.median(gains):+.3f})")

# %% [markdown]
# 一个只有几十张图像的测试集是粗糙的：一张图像就占百分之几，上面跨种子的波动既来自配方，也同样来自测试集。**逐类准确率**和**混淆矩阵**告诉你*哪些*类别被混淆了（行：真实类别，列：模型的判断；对角线上是判对的）。

# %%
import pandas as pd

display(pd.DataFrame({"class": class_names, "test images": run.final.confusion.sum(axis=1),
                      "accuracy": run.final.per_class.round(3)}))
show.confusion(run.final.confusion, class_names, f"test set ({run.weights.label})");

# %% [markdown]
# **置信度最高的错误**（most confident mistakes）是概率最高的那些错误预测：要找出标错的图像、长得相像的类别、只拍到背景的图像，或者模型走的捷径（某种颜色、某种背景）而不是你想让它看的东西，首先就应该看这里。

# %%
from course_lib.methods.own_images.recipe import confident_mistakes

wrong = confident_mistakes(run.final.probabilities, run.final.labels, k=6)
print(f"{int((run.final.predicted != run.final.labels).sum())} mistakes among {len(run.final.labels)} test images")
show.mistakes_grid(pipeline.load_images([run.final.paths[i] for i in wrong], IMAGE_SIZE),
                   run.final.labels[wrong], run.final.probabilities[wrong], class_names,
                   f"most confident mistakes ({run.weights.label})");

# %% [markdown]
# ### 练习 2：手工找出损失最大的图像
#
# 置信度最高的错误按模型所说类别的概率给错误预测排序。**损失最大的图像**则按模型给**真实**标签的概率 $-\log p(y \mid x)$ 给每一张图像排序：一个置信度很低的正确预测也会出现在其中，而标签排在第二、只差一点的错误则不会。用 NumPy 编写 `my_top_losses(probabilities, labels, k)`：`probabilities` 的形状是 (n, classes)，`labels` 是 (n,)。返回交叉熵损失最大的 `k` 张图像的索引，从大到小排列（损失相等时按索引顺序）。课程的 `confident_mistakes` 不算数。检查会用它自己编造的例子来测试你的函数。卡住了？`exercises.show_hint(2)`。

# %%
def my_top_losses(probabilities, labels, k):
    return None  # your code


exercises.check_top_losses(my_top_losses);

# %% [markdown]
# ## 8. 新图像，以及导出的模型
#
# `predict_files` 按照与训练时完全相同的方式裁剪和缩放图像文件，然后做预测。对于示例文件夹，课程会生成几张*新的*裁剪（文件名说明了真实类别）；它们来自同样的照片，所以比真正的新照片容易。对于你自己的照片，传入它们路径的列表即可。

# %%
from course_lib.methods.own_images.recipe import predict_files
from course_lib.methods.own_images.samples import make_new_images

table = predict_files(run.model, make_new_images(per_class=2), class_names)
table["weights"] = run.weights.label
table

# %% [markdown]
# `train_folder` 完整地写出它的文件夹（先写进一个临时文件夹，完成后再重命名），放在一个属于它自己的新路径上，因此两个 notebook 永远不会读到对方的模型。`model.keras` 包含架构、权重和编译设置：在任何地方调用 `keras.models.load_model(path)` 都会给出同样的预测。用纯 Keras 写：`model.save("model.keras")`，然后 `keras.models.load_model("model.keras")`。

# %%
import keras
import numpy as np

from course_lib.methods.own_images.recipe import predict_dataset

print(f"{run.output}:", ", ".join(sorted(p.name for p in run.output.iterdir())))
loaded = keras.models.load_model(run.output / "model.keras")
test_data = pipeline.dataset(splits["test"], IMAGE_SIZE, batch_size=64, training=False)
difference = np.abs(predict_dataset(loaded, test_data)[0] - run.final.probabilities).max()
print(f"loaded again; largest difference in a predicted probability: {difference:.1e}")
assert difference < 1e-5
print("\n".join((run.output / "report.md").read_text().splitlines()[:2]))

# %% [markdown]
# ## 9. 超出本 notebook：你的文件夹，在一个 GPU、多个 GPU、多台机器上
#
# 同样的配方也是一条命令。它检查文件夹、训练，并把 `model.keras`、`report.md`（逐类准确率、混淆矩阵、置信度最高的错误、训练曲线）和图表写进一个新文件夹；错误的输入（空文件夹、只有一个类别、一个已经存在的输出文件夹）会让它在写入任何东西之前就停下，并给出一条消息：
#
# ```shell
# python -m course_lib.methods.own_images check ~/Pictures/my_classes        # what would be used, what skipped
# python -m course_lib.methods.own_images train ~/Pictures/my_classes --output my_model
# python -m course_lib.methods.own_images bench ~/Pictures/my_classes        # is the pipeline fast enough?
# ```
#
# - **一个 GPU**：什么都不用改。TensorFlow 会使用它，命令会开启**混合精度**（mixed precision，float16 运算，float32 权重；分类头保持 float32，以得到稳定的 softmax）。
# - **一台机器上的多个 GPU**：`--strategy mirrored`（`tf.distribute.MirroredStrategy`）。每个 GPU 持有模型的一个副本（*replica*），承担每个批次中属于它的那一份，各副本在每次更新之前对梯度取平均，因此这些副本始终保持一致。
# - **多台机器**：`--strategy multiworker`（`MultiWorkerMirroredStrategy`）：在每台机器上启动同样的命令，每台机器有它自己的 `TF_CONFIG`，指明集群以及它在集群中的位置；由主工作节点（chief worker）写出输出。
#
# ```shell
# TF_CONFIG='{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}' \
#     python -m course_lib.methods.own_images train photos --strategy multiworker      # on host1; index 1 on host2
# ```
#
# **批量大小和学习率。** `--batch-size` 是每个副本的批量，所以**全局批量**是 `batch size x replicas`（TensorFlow 的指南：用额外的设备来跑更大的批量，并针对它调整学习率）。课程按全局批量成比例地缩放学习率，即 Goyal et al. (2017) 的*线性缩放规则*（linear scaling rule）：批量翻倍，学习率翻倍，每个 epoch 的步数减半。这只是一个起点；验证曲线会告诉你它是否成立。
#
# 这些命令就是该模块的 `main`：这里在本章的文件夹上运行第一条命令（课程的测试会在一个小文件夹上运行全部三条，并检查多工作节点的那一行）。

# %%
from course_lib.methods.own_images.cli import main

assert main(["check", str(image_folder)]) == 0

# %%
from course_lib.methods.own_images.cli import command_help
from course_lib.methods.own_images.distribution import REFERENCE_BATCH, scaled

for replicas in (1, 2, 8):
    batch, rate = scaled(32, chapter.SETTINGS.head_learning_rate, replicas)
    print(f"{replicas} replica(s) of 32 images: global batch {batch:4d}, stage-1 learning rate {rate:g}")
print(f"(the recipe's rates are for a global batch of {REFERENCE_BATCH})\n")
print(command_help("train"))

# %% [markdown]
# 用纯 Keras 写，分布式训练就是在构建**和编译**模型的代码外面套一个 `with` 块（Keras 3 在编译时创建优化器的变量，这些变量必须在同一个策略下创建；其余部分不变）。这里在本机唯一的设备上，用一个小模型在几十张训练图像上运行，旁边是课程的 `make_strategy("mirrored")` 和 `fit(..., strategy=)` 在相同批次上的结果：

# %%
from course_lib.core.training import fit
from course_lib.methods.own_images.distribution import make_strategy


def build_model():
    return keras.Sequential([keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3)), keras.layers.Rescaling(1 / 255),
                             keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(n_classes, activation="softmax")])


images = pipeline.load_images(splits["train"].paths[:64], IMAGE_SIZE).astype("float32")
data = tf.data.Dataset.from_tensor_slices((images, splits["train"].labels[:64]))

strategy = tf.distribute.MirroredStrategy()           # every GPU of this machine (here: the CPU)
with strategy.scope():
    keras.utils.set_random_seed(0)
    model = build_model()                             # variables are created on every replica
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
model.fit(data.batch(32 * strategy.num_replicas_in_sync), epochs=2, shuffle=False, verbose=0)

course_strategy = make_strategy("mirrored")
with course_strategy.scope():
    keras.utils.set_random_seed(0)
    course_model = build_model()
fit(course_model, data.batch(32 * course_strategy.num_replicas_in_sync), epochs=2, strategy=course_strategy)
largest = max(float(np.abs(a - b).max()) for a, b in zip(model.get_weights(), course_model.get_weights()))
print(f"{strategy.num_replicas_in_sync} replica(s); plain Keras vs the course's fit under the strategy: "
      f"weights differ by at most {largest:.1e}")
assert largest < 1e-3
import gc

del model, course_model  # the comparison is done: free these models' memory
gc.collect()  # now (Keras models hold reference cycles)

# %% [markdown]
# 课程的测试在没有 GPU 的情况下运行全部三种方式：把 CPU 拆成两个逻辑设备来运行 MirroredStrategy，以及在本机（127.0.0.1）上运行两个工作进程，每个进程都训练并导出模型；测试检查在全局批量相同时，它们达到单个设备的测试准确率，误差在测试所规定的容差之内。

# %% [markdown]
# ## 要点
#
# - 一个分类器所需要的，只是一个每个类别一个子文件夹的文件夹；按训练读取的方式检查它，并读一读文件被跳过的原因。
# - 只解码一次（map，然后 cache），然后在每个 epoch 打乱每一张图像并分批；预取。
# - 骨干网络的权重只有在哈希值证明如此时，才是 ImageNet 权重；没有这些权重，同样的配方就不是迁移学习，并且应当如实说明。
# - 两个阶段：先只训练分类头，再以十分之一的学习率训练顶部的块，BatchNorm 保持冻结；保留验证图像所偏好的 epoch，并只读一次测试集。
# - 置信度最高的错误首先指向数据，其次才指向模型。
# - 更多的设备：更大的全局批量，随之缩放的学习率，在 `strategy.scope()` 中构建模型。
#
# ## 复习题
#
# 1. 为什么 `.shuffle().batch()` 之后的 `.cache()` 在每个 epoch 都提供同样的批次？为什么这会损害训练？
# 2. 如果由测试图像来选择保留哪个 epoch，会出什么问题？
# 3. 一个文件夹的 `cats` 类别有 $300$ 张图像，`dogs` 有 $30$ 张。由每个类别的 $20\,\%$ 组成的验证集，对 dogs 能说明什么？为什么课程从每个类别留出相同数量的图像？
# 4. 你从一个 GPU 换到四个 GPU，`--batch-size` 不变。全局批量、每个 epoch 的步数和学习率会怎样变化？
# 5. 为什么即使在骨干网络的顶部块训练时，它的 BatchNorm 层也保持冻结、处于推理模式？
#
# **轮到你了**：把 `MY_FOLDER` 设为一个装着你自己照片的文件夹，再运行一次这个 notebook。

# %% [markdown] tags=["sync:next"]
# 参考答案单独存放，这样“全部运行”时不会显示它们：`chapters/zh/solutions/08_your_own_images.ipynb`（[在 GitHub 上](https://github.com/transfer-learning-hands-on/course/blob/main/chapters/zh/solutions/08_your_own_images.ipynb)，[在 Colab 中](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/zh/solutions/08_your_own_images.ipynb)）。
#
# **下一章**：[09 · 参数高效微调](09_parameter_efficient.ipynb)（[在 Colab 中](https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/chapters/zh/09_parameter_efficient.ipynb)）：只训练源模型的一小部分，或给它加一个小附件：LP-FT、BitFit、LoRA 与适配器，各自给出所训练权重的占比与准确率。
# 双语术语表：[GLOSSARY.md](../GLOSSARY.md)（[在 GitHub 上](https://github.com/transfer-learning-hands-on/course/blob/main/chapters/GLOSSARY.md)）。
