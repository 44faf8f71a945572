"""The fine-tuning strategies side by side: MNIST source model -> mnist_m, 10 labels per class."""

from course_lib.experiments import Measured
from course_lib.fine_tuning import compare_strategies, load_task
from course_lib.models import source_model

METRIC = "target_accuracy"
DESCRIPTION = ("scratch, new head, probability mapping, and fine-tuning the head / top blocks / "
               "the whole model, "
               "mnist -> mnist_m with 10 labels per class")
STRATEGIES = ("scratch", "new_head", "mapping", "head", "top", "full")


def run(seed, n_per_class=10, strategies=STRATEGIES):
    """Train each strategy on the same few labelled ``mnist_m`` images.

    Returns:
        ``{strategy: Measured(mnist_m test accuracy, seconds to build and train)}``.
    """
    source = source_model(channels=1, seed=seed, progress=None)
    task = load_task(n_per_class=n_per_class, seed=seed)
    results = compare_strategies(source, task, strategies, seed=seed, progress=False)
    return {r["strategy"]: Measured(r["target_accuracy"], r["seconds"]) for r in results}
