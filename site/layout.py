"""Where the site's sources and build products live (everything built is under site/_build/)."""

from pathlib import Path

from course_lib.syllabus import CHAPTERS as DECLARED, EDITIONS

SITE = Path(__file__).resolve().parent
ROOT = SITE.parent
BUILD = SITE / "_build"                 # git-ignored
HTML = BUILD / "html"                   # the website; publish this folder
SLIDES = HTML / "slides"                # the decks, part of the website
EXECUTION_CACHE = BUILD / "jupyter_cache"
# One file per chapter, rewritten each time the chapter is executed: its page depends on it, so
# Sphinx reads the page again when the outputs changed although the notebook did not.
EXECUTION_STAMPS = BUILD / "executed"
DOCTREES = BUILD / "doctrees"
# The chapters' notebooks, in order, English first, then each translation.
CHAPTERS = [ROOT / chapter.notebook_in(language) for language in EDITIONS for chapter in DECLARED]


def chapter_key(path):
    """A chapter notebook's path below ``chapters/``, without ``.ipynb``: ``zh/02_task_fine_tuning``.
    Its execution stamp, its deck and the walk's execution of it are named by it."""
    path = Path(path).resolve().relative_to(ROOT) if Path(path).is_absolute() else Path(path)
    return path.relative_to("chapters").with_suffix("").as_posix()
# Results files the instructor's guide quotes: the experiment registry's committed ones first,
# else the ones site/build.py generates for this build.
RESULTS_DIRS = [ROOT / "course_lib" / "results", BUILD / "results"]
RESULTS_SEEDS = (0, 1, 2)
