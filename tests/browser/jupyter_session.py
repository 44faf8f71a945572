"""A real JupyterLab server and a headless Chromium, for testing the widgets as a learner meets them.

The server listens on 127.0.0.1 on a free port with a random token (never
without authentication); the browser is the operating system's Chromium,
driven by Playwright (which never downloads a browser of its own here).
Both are always shut down, and every process the server started is ended,
also when a test fails.
"""

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "tests" / "screenshots"  # git-ignored
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


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _end_processes(processes, timeout=10):
    for p in processes:
        try:
            p.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(processes, timeout=timeout)
    for p in alive:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(alive, timeout=timeout)


# No autosave (the notebooks served are copies, but still), no news pop-up over the widgets.
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": '{"autosave": false}',
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": '{"fetchNews": "false"}',
}


def _workspace(folder):
    """A throw-away copy of chapters/ and JupyterLab settings inside ``folder``."""
    shutil.copytree(ROOT / "chapters", folder / "chapters",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    for name, text in LAB_SETTINGS.items():
        path = folder / "settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


@contextmanager
def jupyter_lab(timeout=120):
    """Start JupyterLab on 127.0.0.1 over a copy of chapters/; yield ``(base_url, token)``.

    Afterwards the server, its kernels and the copy are gone.
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    folder = _workspace(Path(tempfile.mkdtemp(prefix="course-lab-")))
    port, token = _free_port(), secrets.token_hex(24)
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={folder}",
        "--LabApp.news_url=", "--ServerApp.port_retries=0", "--LabApp.extension_manager=readonly",
        # A fresh workspace (no tabs from an earlier session), and the app reachable as
        # window.jupyterapp so that tests run JupyterLab's own commands, as its menus do.
        f"--LabApp.workspaces_dir={folder / 'workspaces'}", "--LabApp.expose_app_in_browser=True",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers and CI run as root
        command.append("--allow-root")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "JUPYTER_PLATFORM_DIRS": "1",
           "JUPYTERLAB_SETTINGS_DIR": str(folder / "settings")}
    env.pop("MPLBACKEND", None)  # the kernels draw inline PNGs, as for a learner
    log = open(SCREENSHOTS / "jupyter-server.log", "w")
    server = psutil.Popen(command, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT,
                          start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    seen = [server]
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterLab did not start; see {log.name}")
                time.sleep(0.5)
        yield base, token
    finally:
        try:  # remember the kernels before they can be orphaned
            seen += server.children(recursive=True)
        except psutil.Error:
            pass
        try:
            request = urllib.request.Request(f"{base}/api/shutdown?token={token}", method="POST")
            urllib.request.urlopen(request, timeout=5)
            server.wait(timeout=15)
        except (OSError, psutil.Error, subprocess.TimeoutExpired):
            pass
        try:
            os.killpg(server.pid, signal.SIGTERM)
        except OSError:
            pass
        _end_processes([p for p in seen if p.is_running()])
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


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


def open_notebook(page, base, token, notebook, timeout=90_000):
    """Open ``notebook`` (a path under the project root) in JupyterLab and wait for its kernel."""
    page.goto(f"{base}/lab/tree/{notebook}?token={token}", timeout=timeout)
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
