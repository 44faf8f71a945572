"""The domain gap: the MNIST source model's accuracy on each domain's test split."""

from course_lib.data import DOMAINS, load_domain
from course_lib.experiments import Measured, Stopwatch
from course_lib.models import accuracy, source_model

METRIC = "target_accuracy"
DESCRIPTION = "source model (trained on mnist) tested on mnist, digits and mnist_m"


def run(seed, domains=DOMAINS):
    """Train (or load) the source model for ``seed`` and test it on every domain.

    Returns:
        ``{domain: Measured(accuracy, seconds to evaluate)}``.
    """
    model = source_model(channels=1, seed=seed, progress=None)
    measured = {}
    for name in domains:
        x, y = load_domain(name, "test", seed=seed, channels=1)
        with Stopwatch() as t:
            value = accuracy(model, x, y)
        measured[name] = Measured(value, t.seconds)
    return measured
