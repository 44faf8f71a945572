"""Chapter 09's experiments: what to train of the source model, and what each choice costs.

The task is chapter 02's (``load_task`` and ``LABELS_PER_CLASS`` are its): the MNIST source
model on ``mnist_m`` with a few labels per digit, half of them to validate. Every arm is a method of ``methods.parameter_efficient``; its learning rate
is chosen on the validation split (each run keeps its best validation point), and its number
is its accuracy on the ``mnist_m`` test split, measured once. An arm is named as its records
name it: the arm, and for LoRA its fields (``rank``, ``layers``); ``ARMS`` lists them. The results
file holds only accuracies: what each arm trains and stores does not depend on the seed, and
``budgets`` computes it live.

The text example (``text_transfer``): a small Transformer encoder pretrained by masked-token
prediction on unlabelled tweets (``methods.text_transfer``), fine-tuned to tell negative
from positive tweets with ``TEXT_LABELS_PER_CLASS`` labels per class (half of them
validate), against the same encoder from scratch, and with LoRA in two places.
"""

import dataclasses
import statistics

from course_lib.chapters.ch02_task_fine_tuning.task import LABELS_PER_CLASS, load_task  # noqa: F401 (the notebook's)
from course_lib.core import checks, text_data
from course_lib.core.data import few_shot, validation_split
from course_lib.core.evaluation import accuracy
from course_lib.core.pretrained import SOURCE, source_model
from course_lib.experiments import Measured, Stopwatch, experiment
from course_lib.methods import parameter_efficient as pe
from course_lib.methods import text_transfer as tt
from course_lib.results.report import frame

#: The source models the chapter loads (``python -m course_lib.tools.warm`` trains them).
RECIPES = (SOURCE,)
#: The layers the LoRA arms adapt, by their field ``layers``: the two convolutions, or the two Dense layers.
CONVS, DENSES = ("block1_conv", "block2_conv"), ("features", "head")
LORA_LAYERS = {"convs": CONVS, "dense": DENSES}
#: The LoRA ranks compared on the convolutions.
RANKS = (1, 4, 16)
#: Each arm's method of ``parameter_efficient`` and its options (LP-FT: two stages, the probe's
#: and then every weight's); LoRA's rank and layers are its fields.
METHODS = {"probe": ("probe", {}), "full": ("full", {}), "LP-FT": ("lp_ft", {}), "BitFit": ("bitfit", {}),
           "BitFit + BatchNorm": ("bitfit", {"batchnorm": True}), "LoRA": ("lora", {}),
           "adapters": ("adapters", {})}


def lora(rank, layers="convs"):
    """The LoRA arm of ``rank`` on ``layers`` (a key of ``LORA_LAYERS``), as its records name it."""
    return {"arm": "LoRA", "rank": rank, "layers": layers}


#: Each arm of ``parameter_efficient``, as its records name it (the arm and its fields), in order.
ARMS = ({"arm": "probe"}, {"arm": "full"}, {"arm": "LP-FT"}, {"arm": "BitFit"}, {"arm": "BitFit + BatchNorm"},
        *(lora(r) for r in RANKS), lora(4, "dense"), {"arm": "adapters"})


def method_of(arm, **fields):
    """``(method, options)`` that ``parameter_efficient.build`` and ``tune`` take for ``arm``:
    LoRA's from its fields ``rank`` and ``layers``; the other arms have no fields."""
    checks.choice(arm, "arm", tuple(METHODS))
    method, options = METHODS[arm]
    if method != "lora":
        if fields:
            raise ValueError(f"arm {arm!r} has no fields; got {', '.join(fields)}")
        return method, options
    if sorted(fields) != ["layers", "rank"]:
        raise ValueError(f"LoRA takes the fields rank and layers; got {', '.join(fields) or 'none'}")
    checks.choice(fields["layers"], "LoRA layers", tuple(LORA_LAYERS))
    return method, {"rank": fields["rank"], "layers": LORA_LAYERS[fields["layers"]]}


def arm_model(arm, source, seed=0, **fields):
    """The model ``arm`` (with ``fields``) trains, frozen as its method says (LP-FT: its second
    stage, every weight)."""
    method, options = method_of(arm, **fields)
    return pe.build("full" if method == "lp_ft" else method, source, seed=seed, **options)


def budget_table(budgets):
    """``[(arm, Budget)]`` (an arm as ``ARMS`` names it) as a ``pandas.DataFrame`` indexed as
    ``Report.table`` indexes results (``report.frame``), with the columns of
    ``parameter_efficient.Budget``."""
    return frame([(arm, dataclasses.asdict(b)) for arm, b in budgets])


def budgets(source, arms=ARMS):
    """What each arm trains and stores per task: ``budget_table`` of each arm's
    ``parameter_efficient.Budget`` (``trainable`` weights, their ``share``, ``bytes_per_task``)."""
    return budget_table([(arm, pe.budget(arm_model(**arm, source=source), source)) for arm in arms])


def train_arm(arm, source, task, seed=0, probe=None, progress=None, **fields):
    """Tune ``arm`` (with ``fields``) on the task's train split, its rate chosen on validation.

    Args:
        probe: for ``"LP-FT"``, the probe's ``Selection`` already made (else it is made here).

    Returns:
        a ``fine_tuning.Selection``.
    """
    method, options = method_of(arm, **fields)
    return pe.tune(method, source, task["train"], task["validation"], seed=seed, probe=probe,
                   progress=progress, **options)


def _fields(arm):
    """An arm of ``ARMS`` or ``TEXT_ARMS`` without its name: its fields."""
    return {k: v for k, v in arm.items() if k != "arm"}


@experiment("target_accuracy", "mnist -> mnist_m, 20 labels per class (10 validate): the probe, full "
                               "fine-tuning, LP-FT, BitFit (with and without BatchNorm's scale and "
                               "offset), LoRA at ranks 1, 4, 16 on the convolutions and at rank 4 on "
                               "the Dense layers, adapters")
def parameter_efficient(seed, arms=ARMS):
    """Each arm of ``arms`` (some of ``ARMS``), its rate chosen on validation, tested once on ``mnist_m``.

    Returns:
        a ``Measured`` of each arm's ``mnist_m`` test accuracy, with its fields; LP-FT's seconds
        count its second stage only (its first is the probe's arm).
    """
    source = source_model(seed=seed, progress=None)
    task = load_task(seed=seed)
    measured, probe = [], None
    for arm in arms:
        with Stopwatch() as t:
            chosen = train_arm(**arm, source=source, task=task, seed=seed, probe=probe)
        if arm["arm"] == "probe":
            probe = chosen
        measured.append(Measured(arm["arm"], accuracy(chosen.model, *task["test"]), t.seconds, **_fields(arm)))
    return measured


#: The arms that change the convolutions' computation, which is where this task's gap lies.
HELPERS = ({"arm": "full"}, {"arm": "LP-FT"}, lora(4), lora(16), {"arm": "adapters"})


def _share(arm):
    """The share of the weights ``arm`` (as ``ARMS`` names it) trains, on the course CNN (it does
    not depend on the seed)."""
    from course_lib.core.cnn import build_cnn

    model = build_cnn()
    return pe.budget(arm_model(**arm, source=model), model).share


@parameter_efficient.claim("full fine-tuning, LP-FT, adapters and LoRA of rank 4 and 16 on the "
                           "convolutions each beat the linear probe by more than 5 points")
def _(report):
    return all(min(report.gains(arm, ["probe"])) > 0.05 for arm in HELPERS)


@parameter_efficient.claim("LoRA of rank 16 on the two convolutions comes within 2 points of full "
                           "fine-tuning while training under 3.5 % of the weights")
def _(report):
    return min(report.gains(lora(16), ["full"])) > -0.02 and _share(lora(16)) < 0.035


@parameter_efficient.claim("where the update goes matters more than its size: LoRA on the Dense "
                           "layers trains more weights than LoRA of rank 16 on the convolutions and "
                           "trails it by more than 10 points, and rank 4 on the convolutions by more "
                           "than 5")
def _(report):
    return (_share(lora(4, "dense")) > _share(lora(16))
            and min(report.gains(lora(16), [lora(4, "dense")])) > 0.10
            and min(report.gains(lora(4), [lora(4, "dense")])) > 0.05)


@parameter_efficient.claim("rank 1 is too small: LoRA of rank 1 on the convolutions trails rank 16 "
                           "by more than 5 points")
def _(report):
    return min(report.gains(lora(16), [lora(1)])) > 0.05


@parameter_efficient.claim("BitFit (the biases alone) does not help here: its median gain over the "
                           "probe is under 2 points, and it trails LoRA of rank 16 on the "
                           "convolutions by more than 10 points on every seed")
def _(report):
    return (statistics.median(report.gains("BitFit", ["probe"])) < 0.02
            and min(report.gains(lora(16), ["BitFit"])) > 0.10)


@parameter_efficient.claim("LP-FT does not help here: it trails full fine-tuning")
def _(report):
    return max(report.gains("LP-FT", ["full"])) < 0


#: Labelled tweets per class in the text example; half of them validate.
TEXT_LABELS_PER_CLASS = 64
#: Where the text example's LoRA arms go, by their field ``layers``: ``text_transfer``'s ``where``.
TEXT_LORA_LAYERS = {"attention (q, v)": "attention", "feed-forward": "feed_forward"}
#: Each arm of the text example, as its records name it; each but LoRA is the method of
#: ``text_transfer`` of its name.
TEXT_ARMS = ({"arm": "scratch"}, {"arm": "probe"}, {"arm": "full"},
             *({"arm": "LoRA", "layers": layers} for layers in TEXT_LORA_LAYERS))
#: The text example's LoRA arms, on the attention's query and value and on the feed-forward layers.
TEXT_LORA_ATTENTION, TEXT_LORA_FEED_FORWARD = TEXT_ARMS[-2:]


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


def text_method_of(arm, **fields):
    """``(method, options)`` that ``text_transfer.build`` and ``tune`` take for a text ``arm``:
    LoRA's ``where`` from its field ``layers``; the other arms have no fields."""
    checks.choice(arm, "text arm", tuple(dict.fromkeys(a["arm"] for a in TEXT_ARMS)))
    if arm != "LoRA":
        if fields:
            raise ValueError(f"text arm {arm!r} has no fields; got {', '.join(fields)}")
        return arm, {}
    if list(fields) != ["layers"]:
        raise ValueError(f"LoRA takes the field layers; got {', '.join(fields) or 'none'}")
    checks.choice(fields["layers"], "LoRA layers", tuple(TEXT_LORA_LAYERS))
    return "lora", {"where": TEXT_LORA_LAYERS[fields["layers"]]}


def text_arm_model(arm, encoder, seed=0, **fields):
    """The classifier ``arm`` (with ``fields``) fine-tunes, frozen as its method says."""
    method, options = text_method_of(arm, **fields)
    return tt.build(method, encoder, seed=seed, **options)


def text_budgets(encoder, arms=TEXT_ARMS):
    """What each text arm trains, against the whole classifier: ``budget_table`` of their
    ``parameter_efficient.Budget``."""
    whole = tt.classifier(tt.build_encoder())
    return budget_table([(arm, pe.budget(text_arm_model(**arm, encoder=encoder), whole)) for arm in arms])


@experiment("test_accuracy", "tweets, negative vs positive, 64 labels per class (32 validate): a small "
                             "Transformer from scratch, and pretrained by masked-token prediction on "
                             "the unlabelled tweets then probed, fully fine-tuned, or with LoRA on the "
                             "attention's query and value or on the feed-forward layers")
def text_transfer(seed, arms=TEXT_ARMS):
    """Each text arm of ``arms`` (some of ``TEXT_ARMS``), its rate chosen on validation, tested
    once on the balanced test tweets.

    Every seed draws other labelled tweets and starts the new head (and the scratch encoder)
    elsewhere; the pretrained encoder is the same one for every seed.

    Returns:
        a ``Measured`` of each arm's test accuracy (seconds: its fine-tuning over its rates), with
        its fields; the pretraining (cached, shared by the pretrained arms) is not counted.
    """
    encoder = text_encoder()
    task = load_text_task(seed=seed)
    measured = []
    for arm in arms:
        method, options = text_method_of(**arm)
        with Stopwatch() as t:
            chosen = tt.tune(method, encoder, task["train"], task["validation"], seed=seed, **options)
        measured.append(Measured(arm["arm"], accuracy(chosen.model, *task["test"]), t.seconds, **_fields(arm)))
    return measured


def _text_share(arm):
    """The share of the classifier's weights a text arm trains (it does not depend on the seed)."""
    return float(text_budgets(tt.build_encoder(), [arm])["share"].iloc[0])


@text_transfer.claim("every arm beats chance (one half) by more than 10 points on every seed")
def _(report):
    return all(min(report.values(**arm)) > 0.6 for arm in TEXT_ARMS)


@text_transfer.claim("pretraining does not help here: fully fine-tuning the pretrained encoder gains under 2 "
                     "points over the same Transformer trained from scratch (median over seeds), and "
                     "scratch wins on at least one seed")
def _(report):
    gains = report.gains("full", ["scratch"])
    return statistics.median(gains) < 0.02 and min(gains) < 0


@text_transfer.claim("LoRA on the attention's query and value comes within 7 points of full fine-tuning "
                     "on every seed while training under 2 % of the weights")
def _(report):
    return (min(report.gains(TEXT_LORA_ATTENTION, ["full"])) > -0.07
            and _text_share(TEXT_LORA_ATTENTION) < 0.02)


@text_transfer.claim("where LoRA goes does not matter here: on the query and value or on the "
                     "feed-forward layers, the two stay within 5 points of each other on every seed")
def _(report):
    return max(abs(g) for g in report.gains(TEXT_LORA_ATTENTION, [TEXT_LORA_FEED_FORWARD])) < 0.05

