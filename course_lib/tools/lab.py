"""A private Jupyter server (JupyterLab or Notebook 7) for tests, the walk and the benchmark.

- It listens on 127.0.0.1 on a free port and requires a random token. The
  token reaches the server through a file that only this user can read
  (``JUPYTER_TOKEN_FILE``), never the command line, which every local user
  can read with ``ps``.
- It dies with the process that started it, however that process ends
  (``course_lib.tools.tether``), and takes its kernels with it.
- ``cpus=1`` pins the server to one CPU, as Binder gives; its kernels inherit it.
- It serves a throw-away copy of ``chapters/`` with a fresh JupyterLab
  workspace, no autosave and no news pop-up.
"""

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from course_lib.core.resources import session_memory
from course_lib.tools.tether import end_tree

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = ROOT / "chapters"
BINDER_CONFIG = ROOT / "binder" / "jupyter_server_config.py"
POLICY_CLASS = "course_lib.tools.kernel_policy.RestartIdleKernelsManager"
# No autosave (the notebooks served are copies, but still), no news pop-up over the widgets.
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": '{"autosave": false}',
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": '{"fetchNews": "false"}',
}


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_workspace(folder):
    """Copy chapters/ and the JupyterLab settings into ``folder``; return it."""
    folder = Path(folder)
    shutil.copytree(CHAPTERS, folder / "chapters", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    for name, text in LAB_SETTINGS.items():
        path = folder / "settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


@dataclass
class Server:
    """A running server: where it listens, its token, its process id, its log and folder."""

    base: str
    token: str
    pid: int
    folder: Path
    log_path: Path
    tether: psutil.Popen = field(repr=False)

    def url(self, path):
        """``base/path?token=...`` for a browser."""
        sep = "&" if "?" in path else "?"
        return f"{self.base}/{path.lstrip('/')}{sep}token={self.token}"

    def api(self, path, method="GET", body=None, timeout=30):
        """Call the server's REST API; return the decoded JSON answer (None if empty)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.base}/api/{path.lstrip('/')}", data=data, method=method,
                                         headers={"Authorization": f"token {self.token}",
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            text = answer.read()
        return json.loads(text) if text else None

    def memory(self):
        """Summed memory of the server and its kernels (``resources.session_memory``)."""
        return session_memory(self.pid)

    def log(self):
        """The server's log so far."""
        return self.log_path.read_text(errors="replace")


def _one_cpu():
    """The first CPU this process may run on, as a set for ``os.sched_setaffinity``."""
    return {min(os.sched_getaffinity(0))}


@contextmanager
def jupyter_server(app="lab", cpus=None, policy=False, extra_args=(), log_path=None, timeout=120, env=None):
    """Start ``jupyter <app>`` over a copy of chapters/; yield a :class:`Server`; end it afterwards.

    Args:
        app: ``"lab"`` (JupyterLab) or ``"notebook"`` (Notebook 7).
        cpus: None (as this process) or 1 (pinned to one CPU, like Binder; Linux only).
        policy: load ``binder/jupyter_server_config.py``, Binder's configuration,
            whose kernel manager restarts idle kernels when a new one starts.
        extra_args: more command-line options for the server.
        log_path: where the server's output goes (default: in its temporary folder).
        timeout: seconds to wait for the server to answer.
        env: more environment variables for the server and its kernels, or None.
    """
    if app not in ("lab", "notebook"):
        raise ValueError(f"app must be 'lab' or 'notebook', got {app!r}")
    if cpus not in (None, 1):
        raise ValueError(f"cpus must be None or 1, got {cpus!r}")
    folder = make_workspace(tempfile.mkdtemp(prefix="course-lab-"))
    token_file = folder / "token"
    token = secrets.token_hex(24)
    token_file.touch(mode=0o600)
    token_file.write_text(token)
    port = free_port()
    command = [
        sys.executable, "-m", "course_lib.tools.tether",
        sys.executable, "-m", "jupyter", app, "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        f"--ServerApp.root_dir={folder}", "--ServerApp.port_retries=0",
        # A fresh workspace (no tabs from an earlier session), and the app reachable as
        # window.jupyterapp so that tests run JupyterLab's own commands, as its menus do.
        f"--LabApp.workspaces_dir={folder / 'workspaces'}", "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=", "--LabApp.extension_manager=readonly",
    ]
    if app == "notebook":
        command.append("--JupyterNotebookApp.expose_app_in_browser=True")
    if policy:
        command.append(f"--config={BINDER_CONFIG}")
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers and CI run as root
        command.append("--allow-root")
    command += list(extra_args)
    env = {**os.environ, **(env or {}), "TF_CPP_MIN_LOG_LEVEL": "3", "JUPYTER_PLATFORM_DIRS": "1",
           "JUPYTER_TOKEN_FILE": str(token_file),
           "JUPYTER_RUNTIME_DIR": str(folder / "runtime"), "JUPYTERLAB_SETTINGS_DIR": str(folder / "settings")}
    env.pop("JUPYTER_TOKEN", None)
    env.pop("MPLBACKEND", None)  # the kernels draw inline PNGs, as for a learner
    log_path = Path(log_path or folder / "server.log")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "w")
    affinity = _one_cpu() if cpus == 1 else None
    tether = psutil.Popen(command, cwd=folder, env=env, stdin=subprocess.PIPE, stdout=log,
                          stderr=subprocess.STDOUT, start_new_session=True,
                          preexec_fn=(lambda: os.sched_setaffinity(0, affinity)) if affinity else None)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                request = urllib.request.Request(f"{base}/api/status",
                                                 headers={"Authorization": f"token {token}"})
                with urllib.request.urlopen(request, timeout=2):
                    break
            except (OSError, urllib.error.URLError):
                if tether.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"jupyter {app} did not start; see {log_path}:\n"
                                       + log_path.read_text(errors="replace")[-3000:])
                time.sleep(0.5)
        server_pid = tether.children()[0].pid
        yield Server(base, token, server_pid, folder, log_path, tether)
    finally:
        try:
            Server(base, token, 0, folder, log_path, tether).api("shutdown", method="POST", timeout=5)
            tether.wait(timeout=20)
        except (OSError, urllib.error.URLError, psutil.TimeoutExpired):
            pass
        end_tree(tether)
        tether.stdin.close()
        log.close()
        shutil.rmtree(folder, ignore_errors=True)
