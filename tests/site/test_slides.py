"""site/slides.py: where slides start, what is left out, and a deck written from a small notebook."""

import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "site"))  # site/ is not a package
import slides  # noqa: E402


def test_markdown_is_cut_before_every_heading_outside_code_fences():
    source = ("# Title\nintro\n\n## First\ntext\n```python\n# a comment, not a heading\n```\n"
              "### Detail\nmore")
    assert slides.split_at_headings(source) == [
        "# Title\nintro", "## First\ntext\n```python\n# a comment, not a heading\n```",
        "### Detail\nmore"]
    assert slides.split_at_headings("no heading here") == ["no heading here"]


def test_slide_types_follow_heading_levels():
    assert slides.slide_type(new_markdown_cell("# A")) == "slide"
    assert slides.slide_type(new_markdown_cell("## B")) == "slide"
    assert slides.slide_type(new_markdown_cell("### C")) == "subslide"
    assert slides.slide_type(new_markdown_cell("#### D")) == "-"
    assert slides.slide_type(new_markdown_cell("text with ## inside")) == "-"
    assert slides.slide_type(new_code_cell("## a comment")) == "-"


def _notebook():
    solution = new_code_cell("# Solution: print(42)")
    solution.metadata["tags"] = ["solution"]
    nb = new_notebook(cells=[
        new_markdown_cell("# 99 · A chapter\nRun time: short.\n\n## The idea\nA formula: $a^2$."),
        new_code_cell("print('hello')", outputs=[new_output("stream", name="stdout", text="hello\n")]),
        new_markdown_cell("### What to notice\n- a point"),
        new_markdown_cell("## Exercise\nDo it."),
        solution,
    ])
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    return nb


def test_heading_slides_cuts_cells_and_drops_solutions_and_widget_state():
    nb, _ = slides.HeadingSlides().preprocess(_notebook(), {})
    kinds = [(c.cell_type, c.metadata["slideshow"]["slide_type"]) for c in nb.cells]
    assert kinds == [("markdown", "slide"), ("markdown", "slide"), ("code", "-"),
                     ("markdown", "subslide"), ("markdown", "slide")]
    assert not any("Solution" in c.source for c in nb.cells)
    assert "widgets" not in nb.metadata


def test_a_deck_loads_everything_from_beside_it(tmp_path):
    slides.copy_assets(tmp_path)
    deck = slides.write_deck(_notebook(), "chapters/99_a_chapter.ipynb", tmp_path)
    assert deck.name == "99_a_chapter.slides.html"
    html = deck.read_text()
    assert "<title>99 · A chapter slides</title>" in html
    assert html.count("<section") >= 4 and "hello" in html
    for local in ("reveal.js/dist/reveal.js", "reveal.js/dist/reveal.css",
                  "reveal.js/plugin/notes/notes.js", "mathjax/tex-chtml.js"):
        assert f'"{local}' in html and (tmp_path / local).exists(), local
    assert not re.search(r'(src|href)="(https?:)?//', html), "the deck loads something from the web"
    assert (tmp_path / "reveal.js/dist/theme/white.css").exists()
    assert (tmp_path / "mathjax/output/chtml/fonts/woff-v2").is_dir()


def test_a_notebook_without_a_title_is_refused():
    with pytest.raises(ValueError, match="level-1 heading"):
        slides.title(nbformat.v4.new_notebook(cells=[new_markdown_cell("no title")]))


def test_links_to_other_chapters_point_at_their_decks_and_pages():
    assert slides.deck_link("01_feature_extraction.ipynb") == "01_feature_extraction.slides.html"
    assert slides.deck_link("GLOSSARY.md") == "../chapters/GLOSSARY.html"
    assert slides.deck_link("GLOSSARY.md#domain") == "../chapters/GLOSSARY.html#domain"
    for kept in ("https://example.org/a.ipynb", "#the-domain-gap"):
        assert slides.deck_link(kept) == kept
    nb = new_notebook(cells=[new_markdown_cell("# T\n**Next:** [01 · x](01_x.ipynb), [words](GLOSSARY.md)")])
    nb, _ = slides.HeadingSlides().preprocess(nb, {})
    assert nb.cells[0].source == "# T\n**Next:** [01 · x](01_x.slides.html), [words](../chapters/GLOSSARY.html)"


def test_images_from_other_hosts_become_their_text():
    nb = new_notebook(cells=[new_markdown_cell(
        "# T\n[![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/x) ![plot](plot.png)")])
    source = slides.HeadingSlides().preprocess(nb, {})[0].cells[0].source
    assert source.endswith("[Binder](https://mybinder.org/v2/gh/x) ![plot](plot.png)")
