"""The browser tests' helpers: a private JupyterLab (course_lib.tools.lab) and headless Chromium.

The server listens on 127.0.0.1 on a free port with a random token that it
reads from a private file (never from its command line), dies with the test
run whatever ends it, and serves a throw-away copy of chapters/. The browser
is the operating system's Chromium, driven by Playwright.

The chapters themselves run once per test run, in the learner's walk (tests/executed.py).
What needs a widget clicked in a real browser uses the smallest notebook that shows the
course's widgets: :data:`WIDGETS_NOTEBOOK`, the chapters' widget factories on tiny random data.
"""

from contextlib import contextmanager
from pathlib import Path

import nbformat

from course_lib.tools.browser import CHROMIUM_HELP, chromium_page, find_chromium  # noqa: F401
from course_lib.tools.lab import jupyter_server

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "tests" / "screenshots"  # git-ignored


@contextmanager
def jupyter_lab(app="lab", **options):
    """A private JupyterLab (or Notebook 7 with ``app="notebook"``); its log in tests/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with jupyter_server(app=app, log_path=SCREENSHOTS / f"jupyter-{app}-server.log", **options) as server:
        yield server


def open_notebook(page, server, notebook, timeout=90_000):
    """Open ``notebook`` (a path under the project root) in JupyterLab and wait for its kernel."""
    page.goto(server.url(f"lab/tree/{notebook}"), timeout=timeout)
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget", timeout=timeout)
    page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=timeout)
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for(
        state="attached", timeout=timeout)


def run_through_cell(page, containing):
    """Run every cell above the first cell whose code contains ``containing``, then that cell.

    Selects the cell with a click, then runs the commands behind the Run menu's
    "Run All Above Selected Cell" and "Run Selected Cell".
    """
    cell = page.locator(".jp-CodeCell", has=page.locator(".jp-InputArea", has_text=containing)).first
    cell.scroll_into_view_if_needed()
    cell.locator(".jp-InputPrompt").click()
    page.wait_for_function(
        "(text) => window.jupyterapp.shell.currentWidget.content.activeCell"
        ".model.sharedModel.getSource().includes(text)", arg=containing, timeout=10_000)
    page.evaluate("async () => { await window.jupyterapp.commands.execute('notebook:run-all-above');"
                  " await window.jupyterapp.commands.execute('notebook:run-cell'); }")
    return cell


WIDGETS_NOTEBOOK = "widgets.ipynb"
WIDGET_CELLS = [
    """import numpy as np

import course_lib

course_lib.setup()
rng = np.random.default_rng(0)
x, y = rng.random((64, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, size=64)""",
    """from course_lib.chapters.ch02_task_fine_tuning.widget import layer_freezing_demo
from course_lib.core.cnn import build_cnn

layer_freezing_demo(build_cnn(filters=(4, 8), units=16), (x[:48], y[:48]), (x[48:], y[48:]), epochs=1)""",
    """from course_lib.chapters.ch05_self_training_and_source_free.widget import confidence_threshold_widget

confidence_threshold_widget(rng.dirichlet(np.ones(10) * 0.3, size=300), rng.integers(0, 10, size=300))""",
]


def write_widgets_notebook(server):
    """Put :data:`WIDGETS_NOTEBOOK` into the server's folder; return its path there."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in WIDGET_CELLS])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                       "language": "python"}
    nbformat.write(notebook, Path(server.folder) / WIDGETS_NOTEBOOK)
    return WIDGETS_NOTEBOOK
