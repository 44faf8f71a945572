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
        ``Measured`` records of the arms ``"frozen_head"`` and ``"scratch"``: the test accuracy
        (seconds to train) and ``metric="trainable_parameters"`` of each; for ``"frozen_head"``
        also ``metric="chosen_layer_index"`` (the chosen layer's index in ``CANDIDATE_LAYERS``) and
        ``metric="validation_accuracy"`` of a head at each candidate, with ``layer=LAYER``.
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
    return [Measured("frozen_head", frozen, t.seconds),
            Measured("scratch", accuracy(scratch, *test), s.seconds),
            Measured("frozen_head", parameter_counts(head)[0], metric="trainable_parameters"),
            Measured("scratch", parameter_counts(scratch)[0], metric="trainable_parameters"),
            Measured("frozen_head", CANDIDATE_LAYERS.index(chosen), metric="chosen_layer_index"),
            *(Measured("frozen_head", value, metric="validation_accuracy", layer=layer)
              for layer, value in scores.items())]


@experiment("target_accuracy", "20 labels per class (10 train, 10 validation): a frozen extractor "
                               "(layer chosen on validation) + new head vs the CNN from scratch, on "
                               "mnist_m 5-9 after an mnist_m 0-4 source, and on mnist -> mnist_m")
def feature_extraction(seed):
    """Both targets for one seed: ``frozen_vs_scratch``'s records, each with the field
    ``target="new_task"`` or ``target="new_domain"``."""
    targets = {"new_task": (OLD_TASK, True, len(NEW_CLASSES)), "new_domain": (SOURCE, False, 10)}
    measured = []
    for target, (recipe, new_task, n_classes) in targets.items():
        source = trained(dataclasses.replace(recipe, seed=seed))
        for m in frozen_vs_scratch(source, task_data(seed, new_task), n_classes, seed):
            measured.append(Measured(m.arm, m.value, m.seconds, metric=m.metric, target=target, **m.fields))
    return measured


@feature_extraction.claim("on the new task on the source's kind of images, the frozen extractor with a new "
                          "head beats the CNN trained from scratch by more than 5 points on every seed")
def _(report):
    return min(report.gains("frozen_head", ["scratch"], target="new_task")) > 0.05


@feature_extraction.claim("the head trains at least 20 times fewer parameters than the scratch CNN")
def _(report):
    head, scratch = (report.values(arm, "trainable_parameters", target="new_task")
                     for arm in ("frozen_head", "scratch"))
    return all(s >= 20 * h for h, s in zip(head, scratch))


@feature_extraction.claim("on a new domain, frozen source features are no better than scratch "
                          "by more than 5 points on any seed")
def _(report):
    return max(report.gains("frozen_head", ["scratch"], target="new_domain")) < 0.05
