"""Chapter 04's experiments: channel copying, a shared embedding (CCSA), fusion, multimodal transfer.

Every experiment has the same target setting: the colour ``mnist_m`` domain with
``LABELS_PER_CLASS`` labelled images per digit, of which ``VALIDATION_PER_CLASS`` are held
out as the validation split. Every run trains on the rest, measures validation accuracy
after every epoch, keeps the weights of its best validation epoch and is tested once on
the ``mnist_m`` test split.

Each experiment takes ``keep=``, a dict it fills with what the notebook draws (validation
curves, trained models), and ``arms=`` to run only some arms. Each returns ``Measured``
records: mostly one test accuracy per arm; ``ccsa_search``'s arms have the field
``labels_per_class``, ``fusion``'s fused arm the field ``mode``.
"""

import dataclasses

import numpy as np

from course_lib.core import checks
from course_lib.core.data import few_shot, load_domain, to_channels, validation_split
from course_lib.core.evaluation import accuracy, predicted_labels
from course_lib.core.pretrained import SOURCE, Recipe, trained
from course_lib.core.training import fit
from course_lib.experiments import Measured, Stopwatch, experiment
from course_lib.methods import fusion as fu
from course_lib.methods import shared_embedding as se
from course_lib.methods.channel_copying import copied_model

#: Labelled target (``mnist_m``) images per digit that the setting has ...
LABELS_PER_CLASS = 15
#: ... of which this many per digit are the validation split (the rest train).
VALIDATION_PER_CLASS = 5

#: Channel copying: epochs on the few labels, batch size.
COPYING_EPOCHS = 16
COPYING_BATCH = 16
ARM_COPIED, ARM_RANDOM = "copied kernels", "random init"

#: Shared embedding: gradient steps per arm, batch sizes.
EMBEDDING_STEPS = 150
EMBEDDING_BATCH = 64
TARGET_ONLY_BATCH = 16
ARM_TARGET_ONLY = "target labels only"
ARM_BOTH_LABELS = "both domains' labels, no alignment"
ARM_CCSA = "shared embedding (CCSA)"
EMBEDDING_ARMS = (ARM_TARGET_ONLY, ARM_BOTH_LABELS, ARM_CCSA)

#: Where CCSA's pair losses might help: labelled target images per digit to train on (the
#: validation split keeps ``VALIDATION_PER_CLASS`` per digit); the paper has 1 to 7.
SEARCH_LABELS = (1, 3, 5, LABELS_PER_CLASS - VALIDATION_PER_CLASS)
#: The (alpha, margin) pairs tried at each: the paper's (0.25, 1) first, so that it wins ties;
#: 1.4 is about the distance of two random unit vectors in the embedding, so that margin
#: pushes apart every different-class pair that is closer than chance.
SEARCH_GRID = ((se.ALPHA, se.MARGIN), (0.1, se.MARGIN), (0.5, se.MARGIN), (se.ALPHA, 1.4))
SEARCH_BASELINE, SEARCH_PAPER, SEARCH_CHOSEN = (
    "no alignment", "CCSA, the paper's alpha and margin", "CCSA, alpha and margin chosen on validation")

#: Fusion: epochs on the few labels, batch size.
FUSION_EPOCHS = 30
FUSION_BATCH = 16
#: The arms: each branch alone, and the two fused (once per mode of ``fusion.FUSIONS``).
ARM_SOURCE_BRANCH, ARM_TARGET_BRANCH, ARM_FUSION = "source branch alone", "target branch alone", "fusion"
FUSION_ARMS = (ARM_SOURCE_BRANCH, ARM_TARGET_BRANCH, ARM_FUSION)

#: Multimodal transfer: the ink (clean mnist) model learns from the first this many
#: ``mnist`` training images; the rest are recorded in both views (ink and photo), unlabelled.
INK_IMAGES = 2000
INK_TEACHER = Recipe(domain="mnist", images=INK_IMAGES)
MULTIMODAL_EPOCHS = 8
MULTIMODAL_BATCH = 64
ARM_INK_ON_PHOTOS = "ink model on photos (grey)"
ARM_INK_LABELS = "ink model's labels for the pairs"
ARM_PHOTO_FEW = "photo model, few labels"
ARM_PHOTO_TAUGHT = "photo model taught by the ink view"
ARM_PHOTO_ALL = "photo model, every pair labelled (not available)"
MULTIMODAL_ARMS = (ARM_INK_ON_PHOTOS, ARM_INK_LABELS, ARM_PHOTO_FEW, ARM_PHOTO_TAUGHT, ARM_PHOTO_ALL)

#: The source models this chapter loads (``python -m course_lib.tools.warm`` trains them).
RECIPES = (SOURCE, INK_TEACHER)


@dataclasses.dataclass
class Selected:
    """One trained arm: its validation curve, the epoch chosen on it, and its test accuracy.

    Attributes:
        curve: validation accuracy before training (index 0) and after each epoch.
        best_epoch: the epoch (1-based) whose weights the model kept.
        test: accuracy on the target's test split, measured once, at ``best_epoch``.
        model: the trained model.
    """

    curve: np.ndarray
    best_epoch: int
    test: float
    model: object


def select_and_test(model, data, validation, test, seed=0, progress=None, **schedule):
    """Train ``model``, validate after every epoch, keep its best validation epoch, test once.

    Args:
        data: what ``fit`` trains on; ``validation`` and ``test``: ``(x, y)`` pairs.
        schedule: ``fit``'s ``epochs=`` or ``steps=``, ``batch_size=``, ``learning_rate=``.

    Returns:
        a ``Selected``.
    """
    import keras

    before = accuracy(model, *validation)
    keep_best = keras.callbacks.EarlyStopping(
        monitor="val_accuracy", mode="max", restore_best_weights=True,
        patience=schedule.get("epochs") or schedule["steps"])  # never stops early: it keeps the best
    history = fit(model, data, validation_data=validation, callbacks=[keep_best], seed=seed,
                  progress=progress, **schedule)
    curve = np.array([before, *history.history["val_accuracy"]])
    return Selected(curve, keep_best.best_epoch + 1, accuracy(model, *test), model)


def target_split(seed, channels=3, train_per_class=LABELS_PER_CLASS - VALIDATION_PER_CLASS):
    """The target setting of ``seed``: ``(train, validation, test)``, each ``(x, y)`` of ``mnist_m``.

    ``train_per_class`` labelled images per digit train; the validation split always has
    ``VALIDATION_PER_CLASS`` per digit.
    """
    train_per_class = checks.whole_number(train_per_class, "train_per_class")
    few = few_shot(*load_domain("mnist_m", "train", seed=seed, channels=channels),
                   train_per_class + VALIDATION_PER_CLASS, seed=seed)
    train, validation = validation_split(*few, VALIDATION_PER_CLASS, seed=seed)
    return train, validation, load_domain("mnist_m", "test", seed=seed, channels=channels)


def epochs_to_reach(curve, level):
    """The first epoch (index of ``curve``) whose accuracy is at least ``level``; None if never."""
    reached = np.flatnonzero(np.asarray(curve) >= level)
    return int(reached[0]) if len(reached) else None


def _pick(arms, allowed):
    arms = tuple(arms)
    for arm in arms:
        checks.choice(arm, "arm", allowed)
    return arms


def _run_arms(arms, train_arm, keep, progress):
    """``[Measured(arm, test accuracy, seconds)]``, one per arm; each ``Selected`` into ``keep[arm]``."""
    measured = []
    for arm in arms:
        with Stopwatch() as t:
            selected = train_arm(arm, arm if progress else None)
        measured.append(Measured(arm, selected.test, t.seconds))
        if keep is not None:
            keep[arm] = selected
    return measured


@experiment("target_accuracy", "grey mnist source model copied into an RGB model vs random init, "
                               "trained on the few mnist_m labels; also the epochs the copied model needs to "
                               "reach random init's best validation accuracy")
def channel_copying(seed, keep=None, progress=False):
    """The same RGB CNN from copied kernels and from random init, on the same few labels.

    Returns:
        ``[Measured]``: each arm's test accuracy (``ARM_COPIED``, ``ARM_RANDOM``), and
        ``ARM_COPIED``'s ``epochs_to_match_random``: the epochs it needs to reach random init's
        best validation accuracy (``COPYING_EPOCHS + 1`` when it never does). ``keep`` gets
        each arm's ``Selected`` and ``"report"``, ``transfer_weights``'s table.
    """
    source = trained(dataclasses.replace(SOURCE, seed=seed))
    train, validation, test = target_split(seed)
    copied, report = copied_model(source, channels=3, seed=seed)
    models = {ARM_COPIED: copied, ARM_RANDOM: _random_cnn(seed)}
    found = {}
    measured = _run_arms((ARM_COPIED, ARM_RANDOM), lambda arm, label: select_and_test(
        models[arm], train, validation, test, seed, label, epochs=COPYING_EPOCHS,
        batch_size=COPYING_BATCH), found, progress)
    reach = epochs_to_reach(found[ARM_COPIED].curve, found[ARM_RANDOM].curve.max())
    seconds = {m.arm: m.seconds for m in measured}
    measured.append(Measured(ARM_COPIED, COPYING_EPOCHS + 1 if reach is None else reach,
                             seconds[ARM_COPIED], metric="epochs_to_match_random"))
    if keep is not None:
        keep.update(found, report=report, source=source)
    return measured


def _random_cnn(seed):
    from course_lib.core.cnn import build_cnn

    return build_cnn(channels=3, seed=seed, name="random_cnn")


@channel_copying.claim("copied kernels beat random init on the mnist_m test split by more than "
                       "15 points")
def _(report):
    return min(report.gains(ARM_COPIED, [ARM_RANDOM])) > 0.15


@channel_copying.claim("copied kernels reach random init's best validation accuracy within "
                       "half the epochs")
def _(report):
    return max(report.values(ARM_COPIED, "epochs_to_match_random")) <= COPYING_EPOCHS / 2


@experiment("target_accuracy", "one embedding for mnist (all labels) and mnist_m (few labels) with "
                               "CCSA's pair losses, vs the same network without them and on the "
                               "target labels alone")
def shared_embedding(seed, arms=EMBEDDING_ARMS, keep=None, progress=False):
    """Train and test each arm: ``[Measured(arm, mnist_m test accuracy, seconds)]``.

    ``keep`` gets each arm's ``Selected`` (its ``model`` is the embedding classifier).
    """
    arms = _pick(arms, EMBEDDING_ARMS)
    x_source, y_source = load_domain("mnist", "train", seed=seed, channels=3)
    train, validation, test = target_split(seed)
    pairs = se.labelled_pairs(x_source, y_source, *train, seed=seed)

    def train_arm(arm, label):
        classifier = se.build_embedding_classifier(channels=3, seed=seed)
        if arm == ARM_TARGET_ONLY:
            return select_and_test(classifier, train, validation, test, seed, label,
                                   steps=EMBEDDING_STEPS, batch_size=TARGET_ONLY_BATCH)
        alpha = se.ALPHA if arm == ARM_CCSA else 0.0
        selected = select_and_test(se.CCSA(classifier, alpha=alpha), pairs, validation, test, seed,
                                   label, steps=EMBEDDING_STEPS, batch_size=EMBEDDING_BATCH)
        return dataclasses.replace(selected, model=classifier)

    return _run_arms(arms, train_arm, keep, progress)


@shared_embedding.claim("the shared embedding beats the same network trained on the target "
                        "labels alone by more than 10 points")
def _(report):
    return min(report.gains(ARM_CCSA, [ARM_TARGET_ONLY])) > 0.10


@experiment("target_accuracy", "the shared embedding with CCSA's pair losses vs the same network on "
                               "both domains' labels without them, for 1 to 10 labelled mnist_m "
                               "images per digit; alpha and margin the paper's or chosen on "
                               "validation")
def ccsa_search(seed, labels=SEARCH_LABELS, progress=False):
    """For each count in ``labels``, three arms, each tested on ``mnist_m``.

    ``SEARCH_BASELINE`` ("no alignment") is CCSA with ``alpha = 0``: the same network, pairs,
    steps and batch. ``SEARCH_PAPER`` has the paper's alpha and margin (``SEARCH_GRID[0]``);
    ``SEARCH_CHOSEN`` trains every ``SEARCH_GRID`` setting and is the one with the best
    validation accuracy (its seconds are the whole grid's).

    Returns:
        ``[Measured(arm, test accuracy, seconds, labels_per_class=count)]``, three per count.
    """
    x_source, y_source = load_domain("mnist", "train", seed=seed, channels=3)
    measured = []
    for count in labels:
        train, validation, test = target_split(seed, train_per_class=count)
        pairs = se.labelled_pairs(x_source, y_source, *train, seed=seed)

        def train_ccsa(alpha, margin):
            with Stopwatch() as t:
                classifier = se.build_embedding_classifier(channels=3, seed=seed)
                selected = select_and_test(
                    se.CCSA(classifier, alpha=alpha, margin=margin), pairs, validation, test, seed,
                    f"{count} per digit, alpha {alpha}, margin {margin}" if progress else None,
                    steps=EMBEDDING_STEPS, batch_size=EMBEDDING_BATCH)
            return selected, t.seconds

        baseline, baseline_seconds = train_ccsa(0.0, se.MARGIN)
        grid = [train_ccsa(alpha, margin) for alpha, margin in SEARCH_GRID]
        paper, paper_seconds = grid[0]
        chosen = max(range(len(grid)), key=lambda i: grid[i][0].curve.max())  # first of ties
        measured += [
            Measured(SEARCH_BASELINE, baseline.test, baseline_seconds, labels_per_class=count),
            Measured(SEARCH_PAPER, paper.test, paper_seconds, labels_per_class=count),
            Measured(SEARCH_CHOSEN, grid[chosen][0].test, sum(seconds for _, seconds in grid),
                     labels_per_class=count),
        ]
    return measured


def search_gains(report):
    """The search in one table: what CCSA gains over "no alignment" at each label count.

    Args:
        report: the ``ccsa_search`` results (``course_lib.results.load("ccsa_search")``).

    Returns:
        a ``pandas.DataFrame``, one row per (labels per digit, CCSA arm): the median gain in
        points of accuracy, the smallest and largest, and the seeds on which CCSA scored higher.
    """
    import pandas as pd

    rows = []
    for count in report.distinct("labels_per_class", arm=SEARCH_BASELINE):
        for kind in (SEARCH_PAPER, SEARCH_CHOSEN):
            gains = 100 * np.array(report.gains(kind, [SEARCH_BASELINE], labels_per_class=count))
            won = [seed for seed, gain in zip(report.seeds, gains) if gain > 0]
            rows.append({"labels per digit": count, "arm": kind, "median gain (points)": np.median(gains),
                         "min": gains.min(), "max": gains.max(),
                         "seeds won": f"{len(won)} of {len(gains)}: {', '.join(map(str, won)) or '-'}"})
    return pd.DataFrame(rows).set_index(["labels per digit", "arm"]).round(1)


def _views(x, names):
    views = {"grey": to_channels(x, 1), "colour": x}
    picked = [views[n] for n in names]
    return picked[0] if len(picked) == 1 else picked


def build_fusion_arm(arm, source, seed=0, mode=None):
    """The model of one fusion arm and the views it reads: ``(model, views)``, views from
    ``("grey", "colour")``; ``mode`` (from ``fusion.FUSIONS``) for ``ARM_FUSION`` only."""
    checks.choice(arm, "arm", FUSION_ARMS)
    if (mode is None) != (arm != ARM_FUSION):
        raise ValueError(f"a mode goes with the arm {ARM_FUSION!r} only, got arm {arm!r} and mode {mode!r}")
    if arm == ARM_SOURCE_BRANCH:
        return fu.build_single(fu.source_branch(source), freeze=True, seed=seed), ("grey",)
    if arm == ARM_TARGET_BRANCH:
        return fu.build_single(fu.target_branch(seed=seed), seed=seed), ("colour",)
    model = fu.build_fusion(fu.source_branch(source), fu.target_branch(seed=seed), fusion=mode,
                            freeze_source=True, seed=seed)
    return model, ("grey", "colour")


@experiment("target_accuracy", "frozen grey source branch + trainable colour target branch, fused "
                               "by concatenation or a gated sum, vs each branch alone; few "
                               "mnist_m labels")
def fusion(seed, arms=FUSION_ARMS, modes=fu.FUSIONS, keep=None, progress=False):
    """Train and test every arm, ``ARM_FUSION`` once per mode of ``modes``.

    Returns:
        ``[Measured(arm, mnist_m test accuracy, seconds)]``, those of ``ARM_FUSION`` with the
        field ``mode``. ``keep`` gets each branch's ``Selected`` as ``keep[arm]``, and the fused
        arm's as ``keep[ARM_FUSION][mode]``.
    """
    arms = _pick(arms, FUSION_ARMS)
    modes = tuple(checks.choice(mode, "mode", fu.FUSIONS) for mode in modes)
    source = trained(dataclasses.replace(SOURCE, seed=seed))
    (x, y), (x_val, y_val), (x_test, y_test) = target_split(seed)

    def train(arm, mode, label):
        model, views = build_fusion_arm(arm, source, seed=seed, mode=mode)
        return select_and_test(model, (_views(x, views), y), (_views(x_val, views), y_val),
                               (_views(x_test, views), y_test), seed, label,
                               epochs=FUSION_EPOCHS, batch_size=FUSION_BATCH)

    branches = [arm for arm in arms if arm != ARM_FUSION]
    measured = _run_arms(branches, lambda arm, label: train(arm, None, label), keep, progress)
    if ARM_FUSION in arms:
        fused = {}
        for mode in modes:
            with Stopwatch() as t:
                fused[mode] = train(ARM_FUSION, mode, f"{ARM_FUSION}, {mode}" if progress else None)
            measured.append(Measured(ARM_FUSION, fused[mode].test, t.seconds, mode=mode))
        if keep is not None:
            keep[ARM_FUSION] = fused
    return measured


@fusion.claim("concatenating the two branches beats the better branch alone")
def _(report):
    concat = {"arm": ARM_FUSION, "mode": "concat"}
    return min(report.gains(concat, [ARM_SOURCE_BRANCH, ARM_TARGET_BRANCH])) > 0.0


def paired_views(seed):
    """The multimodal setting of ``seed``: the ``mnist`` training digits after the ink
    model's first ``INK_IMAGES``, each in two views (``mnist`` and ``mnist_m`` are split
    identically, so row i of both is one digit).

    Returns:
        ``(ink, photo, y)``: (n, 28, 28, 1) clean digits, (n, 28, 28, 3) their photo
        blends, and their labels (which the setting only has for a few photos).
    """
    ink, y = load_domain("mnist", "train", seed=seed, channels=1)
    photo, y_photo = load_domain("mnist_m", "train", seed=seed, channels=3)
    if not np.array_equal(y, y_photo):
        raise RuntimeError("mnist and mnist_m are no longer split alike; paired views need that")
    return ink[INK_IMAGES:], photo[INK_IMAGES:], y[INK_IMAGES:]


def pair_split(y, seed):
    """Which pairs the setting has photo labels for: ``LABELS_PER_CLASS`` per digit.

    Returns:
        ``((train, y_train), (validation, y_validation), unlabelled)``: row indices into
        ``paired_views``'s arrays (and the labels of the labelled ones); the three sets
        are disjoint and cover every pair.
    """
    few, few_y = few_shot(np.arange(len(y)), y, LABELS_PER_CLASS, seed=seed)
    train, validation = validation_split(few, few_y, VALIDATION_PER_CLASS, seed=seed)
    return train, validation, np.setdiff1d(np.arange(len(y)), few)


@experiment("target_accuracy", "multimodal source (an ink model and unlabelled ink+photo pairs), "
                               "photo-only target with few labels: photo models with and without "
                               "the ink model's labels for the pairs")
def multimodal_transfer(seed, arms=MULTIMODAL_ARMS, keep=None, progress=False):
    """Test every arm on the ``mnist_m`` test photos: ``[Measured(arm, accuracy, seconds)]``.

    The ink model's own arms are tested once (it does not train here); the photo models
    start from the ink model's kernels copied to 3 channels and keep their best epoch
    on the photo validation split. ``keep`` gets the photo arms' ``Selected``.
    """
    arms = _pick(arms, MULTIMODAL_ARMS)
    ink_model = trained(dataclasses.replace(INK_TEACHER, seed=seed))
    ink, photo, y = paired_views(seed)
    (train, y_train), (val, y_val), unlabelled = pair_split(y, seed)
    x_test, y_test = load_domain("mnist_m", "test", seed=seed, channels=3)
    taught = predicted_labels(ink_model, ink[unlabelled])
    pooled = np.concatenate([unlabelled, train])
    schedules = {ARM_PHOTO_FEW: ((photo[train], y_train), COPYING_EPOCHS, COPYING_BATCH),
                 ARM_PHOTO_TAUGHT: ((photo[pooled], np.concatenate([taught, y_train])),
                                    MULTIMODAL_EPOCHS, MULTIMODAL_BATCH),
                 ARM_PHOTO_ALL: ((photo[pooled], y[pooled]), MULTIMODAL_EPOCHS, MULTIMODAL_BATCH)}
    tested = {ARM_INK_ON_PHOTOS: lambda: accuracy(ink_model, to_channels(x_test, 1), y_test),
              ARM_INK_LABELS: lambda: float(np.mean(taught == y[unlabelled]))}
    measured = []
    for arm in [a for a in arms if a in tested]:
        with Stopwatch() as t:
            value = tested[arm]()
        measured.append(Measured(arm, value, t.seconds))

    def train_arm(arm, label):
        model, _ = copied_model(ink_model, channels=3, seed=seed)
        data, epochs, batch_size = schedules[arm]
        return select_and_test(model, data, (photo[val], y_val), (x_test, y_test), seed, label,
                               epochs=epochs, batch_size=batch_size)

    measured += _run_arms([a for a in arms if a in schedules], train_arm, keep, progress)
    return measured


@multimodal_transfer.claim("the photo model taught by the ink view beats the photo model trained "
                           "on the few photo labels by more than 5 points")
def _(report):
    return min(report.gains(ARM_PHOTO_TAUGHT, [ARM_PHOTO_FEW])) > 0.05


@multimodal_transfer.claim("the photo model taught by the ink view beats the ink model used on "
                           "the photos as they are")
def _(report):
    return min(report.gains(ARM_PHOTO_TAUGHT, [ARM_INK_ON_PHOTOS])) > 0.0
