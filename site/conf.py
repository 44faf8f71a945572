"""Sphinx configuration of the course's website.

Build it with ``python3 make.py site`` (see ``site/build.py``), which first executes the
chapters into the execution cache below, writes the results files the instructor's guide
quotes, and builds the slide decks. The source folder is the repository itself, so that every
page has the path of its file in the repository (``chapters/00_welcome.ipynb``), and launch and
download links point at the very notebook a learner would open.
"""

import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent / "_ext")]

from course_lib import publishing  # noqa: E402
from course_lib.syllabus import EDITIONS  # noqa: E402
from layout import EXECUTION_CACHE, EXECUTION_STAMPS, RESULTS_DIRS, SITE  # noqa: E402

project = "Transfer Learning, Hands-On"
author = "the course's authors"
copyright = "the course's authors, MIT License"

extensions = [
    "myst_nb",
    "sphinx_external_toc",
    "sphinx.ext.mathjax",
    "sphinx.ext.githubpages",  # .nojekyll: the _static folders are served as they are
    "sphinx-mathjax-offline",  # MathJax 3 from the package, copied into _static: no CDN
    "course_pages",
    "course_results",
]

# What is a page: the site map lists them; everything else in the repository is left alone.
external_toc_path = str(SITE / "_toc.yml")
include_patterns = ["README.md", "chapters/*.ipynb", "chapters/GLOSSARY.md", "site/*.md",
                    "site/guide/*.md", *[pattern for folder in EDITIONS.values() if folder
                                         for pattern in (f"chapters/{folder}*.ipynb", f"site/{folder}*.md",
                                                         f"site/{folder}guide/*.md")]]
exclude_patterns = [".git", ".venv", "site/_build", "**/.ipynb_checkpoints", "tests", "course_lib",
                    "binder"]

# MyST: $math$, GitHub-style heading anchors (the README links to its own sections).
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3

# Notebooks: outputs come from the execution cache that site/build.py fills (one execution per
# chapter, shared with the slide decks); a chapter missing from it is executed here, and an
# error in any cell stops the build.
nb_execution_mode = "cache"
nb_execution_cache_path = str(EXECUTION_CACHE)
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True
nb_output_stderr = "warn"  # a warning is a build error (-W): nothing on stderr reaches a page
nb_ipywidgets_js = {}  # no widget JavaScript from a CDN: pages show recorded sessions instead

html_theme = "sphinx_book_theme"
html_title = project
html_static_path = ["_static"]
html_css_files = ["course.css"]
templates_path = ["_templates"]
html_additional_pages = {"index": "redirect.html"}  # the root URL opens the course's home page
html_last_updated_fmt = None
html_theme_options = {
    "repository_url": f"https://github.com/{publishing.REPOSITORY}",
    "repository_branch": publishing.BRANCH,
    "path_to_docs": "",
    "use_repository_button": True,
    "use_download_button": True,
    # Launch links: the bar under each chapter's title (site/_ext/course_pages.py), from
    # course_lib.publishing, rather than the theme's launch menu.
    "show_toc_level": 2,
}
html_context = {"default_mode": "light"}  # without it the theme's script logs a console error

# The guide quotes ranges from the experiment registry's results files: the committed ones
# first, else those site/build.py generated for this build.
course_results_dirs = [str(folder) for folder in RESULTS_DIRS]
course_slides_dir = "slides"  # decks, relative to the site's root (site/build.py writes them)
course_execution_stamps = str(EXECUTION_STAMPS)  # see site/layout.py
