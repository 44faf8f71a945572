"""Chapter 02's experiments: the fine-tuning strategies and the label budgets, on the chapter's
task (``task.py``), which chapter 03's experiments reuse with ``tune`` and ``record``.

Every run chooses on the validation split of the labelled target images: its learning
rate from a small grid and its number of steps (the best validation point is kept); each
arm's number is then its accuracy on the test split, measured once. Besides that
``target_accuracy``, an arm has the metrics ``source_accuracy`` (its accuracy on the source
domain's test split: what fine-tuning left of the source task) and ``learning_rate`` (the
rate validation chose).
"""

from course_lib.chapters.ch02_task_fine_tuning.task import LABELS_PER_CLASS, load_task
from course_lib.core.evaluation import accuracy
from course_lib.core.pretrained import SOURCE, source_model
from course_lib.experiments import Measured, Stopwatch, experiment
from course_lib.methods.fine_tuning import RATE_GRID, build, fine_tune, select_learning_rate

#: The source models the chapter loads (``python -m course_lib.tools.warm`` trains them).
RECIPES = (SOURCE,)
#: Every arm of ``fine_tuning_strategies``, baselines first.
ALL_STRATEGIES = ("scratch", "new_head", "mapping", "head", "top", "full")
#: Labelled target images per digit (half of them validate) for ``labels_per_class``.
BUDGETS = (6, 20, 60)
#: The arms of ``labels_per_class``.
BUDGET_STRATEGIES = ("scratch", "head", "full")


def tune(strategy, source, task, seed=0, loss=None, progress=None):
    """Fine-tune ``strategy`` on the task's train split at each rate of ``RATE_GRID[strategy]``.

    Returns:
        a ``fine_tuning.Selection``: the model with the best validation accuracy, its rate,
        and every rate's validation curve.
    """
    def make():
        return build(strategy, source, seed=seed)

    def train_at(model, rate):
        label = f"{progress} at rate {rate:g}" if progress else None
        return fine_tune(model, task["train"], task["validation"], rate, seed=seed, loss=loss,
                         progress=label)

    return select_learning_rate(make, RATE_GRID[strategy], train_at)


def final_accuracy(model, task):
    """``model``'s accuracy on the task's test split: an arm's number, measured once."""
    return accuracy(model, *task["test"])


def record(measured, arm, task, select):
    """Run ``select()`` (which returns a ``Selection``), timed; append to the list ``measured``
    two ``Measured`` of ``arm``: the kept model's test accuracy and, as
    ``metric="learning_rate"``, its rate. Return the ``Selection``."""
    with Stopwatch() as t:
        chosen = select()
    measured.append(Measured(arm, final_accuracy(chosen.model, task), t.seconds))
    measured.append(Measured(arm, chosen.learning_rate, metric="learning_rate"))
    return chosen


@experiment("target_accuracy", "mnist -> mnist_m, 20 labels per class (10 validate): the source "
                               "model as-is, scratch, new head, probability mapping, and "
                               "fine-tuning the head / top blocks / whole model")
def fine_tuning_strategies(seed, strategies=ALL_STRATEGIES, labels_per_class=LABELS_PER_CLASS):
    """Each strategy, its rate chosen on validation, tested once on ``mnist_m`` and on ``mnist``.

    Returns:
        ``Measured`` records, the arm being the strategy: its ``mnist_m`` test accuracy (seconds
        to choose and train), its ``metric="learning_rate"`` and ``metric="source_accuracy"``
        (``mnist`` test accuracy after fine-tuning); and the two accuracies of the arm
        ``"source model"`` as-is (no training).
    """
    source = source_model(seed=seed, progress=None)
    task = load_task(labels_per_class, seed=seed)
    measured = [Measured("source model", final_accuracy(source, task)),
                Measured("source model", accuracy(source, *task["source_test"]), metric="source_accuracy")]
    for strategy in strategies:
        chosen = record(measured, strategy, task, lambda: tune(strategy, source, task, seed))
        measured.append(Measured(strategy, accuracy(chosen.model, *task["source_test"]),
                                 metric="source_accuracy"))
    return measured


@fine_tuning_strategies.claim("fine-tuning the whole model beats the same CNN trained from scratch "
                              "by more than 5 points: it starts from the source weights")
def _(report):
    return min(report.gains("full", ["scratch"])) > 0.05


@fine_tuning_strategies.claim("fine-tuning the whole model beats training the head alone (the "
                              "source's or a new one) by more than 10 points")
def _(report):
    return min(report.gains("full", ["head", "new_head"])) > 0.10


@fine_tuning_strategies.claim("fine-tuning the top blocks beats training the head alone by more than "
                              "5 points, and fine-tuning the whole model is at least as good as the "
                              "top blocks")
def _(report):
    return min(report.gains("top", ["head", "new_head"])) > 0.05 and min(report.gains("full", ["top"])) > 0


@fine_tuning_strategies.claim("the probability mapping beats the source model as-is by more than 5 "
                              "points, and a new head beats the mapping")
def _(report):
    return (min(report.gains("mapping", ["source model"])) > 0.05
            and min(report.gains("new_head", ["mapping"])) > 0)


@experiment("target_accuracy", "mnist -> mnist_m with 6, 20 or 60 labels per class (half of them "
                               "validate): scratch, the head only, the whole model")
def labels_per_class(seed, budgets=BUDGETS, strategies=BUDGET_STRATEGIES):
    """Each strategy at each label budget, rates chosen on each budget's validation half.

    Returns:
        ``Measured(strategy, mnist_m test accuracy, seconds, labels_per_class=n)`` for each
        strategy and budget ``n``.
    """
    source = source_model(seed=seed, progress=None)
    measured = []
    for n in budgets:
        task = load_task(n, seed=seed)
        for strategy in strategies:
            with Stopwatch() as t:
                model = tune(strategy, source, task, seed).model
            measured.append(Measured(strategy, final_accuracy(model, task), t.seconds, labels_per_class=n))
    return measured


def _budget_gains(report):
    return {n: report.gains("full", ["scratch"], labels_per_class=n) for n in BUDGETS}


@labels_per_class.claim("the fewer the labels, the more the source weights are worth: full "
                        "fine-tuning's lead over scratch is larger with 6 labels per class than "
                        "with 60")
def _(report):
    gains = _budget_gains(report)
    return all(few > many for few, many in zip(gains[BUDGETS[0]], gains[BUDGETS[-1]]))


@labels_per_class.claim("full fine-tuning beats scratch at every budget")
def _(report):
    return min(min(g) for g in _budget_gains(report).values()) > 0


@labels_per_class.claim("the head alone beats scratch by more than 10 points with 6 labels per "
                        "class, and loses to it by more than 5 points with 60: frozen features cap "
                        "what more labels can teach")
def _(report):
    few, many = BUDGETS[0], BUDGETS[-1]
    return (min(report.gains("head", ["scratch"], labels_per_class=few)) > 0.10
            and min(report.gains("scratch", ["head"], labels_per_class=many)) > 0.05)
