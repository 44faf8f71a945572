"""Chapter 01's experiment: a frozen extractor and a new head, against training from scratch.

The setting: a new task with 20 labelled images per class, split into 10 for training and
10 for validation; the layer to cut at is chosen on the validation images, and the test
split gives the final number once. Two targets:

- where transfer should help: a new task on the source's kind of images, the ``mnist_m`` digits
  5-9, after a source model trained on the ``mnist_m`` digits 0-4 only;
- where a frozen extractor should not be enough: all ten ``mnist_m`` digits after the
  MNIST source model (a new domain; chapter 02 fine-tunes instead).
"""

import dataclasses
import math

from course_lib.core.cnn import build_cnn
from course_lib.core.data import class_subset, few_shot, load_domain, validation_split
from course_lib.core.evaluation import accuracy
from course_lib.core.layers import parameter_counts
from course_lib.core.pretrained import SOURCE, Recipe, trained
from course_lib.core.training import fit
from course_lib.experiments import Measured, Stopwatch, experiment
from course_lib.methods.feature_extraction import FeatureCache, layer_scores, train_head

DOMAIN = "mnist_m"
OLD_CLASSES = (0, 1, 2, 3, 4)
NEW_CLASSES = (5, 6, 7, 8, 9)
TRAIN_PER_CLASS = 10
VALIDATION_PER_CLASS = 10
#: Labelled images of the new task: ``TRAIN_PER_CLASS`` for each of its classes.
TRAIN_IMAGES = TRAIN_PER_CLASS * len(NEW_CLASSES)
#: Where the extractor may be cut: after each conv block, and the feature layer.
CANDIDATE_LAYERS = ("block1_pool", "block2_pool", "features_relu")
#: The old-task source: the course CNN on the mnist_m digits 0-4 (grey), 20 epochs.
OLD_TASK = Recipe(domain=DOMAIN, classes=OLD_CLASSES, epochs=20)
#: Scratch baseline: the same CNN from random weights, Adam 1e-3, this many passes' worth of steps.
SCRATCH_PASSES = 60
SCRATCH_BATCH = 32
RECIPES = (SOURCE, OLD_TASK)


def task_data(seed, new_task=True):
    """The labelled target data of one seed: ``(train, validation, test)``, three ``(x, y)`` pairs.

    ``new_task``: the ``mnist_m`` digits 5-9 relabelled 0-4; otherwise all ten ``mnist_m`` digits.
    """
    x, y = load_domain(DOMAIN, "train", seed=seed)
    test = load_domain(DOMAIN, "test", seed=seed)
    if new_task:
        (x, y), test = class_subset(x, y, NEW_CLASSES), class_subset(*test, NEW_CLASSES)
    labelled = few_shot(x, y, TRAIN_PER_CLASS + VALIDATION_PER_CLASS, seed=seed)
    train, validation = validation_split(*labelled, VALIDATION_PER_CLASS, seed=seed)
    return train, validation, test


def scratch_model(train, n_classes, seed=0):
    """The course's CNN trained from random weights on ``train`` only: the no-transfer baseline."""
    model = build_cnn(channels=train[0].shape[-1], n_classes=n_classes, seed=seed, name="scratch_cnn")
    steps = SCRATCH_PASSES * math.ceil(len(train[0]) / SCRATCH_BATCH)
    fit(model, train, steps=steps, batch_size=SCRATCH_BATCH, learning_rate=1e-3, seed=seed)
    return model


def frozen_vs_scratch(source, data, n_classes, seed):
    """Choose the layer on validation, train a head there, and a scratch CNN on the same labels.

    Returns:
        ``{"frozen_head", "scratch"}`` -> ``Measured(test accuracy, seconds to train)``,
        ``"head_params"``, ``"scratch_params"`` -> ``Measured(trainable parameters, 0)``,
        ``"validation@LAYER"`` -> ``Measured(validation accuracy of a head at LAYER, 0)`` and
        ``"chosen_layer"`` -> ``Measured(index of the chosen layer in CANDIDATE_LAYERS, 0)``.
    """
    train, validation, test = data
    with Stopwatch() as t:
        scores = layer_scores(source, train, validation, CANDIDATE_LAYERS, n_classes, seed=seed)
        chosen = max(scores, key=scores.get)
        cache = FeatureCache(source)
        head = train_head(cache.get(chosen, "train", train[0]), train[1], n_classes, seed=seed)
    frozen = accuracy(head, cache.get(chosen, "test", test[0]), test[1])
    with Stopwatch() as s:
        scratch = scratch_model(train, n_classes, seed=seed)
    return {"frozen_head": Measured(frozen, t.seconds),
            "scratch": Measured(accuracy(scratch, *test), s.seconds),
            "head_params": Measured(parameter_counts(head)[0], 0.0),
            "scratch_params": Measured(parameter_counts(scratch)[0], 0.0),
            "chosen_layer": Measured(CANDIDATE_LAYERS.index(chosen), 0.0),
            **{f"validation@{layer}": Measured(value, 0.0) for layer, value in scores.items()}}


@experiment("target_accuracy", "20 labels per class (10 train, 10 validation): a frozen extractor "
                               "(layer chosen on validation) + new head vs the CNN from scratch, on "
                               "mnist_m 5-9 after an mnist_m 0-4 source, and on mnist -> mnist_m")
def feature_extraction(seed):
    """Both targets for one seed: ``frozen_vs_scratch``'s arms, prefixed ``new_task_`` and ``new_domain_``."""
    targets = {"new_task": (OLD_TASK, True, len(NEW_CLASSES)), "new_domain": (SOURCE, False, 10)}
    measured = {}
    for prefix, (recipe, new_task, n_classes) in targets.items():
        source = trained(dataclasses.replace(recipe, seed=seed))
        arms = frozen_vs_scratch(source, task_data(seed, new_task), n_classes, seed)
        measured.update({f"{prefix}_{arm}": m for arm, m in arms.items()})
    return measured


@feature_extraction.claim("on the new task on the source's kind of images, the frozen extractor with a new "
                          "head beats the CNN trained from scratch by more than 5 points on every seed")
def _(report):
    return min(report.gains("new_task_frozen_head", ["new_task_scratch"])) > 0.05


@feature_extraction.claim("the head trains at least 20 times fewer parameters than the scratch CNN")
def _(report):
    return all(s >= 20 * h for h, s in zip(report.values("new_task_head_params"),
                                           report.values("new_task_scratch_params")))


@feature_extraction.claim("on a new domain, frozen source features are no better than scratch "
                          "by more than 5 points on any seed")
def _(report):
    return max(report.gains("new_domain_frozen_head", ["new_domain_scratch"])) < 0.05
