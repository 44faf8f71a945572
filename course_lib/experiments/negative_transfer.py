"""Negative transfer: a source that learned nothing true (shuffled labels) against scratch.

Target: ``digits``, ``N_PER_CLASS`` labelled images per class, its whole test split.
Arms (target test accuracy)::

    scratch            the CNN from a random start
    shuffled:full      fine-tune everything, starting from the shuffled-label source
    shuffled:new_head  its features frozen, a new head (feature extraction)
    source:full        fine-tune the real mnist source model (for reference)
    probe:source       linear probe of the real source's features   \
    probe:shuffled     linear probe of the shuffled source's features  > the warning check
    probe:random       linear probe of an untrained CNN's features    /
"""

from course_lib.experiments import Measured, Stopwatch
from course_lib.fine_tuning import DEFAULT_STEPS, build, default_learning_rate, fit
from course_lib.models import accuracy, source_model

METRIC = "target_accuracy"
DESCRIPTION = ("digits with 10 labels per class: scratch vs fine-tuning a source trained on "
               "shuffled mnist labels, plus linear probes of the features (the warning check)")
TARGET = "digits"
N_PER_CLASS = 10
TRANSFERS = (("scratch", None, "scratch"), ("shuffled:full", "shuffled", "full"),
             ("shuffled:new_head", "shuffled", "new_head"), ("source:full", "source", "full"))


def load(seed, n_per_class=N_PER_CLASS):
    """``(train, test)``: ``n_per_class`` labelled ``digits`` per class, and the test split."""
    from course_lib.data import few_shot, load_domain

    x, y = load_domain(TARGET, "train", seed=seed)
    return few_shot(x, y, n_per_class, seed=seed), load_domain(TARGET, "test", seed=seed)


def run(seed, n_per_class=N_PER_CLASS, steps=DEFAULT_STEPS, arms=None, progress=False):
    """Every arm once (``arms``: a subset of the names above, default all).

    Returns:
        ``{arm: Measured(digits test accuracy, seconds)}``.
    """
    from course_lib.transferability import probe_accuracy, random_cnn, shuffled_label_source

    known = [a[0] for a in TRANSFERS] + ["probe:source", "probe:shuffled", "probe:random"]
    arms = known if arms is None else list(arms)
    unknown = [a for a in arms if a not in known]
    if unknown:
        raise ValueError(f"unknown arm {unknown}; allowed: {', '.join(known)}")
    train, test = load(seed, n_per_class)
    sources = {"source": source_model(seed=seed, progress=None),
               "shuffled": shuffled_label_source(seed=seed), "random": None}
    measured = {}
    for name, source, strategy in TRANSFERS:
        if name not in arms:
            continue
        with Stopwatch() as t:
            model = build(strategy, sources[source] if source else None, seed=seed)
            fit(model, *train, learning_rate=default_learning_rate(strategy), steps=steps,
                seed=seed, progress=name if progress else None)
            value = accuracy(model, *test)
        measured[name] = Measured(value, t.seconds)
    for name in ("source", "shuffled", "random"):
        if f"probe:{name}" in arms:
            with Stopwatch() as t:
                model = sources[name] if sources[name] is not None else random_cnn(seed)
                value = probe_accuracy(model, train, test, seed=seed)
            measured[f"probe:{name}"] = Measured(value, t.seconds)
    return measured
