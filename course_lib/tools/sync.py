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

In text files a generated part sits between two marker comments, ``sync: NAME (...)`` and
``sync: end NAME``; in notebooks it is a cell with a ``sync:...`` tag. Everything outside is
written by hand and left as it is. Notebooks are written with jupytext, the ``.py`` and the
``.ipynb`` of a pair together, without outputs. ``--check`` writes nothing: it lists the files
whose generated parts are stale and exits 1.
"""

import argparse
import copy
import functools
import re
import sys
import textwrap
from pathlib import Path

from course_lib import publishing
from course_lib.syllabus import CHAPTERS, chapter

ROOT = Path(__file__).resolve().parents[2]
COURSE_MAP, NEXT = "sync:course-map", "sync:next"


class SyncError(Exception):
    """A file is not ready to be generated into (a marker or a tagged cell is missing)."""


def github_url(path):
    """The page of ``path`` (a repository path) on GitHub's main branch."""
    return f"https://github.com/{publishing.REPOSITORY}/blob/{publishing.BRANCH}/{path}"


def _listed(items):
    """``a``, ``a and b``, ``a, b and c``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# What is generated -----------------------------------------------------------------------------

def readme_chapter_map():
    rows = [f"| [{c.number:02d} {c.title}]({c.notebook}) | {c.teaches} |" for c in CHAPTERS]
    return "\n".join(["| notebook | teaches |", "|---|---|", *rows])


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


def toc_chapters():
    return "\n".join(f"- file: chapters/{c.name}" for c in CHAPTERS)


def toc_guide():
    return "\n".join(f"- file: site/guide/{c.name}" for c in CHAPTERS)


def teachers_table():
    rows = []
    for c in CHAPTERS:
        builds_on = ", ".join(f"{chapter(p.chapter).number:02d}" for p in c.prerequisites) or "-"
        rows.append(f"| [{c.label}](../{c.notebook}) | {builds_on} | {{binder}}`{c.name}` · {{colab}}`{c.name}` "
                    f"| {{slides}}`{c.name}` | [guide](guide/{c.name}.md) |")
    return "\n".join(["| chapter | builds on | run it | slides | guide |", "|---|---|---|---|---|", *rows])


def guide_table():
    rows = [f"| [{c.label}]({c.name}.md) | {c.teaches} | {', '.join(w.title for w in c.widgets)} |" for c in CHAPTERS]
    return "\n".join(["| chapter | teaches | widgets |", "|---|---|---|", *rows])


def course_map(holder):
    """The course map, as the chapter ``holder`` shows it (every other chapter linked)."""
    names = {c: f"{c.number:02d} {c.title}" for c in CHAPTERS}
    rows = [f"| {names[c] if c == holder else f'[{names[c]}]({c.name}.ipynb)'} | {c.summary} |" for c in CHAPTERS]
    budget = max(c.budget_seconds for c in CHAPTERS)
    return "\n".join([
        "## The course map", "", "| chapter | in one line |", "|---|---|", *rows, "",
        f"Each chapter is built to run within {budget} s on one CPU once the course's cache is warm. "
        "Words in two languages:",
        f"[GLOSSARY.md](GLOSSARY.md) ([on GitHub]({github_url('chapters/GLOSSARY.md')}))."])


def closing_cell(ending):
    """The last cell of the chapter ``ending``: where its solutions are, and the chapter after it."""
    after = [c for c in CHAPTERS if c.number == ending.number + 1]
    solutions = [
        f"The solutions are apart, so that Run All never shows them: `{ending.solutions}`",
        f"([on GitHub]({github_url(ending.solutions)}),",
        f"[on Colab]({publishing.colab_url(ending.solutions)})).", ""]
    if after:
        following = after[0]
        onward = [f"**Next:** [{following.label}]({following.name}.ipynb)",
                  f"([on Colab]({publishing.colab_url(following.notebook)})):", f"{following.summary}."]
    else:
        first = CHAPTERS[0]
        onward = ["**Next:** this was the last chapter. Back to the",
                  f"[course map in chapter {first.number:02d}]({first.name}.ipynb)",
                  f"([on Colab]({publishing.colab_url(first.notebook)}))."]
    glossary = f"Words in two languages: [GLOSSARY.md](GLOSSARY.md) ([on GitHub]({github_url('chapters/GLOSSARY.md')}))."
    return "\n".join([*solutions, *onward, glossary])


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


def notebook_texts(declared, root):
    """``{path: text}`` of the chapter's ``.py`` and ``.ipynb`` with its generated cells written."""
    import jupytext
    from jupytext.combine import combine_inputs_with_outputs

    script, notebook = root / "chapters" / f"{declared.name}.py", root / declared.notebook
    nb = jupytext.read(script)
    paired = jupytext.read(notebook)
    if _cells(nb, skip_generated=True) != _cells(paired, skip_generated=True):
        raise SyncError(f"{declared.notebook} and its .py differ: run `jupytext --sync chapters/{declared.name}.py` first")
    nb = with_facts(nb, declared)
    if declared == CHAPTERS[0]:
        nb = with_cell(nb, COURSE_MAP, course_map(declared), script.relative_to(root))
    nb = with_cell(nb, NEXT, closing_cell(declared), script.relative_to(root), append=True)
    executable = combine_inputs_with_outputs(nb, paired, fmt={"extension": ".ipynb"})
    for cell in executable.cells:  # generated cells get ids of their own, the same on every run
        tags = [t for t in cell.metadata.get("tags", []) if t.startswith("sync:")]
        if tags:
            cell.id = tags[0].replace(":", "-")
    return {script: jupytext.writes(nb, fmt="py:percent"),
            notebook: jupytext.writes(executable, fmt="ipynb") + "\n"}


def wanted(root=ROOT):
    """``{path: text}`` of every file that holds a generated part, as it should be."""
    root = Path(root)
    texts = {}

    def region(relative, *parts):
        path = root / relative
        text = texts.get(path, path.read_text())
        for name, body in parts:
            text = with_region(text, name, body, relative)
        texts[path] = text

    region("README.md", ("chapter-map", readme_chapter_map()), ("experiments", readme_experiments()))
    region("site/_toc.yml", ("chapters", toc_chapters()), ("guide", toc_guide()))
    region("site/teachers.md", ("chapter-links", teachers_table()))
    region("site/guide/index.md", ("chapter-pages", guide_table()))
    for declared in CHAPTERS:
        texts.update(notebook_texts(declared, root))
    return texts


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
