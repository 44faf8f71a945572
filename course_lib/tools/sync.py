"""``python -m course_lib.tools.sync [--check]``: write every list of chapters from their declarations.

``python3 make.py sync`` runs it. The chapters are declared once, in ``course_lib/syllabus.py``;
this writes what is made from them:

- ``README.md``: the chapter map, and the experiments registered by chapter;
- ``site/_toc.yml``: the chapters, and the instructor's guide's pages;
- ``site/teachers.md``: the table of each chapter's links;
- ``site/guide/index.md``: the table of the guide's chapter pages, what each teaches and its widgets;
- the first chapter's notebook: the course map (the cell tagged ``sync:course-map``);
- every chapter notebook's closing cell (tagged ``sync:next``; added if missing): its
  solutions on GitHub and Colab, and the next chapter in JupyterLab and Colab;
- every number the chapters' prose takes from the code: ``20<!-- fact: .task:LABELS_PER_CLASS -->``
  is rewritten with the value of ``LABELS_PER_CLASS`` in the chapter package's ``task`` module
  (``core.cnn:NAME`` names a module of ``course_lib``); the comment does not show.

Each edition of ``syllabus.EDITIONS`` gets its own: the README's map links every edition's
notebook, the site's map lists each edition's chapters and guide pages (regions ``chapters-zh``,
``guide-zh``), and a translated teachers' page, guide index and notebook get their generated parts
in their language, through the message catalogue (``course_lib.core.language``).

In text files a generated part sits between two marker comments, ``sync: NAME (...)`` and
``sync: end NAME``; in notebooks it is a cell with a ``sync:...`` tag. Everything outside is
written by hand and left as it is. Notebooks are written with jupytext, the ``.py`` and the
``.ipynb`` of a pair together, without outputs. ``--check`` writes nothing: it lists the files
whose generated parts are stale and exits 1.
"""

import argparse
import contextlib
import copy
import functools
import re
import sys
import textwrap
from pathlib import Path

from course_lib import publishing
from course_lib.core import language
from course_lib.core.language import _
from course_lib.syllabus import CHAPTERS, EDITIONS, chapter

ROOT = Path(__file__).resolve().parents[2]
COURSE_MAP, NEXT = "sync:course-map", "sync:next"


class SyncError(Exception):
    """A file is not ready to be generated into (a marker or a tagged cell is missing)."""


def github_url(path):
    """The page of ``path`` (a repository path) on GitHub's main branch."""
    return f"https://github.com/{publishing.REPOSITORY}/blob/{publishing.BRANCH}/{path}"


@contextlib.contextmanager
def speaking(code):
    """Within the block, ``_()`` translates into ``code`` (a key of ``syllabus.EDITIONS``)."""
    before = language.current()
    language.use(code)
    try:
        yield
    finally:
        language.use(before)


def label(c):
    """``02 · task fine-tuning``, in the current language."""
    return f"{c.number:02d} · {_(c.title)}"


def _listed(items):
    """``a``, ``a and b``, ``a, b and c``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# What is generated -----------------------------------------------------------------------------

def readme_chapter_map():
    """The chapters with what each teaches, and a link to each translation (the chapter's title in it)."""
    others = [code for code in EDITIONS if code != "en"]
    rows = []
    for c in CHAPTERS:
        translated = []
        for code in others:
            with speaking(code):
                translated.append(f"[{c.number:02d} {_(c.title)}]({c.notebook_in(code)})")
        rows.append(" | ".join([f"| [{c.number:02d} {c.title}]({c.notebook})", *translated, f"{c.teaches} |"]))
    names = [language.LANGUAGES[code] for code in others]
    return "\n".join([" | ".join(["| notebook", *names, "teaches |"]), "|---" * (2 + len(others)) + "|", *rows])


def readme_experiments():
    """The experiments registered by chapter, in the order each chapter's module defines them."""
    from course_lib.experiments import registry

    found = registry().values()
    parts = []
    for c in CHAPTERS:
        mine = sorted((e for e in found if e.run.__module__ == c.experiments_module),
                      key=lambda e: e.run.__code__.co_firstlineno)
        if mine:
            parts.append(_listed([f"`{e.name}`" for e in mine]) + f" ({c.number:02d})")
    text = (f"Registered, by chapter: {'; '.join(parts)}. "
            "`python -m course_lib.experiments --help` lists them all.")
    return textwrap.fill(text, width=100, break_long_words=False, break_on_hyphens=False)


def toc_chapters(code="en"):
    return "\n".join(f"- file: {c.notebook_in(code).removesuffix('.ipynb')}" for c in CHAPTERS)


def toc_guide(code="en"):
    return "\n".join(f"- file: {c.guide_in(code).removesuffix('.md')}" for c in CHAPTERS)


def teachers_table(code="en"):
    """The teachers' page's table (``site/teachers.md``, or its translation one folder down)."""
    up = "../" * (1 + EDITIONS[code].count("/"))
    rows = []
    for c in CHAPTERS:
        builds_on = ", ".join(f"{chapter(p.chapter).number:02d}" for p in c.prerequisites) or "-"
        name, guide = f"{EDITIONS[code]}{c.name}", _("guide")
        rows.append(f"| [{label(c)}]({up}{c.notebook_in(code)}) | {builds_on} | {{binder}}`{name}` · "
                    f"{{colab}}`{name}` | {{slides}}`{name}` | [{guide}](guide/{c.name}.md) |")
    header = [_("chapter"), _("builds on"), _("run it"), _("slides"), _("guide")]
    return "\n".join(["| " + " | ".join(header) + " |", "|---|---|---|---|---|", *rows])


def guide_table():
    rows = [f"| [{label(c)}]({c.name}.md) | {_(c.teaches)} | {', '.join(_(w.title) for w in c.widgets)} |"
            for c in CHAPTERS]
    header = [_("chapter"), _("teaches"), _("widgets")]
    return "\n".join(["| " + " | ".join(header) + " |", "|---|---|---|", *rows])


def glossary_links(code):
    """The fields of a sentence linking the glossary (one, in both languages) from a chapter of the
    edition of ``code``: ``{glossary}`` relative to the chapter, ``{glossary_github}``."""
    return {"glossary": f"{'../' * EDITIONS[code].count('/')}GLOSSARY.md",
            "glossary_github": github_url("chapters/GLOSSARY.md")}


def course_map(holder, code="en"):
    """The course map, as the chapter ``holder`` shows it (every other chapter linked), in ``code``."""
    names = {c: f"{c.number:02d} {_(c.title)}" for c in CHAPTERS}
    rows = [f"| {names[c] if c == holder else f'[{names[c]}]({c.name}.ipynb)'} | {_(c.summary)} |" for c in CHAPTERS]
    budget = max(c.budget_seconds for c in CHAPTERS)
    return "\n".join([
        "## " + _("The course map"), "", "| " + _("chapter") + " | " + _("in one line") + " |", "|---|---|", *rows, "",
        _("Each chapter is built to run within {budget} s on one CPU once the course's cache is warm. "
          "Words in two languages:\n[GLOSSARY.md]({glossary}) ([on GitHub]({glossary_github}))."
          ).format(budget=budget, **glossary_links(code))])


def closing_cell(ending, code="en"):
    """The last cell of the chapter ``ending``, in ``code``: where its solutions are, and the chapter after it."""
    after = [c for c in CHAPTERS if c.number == ending.number + 1]
    solutions = ending.solutions_in(code)
    parts = [_("The solutions are apart, so that Run All never shows them: `{path}`\n([on GitHub]({github}),\n"
               "[on Colab]({colab})).").format(path=solutions, github=github_url(solutions),
                                               colab=publishing.colab_url(solutions))]
    if after:
        following = after[0]
        parts.append(_("**Next:** [{label}]({file})\n([on Colab]({colab})):\n{summary}.").format(
            label=label(following), file=f"{following.name}.ipynb", summary=_(following.summary),
            colab=publishing.colab_url(following.notebook_in(code))))
    else:
        first = CHAPTERS[0]
        parts.append(_("**Next:** this was the last chapter. Back to the\n[course map in chapter {number:02d}]({file})\n"
                       "([on Colab]({colab})).").format(number=first.number, file=f"{first.name}.ipynb",
                                                      colab=publishing.colab_url(first.notebook_in(code))))
    glossary = _("Words in two languages: [GLOSSARY.md]({glossary}) ([on GitHub]({glossary_github})).")
    return "\n\n".join(parts[:1] + ["\n".join(parts[1:] + [glossary.format(**glossary_links(code))])])


#: A number in a chapter's prose that the code defines: the value, then the comment naming it.
FACT = re.compile(r"(?P<value>[^\s<>`*(]+)<!-- fact: (?P<module>[\w.]+):(?P<name>[\w.]+) -->")


def fact(declared, module, name):
    """The value of ``name`` (``X`` or ``X.attribute``) in ``module`` (``.task``: in ``declared``'s
    package; ``core.cnn``: in ``course_lib``), as prose writes it."""
    import importlib

    where = declared.package + module if module.startswith(".") else f"course_lib.{module}"
    try:
        value = functools.reduce(getattr, name.split("."), importlib.import_module(where))
    except (ImportError, AttributeError) as error:
        raise SyncError(f"chapters/{declared.name}.py: <!-- fact: {module}:{name} --> names nothing ({error})")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SyncError(f"chapters/{declared.name}.py: {module}:{name} is {value!r}, not a number")
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


def with_facts(nb, declared):
    """``nb`` with every ``<!-- fact: ... -->`` of its markdown cells preceded by the value it names."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = FACT.sub(lambda m: fact(declared, m["module"], m["name"]) + m[0][len(m["value"]):],
                                   cell.source)
    return nb


# Writing it into the files ---------------------------------------------------------------------

MARKERS = {".md": ("<!-- ", " -->"), ".yml": ("# ", "")}


def with_region(text, name, body, path):
    """``text`` with the lines between its ``sync: name`` and ``sync: end name`` markers replaced
    by ``body``, indented as the first marker is."""
    begin = re.search(rf"^([ \t]*)\S*\s*sync: {re.escape(name)} \(.*\n", text, re.MULTILINE)
    end = re.search(rf"^[ \t]*\S*\s*sync: end {re.escape(name)}\b", text, re.MULTILINE)
    if not begin or not end or end.start() < begin.end():
        opening, closing = MARKERS[Path(path).suffix]
        raise SyncError(f"{path}: no `{opening}sync: {name} (...){closing}` ... `{opening}sync: end {name}{closing}` "
                        "lines around its generated part; add them where it goes")
    if Path(path).suffix == ".md":  # blank lines keep a table or paragraph apart from the markers
        body = f"\n{body}\n"
    indent = begin.group(1)
    lines = "".join(f"{indent}{line}\n" if line else "\n" for line in body.split("\n"))
    return text[:begin.end()] + lines + text[end.start():]


def with_cell(nb, tag, source, path, append=False):
    """``nb`` with its cell tagged ``tag`` holding ``source``; added at the end if ``append``."""
    import nbformat

    nb = copy.deepcopy(nb)
    tagged = [cell for cell in nb.cells if tag in cell.metadata.get("tags", [])]
    if len(tagged) > 1 or not (tagged or append):
        raise SyncError(f"{path}: needs exactly one markdown cell tagged {tag!r} (has {len(tagged)}); "
                        "tag the cell where the generated part goes")
    if tagged:
        tagged[0].source = source
    else:
        nb.cells.append(nbformat.v4.new_markdown_cell(source, metadata={"tags": [tag]}))
    return nb


def _cells(nb, skip_generated=False):
    return [(c.cell_type, c.source.strip()) for c in nb.cells
            if not (skip_generated and any(t.startswith("sync:") for t in c.metadata.get("tags", [])))]


def notebook_texts(declared, root, code="en"):
    """``{path: text}`` of the chapter's ``.py`` and ``.ipynb`` in the edition of ``code``, with its
    generated cells written in that language."""
    import jupytext
    from jupytext.combine import combine_inputs_with_outputs

    notebook = root / declared.notebook_in(code)
    script = notebook.with_suffix(".py")
    nb = jupytext.read(script)
    paired = jupytext.read(notebook)
    if _cells(nb, skip_generated=True) != _cells(paired, skip_generated=True):
        raise SyncError(f"{notebook.relative_to(root)} and its .py differ: run `jupytext --sync "
                        f"{script.relative_to(root)}` first")
    nb = with_facts(nb, declared)
    with speaking(code):
        if declared == CHAPTERS[0]:
            nb = with_cell(nb, COURSE_MAP, course_map(declared, code), script.relative_to(root))
        nb = with_cell(nb, NEXT, closing_cell(declared, code), script.relative_to(root), append=True)
    executable = combine_inputs_with_outputs(nb, paired, fmt={"extension": ".ipynb"})
    for cell in executable.cells:  # generated cells get ids of their own, the same on every run
        tags = [t for t in cell.metadata.get("tags", []) if t.startswith("sync:")]
        if tags:
            cell.id = tags[0].replace(":", "-")
    return {script: jupytext.writes(nb, fmt="py:percent"),
            notebook: jupytext.writes(executable, fmt="ipynb") + "\n"}


def wanted(root=ROOT):
    """``{path: text}`` of every file that holds a generated part, as it should be. A translation
    not written yet is left out (``course_lib.tools.editions`` lists what is missing)."""
    root = Path(root)
    texts = {}

    def region(relative, *parts):
        path = root / relative
        if not path.exists() and relative.startswith(tuple(f"site/{folder}" for folder in EDITIONS.values() if folder)):
            return
        text = texts.get(path, path.read_text())
        for name, body in parts:
            text = with_region(text, name, body, relative)
        texts[path] = text

    region("README.md", ("chapter-map", readme_chapter_map()), ("experiments", readme_experiments()))
    region("site/_toc.yml", *[(f"chapters{suffix(code)}", toc_chapters(code)) for code in EDITIONS],
           *[(f"guide{suffix(code)}", toc_guide(code)) for code in EDITIONS])
    for code, folder in EDITIONS.items():
        with speaking(code):
            region(f"site/{folder}teachers.md", ("chapter-links", teachers_table(code)))
            region(f"site/{folder}guide/index.md", ("chapter-pages", guide_table()))
        for declared in CHAPTERS:
            if (root / declared.notebook_in(code)).with_suffix(".py").exists():
                texts.update(notebook_texts(declared, root, code))
    return texts


def suffix(code):
    """How a region's name in ``site/_toc.yml`` says its edition: ``chapters``, ``chapters-zh``."""
    return "" if code == "en" else f"-{code}"


def stale(root=ROOT):
    """The files (relative to ``root``) whose generated parts differ from the declarations."""
    return [path.relative_to(root).as_posix() for path, text in wanted(root).items() if path.read_text() != text]


def sync(root=ROOT):
    """Write every stale generated part; return the files written (relative to ``root``)."""
    written = []
    for path, text in wanted(root).items():
        if path.read_text() != text:
            path.write_text(text)
            written.append(path.relative_to(root).as_posix())
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m course_lib.tools.sync", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a generated part is stale")
    args = parser.parse_args(argv)
    try:
        files = stale() if args.check else sync()
    except SyncError as error:
        print(f"sync: {error}", file=sys.stderr)
        return 2
    if args.check:
        for path in files:
            print(f"stale: {path}")
        print("run python3 make.py sync" if files else "every generated part is up to date")
        return 1 if files else 0
    for path in files:
        print(f"wrote {path}")
    print(f"{len(files)} file(s) written" if files else "every generated part was up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
