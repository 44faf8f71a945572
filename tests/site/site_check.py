"""Helpers for the built site's checks: serve it on 127.0.0.1, list its pages, check its links.

The link check needs no browser: it reads every page's HTML and checks that every local link,
image, style sheet and script resolves to a file of the site, and that every ``#fragment`` names
an element of the page it points to. Links to other sites are left alone (they are not the site's
to keep), but a page that *loads* something from another host fails: the site works offline.
"""

import functools
import http.server
import threading
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "site" / "_build" / "html"
SLIDES = SITE / "slides"
SCREENSHOTS = ROOT / "tests" / "screenshots" / "site"  # git-ignored
NOT_BUILT = f"the site is not built ({SITE} is missing): run `python3 make.py site` first"


def pages():
    """Every HTML page of the site, as paths relative to the site; not the slide decks, nor the
    root ``index.html``, which only redirects to the home page."""
    return sorted(p.relative_to(SITE).as_posix() for p in SITE.rglob("*.html")
                  if p.relative_to(SITE).parts[0] not in ("_static", "_sources", "slides")
                  and p != SITE / "index.html")


def decks():
    return sorted(p.relative_to(SITE).as_posix() for p in SLIDES.rglob("*.slides.html"))


def expected_pages():
    """The pages the site map (``site/_toc.yml``) promises, with Sphinx's search and index pages:
    known before the site is built, so that the tests can be listed then."""
    import yaml

    toc = yaml.safe_load((ROOT / "site" / "_toc.yml").read_text())
    files = [toc["root"]]
    entries = [entry for part in toc["parts"] for entry in part["chapters"]]
    while entries:
        entry = entries.pop(0)
        files.append(entry["file"])
        entries[:0] = entry.get("sections", [])
    return sorted({f"{name}.html" for name in files} | {"search.html", "genindex.html"})


def expected_decks():
    """One deck per chapter notebook, a translation's in its edition's folder (``slides/zh/...``)."""
    from course_lib.syllabus import CHAPTERS, EDITIONS

    return sorted(f"slides/{c.notebook_in(language).removeprefix('chapters/').removesuffix('.ipynb')}.slides.html"
                  for language in EDITIONS for c in CHAPTERS)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextmanager
def serve(folder=SITE):
    """Serve ``folder`` over HTTP on 127.0.0.1 (a free port); yield the base URL."""
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class _Links(HTMLParser):
    """Collects ids and the URLs a page links (``a``) or loads (``img``, ``script``, styles, ...)."""

    LOADS = {"img": "src", "script": "src", "iframe": "src", "source": "src", "video": "src",
             "audio": "src"}
    LOADING_RELS = {"stylesheet", "icon", "preload", "modulepreload", "prefetch", "manifest"}

    def __init__(self):
        super().__init__()
        self.ids, self.links, self.loads = set(), [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key):
                self.ids.add(attrs[key])
        if tag in ("a", "area") and attrs.get("href"):
            self.links.append(attrs["href"])
        elif tag == "link" and attrs.get("href"):
            loads = self.LOADING_RELS & set((attrs.get("rel") or "").split())
            (self.loads if loads else self.links).append(attrs["href"])
        elif tag in self.LOADS and attrs.get(self.LOADS[tag]):
            self.loads.append(attrs[self.LOADS[tag]])


@functools.lru_cache(maxsize=None)
def _parse(path):
    parser = _Links()
    parser.feed(Path(path).read_text(encoding="utf-8", errors="replace"))
    return parser


def broken_links(folder=SITE):
    """``[(page, url, why)]`` for every local link or load that does not resolve."""
    problems = []
    for page in sorted(folder.rglob("*.html")):
        if page.relative_to(folder).parts[0] in ("_static",):
            continue
        parsed = _parse(page)
        for url, loaded in [(u, False) for u in parsed.links] + [(u, True) for u in parsed.loads]:
            parts = urlsplit(url)
            if parts.scheme in ("data", "mailto", "javascript"):
                continue
            where = page.relative_to(folder).as_posix()
            if parts.scheme or parts.netloc:
                if loaded:
                    problems.append((where, url, "loaded from another host: the site must work offline"))
                continue
            target = page if not parts.path else (page.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if folder.resolve() not in target.resolve().parents and target.resolve() != folder.resolve():
                problems.append((where, url, "points outside the site"))
            elif not target.exists():
                problems.append((where, url, "no such file"))
            elif parts.fragment and target.suffix == ".html" and \
                    not {parts.fragment, unquote(parts.fragment)} & _parse(target).ids:
                problems.append((where, url, f"no element with id {parts.fragment!r} there"))
    return problems
