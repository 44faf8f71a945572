"""Headless system Chromium driven by Playwright, and JupyterLab's own commands run in it.

Playwright never downloads a browser here: it drives the operating system's
Chromium (``apt-get install chromium``), or ``COURSE_CHROMIUM``.
"""

import os
import shutil
from contextlib import contextmanager
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
CHROMIUM_HELP = (
    "Chromium was not found. Install the operating system's Chromium "
    "(Debian/Ubuntu: `sudo apt-get install chromium`; macOS: `brew install --cask chromium`) "
    "or point COURSE_CHROMIUM at a Chromium or Chrome executable. .ci/run installs it in CI."
)
# Without these, Chromium tries to reach Google's services, which a closed network refuses.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def find_chromium():
    """Path of a Chromium executable, or None."""
    configured = os.environ.get("COURSE_CHROMIUM")
    if configured:
        return configured if Path(configured).exists() else None
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


@contextmanager
def chromium_page(width=1400, height=1000):
    """A Playwright page in headless system Chromium; closed afterwards."""
    from playwright.sync_api import sync_playwright

    path = find_chromium()
    if path is None:
        raise RuntimeError(CHROMIUM_HELP)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            yield page
        finally:
            browser.close()


def wait_for_notebook(page, path, timeout=120_000):
    """Wait until JupyterLab's current tab is notebook ``path`` with its kernel idle."""
    page.wait_for_function(
        """(path) => {
            const app = window.jupyterapp;
            const panel = app && app.shell.currentWidget;
            if (!panel || !panel.context || panel.context.path !== path) return false;
            const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
            return !!kernel && kernel.status === 'idle' && panel.content.widgets.length > 0;
        }""", arg=path, timeout=timeout)


def open_in_lab(page, server, path, timeout=120_000):
    """Open notebook ``path`` (relative to the served folder) in a new JupyterLab tab, as the
    file browser does; the first call loads JupyterLab itself. Returns when its kernel is idle."""
    if not (page.url.startswith(server.base) and page.evaluate("() => !!window.jupyterapp")):
        page.goto(server.url(f"lab/tree/{path}"), timeout=timeout)
        page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget",
                               timeout=timeout)
    else:
        page.evaluate("async (path) => { await window.jupyterapp.commands.execute('docmanager:open', {path}); }", path)
    wait_for_notebook(page, path, timeout)


def run_all(page):
    """Run JupyterLab's "Run All Cells" on the current notebook and wait until every cell has run."""
    page.evaluate("async () => { await window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    wait_until_run(page)


def wait_until_run(page, timeout=600_000):
    """Wait until no cell of the current notebook is running or queued, and its kernel is idle.

    Read from the cells' models (a cell whose source is hidden shows no "[*]"), and
    checked twice a second apart: between two queued cells the kernel can look idle.
    """
    page.evaluate("() => { window.__courseIdleSince = null; }")
    page.wait_for_function(
        """() => {
            const panel = window.jupyterapp.shell.currentWidget;
            const running = panel.content.widgets.some(
                c => c.model.type === 'code' && c.model.executionState === 'running');
            const done = !running && panel.sessionContext.session.kernel.status === 'idle';
            const now = Date.now();
            if (!done) { window.__courseIdleSince = null; return false; }
            window.__courseIdleSince = window.__courseIdleSince || now;
            return now - window.__courseIdleSince >= 1000;
        }""", timeout=timeout, polling=250)


def notebook_problems(page):
    """Error outputs and code cells left unrun in the current notebook, read from its model.

    Returns:
        a list of strings, one a problem (empty when every code cell ran without an error).
    """
    return page.evaluate(
        """() => {
            const panel = window.jupyterapp.shell.currentWidget;
            const problems = [];
            panel.content.widgets.forEach((cell, i) => {
                const model = cell.model;
                if (model.type !== 'code') return;
                if (model.executionCount === null) problems.push(`cell ${i}: did not run`);
                for (const output of model.outputs.toJSON()) {
                    if (output.output_type === 'error')
                        problems.push(`cell ${i}: ${output.ename}: ${output.evalue}`);
                }
            });
            const text = panel.content.node.innerText;
            for (const bad of ['Error displaying widget', 'Failed to load model class'])
                if (text.includes(bad)) problems.push(bad);
            return problems;
        }""")
