"""Train on a folder of images: check, split, read, build, two stages, test. What the command
``python -m course_lib.methods.own_images train FOLDER`` runs, and what chapter 08 calls.

``train_folder(folder, output, settings, strategy)``:

1. checks the folder (``folder.check_folder``: every file decoded once; the rest skipped, with reasons);
2. splits its files into training, validation and test sets (class-balanced validation and test);
3. finds the backbone's ImageNet weights and checks their hash (or goes on without, and says so);
4. makes the input pipeline (``pipeline.dataset``), scaled to the strategy's replicas;
5. builds the transfer model inside the strategy's scope (mixed precision on GPUs);
6. trains the head, measures the test set, fine-tunes the top blocks, measures it again;
7. writes the model, a report and figures into ``output`` (``outputs.write_run``), whole or not at all.
"""

import contextlib
import dataclasses
import shutil
import tempfile

import numpy as np

from course_lib.core import checks
from course_lib.methods.own_images import backbone as bb
from course_lib.methods.own_images import pipeline
from course_lib.methods.own_images.recipe import CALIBRATION_IMAGES, DROPOUT, FINE_LEARNING_RATE, HEAD_LEARNING_RATE


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything that shapes a run besides the folder and the strategy.

    ``pretrained`` looks for the backbone's ImageNet weights (in Keras's cache, or one download
    when ``download``); False starts from random weights on purpose (the chapter's measured
    offline recipe). ``batch_size`` is per replica: the global batch is ``batch_size`` times the
    replicas. The learning rates are for a global batch of ``distribution.REFERENCE_BATCH`` (32)
    images and scale in proportion to the global batch (``distribution.scaled``).
    """

    backbone: str = bb.DEFAULT_BACKBONE
    image_size: int = 96
    head_epochs: int = 10
    fine_epochs: int = 10
    top_blocks: int = 2
    batch_size: int = 32
    validation_share: float = 0.2
    test_share: float = 0.2
    head_learning_rate: float = HEAD_LEARNING_RATE
    fine_learning_rate: float = FINE_LEARNING_RATE
    pretrained: bool = True
    augment: bool = True
    dropout: float = DROPOUT
    cache: str = "auto"
    download: bool = True
    seed: int = 0

    def checked(self):
        """These settings, if every one is allowed (else a ``ValueError`` that says which)."""
        bb.check_name(self.backbone)
        pipeline.check_image_size(self.image_size)
        checks.whole_number(self.head_epochs, "head_epochs")
        checks.whole_number(self.fine_epochs, "fine_epochs", minimum=0)
        checks.whole_number(self.top_blocks, "top_blocks")
        checks.whole_number(self.batch_size, "batch_size")
        for name in ("validation_share", "test_share"):
            if not 0 < checks.share(getattr(self, name), name) < 1:
                raise ValueError(f"{name} must be between 0 and 1 (both excluded), got {getattr(self, name)}")
        checks.positive_number(self.head_learning_rate, "head_learning_rate")
        checks.positive_number(self.fine_learning_rate, "fine_learning_rate")
        checks.share(self.dropout, "dropout")
        checks.choice(self.cache, "cache", pipeline.CACHES)
        checks.seed(self.seed)
        return self


@dataclasses.dataclass
class Evaluation:
    """The model measured once on the test set.

    Attributes:
        probabilities: (n, classes); labels: (n,) true classes; paths: the n test files.
        accuracy: share right; per_class: (classes,) accuracy on each class's images;
        confusion: (classes, classes) counts, rows the true class, columns the predicted one.
    """

    probabilities: np.ndarray
    labels: np.ndarray
    paths: list
    accuracy: float
    per_class: np.ndarray
    confusion: np.ndarray

    @property
    def predicted(self):
        return self.probabilities.argmax(axis=1)


@dataclasses.dataclass
class Run:
    """What ``train_folder`` made and measured.

    Attributes:
        model: the trained model. report: the ``folder.FolderReport``. splits: the ``pipeline.Split``s.
        weights: the ``weights.WeightsStatus``. stages: ``{"head": Stage, "top blocks": Stage}``.
        head_only: the test set after stage 1; final: after both stages (``Evaluation``s).
        distributed: replicas, global batch, learning rates, precision, strategy.
        output: the folder written (None: nothing written, e.g. on a worker that is not the chief).
    """

    model: object
    settings: Settings
    report: object
    splits: dict
    weights: object
    stages: dict
    head_only: Evaluation
    final: Evaluation
    distributed: dict
    output: object = None

    @property
    def class_names(self):
        return self.report.class_names


def evaluate(model, data, split, n_classes):
    """Measure ``model`` on a dataset of ``split``'s files (not shuffled): an ``Evaluation``."""
    from sklearn.metrics import confusion_matrix

    from course_lib.core.evaluation import per_class_accuracy
    from course_lib.methods.own_images.recipe import predict_dataset

    probabilities, labels = predict_dataset(model, data)
    predicted = probabilities.argmax(axis=1)
    return Evaluation(probabilities, labels, list(split.paths), float(np.mean(predicted == labels)),
                      per_class_accuracy(labels, predicted, n_classes),
                      confusion_matrix(labels, predicted, labels=range(n_classes)))


def calibration_images(split, image_size, seed=0):
    """Up to ``CALIBRATION_IMAGES`` training images, drawn at random across the classes."""
    rng = np.random.default_rng(checks.seed(seed))
    picked = rng.choice(len(split), size=min(CALIBRATION_IMAGES, len(split)), replace=False)
    return pipeline.load_images([split.paths[i] for i in sorted(picked)], image_size)


@contextlib.contextmanager
def scratch_folder():
    """A temporary folder under the cache folder (for caches on disk), deleted afterwards."""
    from course_lib.core.cache import cache_dir

    parent = cache_dir() / "own_images_scratch"
    parent.mkdir(exist_ok=True)
    folder = tempfile.mkdtemp(dir=parent)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _datasets(splits, settings, global_batch, n_replicas, scratch):
    """The three datasets; the test set is measured on one device (``evaluate``), every image."""
    if len(splits["validation"]) < n_replicas:
        raise ValueError(f"{len(splits['validation'])} validation images cannot be shared by {n_replicas} "
                         "replicas; give a larger validation_share or use fewer devices")
    place = pipeline.cache_place(len(splits["train"]), settings.image_size, settings.cache)
    return {name: pipeline.dataset(split, settings.image_size, global_batch, training=name == "train",
                                   seed=settings.seed, replicas=n_replicas if name == "validation" else 1,
                                   cache_file="" if place == "memory" else f"{scratch}/{name}")
            for name, split in splits.items()}


@dataclasses.dataclass
class Plan:
    """A run's inputs, all checked: what ``prepare`` found and ``train_plan`` trains on."""

    settings: Settings
    output: object
    report: object
    splits: dict
    weights: object


def prepare(folder, output=None, settings=None):
    """Check everything a run needs before any training: settings, output folder, image folder,
    split, ImageNet weights (found, fetched once or not, and hash-checked).

    Raises:
        ValueError: a setting out of range, an ``output`` that exists and is not empty, or a
            folder that cannot be trained on (``folder.FolderError``, with what was skipped).
    """
    from course_lib.methods.own_images.folder import check_folder
    from course_lib.methods.own_images.outputs import check_output
    from course_lib.methods.own_images.weights import imagenet_weights, random_init

    settings = (settings or Settings()).checked()
    output = check_output(output)
    report = check_folder(folder)
    splits = pipeline.split_files(report, settings.validation_share, settings.test_share, settings.seed)
    weights = (imagenet_weights(settings.backbone, download_missing=settings.download) if settings.pretrained
               else random_init(settings.backbone))
    return Plan(settings, output, report, splits, weights)


def train_plan(plan, strategy=None, progress=True):
    """Train, test and write what ``prepare`` planned (see ``train_folder``); returns a ``Run``."""
    from course_lib.methods.own_images import distribution, outputs
    from course_lib.methods.own_images import recipe as rc

    settings, splits, weights = plan.settings, plan.splits, plan.weights
    n_replicas = distribution.replicas(strategy)
    global_batch, head_rate = distribution.scaled(settings.batch_size, settings.head_learning_rate, n_replicas)
    fine_rate = distribution.scaled(settings.batch_size, settings.fine_learning_rate, n_replicas)[1]
    policy = distribution.precision_policy()
    n_classes = len(plan.report.class_names)
    with scratch_folder() as scratch:
        data = _datasets(splits, settings, global_batch, n_replicas, scratch)
        with strategy.scope() if strategy else contextlib.nullcontext(), distribution.precision(policy):
            model = rc.build_transfer_model(n_classes, settings.backbone, settings.image_size, weights.path,
                                            augment=settings.augment, dropout=settings.dropout,
                                            seed=settings.seed)
        if not weights.transfer:
            calibration = calibration_images(splits["train"], settings.image_size, settings.seed)
            rc.calibrate_batchnorm(model, calibration)
        rc.freeze_backbone(model)
        stages = {"head": rc.train_stage(model, data["train"], data["validation"], settings.head_epochs,
                                         head_rate, settings.seed, strategy,
                                         "stage 1, head only" if progress else None)}
        head_only = evaluate(model, data["test"], splits["test"], n_classes)
        if settings.fine_epochs:
            rc.unfreeze_top_blocks(model, settings.top_blocks)
            stages["top blocks"] = rc.train_stage(
                model, data["train"], data["validation"], settings.fine_epochs, fine_rate, settings.seed + 1,
                strategy, f"stage 2, top {settings.top_blocks} blocks" if progress else None)
        final = evaluate(model, data["test"], splits["test"], n_classes)
    run = Run(model, settings, plan.report, splits, weights, stages, head_only, final,
              {"strategy": type(strategy).__name__ if strategy else "default", "replicas": n_replicas,
               "global_batch": global_batch, "head_learning_rate": head_rate,
               "fine_learning_rate": fine_rate, "precision": policy})
    if plan.output is not None and distribution.is_chief(strategy):
        run.output = outputs.write_run(run, plan.output)
    return run


def train_folder(folder, output=None, settings=None, strategy=None, progress=True):
    """Train ``settings.backbone`` on an image folder in two stages, test it, write what it made.

    Args:
        folder: one sub-folder per class (``folder.check_folder``).
        output: a folder that does not exist yet (or is empty), for the model, the report
            and the figures (``outputs.write_run``); None writes nothing.
        settings: ``Settings`` (default: ``Settings()``).
        strategy: a ``tf.distribute`` strategy (``distribution.make_strategy``), or None. Under
            a multi-worker strategy only the chief (worker 0) writes ``output``.
        progress: show a progress line per stage.

    Returns:
        a ``Run``.

    Raises:
        ValueError: what ``prepare`` checks, before any training.
    """
    return train_plan(prepare(folder, output, settings), strategy, progress)
