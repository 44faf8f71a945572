"""Chapter 09's experiment: what to train of the source model, and what each choice costs.

The task is chapter 02's: the MNIST source model on ``mnist_m`` with 20 labels per digit (10
of them validate). Every arm is a method of ``methods.parameter_efficient``; its learning rate
is chosen on the validation split (each run keeps its best validation point), and its number
is its accuracy on the ``mnist_m`` test split, measured once. The results file holds only
accuracies: what each arm trains and stores does not depend on the seed, and ``budgets``
computes it live.
"""

import statistics

from course_lib.core import checks
from course_lib.core.data import few_shot, load_domain, validation_split
from course_lib.core.evaluation import accuracy
from course_lib.core.pretrained import SOURCE, source_model
from course_lib.experiments import Measured, Stopwatch, experiment
from course_lib.methods import parameter_efficient as pe

#: The source models the chapter loads (``python -m course_lib.tools.warm`` trains them).
RECIPES = (SOURCE,)
#: Labelled target images per digit; half of them validate.
LABELS_PER_CLASS = 20
SOURCE_DOMAIN, TARGET_DOMAIN = "mnist", "mnist_m"
#: The layers the LoRA arms adapt: the two convolutions, or the two Dense layers.
CONVS, DENSES = ("block1_conv", "block2_conv"), ("features", "head")
#: The LoRA ranks compared on the convolutions.
RANKS = (1, 4, 16)
#: Each arm: the method of ``parameter_efficient`` and its options (LP-FT: two stages,
#: the probe's and then every weight's).
ARMS = {
    "probe": ("probe", {}),
    "full": ("full", {}),
    "LP-FT": ("lp_ft", {}),
    "BitFit": ("bitfit", {}),
    "BitFit + BatchNorm": ("bitfit", {"batchnorm": True}),
    **{f"LoRA r{r} convs": ("lora", {"rank": r, "layers": CONVS}) for r in RANKS},
    "LoRA r4 dense": ("lora", {"rank": 4, "layers": DENSES}),
    "adapters": ("adapters", {}),
}


def load_task(labels_per_class=LABELS_PER_CLASS, seed=0):
    """The labelled target images of ``seed``, split, and the target's test split.

    Returns:
        ``{"train", "validation", "test"}``, each ``(x, y)``: grey images (n, 28, 28, 1) in
        [0, 1] and their digits; ``labels_per_class // 2`` per digit validate.
    """
    labels_per_class = checks.whole_number(labels_per_class, "labels_per_class", minimum=2)
    x, y = load_domain(TARGET_DOMAIN, "train", seed=seed, channels=1)
    train, validation = validation_split(*few_shot(x, y, labels_per_class, seed=seed),
                                         labels_per_class // 2, seed=seed)
    return {"train": train, "validation": validation,
            "test": load_domain(TARGET_DOMAIN, "test", seed=seed, channels=1)}


def arm_model(arm, source, seed=0):
    """The model ``arm`` trains, frozen as its method says (LP-FT: its second stage, every weight)."""
    checks.choice(arm, "arm", tuple(ARMS))
    method, options = ARMS[arm]
    return pe.build("full" if method == "lp_ft" else method, source, seed=seed, **options)


def budgets(source, arms=tuple(ARMS)):
    """``{arm: parameter_efficient.Budget}``: what each arm trains and stores per task."""
    return {arm: pe.budget(arm_model(arm, source), source) for arm in arms}


def train_arm(arm, source, task, seed=0, probe=None, progress=None):
    """Tune ``arm`` on the task's train split, its rate chosen on validation.

    Args:
        probe: for ``"LP-FT"``, the probe's ``Selection`` already made (else it is made here).

    Returns:
        a ``fine_tuning.Selection``.
    """
    checks.choice(arm, "arm", tuple(ARMS))
    method, options = ARMS[arm]
    return pe.tune(method, source, task["train"], task["validation"], seed=seed, probe=probe,
                   progress=progress, **options)


@experiment("target_accuracy", "mnist -> mnist_m, 20 labels per class (10 validate): the probe, full "
                               "fine-tuning, LP-FT, BitFit (with and without BatchNorm's scale and "
                               "offset), LoRA at ranks 1, 4, 16 on the convolutions and at rank 4 on "
                               "the Dense layers, adapters")
def parameter_efficient(seed, arms=tuple(ARMS)):
    """Each arm, its rate chosen on validation, tested once on ``mnist_m``.

    Returns:
        ``{arm: Measured(mnist_m test accuracy, seconds)}``; LP-FT's seconds count its
        second stage only (its first is the probe's arm).
    """
    source = source_model(seed=seed, progress=None)
    task = load_task(seed=seed)
    measured, probe = {}, None
    for arm in arms:
        with Stopwatch() as t:
            chosen = train_arm(arm, source, task, seed=seed, probe=probe)
        if arm == "probe":
            probe = chosen
        measured[arm] = Measured(accuracy(chosen.model, *task["test"]), t.seconds)
    return measured


#: The arms that change the convolutions' computation, which is where this task's gap lies.
HELPERS = ("full", "LP-FT", "LoRA r4 convs", "LoRA r16 convs", "adapters")


def _share(arm):
    """The share of the weights ``arm`` trains, on the course CNN (it does not depend on the seed)."""
    from course_lib.core.cnn import build_cnn

    model = build_cnn()
    return pe.budget(arm_model(arm, model), model).share


@parameter_efficient.claim("full fine-tuning, LP-FT, adapters and LoRA of rank 4 and 16 on the "
                           "convolutions each beat the linear probe by more than 5 points")
def _(report):
    return all(min(report.gains(arm, ["probe"])) > 0.05 for arm in HELPERS)


@parameter_efficient.claim("LoRA of rank 16 on the two convolutions comes within 2 points of full "
                           "fine-tuning while training under 3.5 % of the weights")
def _(report):
    return min(report.gains("LoRA r16 convs", ["full"])) > -0.02 and _share("LoRA r16 convs") < 0.035


@parameter_efficient.claim("where the update goes matters more than its size: LoRA on the Dense "
                           "layers trains more weights than LoRA of rank 16 on the convolutions and "
                           "trails it by more than 10 points, and rank 4 on the convolutions by more "
                           "than 5")
def _(report):
    return (_share("LoRA r4 dense") > _share("LoRA r16 convs")
            and min(report.gains("LoRA r16 convs", ["LoRA r4 dense"])) > 0.10
            and min(report.gains("LoRA r4 convs", ["LoRA r4 dense"])) > 0.05)


@parameter_efficient.claim("rank 1 is too small: LoRA of rank 1 on the convolutions trails rank 16 "
                           "by more than 5 points")
def _(report):
    return min(report.gains("LoRA r16 convs", ["LoRA r1 convs"])) > 0.05


@parameter_efficient.claim("BitFit (the biases alone) does not help here: its median gain over the "
                           "probe is under 2 points, and it trails LoRA of rank 16 on the "
                           "convolutions by more than 10 points on every seed")
def _(report):
    return (statistics.median(report.gains("BitFit", ["probe"])) < 0.02
            and min(report.gains("LoRA r16 convs", ["BitFit"])) > 0.10)


@parameter_efficient.claim("LP-FT does not help here: it trails full fine-tuning")
def _(report):
    return max(report.gains("LP-FT", ["full"])) < 0
