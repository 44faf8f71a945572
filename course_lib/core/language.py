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
#: The font a language's plots need, as (package, file name): found with ``importlib.resources``
#: and loaded only for that language. Noto Sans SC Regular (SIL OFL 1.1) comes from PyPI.
FONTS = {"zh": ("pylopdf_fonts_zh_cn", "NotoSansSC-Regular.otf")}
#: The calls whose first argument is a message: ``_``, ``N_`` and a claim's sentence (``.claim("...")``).
KEYWORDS = {"_": None, "N_": None, "claim": None}

_current = DEFAULT


def use(language):
    """Show every message after this call in ``language`` (a key of ``LANGUAGES``)."""
    global _current
    _check(language)
    if language != DEFAULT:
        _catalogue(catalogue_path(language))  # a damaged catalogue fails here, not in a widget
    _use_font(language)
    _current = language


def current():
    """The language in use: a key of ``LANGUAGES``."""
    return _current


def _(message):
    """``message`` in the current language: unchanged in English, or when the catalogue lacks it."""
    return in_language(message, _current)


def in_language(message, language):
    """``message`` in ``language``, whichever is current (a process that writes both editions, such
    as the site's build); unchanged in English or when the catalogue lacks it."""
    _check(language)
    if language == DEFAULT:
        return message
    return _catalogue(catalogue_path(language)).get(message) or message


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
    _check(language)
    if language == DEFAULT:
        return []
    translated = _catalogue(catalogue_path(language))
    return sorted(message for message in messages() if not translated.get(message))


def fields(message):
    """The named ``{fields}`` of a message, as a sorted list (a translation must keep exactly these)."""
    return sorted(name for _text, name, _spec, _conversion in string.Formatter().parse(message)
                  if name is not None)


def _check(language):
    if language not in LANGUAGES:
        raise ValueError(f"language={language!r} is not an edition of the course; "
                         f"use one of {', '.join(map(repr, LANGUAGES))}")


def _use_font(language):
    """Put ``language``'s font first in matplotlib's ``font.sans-serif`` (the old list after it),
    and take out the fonts of the other languages. Matplotlib draws a text with the first font of
    that list it has; Noto Sans SC has Latin letters, digits and the minus sign as well."""
    if language not in FONTS and not _font_families:
        return  # English before any other language: matplotlib untouched
    import matplotlib as mpl

    others = [family for family in mpl.rcParams["font.sans-serif"] if family not in _font_families.values()]
    mpl.rcParams["font.sans-serif"] = ([_font_family(language)] if language in FONTS else []) + others


_font_families = {}  # language -> the family name of its font, once registered with matplotlib


def _font_family(language):
    """Register ``language``'s font with matplotlib (once); return its family name.

    The font has one face, regular, and it also stands in for its italic and bold: otherwise an
    italic or bold text would be drawn with DejaVu Sans Oblique or Bold, which have no Chinese
    glyphs, or matplotlib would log that the font has no bold.
    """
    if language not in _font_families:
        import dataclasses
        from importlib import resources

        from matplotlib import font_manager, ft2font

        package, name = FONTS[language]
        path = str(resources.files(package) / name)  # an installed file: matplotlib reads it again to draw
        regular = font_manager.ttfFontProperty(ft2font.FT2Font(path))
        font_manager.fontManager.ttflist += [dataclasses.replace(regular, style=style, weight=weight)
                                             for style in ("normal", "italic", "oblique") for weight in (400, 700)
                                             if (style, weight) != ("normal", 400)]
        font_manager.fontManager.addfont(path)  # the regular face; forgets matplotlib's earlier choices
        _font_families[language] = regular.name
    return _font_families[language]


@functools.cache
def _catalogue(path):
    """``{message: translation}`` of the ``.po`` file at ``path``, without fuzzy or empty entries."""
    from babel.messages.pofile import read_po

    with open(path, "rb") as file:
        catalogue = read_po(file)
    return {message.id: message.string for message in catalogue
            if message.id and message.string and not message.fuzzy and isinstance(message.id, str)}
