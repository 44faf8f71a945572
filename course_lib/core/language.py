"""The language of what a learner reads from the library: one gettext catalogue per edition.

Widget labels, exercise checks and hints, claims, plot titles and progress lines are written
in English in the code and shown through ``_()``, which looks them up in the current
language's catalogue, ``course_lib/locale/<language>/LC_MESSAGES/course_lib.po`` (standard
gettext, read with Babel). A third language is one more ``.po`` file and one more entry in
``LANGUAGES``: no code changes. English is the code's own text, so it needs no catalogue.

Writing a message::

    from course_lib.core.language import _, N_

    HINTS = {"frozen": N_("Freeze the base before the new head trains.")}  # marked where defined
    print(_(HINTS["frozen"]))                                             # translated where shown
    print(_("{n} labels per class").format(n=n))                          # named fields, never an f-string

Error messages (``ValueError``, ``TypeError``) and log lines stay English: they are for
developers and for searching the web. ``missing(language)`` lists the messages of the code
that the language's catalogue does not translate (``tests/core/test_language.py`` requires
none for every edition).
"""

import functools
import string
from pathlib import Path

#: The editions: language code -> its name in itself. "en" is the default and the code's own text.
LANGUAGES = {"en": "English", "zh": "中文"}
DEFAULT = "en"
#: The gettext domain, and the folder of its catalogues: ``LOCALE/<language>/LC_MESSAGES/course_lib.po``.
DOMAIN = "course_lib"
LOCALE = Path(__file__).resolve().parents[1] / "locale"
#: The calls whose first argument is a message: ``_``, ``N_`` and a claim's sentence (``.claim("...")``).
KEYWORDS = {"_": None, "N_": None, "claim": None}

_current = DEFAULT


def use(language):
    """Show every message after this call in ``language`` (a key of ``LANGUAGES``)."""
    global _current
    if language not in LANGUAGES:
        raise ValueError(f"language={language!r} is not an edition of the course; "
                         f"use one of {', '.join(map(repr, LANGUAGES))}")
    _catalogue(catalogue_path(language))  # a damaged catalogue fails here, not in a widget
    _current = language


def current():
    """The language in use: a key of ``LANGUAGES``."""
    return _current


def _(message):
    """``message`` in the current language: unchanged in English, or when the catalogue lacks it."""
    if _current == DEFAULT:
        return message
    return _catalogue(catalogue_path(_current)).get(message) or message


def N_(message):
    """Mark ``message`` for the catalogue where it is defined; return it unchanged (show it with ``_()``)."""
    return message


def catalogue_path(language):
    """The ``.po`` file of ``language`` (English has none: it is the code's own text)."""
    return LOCALE / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def messages():
    """The messages of course_lib's code, as Babel's extractor finds them: ``{message: [(file, line), ...]}``."""
    from babel.messages.extract import extract_from_dir

    package = Path(__file__).resolve().parents[1]
    found = {}
    for filename, line, message, _comments, _context in extract_from_dir(
            package, keywords=KEYWORDS, comment_tags=(), strip_comment_tags=True):
        if isinstance(message, str) and message:  # a call with a non-literal argument gives None
            found.setdefault(message, []).append((filename, line))
    return found


def missing(language):
    """The messages of course_lib's code that ``language``'s catalogue does not translate, sorted."""
    if language not in LANGUAGES:
        raise ValueError(f"language={language!r} is not an edition of the course; "
                         f"use one of {', '.join(map(repr, LANGUAGES))}")
    if language == DEFAULT:
        return []
    translated = _catalogue(catalogue_path(language))
    return sorted(message for message in messages() if not translated.get(message))


def fields(message):
    """The named ``{fields}`` of a message, as a sorted list (a translation must keep exactly these)."""
    return sorted(name for _text, name, _spec, _conversion in string.Formatter().parse(message)
                  if name is not None)


@functools.cache
def _catalogue(path):
    """``{message: translation}`` of the ``.po`` file at ``path``, without fuzzy or empty entries."""
    from babel.messages.pofile import read_po

    with open(path, "rb") as file:
        catalogue = read_po(file)
    return {message.id: message.string for message in catalogue
            if message.id and message.string and not message.fuzzy and isinstance(message.id, str)}
