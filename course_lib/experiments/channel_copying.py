"""Channel copying: a grey MNIST source model reused in a colour MNIST-M target model.

Both arms train the same RGB CNN on 10 labelled ``mnist_m`` images per class
with the same recipe; one starts from the grey source model's weights (the
first conv kernel adapted to 3 channels), the other from random weights.
Every epoch's test accuracy is recorded, so the run measures both how much
better the copied model is after a short training and how many epochs it
needs to reach the random-init model's final accuracy.
"""

from course_lib.data import few_shot, load_domain
from course_lib.experiments import Measured, Stopwatch
from course_lib.models import source_model
from course_lib.transfer_networks.channel_copying import (
    copied_model,
    epochs_to_reach,
    random_model,
    train_with_curve,
)

METRIC = "target_accuracy"
DESCRIPTION = ("grey mnist source model copied into an RGB model vs random init, "
               "trained on 10 mnist_m labels per class; arms '... epochs' are accuracies, "
               "'copied: epochs to reach random's final' is an epoch count")

LABELS_PER_CLASS = 10
SHORT_EPOCHS = 5
EPOCHS = 16
BATCH_SIZE = 16


def curves(seed, labels_per_class=LABELS_PER_CLASS, epochs=EPOCHS, progress=False):
    """Train both arms on the same few labels and record their test accuracy per epoch.

    Returns:
        a dict: ``curves`` ``{"copied": curve, "random": curve}``, each ``epochs + 1``
        ``mnist_m`` test accuracies (index 0: before training); ``seconds`` per arm;
        ``report``, ``transfer_weights``'s table; ``models``, the trained models and
        the ``source`` model.
    """
    source = source_model(channels=1, seed=seed, progress=None)
    x, y = load_domain("mnist_m", "train", seed=seed, channels=3)
    x_few, y_few = few_shot(x, y, labels_per_class, seed=seed)
    x_test, y_test = load_domain("mnist_m", "test", seed=seed, channels=3)
    copied, report = copied_model(source, channels=3, seed=seed)
    found = {"curves": {}, "seconds": {}, "report": report,
             "models": {"source": source, "copied": copied,
                        "random": random_model(channels=3, seed=seed)}}
    for arm in ("copied", "random"):
        with Stopwatch() as t:
            found["curves"][arm] = train_with_curve(
                found["models"][arm], x_few, y_few, x_test, y_test, epochs=epochs,
                batch_size=BATCH_SIZE, seed=seed, progress=f"{arm} init" if progress else None)
        found["seconds"][arm] = t.seconds
    return found


def summarize(result, short_epochs=SHORT_EPOCHS):
    """The numbers the bar is about, from ``curves(...)["curves"]``.

    Returns:
        ``{arm label: value}``: each arm's accuracy after ``short_epochs`` and after
        all epochs, and the epochs the copied model needs to reach the random-init
        model's final accuracy (``len(curve)`` when it never does).
    """
    epochs = len(result["random"]) - 1
    if not 1 <= short_epochs <= epochs:
        raise ValueError(f"short_epochs must be between 1 and {epochs}, got {short_epochs}")
    reach = epochs_to_reach(result["copied"], result["random"][-1])
    return {
        f"copied, {short_epochs} epochs": float(result["copied"][short_epochs]),
        f"random, {short_epochs} epochs": float(result["random"][short_epochs]),
        f"copied, {epochs} epochs": float(result["copied"][-1]),
        f"random, {epochs} epochs": float(result["random"][-1]),
        "copied: epochs to reach random's final": float(epochs + 1 if reach is None else reach),
    }


def run(seed):
    """One seed of the experiment: ``{arm: Measured(value, seconds)}`` (see ``summarize``)."""
    found = curves(seed)
    seconds = found["seconds"]
    return {arm: Measured(value, seconds["random" if arm.startswith("random") else "copied"])
            for arm, value in summarize(found["curves"]).items()}
