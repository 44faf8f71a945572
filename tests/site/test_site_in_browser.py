"""The built website and its slide decks, checked as a reader meets them: in headless Chromium.

The site is built from the chapters the learner's walk executed (tests/executed.py): the
fixture ``built_site`` waits for the walk, then runs ``site/build.py site --executed``. Without
Chromium these tests are skipped with a hint on a learner's machine and fail in CI (where
``CI`` is set). The site is served on 127.0.0.1; every request to another host is blocked and counted as
a failure, so the pages are checked as they would work offline. A full-page screenshot of every
page lands in tests/screenshots/site/ (git-ignored).
"""

import json
import os
import re
import sys
import urllib.request

import pytest

from course_lib.tools.browser import CHROMIUM_ARGS, CHROMIUM_HELP, find_chromium  # noqa: E402
from site_check import (NOT_BUILT, SCREENSHOTS, SITE, broken_links, decks, expected_decks,  # noqa: E402
                        expected_pages, pages, serve)

from course_lib import publishing, syllabus  # noqa: E402

pytestmark = pytest.mark.executed
CHAPTERS = [chapter.name for chapter in syllabus.CHAPTERS]
#: chapter -> the widgets whose recorded sessions its page shows (title, picture, fewest table rows)
WIDGETS = {chapter.name: chapter.widgets for chapter in syllabus.CHAPTERS}
TIMEOUT = 60_000  # ms


def _need(condition, message):
    if not condition:
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def base_url(built_site):
    _need((SITE / "README.html").exists(), NOT_BUILT)
    with serve() as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    _need(find_chromium() is not None, CHROMIUM_HELP)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(), headless=True,
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Visit:
    """A page opened in a fresh browser page, with everything that went wrong on the way."""

    def __init__(self, browser, base_url, path, width=1280, height=900, settle=True):
        self.problems = []
        self.page = browser.new_page(viewport={"width": width, "height": height})
        self.page.on("console", lambda m: m.type == "error" and self.problems.append(f"console: {m.text}"))
        self.page.on("pageerror", lambda e: self.problems.append(f"script error: {e}"))
        self.page.on("requestfailed", lambda r: r.url.startswith(base_url) and self.problems.append(
            f"request failed: {r.url} ({r.failure})"))
        self.page.on("response", lambda r: r.status >= 400 and self.problems.append(
            f"HTTP {r.status}: {r.url}"))

        def route(route):
            if route.request.url.startswith(base_url):
                return route.continue_()
            self.problems.append(f"requested another host: {route.request.url}")
            return route.abort()

        self.page.route("**/*", route)
        self.page.goto(base_url + path, wait_until="load", timeout=TIMEOUT)
        if not settle:  # e.g. a page that redirects at once
            return
        # MathJax typesets after the page loads; wait for it where the page has it.
        self.page.evaluate("async () => { if (window.MathJax && MathJax.startup) "
                           "await MathJax.startup.promise; }")

    def close(self):
        self.page.close()


def _broken_images(page):
    page.evaluate("() => document.querySelectorAll('img[loading=lazy]')"
                  ".forEach(img => { img.loading = 'eager'; })")
    page.wait_for_function("() => [...document.images].every(img => img.complete)", timeout=TIMEOUT)
    return page.evaluate("() => [...document.images].filter(img => img.naturalWidth === 0)"
                         ".map(img => img.getAttribute('src').slice(0, 80))")


def _error_outputs(page):
    """Cell outputs that are an error, a traceback or stderr text."""
    return page.evaluate("""() => {
        const bad = [...document.querySelectorAll('.output.traceback, .output.stderr, .output.error')]
            .map(el => el.className + ': ' + el.innerText.slice(0, 200));
        for (const el of document.querySelectorAll('.cell_output')) {
            if (el.innerText.includes('Traceback (most recent call last)'))
                bad.push('output: ' + el.innerText.slice(0, 200));
        }
        return bad;
    }""")


def _sections(chapter):
    """How many level 1-2 headings the chapter's markdown has, outside code fences."""
    source = json.loads((SITE.parents[2] / "chapters" / f"{chapter}.ipynb").read_text())
    count = 0
    for cell in source["cells"]:
        fenced = False
        for line in "".join(cell["source"]).splitlines() if cell["cell_type"] == "markdown" else []:
            fenced ^= line.lstrip().startswith("```")
            count += not fenced and line.startswith(("# ", "## "))
    return count


def _screenshot(page, path):
    target = SCREENSHOTS / (path.replace("/", "__").removesuffix(".html") + ".png")
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target), full_page=True)


def test_every_page_lists(built_site):
    assert (SITE / "index.html").exists()
    for needed in ["README.html", "search.html", "chapters/GLOSSARY.html",
                   "site/teachers.html", "site/guide/index.html",
                   *[f"chapters/{c}.html" for c in CHAPTERS],
                   *[f"site/guide/{c}.html" for c in CHAPTERS]]:
        assert needed in expected_pages(), f"{needed} is missing from the site map"
    assert pages() == expected_pages(), "the site has other pages than its map promises"
    assert decks() == expected_decks()


def test_every_internal_link_resolves(built_site):
    problems = broken_links()
    assert not problems, "broken links:\n" + "\n".join(f"{p}: {u} ({why})" for p, u, why in problems)


@pytest.mark.parametrize("path", expected_pages())
def test_page_loads_cleanly(browser, base_url, path):
    visit = Visit(browser, base_url, path)
    try:
        broken = _broken_images(visit.page)
        errors = _error_outputs(visit.page)
        widgets = visit.page.evaluate(
            "() => document.querySelectorAll('.jupyter-widgets, .widget-subarea').length")
        loading = visit.page.get_by_text("Loading widget").count()
        _screenshot(visit.page, path)
    finally:
        visit.close()
    assert not visit.problems, f"{path}:\n" + "\n".join(visit.problems)
    assert not broken, f"{path}: images that did not load: {broken}"
    assert not errors, f"{path}: error outputs: {errors}"
    assert widgets == 0 and loading == 0, f"{path}: a live widget box on a static page"


@pytest.mark.parametrize("english, chinese", [
    ("chapters/02_task_fine_tuning.html", "chapters/zh/02_task_fine_tuning.html"),
    ("site/guide/06_domain_adaptation.html", "site/zh/guide/06_domain_adaptation.html"),
    ("site/teachers.html", "site/zh/teachers.html")])
def test_the_language_switch_opens_the_same_page_in_the_other_edition(browser, base_url, english, chinese):
    for here, there, name in ((english, chinese, "中文"), (chinese, english, "English")):
        visit = Visit(browser, base_url, here)
        try:
            visit.page.locator(".course-language-switch a", has_text=name).first.click()
            visit.page.wait_for_url(re.compile(re.escape(there) + "$"), timeout=TIMEOUT)
            current = visit.page.locator(".course-language-switch .course-language-current").first.inner_text()
            assert current == name, f"{there}: its switch marks {current!r} as the page's own language"
        finally:
            visit.close()
        assert not visit.problems, f"{here}:\n" + "\n".join(visit.problems)


def test_root_opens_the_home_page(browser, base_url):
    visit = Visit(browser, base_url, "index.html", settle=False)
    try:
        visit.page.wait_for_url(re.compile(r".*/README\.html$"), timeout=TIMEOUT)
        assert visit.page.locator("h1").first.inner_text().startswith("Transfer Learning, Hands-On")
    finally:
        visit.close()


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_page_launches_downloads_and_shows_outputs(browser, base_url, chapter):
    visit = Visit(browser, base_url, f"chapters/{chapter}.html")
    page = visit.page
    try:
        notebook = f"chapters/{chapter}.ipynb"
        bar = page.locator(".course-launch-bar")
        assert bar.locator(".course-launch-binder").get_attribute("href") == publishing.binder_url(notebook)
        assert bar.locator(".course-launch-colab").get_attribute("href") == publishing.colab_url(notebook)
        download = page.url.rsplit("/", 1)[0] + "/" + bar.locator(".course-download").get_attribute("href")
        with urllib.request.urlopen(download) as response:
            learner = json.loads(response.read())
        code = [c for c in learner["cells"] if c["cell_type"] == "code"]
        assert code and not any(c["outputs"] for c in code), "the download is not the learner's notebook"
        slides = bar.locator(".course-slides").get_attribute("href")
        assert slides.endswith(f"slides/{chapter}.slides.html")
        # executed: every code cell that prints or draws has its output on the page
        assert page.locator(".cell_output").count() > 0
        assert page.locator(".cell_output img").count() > 0, "no figure on the page"
        # the course's headings are there, and math was typeset where the chapter has formulas
        math = page.locator(".math").count()
        assert page.locator("mjx-container").count() >= math
        recordings = page.locator(".course-recording")
        assert recordings.count() == len(WIDGETS[chapter])
        for i, widget in enumerate(WIDGETS[chapter]):
            recording = recordings.nth(i)
            assert "Recorded when this page was built" in recording.inner_text()
            assert widget.title in recording.inner_text()
            assert recording.locator("table tbody tr").count() >= widget.rows
            assert recording.locator(f'a[href="{publishing.binder_url(notebook)}"]').count() == 1
            if widget.picture:
                assert recording.locator("img").evaluate("img => img.naturalWidth") > 0
        solutions = page.locator("details.above-input summary", has_text="Show the solution")
        assert solutions.count() == page.locator(".tag_solution").count()
    finally:
        visit.close()
    assert not visit.problems, "\n".join(visit.problems)


def test_chapter_01_typesets_its_formulas(browser, base_url):
    visit = Visit(browser, base_url, "chapters/01_feature_extraction.html")
    try:
        assert visit.page.locator(".math").count() >= 5
        assert visit.page.locator("mjx-container").count() >= visit.page.locator(".math").count()
        assert visit.page.get_by_text("$$").count() == 0, "raw TeX left on the page"
    finally:
        visit.close()


def test_search_finds_a_chapter(browser, base_url):
    visit = Visit(browser, base_url, "search.html?q=pseudo-labels")
    try:
        results = visit.page.locator("#search-results li")
        results.first.wait_for(timeout=TIMEOUT)
        links = [results.nth(i).locator("a").first.get_attribute("href") for i in range(results.count())]
        assert any("05_self_training_and_source_free" in link for link in links), links
    finally:
        visit.close()
    assert not visit.problems, "\n".join(visit.problems)


def test_guide_quotes_ranges_from_results_files(browser, base_url):
    visit = Visit(browser, base_url, "site/guide/02_task_fine_tuning.html")
    try:
        numbers = visit.page.locator("abbr.course-result")
        assert numbers.count() >= 4
        hover = numbers.first.get_attribute("title")
        assert "seeds 0, 1, 2" in hover and "fine_tuning_strategies.json" in hover
        assert visit.page.locator("table.course-results-table tbody tr").count() == 7  # the arms it lists
    finally:
        visit.close()


@pytest.mark.parametrize("deck", expected_decks())
def test_deck_loads_offline(browser, base_url, deck):
    visit = Visit(browser, base_url, deck, width=1280, height=800)
    try:
        visit.page.wait_for_function("() => window.Reveal && Reveal.isReady()", timeout=TIMEOUT)
    finally:
        visit.close()
    assert not visit.problems, f"{deck}:\n" + "\n".join(visit.problems)


def test_one_deck_slide_by_slide(browser, base_url):
    """Chapter 02's deck: a slide per section, formulas typeset, figures and the recording shown."""
    chapter = "02_task_fine_tuning"
    visit = Visit(browser, base_url, f"slides/{chapter}.slides.html", width=1280, height=800)
    page = visit.page
    try:
        page.wait_for_function("() => window.Reveal && Reveal.isReady()", timeout=TIMEOUT)
        assert page.evaluate("() => Reveal.getHorizontalSlides().length") == _sections(chapter)
        assert not page.evaluate("() => document.body.innerText.includes('# Solution')"), \
            "a solution cell is in the deck"
        assert page.locator("mjx-container").count() > 0, "no formula typeset in the deck"
        assert page.locator(".course-recording").count() == 1
        assert not _broken_images(page)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        total = page.evaluate("() => Reveal.getTotalSlides()")
        for number in range(total):
            current = page.evaluate("() => Reveal.getCurrentSlide().innerText")
            # a slide taller than the deck scrolls instead of being cut off
            assert page.evaluate("""() => { const s = Reveal.getCurrentSlide();
                return s.scrollHeight <= Reveal.getConfig().height + 1
                    || getComputedStyle(s).overflowY === 'auto'; }"""), f"slide {number} is cut off"
            if number == 0 or "Recorded when this page was built" in current:
                page.screenshot(path=str(SCREENSHOTS / f"deck-{chapter}-{number:02d}.png"))
            page.evaluate("() => Reveal.next()")
        assert page.evaluate("() => Reveal.isLastSlide()")
    finally:
        visit.close()
    assert not visit.problems, "\n".join(visit.problems)
