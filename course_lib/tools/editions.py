"""``python -m course_lib.tools.editions``: the course's editions side by side.

Each language of ``syllabus.EDITIONS`` other than English has the English files under its own
folder: every chapter's notebook, its solutions and its page of the instructor's guide, the
guide's index and the teachers' page (``pairs``). Its prose is translated; its **code cells are
the English ones**, but for ``ALLOWED``: the language the first cell sets up. So a change to the
English code that is not made in a translation is found here, with the name of the cell
(``differences``); ``tests/test_editions.py`` runs this, and the command lists every difference
and exits 1 if there is one.
"""

import argparse
import re
import sys
from pathlib import Path

from course_lib.syllabus import CHAPTERS, EDITIONS

ROOT = Path(__file__).resolve().parents[2]
#: The only ways a translated notebook's code may differ from the English: (English, translated),
#: ``{language}`` standing for the edition's language.
ALLOWED = (("course_lib.setup()", 'course_lib.setup(language="{language}")'),)
#: A number the prose takes from the code (``course_lib.tools.sync``): both editions name the same.
FACT = re.compile(r"<!-- fact: [^>]*-->")


def translations():
    """The languages of the editions other than English."""
    return [language for language in EDITIONS if language != "en"]


def pairs(language):
    """``[(english, translated)]``: the repository paths of every file the edition of ``language``
    translates (the notebooks' ``.py`` halves; each ``.ipynb`` is paired with its ``.py``)."""
    folder = EDITIONS[language]
    found = []
    for chapter in CHAPTERS:
        for english, translated in ((chapter.notebook, chapter.notebook_in(language)),
                                    (chapter.solutions, chapter.solutions_in(language))):
            found.append((english.replace(".ipynb", ".py"), translated.replace(".ipynb", ".py")))
        found.append((chapter.guide, chapter.guide_in(language)))
    found += [("site/guide/index.md", f"site/{folder}guide/index.md"),
              ("site/teachers.md", f"site/{folder}teachers.md")]
    return found


def expected_code(source, language):
    """The English code cell ``source`` as the edition of ``language`` must have it."""
    for english, translated in ALLOWED:
        source = source.replace(english, translated.format(language=language))
    return source


def _first_line(source):
    line = next((line for line in source.splitlines() if line.strip()), "")
    return line if len(line) <= 60 else line[:57] + "..."


def differences(english, translated, language):
    """How the notebook ``translated`` (a ``.py``) departs from ``english`` beyond its prose: one
    line per cell whose code, kind, tags or facts differ, naming the cell; ``[]`` when none does."""
    import jupytext

    a, b = jupytext.read(english), jupytext.read(translated)
    if [c.cell_type for c in a.cells] != [c.cell_type for c in b.cells]:
        return [f"{translated}: its cells are not {english}'s ({len(b.cells)} cells against {len(a.cells)}, "
                "or another order of code and markdown); a translation keeps every cell, in order"]
    found = []
    for number, (x, y) in enumerate(zip(a.cells, b.cells), start=1):
        where = f"{translated}: cell {number} ({_first_line(x.source)!r})"
        if x.metadata.get("tags", []) != y.metadata.get("tags", []):
            found.append(f"{where} has the tags {y.metadata.get('tags', [])}, {english}'s has "
                         f"{x.metadata.get('tags', [])}")
        if x.cell_type == "code" and expected_code(x.source, language) != y.source:
            found.append(f"{where} differs from the same code cell of {english}: make the same change in both")
        elif x.cell_type == "markdown" and FACT.findall(x.source) != FACT.findall(y.source):
            found.append(f"{where} does not name the facts of {english}'s: {FACT.findall(x.source)}")
    return found


def problems(root=ROOT):
    """Every missing translation and every difference of code, over every edition."""
    root = Path(root)
    found = []
    for language in translations():
        for english, translated in pairs(language):
            if not (root / translated).exists():
                found.append(f"{translated} is missing: the {language} edition of {english}")
            elif english.endswith(".py"):
                notebook = Path(translated).with_suffix(".ipynb")
                if not (root / notebook).exists():
                    found.append(f"{notebook} is missing: run jupytext --to ipynb {translated}")
                found += differences(root / english, root / translated, language)
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m course_lib.tools.editions", description=__doc__.split("\n")[0])
    parser.parse_args(argv)
    found = problems()
    for line in found:
        print(line)
    print(f"{len(found)} difference(s)" if found else "every edition has every file, and the English code")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
