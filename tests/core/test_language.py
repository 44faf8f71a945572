"""The library speaks the chapter's language: English exactly as written, Chinese complete and whole."""

import ast
import collections
import re
import warnings

import numpy as np
import pytest
from babel.messages.pofile import read_po, write_po
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import course_lib
from course_lib import results
from course_lib.chapters.ch02_task_fine_tuning.widget import LayerFreezingState
from course_lib.core import exercises, language
from course_lib.core.cnn import build_cnn
from course_lib.core.language import _

CLAIM = "the source model is right on more than 93 % of its own domain's test images"
ENGLISH = ("<p class='course-results-empty'>No runs yet: press <b>Train</b>.</p>",
           "Not yet: your function returned None; return the value.\n",
           f"holds on seeds 0, 1, 2, 3, 4: {CLAIM}")


@pytest.fixture
def chinese():
    language.use("zh")
    yield
    language.use("en")


def _chinese_catalogue():
    with open(language.catalogue_path("zh"), "rb") as file:
        return read_po(file)


def _shown(capsys):
    """A widget's words, an exercise check's hint and a claim's line, as the library shows them."""
    images = np.zeros((4, 28, 28, 3), "float32")
    state = LayerFreezingState(build_cnn(channels=3), (images, np.arange(4)), (images, np.arange(4)))
    exercises.verdict(False, "", exercises.attempt(lambda: None)[1])
    claims = results.load("domain_gap")
    return state.results_html(), capsys.readouterr().out, claims.claims_text().splitlines()[0]


def test_english_is_the_code_own_text(capsys):
    assert language.current() == "en"
    assert _shown(capsys) == ENGLISH


def test_chinese_shows_the_catalogue_translations(chinese, capsys):
    translated = {message.id: message.string for message in _chinese_catalogue() if message.id}
    widget, hint, claim = _shown(capsys)
    assert widget == ENGLISH[0].replace("No runs yet: press <b>Train</b>.",
                                        translated["No runs yet: press <b>Train</b>."])
    assert hint == translated["Not yet: {hint}"].format(
        hint=translated["your function returned None; return the value."]) + "\n"
    assert claim == translated["holds on seeds {seeds}: {claim}"].format(seeds="0, 1, 2, 3, 4",
                                                                        claim=translated[CLAIM])


def test_other_languages_are_refused_with_the_allowed_list():
    with pytest.raises(ValueError, match=r"^language='fr' is not an edition of the course; use one of 'en', 'zh'$"):
        language.use("fr")
    with pytest.raises(ValueError, match="use one of 'en', 'zh'$"):
        course_lib.setup(language="fr")
    assert language.current() == "en"


def test_every_message_of_the_code_has_a_chinese_translation():
    assert language.missing("zh") == []


def test_missing_names_a_message_the_catalogue_lacks(tmp_path, monkeypatch):
    before = language.missing("zh")
    catalogue = _chinese_catalogue()
    catalogue.delete(CLAIM)
    path = tmp_path / "zh" / "LC_MESSAGES" / "course_lib.po"
    path.parent.mkdir(parents=True)
    with open(path, "wb") as file:
        write_po(file, catalogue)
    monkeypatch.setattr(language, "LOCALE", tmp_path)
    assert language.missing("zh") == sorted([*before, CLAIM])


def test_the_catalogue_holds_each_message_once():
    """Babel keeps the last of two entries of one message (gettext's msgfmt refuses the file)."""
    text = language.catalogue_path("zh").read_text(encoding="utf-8")
    ids = ["".join(ast.literal_eval(part) for part in block.splitlines())
           for block in re.findall(r'^msgid (".*"(?:\n".*")*)', text, flags=re.M)]
    assert [message for message, count in collections.Counter(ids).items() if count > 1] == []
    assert len(ids) == len(_chinese_catalogue()) + 1  # every entry read, and the header


def test_every_translation_keeps_exactly_the_fields_of_its_message():
    for message in _chinese_catalogue():
        if message.id:
            assert language.fields(message.string) == language.fields(message.id), message.id


def test_a_chinese_plot_draws_every_glyph_of_the_catalogue(chinese, caplog):
    figure = Figure()
    axes = figure.add_subplot()
    axes.plot([-1, 1], label=_("chance"))
    axes.set_title(_(CLAIM))
    assert axes.get_title() != CLAIM  # Chinese characters to draw
    axes.legend()
    every = "".join(sorted({c for message in _chinese_catalogue() if message.id for c in message.string}))
    axes.text(0, 0, every.replace("$", ""))  # every character a translation uses ("$" would start math)
    axes.text(0, 0.5, _("train on"), style="italic", fontweight="bold")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        FigureCanvasAgg(figure).draw()
    assert [str(warning.message) for warning in caught] == []
    assert [record.getMessage() for record in caplog.records if record.name.startswith("matplotlib")] == []
