"""Slide decks from the executed chapters: nbconvert's reveal.js export, nothing tagged by hand.

:class:`HeadingSlides` decides where slides start from the notebook's own headings: a new
slide at every ``#`` or ``##`` heading, a slide below it (reveal.js's vertical subslide) at
every ``###`` heading. A markdown cell holding several headings is cut at each one, so the
decks follow the chapters as they are written and there is no second copy to keep in sync.
Solution cells stay out of the decks.

The decks load reveal.js (shipped in the ``sphinx-revealjs`` package) and MathJax (shipped in
``sphinx-mathjax-offline``) from copies beside them, so they work with no network.
"""

import importlib.util
import posixpath
import re
import shutil
from pathlib import Path

from nbconvert.preprocessors import Preprocessor

from layout import ROOT, chapter_key

SITE = Path(__file__).resolve().parent
TEMPLATES = SITE / "slides_templates"
HEADING = re.compile(r"^(#{1,3})\s")
FENCE = re.compile(r"^\s*(```|~~~)")
LINK = re.compile(r"\]\(([^()\s]+)\)")  # a markdown link's target
REMOTE_IMAGE = re.compile(r"!\[([^\]]*)\]\([a-z][a-z0-9+.-]*://[^()\s]+\)", re.IGNORECASE)


def deck_link(target, notebook="chapters/00_welcome.ipynb"):
    """A relative link of the chapter ``notebook`` (its repository path), as seen from its deck's
    folder (``slides/``, or ``slides/zh/`` for a translation's deck).

    Another chapter's notebook becomes its deck; a markdown file becomes its page of the site;
    anything else is left as it is.
    """
    if "://" in target or target.startswith(("#", "/", "mailto:")):
        return target
    path, _, fragment = target.partition("#")
    linked = posixpath.normpath(posixpath.join(posixpath.dirname(notebook), path))
    if linked.endswith(".ipynb"):
        page = "slides/" + deck_name(linked)
    elif linked.endswith(".md"):
        page = linked[:-3] + ".html"
    else:
        return target
    here = posixpath.dirname("slides/" + deck_name(notebook))
    return posixpath.relpath(page, here) + (f"#{fragment}" if fragment else "")


def split_at_headings(source):
    """``source`` (markdown) cut before every heading of level 1-3 outside code fences."""
    pieces, current, fenced = [], [], False
    for line in source.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        if not fenced and HEADING.match(line) and any(s.strip() for s in current):
            pieces.append("\n".join(current).strip("\n"))
            current = []
        current.append(line)
    if any(s.strip() for s in current):
        pieces.append("\n".join(current).strip("\n"))
    return pieces


def slide_type(cell):
    """``"slide"`` for a cell opening with a level 1-2 heading, ``"subslide"`` for level 3, else ``"-"``."""
    if cell.cell_type != "markdown":
        return "-"
    match = HEADING.match(cell.source)
    if not match:
        return "-"
    return "slide" if len(match.group(1)) <= 2 else "subslide"


class HeadingSlides(Preprocessor):
    """Set every cell's ``slideshow.slide_type`` from the headings; drop solution cells; point
    links to other chapters at their decks; show images from other hosts (the badges) as their
    text, so that a deck never waits for the network."""

    def preprocess(self, nb, resources):
        """``resources["notebook"]``: the chapter's repository path (default: an English chapter)."""
        import nbformat

        notebook = resources.get("notebook", "chapters/00_welcome.ipynb")
        cells = []
        for cell in nb.cells:
            if "solution" in cell.metadata.get("tags", []):
                continue
            if cell.cell_type == "markdown":
                source = REMOTE_IMAGE.sub(r"\1", cell.source)
                source = LINK.sub(lambda m: f"]({deck_link(m.group(1), notebook)})", source)
                for piece in split_at_headings(source):
                    cells.append(nbformat.v4.new_markdown_cell(piece))
            else:
                cells.append(cell)
        for cell in cells:
            cell.metadata["slideshow"] = {"slide_type": slide_type(cell)}
        nb.cells = cells
        nb.metadata.pop("widgets", None)  # a deck has no kernel: no live widgets
        return nb, resources


def package_folder(module, *parts):
    """A folder shipped inside the installed package ``module``."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"the package {module!r} is missing; install the site's dependencies "
                           "(python3 make.py slides does)")
    folder = Path(spec.origin).parent.joinpath(*parts)
    if not folder.is_dir():
        raise RuntimeError(f"{folder} is missing from the installed {module!r}")
    return folder


def copy_assets(out):
    """reveal.js and MathJax into ``out``, as the decks' template expects them."""
    reveal = package_folder("sphinx_revealjs", "_static", "revealjs")
    for part in ("dist", "plugin/notes"):
        shutil.copytree(reveal / part, out / "reveal.js" / part, dirs_exist_ok=True)
    mathjax = package_folder("sphinx-mathjax-offline", "static", "mathjax")
    for part in ("tex-chtml.js", "input", "output/chtml", "a11y", "ui"):
        source = mathjax / part
        if source.is_dir():
            shutil.copytree(source, out / "mathjax" / part, dirs_exist_ok=True)
        else:
            (out / "mathjax").mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, out / "mathjax" / part)


def exporter(up=""):
    """nbconvert's ``SlidesExporter`` with the course's template (``site/slides_templates``), for a
    deck ``up`` (``""`` or ``"../"``) below the folder of reveal.js and MathJax."""
    from nbconvert import SlidesExporter

    return SlidesExporter(
        template_name="course_reveal", extra_template_basedirs=[str(TEMPLATES)],
        reveal_url_prefix=f"{up}reveal.js", reveal_theme="white", reveal_transition="none",
        reveal_number="c/t", mathjax_url=f"{up}mathjax/tex-chtml.js",
        exclude_input_prompt=True, exclude_output_prompt=True)


def deck_name(notebook_path):
    """``chapters/00_welcome.ipynb`` -> ``00_welcome.slides.html``; a translation's deck sits in its
    edition's folder: ``chapters/zh/00_welcome.ipynb`` -> ``zh/00_welcome.slides.html``."""
    return chapter_key(notebook_path) + ".slides.html"


def title(nb):
    """The notebook's first heading, without the ``#``."""
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("# "):
            return cell.source.splitlines()[0][2:].strip()
    raise ValueError("the notebook has no level-1 heading to title its deck")


def write_deck(nb, notebook_path, out):
    """The deck of ``notebook_path`` from its executed notebook ``nb``, into ``out``; its path."""
    repository_path = Path(notebook_path).resolve().relative_to(ROOT).as_posix()
    nb, _ = HeadingSlides().preprocess(nb, {"notebook": repository_path})
    name = deck_name(notebook_path)
    up = "../" * name.count("/")
    body, _ = exporter(up).from_notebook_node(nb, resources={"metadata": {"name": title(nb)}})
    path = out / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    return path
