"""The course's trained CNNs (the source models), each trained once and then loaded from the cache.

A ``Recipe`` says how one is trained: which domain and digits, how many images, epochs,
batch size, learning rate, seed, and whether the labels are shuffled (a source that has
learned nothing true about digits, for chapter 07's negative transfer). The recipe, the
architecture, the data version and the library versions make the cache key, so a changed
recipe or an upgrade trains afresh.
"""

import dataclasses

import numpy as np

from course_lib.core import checks
from course_lib.core.data import DATA_VERSION, DOMAINS, N_CLASSES, class_subset, load_domain

#: A fixed stream of the random generator for shuffling labels, apart from the seed's others.
LABEL_SHUFFLE_STREAM = 1


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How a course CNN is trained on one domain's training split.

    Attributes:
        domain: one of ``data.DOMAINS``.
        classes: the digits it learns, relabelled 0..k-1 in this order.
        channels: 1 (grey) or 3 (RGB) inputs.
        epochs, batch_size, learning_rate: Adam on the training images.
        images: train on only the first ``images`` training images (None: all).
        shuffled_labels: train on randomly permuted labels (a source that learns nothing true).
        seed: the split, the initialisation and the shuffling.
    """

    domain: str = "mnist"
    classes: tuple = tuple(range(10))
    channels: int = 1
    epochs: int = 5
    batch_size: int = 128
    learning_rate: float = 1e-3
    images: int = None
    shuffled_labels: bool = False
    seed: int = 0

    def __post_init__(self):
        checks.choice(self.domain, "domain", DOMAINS)
        checks.channels(self.channels)
        checks.whole_number(self.epochs, "epochs")
        checks.seed(self.seed)
        object.__setattr__(self, "classes", tuple(checks.whole_number(c, "classes", minimum=0,
                                                                      maximum=N_CLASSES - 1)
                                                  for c in self.classes))

    @property
    def name(self):
        """A readable start of the cache file name."""
        digits = "".join(map(str, self.classes)) if len(self.classes) < 10 else "all"
        kind = "shuffled" if self.shuffled_labels else "cnn"
        return f"{kind}_{self.domain}_{digits}_c{self.channels}_s{self.seed}"

    def training_data(self):
        """``(x, y)``: the recipe's training images and labels."""
        x, y = class_subset(*load_domain(self.domain, "train", seed=self.seed, channels=self.channels),
                            self.classes)
        if self.images is not None:
            x, y = x[:self.images], y[:self.images]  # the split is shuffled: a random sample
        if self.shuffled_labels:
            y = shuffled(y, self.seed)
        return x, y


#: The course's source model: all ten MNIST digits, grey, 5 epochs.
SOURCE = Recipe()


def shuffled(y, seed=0):
    """``y`` randomly permuted: the same label counts, no relation left to the images."""
    y = checks.labels(y)
    if len(y) == 0:
        raise ValueError("y is empty; give at least one label")
    return np.random.default_rng([checks.seed(seed), LABEL_SHUFFLE_STREAM]).permutation(y)


def trained(recipe, progress=None):
    """The CNN trained by ``recipe``: from the cache, or trained now (seconds) and cached.

    Returns:
        a ``keras.Model``; its attribute ``from_cache`` says whether it was loaded.
    """
    from course_lib.core.cache import cached_model
    from course_lib.core.cnn import build_cnn
    from course_lib.core.training import fit

    def build():
        return build_cnn(channels=recipe.channels, n_classes=len(recipe.classes), seed=recipe.seed,
                         name=recipe.name)

    def train(model):
        fit(model, recipe.training_data(), epochs=recipe.epochs, batch_size=recipe.batch_size,
            learning_rate=recipe.learning_rate, seed=recipe.seed, progress=progress)
        return model

    model, loaded = cached_model(recipe.name, [dataclasses.asdict(recipe), DATA_VERSION], build, train)
    model.from_cache = loaded
    return model


def source_model(channels=1, seed=0, progress="source model"):
    """The course's source model: the CNN trained on the ``mnist`` training split (``SOURCE``).

    About 10 s on one CPU the first time, then loaded from the cache folder.

    Args:
        channels: 1 for grey inputs, 3 for RGB (MNIST repeated to 3 channels).
        seed: the split of ``mnist``, the initialisation and the shuffling.
    """
    return trained(dataclasses.replace(SOURCE, channels=channels, seed=seed), progress)
