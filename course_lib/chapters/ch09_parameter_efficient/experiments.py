"""Chapter 09's experiments: what to train of the source model, and what each choice costs.

The task is chapter 02's (``load_task`` and ``LABELS_PER_CLASS`` are its): the MNIST source
model on ``mnist_m`` with a few labels per digit, half of them to validate. Every arm is a method of ``methods.parameter_efficient``; its learning rate
is chosen on the validation split (each run keeps its best validation point), and its number
is its accuracy on the ``mnist_m`` test split, measured once. The results file holds only
accuracies: what each arm trains and stores does not depend on the seed, and ``budgets``
computes it live.

The text example (``text_transfer``): a small Transformer encoder pretrained by masked-token
prediction on unlabelled tweets (``methods.text_transfer``), fine-tuned to tell negative
from positive tweets with ``TEXT_LABELS_PER_CLASS`` labels per class (half of them
validate), against the same encoder from scratch, and with LoRA in two places.
"""

import statistics

from course_lib.chapters.ch02_task_fine_tuning.task import LABELS_PER_CLASS, load_task  # noqa: F401 (the notebook's)
from course_lib.core import checks, text_data
from course_lib.core.data import few_shot, validation_split
from course_lib.core.evaluation import accuracy
from course_lib.core.pretrained import SOURCE, source_model
from course_lib.experiments import Measured, Stopwatch, experiment
from course_lib.methods import parameter_efficient as pe
from course_lib.methods import text_transfer as tt

#: The source models the chapter loads (``python -m course_lib.tools.warm`` trains them).
RECIPES = (SOURCE,)
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


#: Labelled tweets per class in the text example; half of them validate.
TEXT_LABELS_PER_CLASS = 64
#: Each arm of the text example: the method of ``text_transfer`` and its options.
TEXT_ARMS = {
    "scratch": ("scratch", {}),
    "probe": ("probe", {}),
    "full": ("full", {}),
    "LoRA attention (q, v)": ("lora", {"where": "attention"}),
    "LoRA feed-forward": ("lora", {"where": "feed_forward"}),
}


def text_encoder(progress=None):
    """The pretrained text encoder (``text_transfer.TEXT_SOURCE``), cached: the one checkpoint every
    seed fine-tunes, as a published pretrained model is."""
    return tt.pretrained_encoder(tt.TEXT_SOURCE, progress=progress)


#: What else ``python -m course_lib.tools.warm`` makes: the pretrained text encoder.
CACHED = (text_encoder,)


def load_text_task(labels_per_class=TEXT_LABELS_PER_CLASS, seed=0):
    """The labelled tweets of ``seed``, split, and the test split.

    Returns:
        ``{"train", "validation", "test"}``, each ``(token ids (n, 32), labels)``: 0 negative,
        1 positive; ``labels_per_class // 2`` per class validate; the test split is balanced.
    """
    labels_per_class = checks.whole_number(labels_per_class, "labels_per_class", minimum=2)
    train, validation = validation_split(*few_shot(*text_data.task_split("pool"), labels_per_class,
                                                   seed=seed), labels_per_class // 2, seed=seed)
    return {"train": train, "validation": validation, "test": text_data.task_split("test")}


def text_arm_model(arm, encoder, seed=0):
    """The classifier ``arm`` fine-tunes, frozen as its method says."""
    checks.choice(arm, "arm", tuple(TEXT_ARMS))
    method, options = TEXT_ARMS[arm]
    return tt.build(method, encoder, seed=seed, **options)


def text_budgets(encoder, arms=tuple(TEXT_ARMS)):
    """``{arm: parameter_efficient.Budget}`` of the text arms, against the whole classifier."""
    whole = tt.classifier(tt.build_encoder())
    return {arm: pe.budget(text_arm_model(arm, encoder), whole) for arm in arms}


@experiment("test_accuracy", "tweets, negative vs positive, 64 labels per class (32 validate): a small "
                             "Transformer from scratch, and pretrained by masked-token prediction on "
                             "the unlabelled tweets then probed, fully fine-tuned, or with LoRA on the "
                             "attention's query and value or on the feed-forward layers")
def text_transfer(seed, arms=tuple(TEXT_ARMS)):
    """Each text arm, its rate chosen on validation, tested once on the balanced test tweets.

    Every seed draws other labelled tweets and starts the new head (and the scratch encoder)
    elsewhere; the pretrained encoder is the same one for every seed.

    Returns:
        ``{arm: Measured(test accuracy, seconds of fine-tuning over its rates)}``; the
        pretraining (cached, shared by the pretrained arms) is not counted.
    """
    encoder = text_encoder()
    task = load_text_task(seed=seed)
    measured = {}
    for arm in arms:
        method, options = TEXT_ARMS[arm]
        with Stopwatch() as t:
            chosen = tt.tune(method, encoder, task["train"], task["validation"], seed=seed, **options)
        measured[arm] = Measured(accuracy(chosen.model, *task["test"]), t.seconds)
    return measured


def _text_share(arm):
    """The share of the classifier's weights a text arm trains (it does not depend on the seed)."""
    return text_budgets(tt.build_encoder(), [arm])[arm].share


@text_transfer.claim("every arm beats chance (one half) by more than 10 points on every seed")
def _(report):
    return all(min(report.values(arm)) > 0.6 for arm in TEXT_ARMS)


@text_transfer.claim("pretraining does not help here: fully fine-tuning the pretrained encoder gains under 2 "
                     "points over the same Transformer trained from scratch (median over seeds), and "
                     "scratch wins on at least one seed")
def _(report):
    gains = report.gains("full", ["scratch"])
    return statistics.median(gains) < 0.02 and min(gains) < 0


@text_transfer.claim("LoRA on the attention's query and value comes within 7 points of full fine-tuning "
                     "on every seed while training under 2 % of the weights")
def _(report):
    return (min(report.gains("LoRA attention (q, v)", ["full"])) > -0.07
            and _text_share("LoRA attention (q, v)") < 0.02)


@text_transfer.claim("where LoRA goes does not matter here: on the query and value or on the "
                     "feed-forward layers, the two stay within 5 points of each other on every seed")
def _(report):
    return max(abs(g) for g in report.gains("LoRA attention (q, v)", ["LoRA feed-forward"])) < 0.05

