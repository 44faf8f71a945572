"""How much target data? Accuracy against labels per class on a near and a far target.

The grey ``mnist`` source model is fine-tuned (or a CNN trained from scratch) on 1 to 50
labelled images per class of two targets: ``digits`` (scanned digits, close to MNIST: the
seed-0 source model scores 0.74 on them untouched) and ``mnist_m`` (digits on colour photos,
far: 0.42). Arms are named ``"<target>:<strategy>@<labels per class>"``.
The curves come from ``labels_per_class.run``; this module adds the two-target plot and
reads off where scratch catches up.
"""

from course_lib.experiments import labels_per_class
from course_lib.fine_tuning import DEFAULT_STEPS

METRIC = "target_accuracy"
DESCRIPTION = ("mnist source -> near target (digits) and far target (mnist_m), 1 to 50 labels "
               "per class: scratch, head-only and full fine-tuning")
TARGETS = {"near": "digits", "far": "mnist_m"}
BUDGETS = (1, 2, 5, 10, 20, 50)
STRATEGIES = ("scratch", "head", "full")


def arm(target, strategy, n_per_class):
    """The arm's name, e.g. ``"digits:full@5"``."""
    return f"{target}:{labels_per_class.arm(strategy, n_per_class)}"


def run(seed, targets=tuple(TARGETS.values()), budgets=BUDGETS, strategies=STRATEGIES,
        steps=DEFAULT_STEPS, progress=False):
    """Every strategy at every budget on every target (``len(targets) * len(budgets) *
    len(strategies)`` training runs of ``steps`` steps each, about 5-10 s per 150-step run on
    2 shared cores: the whole registry run is about 4-5 minutes per seed).

    Returns:
        ``{"<target>:<strategy>@<n>": Measured(target test accuracy, seconds)}``.
    """
    measured = {}
    for target in targets:
        measured.update(labels_per_class.run(seed, budgets=budgets, strategies=strategies,
                                             target=target, steps=steps, prefix=f"{target}:",
                                             progress=progress))
    return measured


def split_by_target(measured):
    """``{"<target>:<s>@<n>": v}`` -> ``{target: {"<s>@<n>": v}}`` (values as plain floats)."""
    out = {}
    for name, m in measured.items():
        if ":" not in name or "@" not in name:
            raise ValueError(f"arm {name!r} is not '<target>:<strategy>@<n>'")
        target, rest = name.split(":", 1)
        out.setdefault(target, {})[rest] = float(getattr(m, "value", m))
    return out


def gaps(measured, target, strategy="full", baseline="scratch"):
    """``{labels per class: accuracy(strategy) - accuracy(baseline)}`` on ``target``, sorted."""
    curves = split_by_target(measured)
    if target not in curves:
        raise ValueError(f"no arms for target {target!r}; targets measured: {', '.join(curves)}")
    curve = curves[target]
    out = {}
    for name, value in curve.items():
        s, n = name.rsplit("@", 1)
        if s == strategy and labels_per_class.arm(baseline, n) in curve:
            out[int(n)] = value - curve[labels_per_class.arm(baseline, n)]
    if not out:
        raise ValueError(f"no budget has both {strategy!r} and {baseline!r} on {target!r}")
    return dict(sorted(out.items()))


def catch_up(measured, target, strategy="full", tolerance=0.02):
    """The smallest budget from which scratch stays within ``tolerance`` (accuracy, 0-1) of
    ``strategy`` on ``target``, or None if it never does on the budgets measured."""
    g = gaps(measured, target, strategy)
    budgets = list(g)
    for i, n in enumerate(budgets):
        if all(g[m] <= tolerance for m in budgets[i:]):
            return n
    return None


def curve_plots(measured):
    """One panel per target: accuracy against labels per class, a line per strategy.

    Returns:
        the matplotlib ``Figure``.
    """
    import matplotlib.pyplot as plt

    curves = split_by_target(measured)
    fig, axes = plt.subplots(1, len(curves), figsize=(6.5 * len(curves), 4.2), sharey=True,
                             squeeze=False)
    near_far = {v: k for k, v in TARGETS.items()}
    for ax, (target, curve) in zip(axes[0], curves.items()):
        title = f"{near_far.get(target, '')} target: {target}".strip()
        labels_per_class.curve_plot(curve, ax=ax, title=title, ylabel="target test accuracy")
    fig.tight_layout()
    return fig
