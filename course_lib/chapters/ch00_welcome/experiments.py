"""Chapter 00's experiment: the domain gap of the MNIST source model."""

from course_lib.core.data import DOMAINS, load_domain
from course_lib.core.evaluation import accuracy
from course_lib.core.pretrained import source_model
from course_lib.experiments import Measured, Stopwatch, experiment


@experiment("target_accuracy", "source model (trained on mnist) tested on mnist, digits and mnist_m")
def domain_gap(seed):
    """Train (or load) the source model for ``seed`` and test it on every domain's test split.

    Returns:
        One ``Measured(domain, accuracy, seconds to test)`` per domain: the arm is the domain's name.
    """
    model = source_model(seed=seed, progress=None)
    measured = []
    for name in DOMAINS:
        x, y = load_domain(name, "test", seed=seed)
        with Stopwatch() as t:
            value = accuracy(model, x, y)
        measured.append(Measured(name, value, t.seconds))
    return measured


@domain_gap.claim("the source model is right on more than 93 % of its own domain's test images")
def _(report):
    return min(report.values("mnist")) > 0.93


@domain_gap.claim("mnist_m costs the source model more than 35 points")
def _(report):
    return min(report.gains("mnist", ["mnist_m"])) > 0.35


@domain_gap.claim("digits, the nearer domain, costs fewer points than mnist_m")
def _(report):
    return min(report.gains("digits", ["mnist_m"])) > 0
