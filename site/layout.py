"""Where the site's sources and build products live (everything built is under site/_build/)."""

from pathlib import Path

from course_lib.syllabus import CHAPTERS as DECLARED

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
CHAPTERS = [ROOT / chapter.notebook for chapter in DECLARED]  # the chapters' notebooks, in order
# Results files the instructor's guide quotes: the experiment registry's committed ones first,
# else the ones site/build.py generates for this build.
RESULTS_DIRS = [ROOT / "course_lib" / "results", BUILD / "results"]
RESULTS_SEEDS = (0, 1, 2)
