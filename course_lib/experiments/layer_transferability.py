"""Layer transferability after Yosinski et al. (2014), at small scale.

Task A: ``mnist`` digits 0-4 (the network is ``feature_extraction.subtask_source_model``).
Task B: ``mnist`` digits 5-9, ``N_PER_CLASS`` labelled training images per class, tested
on all 500 of their test images. For k = 0..3 the first k blocks of the A network are copied
into a fresh 5-way network for B, frozen (AnB) or fine-tuned (AnB+), and the rest trained on B.
Arms: ``"frozen@k"`` and ``"fine-tuned@k"`` (k = 0 is scratch, the same run in both).
"""

from course_lib.experiments import Measured, Stopwatch
from course_lib.fine_tuning import DEFAULT_STEPS

METRIC = "target_accuracy"
DESCRIPTION = ("mnist digits 0-4 (task A) -> 5-9 (task B, 20 labels per class): copy the first "
               "k blocks of the A network, frozen or fine-tuned, k = 0..3")
TASK_A = (0, 1, 2, 3, 4)
TASK_B = (5, 6, 7, 8, 9)
N_PER_CLASS = 20
KS = (0, 1, 2, 3)


def load_task_b(seed, n_per_class=N_PER_CLASS):
    """``(train, test)`` of task B, labels relabelled 0..4: few training images, full test."""
    from course_lib.data import class_subset, few_shot, load_domain

    x, y = class_subset(*load_domain("mnist", "train", seed=seed), TASK_B)
    test = class_subset(*load_domain("mnist", "test", seed=seed), TASK_B)
    return few_shot(x, y, n_per_class, seed=seed), test


def run(seed, ks=KS, n_per_class=N_PER_CLASS, steps=DEFAULT_STEPS, progress=False,
        fine_tuned_ks=None):
    """``layer_transfer_curve`` for task A -> task B (``fine_tuned_ks``: see there).

    Returns:
        ``{"frozen@k" | "fine-tuned@k": Measured(task B test accuracy, seconds of the whole curve
        divided by its runs)}``.
    """
    from course_lib.feature_extraction import subtask_source_model
    from course_lib.transferability import layer_transfer_curve

    base = subtask_source_model(TASK_A, seed=seed)
    train, test = load_task_b(seed, n_per_class)
    with Stopwatch() as t:
        curve = layer_transfer_curve(base, train, test, ks=ks, seed=seed, steps=steps,
                                     progress=progress, fine_tuned_ks=fine_tuned_ks)
    runs = sum(len(v) for v in curve.values()) - (1 if 0 in curve["fine-tuned"] else 0)
    return {f"{mode}@{k}": Measured(v, t.seconds / runs)
            for mode, points in curve.items() for k, v in points.items()}


def as_curve(measured):
    """``{"frozen@k": v, ...}`` -> ``{"frozen": {k: v}, "fine-tuned": {k: v}}`` for plotting."""
    curve = {}
    for name, m in measured.items():
        mode, k = name.rsplit("@", 1)
        curve.setdefault(mode, {})[int(k)] = float(getattr(m, "value", m))
    return curve
