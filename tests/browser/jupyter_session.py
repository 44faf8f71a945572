"""The browser tests' helpers: a private JupyterLab (course_lib.tools.lab) and headless Chromium.

The server listens on 127.0.0.1 on a free port with a random token that it
reads from a private file (never from its command line), dies with the test
run whatever ends it, and serves a throw-away copy of chapters/. The browser
is the operating system's Chromium, driven by Playwright.
"""

from contextlib import contextmanager
from pathlib import Path

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
