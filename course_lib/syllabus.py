"""The course's chapters, each declared once: every list of chapters is made from ``CHAPTERS``.

``python3 make.py sync`` (``course_lib.tools.sync``) writes the lists from these declarations:
the README's chapter map and its experiments by chapter, chapter 00's course map, the site's
table of contents, the teachers' table of links, and each chapter's closing cell. The tools
(``warm``, ``walk``, ``bench``), the site build, the experiment registry and the tests read
them too. A chapter is the files only it can have (its notebook and solutions, its package
``course_lib/chapters/chNN_name/``, its tests, its guide page) plus one ``Chapter`` here.

Importing this module is light: no TensorFlow, no chapter package. A chapter's recipes and
experiments live in its ``experiments`` module (they need Keras), which ``Chapter.recipes()``
and ``course_lib.experiments.registry()`` import only when asked.
"""

import dataclasses
import importlib
import re

from course_lib.core.language import N_

#: Seconds a chapter's Run All may take with a warm cache on one CPU, unless it declares otherwise.
BUDGET_SECONDS = 90
#: The course's editions: a language (``core.language.LANGUAGES``) and the folder its chapters,
#: solutions and guide pages sit in, below ``chapters/``, ``chapters/solutions/`` and ``site/``.
#: English is the original; another edition has the same files under its folder, its prose
#: translated and its code cells the English ones (``course_lib.tools.editions`` checks).
EDITIONS = {"en": "", "zh": "zh/"}


@dataclasses.dataclass(frozen=True)
class Prerequisite:
    """An earlier chapter a chapter builds on: its ``slug`` and ``why``, as the title cell says."""

    chapter: str
    why: str


@dataclasses.dataclass(frozen=True)
class Widget:
    """A widget whose session the site records (``course_lib.publishing``).

    Args:
        title: what the recording calls it, e.g. ``"the layer-freezing widget"``.
        picture: whether the recording shows a picture.
        rows: the fewest rows its recorded table has.
    """

    title: str
    picture: bool
    rows: int


@dataclasses.dataclass(frozen=True)
class Chapter:
    """One chapter of the course.

    Args:
        number: its place in the course, from 0.
        slug: its name in file names, e.g. ``"task_fine_tuning"`` (files ``02_task_fine_tuning.*``).
        title: its short title in lists, e.g. ``"task fine-tuning"``.
        summary: one line on what it does (the course map, and "Next" in the chapter before it).
        teaches: what it teaches, in some detail (the README's chapter map).
        prerequisites: the earlier chapters it builds on.
        budget_seconds: its Run All with a warm cache on one CPU may take this long.
        widgets: the widgets whose sessions the site records.
    """

    number: int
    slug: str
    title: str
    summary: str
    teaches: str
    prerequisites: tuple = ()
    budget_seconds: int = BUDGET_SECONDS
    widgets: tuple = ()

    @property
    def name(self):
        """The name of its files: ``02_task_fine_tuning``."""
        return f"{self.number:02d}_{self.slug}"

    @property
    def label(self):
        """``02 · task fine-tuning``."""
        return f"{self.number:02d} · {self.title}"

    @property
    def notebook(self):
        """Its notebook's path in the repository: ``chapters/02_task_fine_tuning.ipynb``."""
        return self.notebook_in("en")

    @property
    def solutions(self):
        """Its solutions notebook's path in the repository."""
        return self.solutions_in("en")

    def notebook_in(self, language):
        """Its notebook in the edition of ``language``: ``chapters/zh/02_task_fine_tuning.ipynb``."""
        return f"chapters/{EDITIONS[language]}{self.name}.ipynb"

    def solutions_in(self, language):
        """Its solutions notebook in the edition of ``language``."""
        return f"chapters/{EDITIONS[language]}solutions/{self.name}.ipynb"

    def guide_in(self, language):
        """Its page of the instructor's guide in the edition of ``language``."""
        return f"site/{EDITIONS[language]}guide/{self.name}.md"

    @property
    def package(self):
        """Its package: ``course_lib.chapters.ch02_task_fine_tuning``."""
        return f"course_lib.chapters.ch{self.name}"

    @property
    def experiments_module(self):
        """The module holding its experiments and its ``RECIPES``."""
        return f"{self.package}.experiments"

    @property
    def guide(self):
        """Its page of the instructor's guide, in the repository."""
        return self.guide_in("en")

    def recipes(self):
        """The source models it loads (``core.pretrained.Recipe``): its experiments module's ``RECIPES``
        (none if it has none)."""
        return tuple(getattr(importlib.import_module(self.experiments_module), "RECIPES", ()))

    def cached(self):
        """What else it keeps in the cache folder: its experiments module's ``CACHED``, functions
        that make each entry when it is missing (none if it has none)."""
        return tuple(getattr(importlib.import_module(self.experiments_module), "CACHED", ()))


CHAPTERS = (
    Chapter(0, "welcome", N_("welcome"),
            summary=N_("domains and tasks, the source model, and the gap it meets on a new domain"),
            teaches=N_("what transfer learning is; domains and tasks; the three data domains; the source "
                       "model; the domain gap")),
    Chapter(1, "feature_extraction", N_("feature extraction"),
            summary=N_("reuse the source model's features, frozen, with a new head for a new task"),
            teaches=N_("a frozen extractor and a new head; where to cut, chosen on validation; when frozen "
                       "features help and when they do not"),
            prerequisites=(Prerequisite("welcome", N_("domains, the source model, the domain gap")),)),
    Chapter(2, "task_fine_tuning", N_("task fine-tuning"),
            summary=N_("let some of the extractor learn, and see how much it gains and what it forgets"),
            teaches=N_("freezing in Keras; head only, selected blocks, the whole model, against scratch and a "
                       "new head; rates chosen on validation; how many labels; forgetting; the "
                       "layer-freezing widget"),
            prerequisites=(Prerequisite("welcome", N_("the three domains and the source model")),
                           Prerequisite("feature_extraction", N_("a frozen feature extractor with a new head"))),
            widgets=(Widget(N_("the layer-freezing widget"), picture=True, rows=3),)),
    Chapter(3, "fine_tuning_in_practice", N_("fine-tuning in practice"),
            summary=N_("BatchNorm, a learning rate per block, gradual unfreezing, label smoothing and "
                       "activations, each measured against plain fine-tuning"),
            teaches=N_("BatchNorm in inference mode and its momentum; discriminative learning rates and "
                       "gradual unfreezing; label smoothing and calibration; changing activations"),
            prerequisites=(Prerequisite("task_fine_tuning", N_("its task, freezing in Keras, and full "
                                           "fine-tuning with the rate chosen on validation")),)),
    Chapter(4, "transfer_networks", N_("transfer networks"),
            summary=N_("share an embedding between domains, fuse a frozen source branch with a target "
                       "branch, and reuse kernels across input channels"),
            teaches=N_("channel copying done right (the source text's code, and why it fails); a shared "
                       "embedding (CCSA); fusion with a frozen branch; multimodal transfer through paired views"),
            prerequisites=(Prerequisite("welcome", N_("the domains and the source model")),
                           Prerequisite("task_fine_tuning", N_("freezing and fine-tuning layers")))),
    Chapter(5, "self_training_and_source_free", N_("self-training and source-free adaptation"),
            summary=N_("learn from an unlabelled target: AdaBN, self-training, and adaptation without "
                       "the source data"),
            teaches=N_("AdaBN; pseudo-labelling and confirmation bias; information maximisation (SHOT) "
                       "without the source data; choosing without target labels"),
            prerequisites=(Prerequisite("welcome", N_("the source model and the gap it meets on mnist_m")),
                           Prerequisite("fine_tuning_in_practice", N_("its BatchNorm section helps"))),
            widgets=(Widget(N_("the confidence-threshold widget"), picture=True, rows=3),)),
    Chapter(6, "domain_adaptation", N_("domain adaptation"),
            summary=N_("domain adaptation with labelled source and unlabelled target data: DANN, Deep "
                       "CORAL and MMD"),
            teaches=N_("DANN (gradient reversal), Deep CORAL, MMD without target labels; the feature space "
                       "and the proxy A-distance; choosing lambda honestly"),
            prerequisites=(Prerequisite("feature_extraction", N_("a network as a feature extractor and a head")),
                           Prerequisite("self_training_and_source_free",
                                        N_("AdaBN, which every model here uses before testing"))),
            widgets=(Widget(N_("the adaptation lab"), picture=False, rows=2),)),
    Chapter(7, "when_transfer_helps", N_("when transfer helps and when it hurts"),
            summary=N_("how many target labels, negative transfer, overfitting, imbalance, and which "
                       "layers transfer"),
            teaches=N_("how many target labels; negative transfer and a probe that warns of it; overfitting; "
                       "class imbalance; label-set mismatch; layer transferability (Yosinski et al.); "
                       "language and speech"),
            prerequisites=(Prerequisite("feature_extraction", N_("a frozen feature extractor with a new head")),
                           Prerequisite("task_fine_tuning",
                                        N_("fine-tuning the whole model or some of its layers")))),
    Chapter(8, "your_own_images", N_("your own images"),
            summary=N_("a pretrained ImageNet backbone on a folder of photos, from the folder to an "
                       "exported model"),
            teaches=N_("a folder of photos checked as training reads it; a `tf.data` pipeline; a hash-checked "
                       "`keras.applications` backbone; two stages chosen on validation; export; the same "
                       "recipe as a command on one or several GPUs or machines"),
            prerequisites=(Prerequisite("feature_extraction", N_("a frozen feature extractor and a new head")),
                           Prerequisite("task_fine_tuning", N_("fine-tuning")),
                           Prerequisite("fine_tuning_in_practice", N_("BatchNorm in inference mode")))),
    Chapter(9, "parameter_efficient", N_("parameter-efficient fine-tuning"),
            summary=N_("train a small part of the source model, or a small addition to it: LP-FT, BitFit, "
                       "LoRA and adapters, each with its share of the weights and its accuracy"),
            teaches=N_("the probe, full fine-tuning and LP-FT; BitFit (biases, then BatchNorm's scale and "
                       "offset); LoRA through Keras's `enable_lora` over ranks and layers; adapters; what "
                       "`enable_lora` freezes and what saving merges; one backbone and a small file per task; a "
                       "small Transformer pretrained by masked-token prediction on tweets, with LoRA on the "
                       "attention or the feed-forward layers"),
            prerequisites=(Prerequisite("task_fine_tuning", N_("its task, full fine-tuning and learning "
                                           "rates chosen on validation, which every method here reuses")),),
            widgets=(Widget(N_("the budget widget"), picture=True, rows=2),)),
)


def chapter(name):
    """The chapter whose files are named ``name`` (``"02_task_fine_tuning"``) or whose slug it is."""
    for found in CHAPTERS:
        if name in (found.name, found.slug):
            return found
    raise ValueError(f"no chapter {name!r}; the chapters: {', '.join(c.name for c in CHAPTERS)}")


def budget_seconds(name):
    """The Run All budget of the notebook named ``name``: its chapter's, or ``BUDGET_SECONDS``."""
    return next((c.budget_seconds for c in CHAPTERS if c.name == name), BUDGET_SECONDS)


def _check(chapters):
    """Raise ValueError unless the chapters are numbered 0, 1, ... with distinct slugs, and each
    prerequisite is an earlier chapter."""
    seen = set()
    for position, declared in enumerate(chapters):
        if declared.number != position:
            raise ValueError(f"chapter {declared.slug!r} is numbered {declared.number}; "
                             f"the chapters must be numbered 0, 1, 2, ... in order, so it should be {position}")
        if not re.fullmatch(r"[a-z][a-z0-9_]*", declared.slug) or declared.slug in seen:
            raise ValueError(f"chapter {declared.number}'s slug {declared.slug!r} must be new, and "
                             "lower-case letters, digits and underscores")
        for needed in declared.prerequisites:
            if needed.chapter not in seen:
                raise ValueError(f"chapter {declared.name} builds on {needed.chapter!r}, which is not "
                                 "an earlier chapter's slug")
        seen.add(declared.slug)


_check(CHAPTERS)
