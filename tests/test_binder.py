"""binder/ replayed: a fresh environment from binder/environment.yml's packages, then postBuild, then start.

repo2docker cannot run here (it needs Docker images), so this does what it
does, in its order: an environment with what repo2docker installs itself (its
conda environment for Python 3.11: JupyterLab 4, Notebook 7, jupyter_server 2,
ipywidgets 8, jupyter-resource-usage), then binder/environment.yml's pip
packages into the same environment, then binder/postBuild in a copy of the
repository whose home folder is new (as in the image), then binder/start
running the Jupyter server. The server must read the course's settings from
where postBuild put them: a new kernel restarts an idle one that holds memory.

Slow (a new environment with TensorFlow: several minutes), so it runs when
COURSE_BINDER_REPLAY=1 (.ci/run sets it).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request

import psutil
import pytest
from jupyter_client import BlockingKernelClient

from course_lib.tools.lab import ROOT, free_port
from test_kernel_policy import HOLD_400_MB, _run

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not os.environ.get("COURSE_BINDER_REPLAY"),
                                reason="set COURSE_BINDER_REPLAY=1 (CI does): builds a new environment, minutes")]

#: What repo2docker's own environment holds before the repository's (environment.py-3.11.yml).
REPO2DOCKER_PACKAGES = ["jupyterlab>=4,<5", "notebook>=7,<8", "jupyter_server>=2,<3", "ipywidgets>=8,<9",
                        "jupyter-resource-usage>=1,<2"]
LEAVE_OUT = shutil.ignore_patterns(".git", ".venv*", ".bench", "screenshots", "__pycache__", "*.egg-info")


def _environment_yml():
    """(python "3.11", [pip requirement lines]) of binder/environment.yml."""
    text = (ROOT / "binder" / "environment.yml").read_text()
    python = re.search(r"-\s*python=(\d+\.\d+)", text).group(1)
    pip = text.split("- pip:", 1)[1]
    return python, re.findall(r"^\s+-\s+(\S+)\s*$", pip, flags=re.M)


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    """The replayed image: {"env": environment folder, "repo": repository copy, "home": home folder}."""
    python_version, packages = _environment_yml()
    python = shutil.which(f"python{python_version}")
    if python is None:
        pytest.fail(f"binder/environment.yml asks for Python {python_version}; python{python_version} is not here")
    base = tmp_path_factory.mktemp("binder")
    home, env = base / "home", base / "env"
    repo = home / "repo"
    shutil.copytree(ROOT, repo, ignore=LEAVE_OUT)
    subprocess.run([python, "-m", "venv", str(env)], check=True)
    pip = [str(env / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run(pip + REPO2DOCKER_PACKAGES, check=True)
    subprocess.run(pip + packages, check=True)
    environ = {key: value for key, value in os.environ.items()
               if key not in ("PYTHONPATH", "COURSE_CACHE_DIR", "VIRTUAL_ENV", "TF_CPP_MIN_LOG_LEVEL")
               and not key.startswith("JUPYTER")}
    environ.update(HOME=str(home), PATH=f"{env / 'bin'}{os.pathsep}{environ['PATH']}")
    built = subprocess.run(["bash", "binder/postBuild"], cwd=repo, env=environ, capture_output=True, text=True)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    return {"env": env, "repo": repo, "home": home, "environ": environ, "log": built.stdout}


def test_postbuild_installs_the_course_its_settings_and_fills_the_cache(image):
    config = image["env"] / "etc" / "jupyter" / "jupyter_server_config.py"
    assert f"Jupyter server settings: {config}" in image["log"]
    assert config.read_text().count("RestartIdleKernelsManager") == 1
    cache = image["env"] / "share" / "transfer-learning-course" / "cache"  # not in home: see postBuild
    assert f"cache folder: {cache}" in image["log"]
    assert any(cache.glob("cnn_mnist_*.keras"))  # the source models (core.pretrained.Recipe.name)


def test_start_runs_a_server_that_uses_the_kernel_policy(image, tmp_path):
    env, environ = image["env"], dict(image["environ"])
    token_file = tmp_path / "token"
    token_file.touch(mode=0o600)
    token_file.write_text("replay-" + os.urandom(8).hex())
    environ.update(JUPYTER_TOKEN_FILE=str(token_file), JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    port = free_port()
    command = [sys.executable, "-m", "course_lib.tools.tether", "bash", "binder/start",
               str(env / "bin" / "python"), "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
               f"--port={port}", "--ServerApp.port_retries=0"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = open(tmp_path / "server.log", "w")
    tether = psutil.Popen(command, cwd=image["repo"], env=environ, stdin=subprocess.PIPE, stdout=log,
                          stderr=subprocess.STDOUT)
    headers = {"Authorization": f"token {token_file.read_text()}", "Content-Type": "application/json"}

    def api(path, method="GET"):
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/{path}", method=method, headers=headers,
                                         data=b"{}" if method == "POST" else None)
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read() or b"null")

    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                api("status")
                break
            except (OSError, urllib.error.URLError):
                assert tether.poll() is None and time.monotonic() < deadline, (tmp_path / "server.log").read_text()
                time.sleep(0.5)
        first = api("kernels", "POST")["id"]
        client = BlockingKernelClient(connection_file=str(tmp_path / "runtime" / f"kernel-{first}.json"))
        client.load_connection_file()
        client.start_channels(hb=False)
        client.wait_for_ready(timeout=60)
        assert _run(client, HOLD_400_MB)[0] == "ok"
        kernel = next(p for p in psutil.Process(tether.pid).children(recursive=True)
                      if any(first in part for part in p.cmdline()))
        assert kernel.cmdline()[0].startswith(str(env)), "the kernel must run in the replayed environment"
        assert kernel.environ().get("TF_CPP_MIN_LOG_LEVEL") == "3", "binder/start's setting must reach kernels"
        time.sleep(1)
        api("kernels", "POST")  # a second notebook opens
        assert not kernel.is_running(), "the idle kernel holding 400 MB was not restarted"
        assert "Restarting idle kernel " + first in (tmp_path / "server.log").read_text()
        client.stop_channels()
    finally:
        tether.terminate()
        tether.wait(timeout=30)
        log.close()
