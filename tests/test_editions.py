"""The Chinese edition beside the English one: every file translated, the code cells the same."""

import re
import shutil

import pytest

from course_lib.tools import editions
from course_lib.tools.editions import ROOT

PAIRS = [(language, english, translated) for language in editions.translations()
         for english, translated in editions.pairs(language)]


@pytest.mark.parametrize("language, english, translated", PAIRS, ids=lambda item: str(item))
def test_every_english_file_has_its_translation(language, english, translated):
    assert (ROOT / translated).exists(), f"{translated} is missing: the {language} edition of {english}"
    if english.endswith(".py"):
        assert (ROOT / translated).with_suffix(".ipynb").exists(), f"run jupytext --to ipynb {translated}"


@pytest.mark.parametrize("language, english, translated", PAIRS, ids=lambda item: str(item))
def test_a_translation_links_its_original_under_its_title(language, english, translated):
    original = ROOT / english.replace(".py", ".ipynb")
    link = re.search(r"\[English\]\(([^)#]+)\)", (ROOT / translated).read_text())
    assert link, f"{translated}: no [English](...) link to {original.relative_to(ROOT)} under its title"
    assert ((ROOT / translated).parent / link.group(1)).resolve() == original, (
        f"{translated}: its [English] link opens {link.group(1)}, not {original.relative_to(ROOT)}")


NOTEBOOKS = [pair for pair in PAIRS if pair[1].endswith(".py")]


@pytest.mark.parametrize("language, english, translated", NOTEBOOKS, ids=lambda item: str(item))
def test_a_translation_runs_the_english_code(language, english, translated):
    if not (ROOT / translated).exists():
        pytest.fail(f"{translated} is missing")
    assert editions.differences(ROOT / english, ROOT / translated, language) == []


def test_a_code_change_made_in_one_edition_only_is_named(tmp_path):
    english = ROOT / "chapters" / "01_feature_extraction.py"
    translated = ROOT / "chapters" / "zh" / "01_feature_extraction.py"
    assert editions.differences(english, translated, "zh") == []
    changed = tmp_path / english.name
    text = english.read_text()
    changed.write_text(text.replace("course_lib.check_env(", "course_lib.check_env(  # changed\n    ", 1))
    found = editions.differences(changed, translated, "zh")
    assert len(found) == 1 and "cell 3 ('import course_lib')" in found[0] and "make the same change" in found[0]


def test_only_the_language_set_up_may_differ(tmp_path):
    english = ROOT / "chapters" / "solutions" / "01_feature_extraction.py"
    translated = tmp_path / english.name
    shutil.copy(english, translated)
    assert "course_lib.setup()" in english.read_text()
    found = editions.differences(english, translated, "zh")
    assert len(found) == 1 and "differs from the same code cell" in found[0], found
    translated.write_text(english.read_text().replace("course_lib.setup()", 'course_lib.setup(language="zh")'))
    assert editions.differences(english, translated, "zh") == []


def test_a_dropped_cell_is_named(tmp_path):
    english = ROOT / "chapters" / "00_welcome.py"
    translated = tmp_path / english.name
    text = english.read_text().replace("course_lib.setup()", 'course_lib.setup(language="zh")')
    last = text.rindex("# %% [markdown]")
    translated.write_text(text[:last])
    found = editions.differences(english, translated, "zh")
    assert len(found) == 1 and "keeps every cell" in found[0]
