"""Overfitting with a tiny target, and two fixes: early stopping and data augmentation.

A CNN trained from scratch on ``digits`` with ``TRAIN_PER_CLASS`` labelled images per class
(plus ``VAL_PER_CLASS`` more per class held out for validation). Arms (``digits`` test accuracy)::

    plain           400 steps, no fix: training accuracy reaches 1.0
    early_stopping  the same, stopped when the validation loss has not improved for 3
                    epochs (of 25 steps), going back to the best weights
    augmented       the same 400 steps with random rotations, shifts and zooms
"""

from course_lib.experiments import Measured, Stopwatch

METRIC = "target_accuracy"
DESCRIPTION = ("digits from scratch with 10 labels per class (+5 for validation): no fix, "
               "early stopping, data augmentation")
TARGET = "digits"
TRAIN_PER_CLASS = 10
VAL_PER_CLASS = 5
STEPS = 400
ARMS = ("plain", "early_stopping", "augmented")


def load(seed):
    """``(train, val, test)``, three ``(x, y)`` pairs of ``digits``."""
    from course_lib.data import few_shot, load_domain
    from course_lib.target_data import validation_split

    labelled = few_shot(*load_domain(TARGET, "train", seed=seed), TRAIN_PER_CLASS + VAL_PER_CLASS,
                        seed=seed)
    train, val = validation_split(*labelled, VAL_PER_CLASS, seed=seed)
    return train, val, load_domain(TARGET, "test", seed=seed)


def train_arm(arm, train, val, seed=0, steps=STEPS, progress=None):
    """Train one arm from scratch.

    Returns:
        ``(model, history)``: the plain CNN (without the augmentation layers, which only act
        in training) and the Keras ``History`` with ``accuracy``, ``val_accuracy``, ``loss``,
        ``val_loss`` per epoch of 25 steps.
    """
    from course_lib import fine_tuning as ft
    from course_lib import target_data as td

    if arm not in ARMS:
        raise ValueError(f"unknown arm {arm!r}; allowed: {', '.join(ARMS)}")
    model = ft.build("scratch", seed=seed)
    trained = td.with_augmentation(model, td.augmenter(seed=seed)) if arm == "augmented" else model
    callbacks = [td.early_stopping(patience=3)] if arm == "early_stopping" else []
    history = ft.fit(trained, *train, learning_rate=ft.default_learning_rate("scratch"), steps=steps,
                     seed=seed, validation_data=val, callbacks=callbacks, progress=progress)
    return model, history


def run(seed, arms=ARMS):
    """Every arm once: ``{arm: Measured(digits test accuracy, seconds)}``."""
    from course_lib.models import accuracy

    train, val, test = load(seed)
    measured = {}
    for arm in arms:
        with Stopwatch() as t:
            model, _ = train_arm(arm, train, val, seed=seed)
        measured[arm] = Measured(accuracy(model, *test), t.seconds)
    return measured
