"""What the course's pages need beyond MyST-NB (a Sphinx extension; see site/conf.py).

- Under each chapter's title, a bar: launch it on Binder or Colab, download the learner's
  notebook, present its slide deck. The launch links come from ``course_lib.publishing``.
- A chapter's page is read again when site/build.py executed the chapter again
  (``course_execution_stamps``), although the notebook itself did not change.
- Solution cells (tagged ``solution``) are collapsed behind "Show the solution".
- Images from other hosts (the README's badges) are shown as their text, so that a page
  never waits for the network: the site works offline.
- The ``{slides}``, ``{binder}`` and ``{colab}`` roles link a chapter's deck, or open it on
  Binder or Colab: ``{binder}`02_task_fine_tuning``` or ``{binder}`Binder <02_task_fine_tuning>```
  (a translation's: ``{binder}`zh/02_task_fine_tuning```).
- At the top of every page, the language switch: the same page in each other edition of
  ``course_lib.syllabus.EDITIONS`` (a page with no translation, such as the bilingual glossary,
  links the other edition's first chapter).
"""

import html
import re
from pathlib import Path

from docutils import nodes
from sphinx.util import logging
from sphinx.util.nodes import split_explicit_title
from sphinx.util.osutil import relative_uri

from course_lib import publishing
from course_lib.core.language import LANGUAGES, in_language
from course_lib.syllabus import CHAPTERS, EDITIONS

logger = logging.getLogger(__name__)
REMOTE = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def deck_uri(app, docname, chapter):
    """The URI of ``chapter``'s deck (``02_task_fine_tuning``) as seen from page ``docname``.

    Warns (a build error under -W) when the deck was not built or the chapter does not exist.
    """
    chapter_path(app, docname, chapter)
    deck = f"{app.config.course_slides_dir}/{chapter}.slides.html"
    if not (Path(app.outdir) / deck).exists():
        logger.warning(f"the slide deck {deck} was not built (site/build.py builds the decks "
                       "before the pages)", location=docname)
    return relative_uri(app.builder.get_target_uri(docname), deck)


def page_text(docname, key):
    """``publishing.PAGE_TEXT[key]`` in the language of page ``docname``."""
    return in_language(publishing.PAGE_TEXT[key], edition(docname)[0])


def launch_bar(app, docname):
    notebook = f"{docname}.ipynb"  # the source folder is the repository: this is its path there
    here = app.builder.get_target_uri(docname)
    download = relative_uri(here, f"_sources/{notebook}")
    links = [
        ("course-launch-binder", publishing.binder_url(notebook), "binder", ""),
        ("course-launch-colab", publishing.colab_url(notebook), "colab", ""),
        ("course-download", download, "download", f' download="{html.escape(Path(notebook).name)}"'),
        ("course-slides", deck_uri(app, docname, docname.removeprefix("chapters/")), "slides", ""),
    ]
    items = "".join(f'<a class="{cls}" href="{html.escape(url)}"{extra}>{html.escape(page_text(docname, key))}</a>'
                    for cls, url, key, extra in links)
    return nodes.raw("", f'<div class="course-launch-bar"><span>{html.escape(page_text(docname, "run"))}</span>'
                         f"{items}</div>", format="html")


def add_launch_bar(app, doctree):
    docname = app.env.docname
    if Path(app.env.doc2path(docname)).suffix != ".ipynb":
        return
    # Read the page again whenever site/build.py executed the chapter again.
    stamp = Path(app.config.course_execution_stamps) / f"{docname.removeprefix('chapters/')}.txt"
    if stamp.exists():
        app.env.note_dependency(str(stamp))
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None or not isinstance(section[0], nodes.title):
        logger.warning("a chapter without a title: no launch bar", location=docname)
        return
    section.insert(1, launch_bar(app, docname))


def edition(docname):
    """``(language, docname in English)``: ``chapters/zh/02_x`` -> ``("zh", "chapters/02_x")``."""
    for language, folder in EDITIONS.items():
        for top in ("chapters/", "site/"):
            if folder and docname.startswith(top + folder):
                return language, top + docname[len(top + folder):]
    return "en", docname


def counterpart(docname, language, found):
    """The docname of page ``docname`` in the edition of ``language``; the edition's first chapter
    when the page has no translation (``found``: the docnames that exist)."""
    _, english = edition(docname)
    for top in ("chapters/", "site/"):
        if english.startswith(top):
            translated = top + EDITIONS[language] + english[len(top):]
            if translated in found:
                return translated
    return CHAPTERS[0].notebook_in(language).removesuffix(".ipynb")


def add_language_switch(app, doctree):
    """The names of the editions above the page, each but the page's own linking its counterpart."""
    docname = app.env.docname
    here, _ = edition(docname)
    page = app.builder.get_target_uri(docname)
    items = []
    for language, name in LANGUAGES.items():
        if language == here:
            items.append(f'<span class="course-language-current" lang="{language}">{html.escape(name)}</span>')
        else:
            target = app.builder.get_target_uri(counterpart(docname, language, app.env.found_docs))
            items.append(f'<a class="course-language-other" href="{html.escape(relative_uri(page, target))}" '
                         f'hreflang="{language}" lang="{language}">{html.escape(name)}</a>')
    switch = nodes.raw("", f'<div class="course-language-switch">{" · ".join(items)}</div>', format="html")
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None or not isinstance(section[0], nodes.title):
        logger.warning("a page without a title: no language switch", location=docname)
        return
    section.insert(1, switch)


def collapse_solutions(app, doctree):
    """Solution cells: input and output behind MyST-NB's collapsible "Show the solution"."""
    for cell in doctree.findall(nodes.container):
        tags = cell.get("cell_metadata", {}).get("tags", [])
        if cell.get("nb_element") == "cell_code" and "solution" in tags:
            cell["hide_mode"] = "all"
            cell["prompt_show"] = page_text(app.env.docname, "show")
            cell["prompt_hide"] = page_text(app.env.docname, "hide")


def remote_images_as_text(app, doctree):
    for image in list(doctree.findall(nodes.image)):
        if REMOTE.match(image["uri"]):
            image.replace_self(nodes.Text(image.get("alt") or image["uri"]))


def chapter_path(app, docname, chapter):
    """``chapters/<chapter>.ipynb``; warns (a build error under -W) when there is no such chapter."""
    path = f"chapters/{chapter}.ipynb"
    if not (Path(app.srcdir) / path).exists():
        logger.warning(f"no chapter {chapter!r} ({path})", location=docname)
    return path


def chapter_link_role(kind):
    """A role linking a chapter's ``kind``: its slide deck, or the chapter on Binder or Colab."""
    def role(name, rawtext, text, lineno, inliner, options=None, content=None):
        env = inliner.document.settings.env
        has_title, title, chapter = split_explicit_title(text)
        chapter = chapter.strip()
        if kind == "slides":
            uri, label = deck_uri(env.app, env.docname, chapter), "slides"
        elif kind == "binder":
            uri, label = publishing.binder_url(chapter_path(env.app, env.docname, chapter)), "Binder"
        else:
            uri, label = publishing.colab_url(chapter_path(env.app, env.docname, chapter)), "Colab"
        return [nodes.reference(rawtext, title if has_title else label, refuri=uri,
                                classes=[f"course-{kind}-link"])], []
    return role


def setup(app):
    app.add_config_value("course_slides_dir", "slides", "html")
    app.add_config_value("course_execution_stamps", "", "env")
    app.connect("doctree-read", add_launch_bar)
    app.connect("doctree-read", add_language_switch)
    app.connect("doctree-read", collapse_solutions)
    app.connect("doctree-read", remote_images_as_text)
    for kind in ("slides", "binder", "colab"):
        app.add_role(kind, chapter_link_role(kind))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
