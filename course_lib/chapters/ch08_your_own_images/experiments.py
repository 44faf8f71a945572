"""Chapter 08's experiment: the two-stage recipe on the course's sample folder, offline.

The sample folder stands for a learner's own: four classes of photo crops (``own_images.samples``).
The backbone starts from random weights on purpose, so that the numbers are the same on every
machine, online or not: this measures the recipe, not transfer from ImageNet (the chapter says so).
"""

import dataclasses

from course_lib.experiments import Measured, Stopwatch, experiment
from course_lib.methods.own_images.samples import make_new_images, make_sample_folder
from course_lib.methods.own_images.train import Settings, train_folder

#: The chapter's source models: none (its backbone comes from keras.applications).
RECIPES = ()
#: Images per class in the chapter's sample folder.
SAMPLE_PER_CLASS = 50
#: The chapter's settings: 96-pixel images, 10 epochs of the head, 10 of the top two blocks.
SETTINGS = Settings(image_size=96, head_epochs=10, fine_epochs=10, top_blocks=2, pretrained=False)
#: The arms: the model after stage 1 (the head only), and after stages 1 and 2.
HEAD_ONLY, TWO_STAGES = "head only", "head, then top blocks"
#: Chance for the sample folder's four classes, and the margins the claims state over it
#: (measured over seeds 0-7: the head alone is at least 0.20 above chance, both stages 0.25).
CHANCE, HEAD_MARGIN, MARGIN = 1 / 4, 0.15, 0.2

def sample_folder():
    """The chapter's sample folder (made once, in the cache folder)."""
    return make_sample_folder(per_class=SAMPLE_PER_CLASS)


#: What the chapter makes in the cache folder besides source models (``tools.warm`` makes them
#: before a class: building the sample folder in the chapter took about 130 MB more of its kernel).
CACHED = (sample_folder, make_new_images)


def arms(run, seconds=0.0):
    """A ``train.Run``'s test accuracies after each stage, as the experiment reports them: a
    ``Measured`` of ``HEAD_ONLY`` and one of ``TWO_STAGES``."""
    return [Measured(HEAD_ONLY, run.head_only.accuracy, seconds), Measured(TWO_STAGES, run.final.accuracy, seconds)]


@experiment("test_accuracy", "two-stage recipe on the sample folder (4 classes), random init, not transfer")
def own_images_two_stage(seed):
    """Train the chapter's recipe on the sample folder with ``seed`` (split, initialisation, order).

    Returns:
        ``arms``: ``Measured(arm, test accuracy, seconds for the whole run)`` after each stage.
    """
    with Stopwatch() as watch:
        run = train_folder(sample_folder(), settings=dataclasses.replace(SETTINGS, seed=seed), progress=None)
    return arms(run, watch.seconds)


@own_images_two_stage.claim("the head alone beats chance (0.25 for four classes) by more than 0.15 on every seed")
def _(report):
    return min(report.values(HEAD_ONLY)) > CHANCE + HEAD_MARGIN


@own_images_two_stage.claim("after both stages the model beats chance by more than 0.2 on every seed")
def _(report):
    return min(report.values(TWO_STAGES)) > CHANCE + MARGIN


@own_images_two_stage.claim("fine-tuning the top blocks (stage 2) raises the test accuracy over the head alone "
                            "on every seed")
def _(report):
    return min(report.gains(TWO_STAGES, [HEAD_ONLY])) > 0
