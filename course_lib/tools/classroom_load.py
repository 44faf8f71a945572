"""``python -m course_lib.tools.classroom_load --learners N``: a class on a real JupyterHub, measured.

What a class does, with N simulated learners on this machine:

1. a real JupyterHub (``jupyterhub``, its proxy ``configurable-http-proxy`` from npm)
   with a shared class password (``SharedPasswordAuthenticator``) and every learner's
   server a local process (``SimpleLocalProcessSpawner``) with the course's kernel policy;
2. each learner logs in through the Hub's REST API (a token for their password) and
   through its login page, starts their server, clicks the teacher's nbgitpuller link
   (``course_lib.tools.classroom.classroom_link``, pointing at a clone of this
   repository) and gets the course into their own home;
3. every learner runs the chapter at once: learner1 in JupyterLab in headless Chromium
   (the link clicked, the login form filled, Run All Cells), the others through the
   Jupyter server API (a kernel, each code cell executed in order, as Run All does);
4. each learner opens the next chapter (the kernel policy must restart the finished
   chapter's idle kernel), adds a note to the notebook and saves it; every server is stopped and
   started again; each learner clicks the link again; every note must still be there;
5. what is isolated: another learner's token must not open a learner's server (the Hub
   promises that); one learner's kernel reading another's files is reported (the local
   spawner runs everyone as the same operating-system user and promises nothing there).

Writes ``.bench/classroom.json`` (``--json``; ``--save``: also ``course_lib/results/classroom.json``,
which the instructor's guide quotes): per learner the memory of
the server and its kernels (summed RSS, decimal MB as in the walk) at the peak of the run
and at rest after it, the seconds to the first output, failures and edits lost; the Hub's
and the proxy's own memory. Exits non-zero on a failure or a lost edit.
"""

import argparse
import asyncio
import concurrent.futures
import contextlib
import datetime
import importlib.metadata
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

import psutil
import requests
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from course_lib.core.resources import MB, session_memory
from course_lib.tools import browser, classroom
from course_lib.tools.lab import BINDER_CONFIG, CHAPTERS, LAB_SETTINGS, ROOT, free_port
from course_lib.tools.tether import end_tree

PROXY_PACKAGE = "configurable-http-proxy@5.3.0"
PROXY_PREFIX = ROOT / "classroom" / ".proxy"
PROXY = PROXY_PREFIX / "node_modules" / ".bin" / "configurable-http-proxy"
DEFAULT_JSON = ROOT / ".bench" / "classroom.json"
#: Kept free for the Hub, its proxy and the system when checking that N learners fit (MB).
HUB_RESERVE_MB = 1000
CELL_TIMEOUT_SECONDS = 300
#: With the kernel policy, opening the next chapter leaves at most this share of the memory held after a chapter.
POLICY_KEEPS = 0.6
OUTPUT_TYPES = {"stream", "display_data", "execute_result", "error"}


def ensure_proxy():
    """The proxy's path; installed from npm into ``classroom/.proxy`` first if missing."""
    if PROXY.exists():
        return PROXY
    npm = shutil.which("npm")
    if npm is None:
        sys.exit(f"JupyterHub's proxy (configurable-http-proxy) is not in {PROXY_PREFIX} and npm is not "
                 "installed to get it; install Node.js with npm, then run this again")
    print(f"installing {PROXY_PACKAGE} into {PROXY_PREFIX.relative_to(ROOT)} (npm)", flush=True)
    done = subprocess.run([npm, "install", "--prefix", str(PROXY_PREFIX), "--no-audit", "--no-fund",
                           PROXY_PACKAGE], capture_output=True, text=True)
    if done.returncode != 0 or not PROXY.exists():
        sys.exit(f"npm could not install {PROXY_PACKAGE} into {PROXY_PREFIX}: "
                 + (done.stderr.strip().splitlines() or ["no message"])[-1][:200])
    return PROXY


def memory_problem(learners, chapter, available_mb):
    """Why ``learners`` running ``chapter`` do not fit in ``available_mb``, or None."""
    walk = classroom.load("benchmark")
    per_learner = walk["walk"]["server_start"]["rss_mb"] + walk["chapters"][chapter]["peak_mb"]
    need = learners * per_learner + HUB_RESERVE_MB
    if need <= available_mb:
        return None
    most = max(0, int((available_mb - HUB_RESERVE_MB) // per_learner))
    return (f"{learners} learners running {chapter} need about {need:,.0f} MB ({per_learner:,} MB each, measured "
            f"by the walk, plus {HUB_RESERVE_MB:,} MB for the Hub); this machine has {available_mb:,.0f} MB "
            f"available: use --learners {most} or fewer")


def hub_config(folder, port, proxy, password, admin_token, course_cache):
    """The Hub's ``jupyterhub_config.py`` text (and JupyterLab's settings for the servers, in ``folder``)."""
    singleuser = Path(sys.executable).parent / "jupyterhub-singleuser"
    # The course's kernel policy; JupyterLab reachable as window.jupyterapp for the Chromium learner.
    args = [f"--config={BINDER_CONFIG}", "--LabApp.expose_app_in_browser=True", "--LabApp.news_url="]
    args += ["--allow-root"] if os.geteuid() == 0 else []
    for name, text in LAB_SETTINGS.items():  # no autosave, no news pop-up, as the walk has it
        (folder / "settings" / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / "settings" / name).write_text(text)
    environment = {"PYTHONPATH": str(ROOT), "COURSE_CACHE_DIR": str(course_cache), "TF_CPP_MIN_LOG_LEVEL": "3",
                   "JUPYTER_PLATFORM_DIRS": "1", "JUPYTERLAB_SETTINGS_DIR": str(folder / "settings")}
    settings = {
        "JupyterHub.ip": "127.0.0.1", "JupyterHub.port": port, "JupyterHub.hub_port": free_port(),
        "ConfigurableHTTPProxy.api_url": f"http://127.0.0.1:{free_port()}",
        "ConfigurableHTTPProxy.command": [str(proxy)],
        "ConfigurableHTTPProxy.pid_file": str(folder / "proxy.pid"),
        "JupyterHub.db_url": f"sqlite:///{folder / 'jupyterhub.sqlite'}",
        "JupyterHub.cookie_secret_file": str(folder / "cookie_secret"),
        "JupyterHub.authenticator_class": "jupyterhub.authenticators.shared.SharedPasswordAuthenticator",
        "SharedPasswordAuthenticator.user_password": password,
        "Authenticator.allow_all": True,
        "JupyterHub.spawner_class": "jupyterhub.spawner.SimpleLocalProcessSpawner",
        "SimpleLocalProcessSpawner.home_dir_template": str(folder / "home" / "{username}"),
        "Spawner.cmd": [str(singleuser)], "Spawner.args": args, "Spawner.default_url": "/lab",
        "Spawner.environment": environment, "Spawner.start_timeout": 180, "Spawner.http_timeout": 180,
        "JupyterHub.services": [{"name": "teacher", "api_token": admin_token}],
        "JupyterHub.load_roles": [{"name": "teacher", "scopes": ["admin:users", "admin:servers"],
                                   "services": ["teacher"]}],
    }
    return "".join(f"c.{key} = {value!r}\n" for key, value in settings.items())


class Hub:
    """A running JupyterHub: its address, its process and its proxy's."""

    def __init__(self, base, tether, log):
        self.base, self.tether, self.log = base, tether, log

    def api(self, method, path, token, **kwargs):
        """Call the Hub (``/hub/api/...``) or a learner's server (``/user/NAME/api/...``) with ``token``."""
        return requests.request(method, f"{self.base}{path}", timeout=60,
                                headers={"Authorization": f"token {token}"}, **kwargs)

    def process(self):
        return self.tether.children()[0]

    def server_pid(self, name):
        """The process id of ``name``'s single-user server (a child of the Hub), or None."""
        for child in self.process().children():
            try:
                if child.environ().get("JUPYTERHUB_USER") == name:
                    return child.pid
            except psutil.Error:
                continue
        return None

    def own_memory_mb(self):
        """``(hub, proxy)`` resident memory in MB (the servers not counted)."""
        hub = self.process()
        proxy = 0
        for child in hub.children():
            try:
                if "configurable-http-proxy" in " ".join(child.cmdline()):
                    proxy += child.memory_info().rss
            except psutil.Error:  # a server that just ended
                continue
        return hub.memory_info().rss / MB, proxy / MB


def start_hub(folder, port, config_text, timeout=60):
    """Start JupyterHub listening on ``port`` with ``config_text``, in ``folder``, under a tether."""
    config = folder / "jupyterhub_config.py"
    config.write_text(config_text)
    config.chmod(0o600)
    log_path = folder / "hub.log"
    log = open(log_path, "w")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    tether = psutil.Popen([sys.executable, "-m", "course_lib.tools.tether", sys.executable, "-m", "jupyterhub",
                           "-f", str(config)], cwd=folder, env=env, stdin=subprocess.PIPE, stdout=log,
                          stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(f"{base}/hub/api/", timeout=2).ok:
                return Hub(base, tether, log)
        except requests.RequestException:
            pass
        if tether.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"JupyterHub did not start; see {log_path}:\n" + log_path.read_text()[-2000:])
        time.sleep(0.5)


class Learner:
    """One simulated learner: their name, Hub token, web session and measurements."""

    def __init__(self, hub, name, password):
        self.hub, self.name, self.password = hub, name, password
        self.web = requests.Session()  # a browser without JavaScript: cookies, redirects
        self.token = None
        self.results = {"name": name}
        self.note = f"Note by {name}: {secrets.token_hex(6)}"

    def api(self, method, path, **kwargs):
        """``Hub.api`` with the learner's token."""
        return self.hub.api(method, path, self.token, **kwargs)

    def log_in(self):
        """A token through the Hub's REST API, and a cookie through its login page (as a browser)."""
        answer = self.hub.api("POST", f"/hub/api/users/{self.name}/tokens", "none",
                              json={"auth": {"username": self.name, "password": self.password},
                                    "note": "classroom load test", "expires_in": 3600})
        answer.raise_for_status()
        self.token = answer.json()["token"]
        self.web.get(f"{self.hub.base}/hub/login", timeout=30)
        login = self.web.post(f"{self.hub.base}/hub/login", allow_redirects=False, timeout=30,
                                  data={"username": self.name, "password": self.password,
                                        "_xsrf": self.web.cookies.get("_xsrf", "")})
        if login.status_code != 302:
            raise RuntimeError(f"{self.name}: the Hub's login page answered {login.status_code}")

    def start_server(self, timeout=180):
        """Start the learner's server through the Hub's REST API; return the seconds until it is ready."""
        start = time.monotonic()
        self.api("POST", f"/hub/api/users/{self.name}/server").raise_for_status()
        while time.monotonic() - start < timeout:
            server = self.api("GET", f"/hub/api/users/{self.name}").json()["servers"].get("", {})
            if server.get("ready"):
                return round(time.monotonic() - start, 1)
            time.sleep(0.5)
        raise RuntimeError(f"{self.name}'s server was not ready after {timeout} s")

    def stop_server(self, timeout=60):
        self.api("DELETE", f"/hub/api/users/{self.name}/server").raise_for_status()
        deadline = time.monotonic() + timeout
        while self.api("GET", f"/hub/api/users/{self.name}").json()["servers"]:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name}'s server did not stop within {timeout} s")
            time.sleep(0.5)

    def click(self, link):
        """Follow the teacher's link as a browser, then pull as its page does; return seconds."""
        start = time.monotonic()
        page = self.web.get(link, timeout=60)
        landed = urllib.parse.urlparse(page.url).path
        if page.status_code != 200 or landed != f"/user/{self.name}/git-pull":
            raise RuntimeError(f"{self.name}: the link landed on {landed} ({page.status_code}), not the puller")
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(link).query))
        pulled = self.web.get(f"{self.hub.base}/user/{self.name}/git-pull/api", stream=True, timeout=120,
                                  params={key: query[key] for key in ("repo", "branch", "targetpath")})
        phase = None
        for line in pulled.iter_lines(decode_unicode=True):
            if line.startswith("data:"):
                event = json.loads(line[5:])
                phase = event.get("phase")
                if phase == "error":
                    raise RuntimeError(f"{self.name}: nbgitpuller: {event.get('message', '')[:200]}")
                if phase == "finished":
                    break
        if phase != "finished":
            raise RuntimeError(f"{self.name}: nbgitpuller's stream ended without 'finished'")
        return round(time.monotonic() - start, 1)

    def notebook(self, path):
        answer = self.api("GET", f"/user/{self.name}/api/contents/{path}")
        answer.raise_for_status()
        return answer.json()["content"]

    def add_note(self, path):
        """Append a Markdown cell with the learner's note to ``path`` and save it (contents API)."""
        content = self.notebook(path)
        content["cells"].append({"cell_type": "markdown", "metadata": {}, "source": self.note,
                                 "id": uuid.uuid4().hex[:8]})
        self.api("PUT", f"/user/{self.name}/api/contents/{path}",
                 json={"type": "notebook", "format": "json", "content": content}).raise_for_status()

    def has_note(self, path):
        return any(cell["source"] == self.note for cell in self.notebook(path)["cells"])


async def _execute(learner, path, cells, also=None):
    """Open ``path`` in a new kernel and run ``cells`` (source strings) in order, then ``also``.

    Returns ``{"kernel_start_seconds", "first_output_seconds", "run_seconds", "errors", "also"}``;
    ``also`` is the text that extra code printed.
    """
    start = time.monotonic()
    session = learner.api("POST", f"/user/{learner.name}/api/sessions",
                          json={"path": path, "type": "notebook", "name": "", "kernel": {"name": "python3"}})
    session.raise_for_status()
    kernel = session.json()["kernel"]["id"]
    url = f"{learner.hub.base.replace('http', 'ws', 1)}/user/{learner.name}/api/kernels/{kernel}/channels"
    socket = await websocket_connect(HTTPRequest(url, headers={"Authorization": f"token {learner.token}"}))
    session_id = uuid.uuid4().hex
    found = {"kernel_start_seconds": None, "first_output_seconds": None, "errors": [], "also": ""}
    ran = None
    for index, code in enumerate([*cells, *([also] if also else [])]):
        msg_id = uuid.uuid4().hex
        socket.write_message(json.dumps({
            "header": {"msg_id": msg_id, "username": learner.name, "session": session_id,
                       "msg_type": "execute_request", "version": "5.3",
                       "date": datetime.datetime.now(datetime.timezone.utc).isoformat()},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True}}))
        if ran is None:
            ran = time.monotonic()
            found["kernel_start_seconds"] = round(ran - start, 1)
        replied = idle = False
        while not (replied and idle):
            text = await asyncio.wait_for(socket.read_message(), CELL_TIMEOUT_SECONDS)
            if text is None:
                raise RuntimeError(f"{learner.name}: the kernel's connection closed in cell {index}")
            message = json.loads(text)
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = message["header"]["msg_type"]
            if kind in OUTPUT_TYPES and found["first_output_seconds"] is None:
                found["first_output_seconds"] = round(time.monotonic() - ran, 1)
            if kind == "error":
                found["errors"].append(f"cell {index}: {message['content']['ename']}: "
                                       f"{message['content']['evalue'][:150]}")
            if kind == "stream" and index == len(cells):
                found["also"] += message["content"]["text"]
            replied |= kind == "execute_reply"
            idle |= kind == "status" and message["content"]["execution_state"] == "idle"
        if index == len(cells) - 1:
            found["run_seconds"] = round(time.monotonic() - ran, 1)
    socket.close()
    return found


def code_cells(notebook):
    return ["".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            for cell in notebook["cells"] if cell["cell_type"] == "code"]


class Sampler(threading.Thread):
    """Samples every learner's server (summed RSS of it and its kernels) and the Hub, twice a second."""

    def __init__(self, hub, learners):
        super().__init__(daemon=True)
        self.hub, self.learners, self.stop = hub, learners, threading.Event()
        self.peaks = {learner.name: 0.0 for learner in learners}
        self.hub_peak = self.proxy_peak = 0.0

    def run(self):
        while not self.stop.is_set():
            for learner in self.learners:
                pid = self.hub.server_pid(learner.name)
                if pid:
                    try:
                        self.peaks[learner.name] = max(self.peaks[learner.name], session_memory(pid)["rss_mb"])
                    except psutil.Error:
                        pass
            hub, proxy = self.hub.own_memory_mb()
            self.hub_peak, self.proxy_peak = max(self.hub_peak, hub), max(self.proxy_peak, proxy)
            self.stop.wait(0.5)


def each(learners, work, meanwhile=None):
    """Run ``work(learner)`` for every learner at once, and ``meanwhile()`` in this thread (Chromium's)."""
    with concurrent.futures.ThreadPoolExecutor(max(1, len(learners))) as pool:
        futures = [pool.submit(work, learner) for learner in learners]
        if meanwhile:
            meanwhile()
        return [future.result() for future in futures]


class ChromiumLearner:
    """The learner who uses JupyterLab in Chromium, as a person would: the link, the login form, Run All."""

    def __init__(self, page, learner, notebook_path):
        self.page, self.learner, self.path = page, learner, notebook_path

    def arrive(self, link):
        """Click the link: log in on the form, wait while the server starts and the course is pulled."""
        start = time.monotonic()
        self.page.goto(link)
        self.page.fill("#username_input", self.learner.name)
        self.page.fill("#password_input", self.learner.password)
        self.page.click("#login_submit")
        browser.wait_for_notebook(self.page, self.path, timeout=300_000)
        self.learner.results["chromium_link_to_notebook_seconds"] = round(time.monotonic() - start, 1)

    def run_all(self):
        """JupyterLab's Run All Cells; the seconds to the first output and to the end; error outputs."""
        start = time.monotonic()
        self.page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
        self.page.wait_for_function(
            """() => window.jupyterapp.shell.currentWidget.content.widgets.some(
                   c => c.model.type === 'code' && c.model.outputs.length > 0)""", timeout=CELL_TIMEOUT_SECONDS * 1000)
        first = round(time.monotonic() - start, 1)
        browser.wait_until_run(self.page)
        self.learner.results.update({"first_output_seconds": first, "run_seconds": round(time.monotonic() - start, 1),
                                     "errors": browser.notebook_problems(self.page),
                                     "reads_another_learners_files": None})

    def add_note(self):
        """A Markdown cell with the learner's note at the end, then File > Save."""
        self.page.evaluate("""async (note) => {
            const app = window.jupyterapp, notebook = app.shell.currentWidget.content;
            notebook.activeCellIndex = notebook.widgets.length - 1;
            await app.commands.execute('notebook:insert-cell-below');
            await app.commands.execute('notebook:change-cell-to-markdown');
            notebook.activeCell.model.sharedModel.setSource(note);
            await app.commands.execute('docmanager:save');
        }""", self.learner.note)


def run_class(n_learners, chapter, folder, chromium=True):
    """The whole class on a new Hub in ``folder`` (learner1 in Chromium if ``chromium``); return the results."""
    import course_lib

    proxy = ensure_proxy()
    upstream = folder / "upstream" / "course"
    subprocess.run(["git", "clone", "--quiet", "--depth", "1", f"file://{ROOT}", str(upstream)], check=True)
    branch = subprocess.run(["git", "-C", str(upstream), "branch", "--show-current"], capture_output=True,
                            text=True, check=True).stdout.strip()
    port = free_port()
    link = classroom.classroom_link(f"http://127.0.0.1:{port}", chapter, f"file://{upstream}", branch)
    chapters = classroom.chapter_names()
    notebook_path = f"{upstream.name}/chapters/{chapter}.ipynb"
    next_path = f"{upstream.name}/chapters/{chapters[(chapters.index(chapter) + 1) % len(chapters)]}.ipynb"
    password, admin_token = secrets.token_hex(16), secrets.token_hex(32)
    hub = start_hub(folder, port, hub_config(folder, port, proxy, password, admin_token, course_lib.cache_dir()))
    try:
        names = [f"learner{i + 1}" for i in range(n_learners)]
        hub.api("POST", "/hub/api/users", admin_token, json={"usernames": names}).raise_for_status()
        learners = [Learner(hub, name, password) for name in names]
        sampler = Sampler(hub, learners)
        sampler.start()
        with browser.chromium_page() if chromium else contextlib.nullcontext() as page:
            person = ChromiumLearner(page, learners[0], notebook_path) if chromium else None
            by_api = learners[1:] if chromium else learners
            each(learners, Learner.log_in)

            def arrive(learner):
                learner.results["spawn_seconds"] = learner.start_server()
                learner.results["pull_seconds"] = learner.click(link)

            each(by_api, arrive, meanwhile=person and (lambda: person.arrive(link)))
            print(f"{n_learners} learners logged in, servers started, the course pulled", flush=True)
            cells = code_cells(learners[-1].notebook(notebook_path))
            neighbour = {a.name: b for a, b in zip(learners, learners[1:] + learners[:1])}

            def run_chapter(learner):
                other = folder / "home" / neighbour[learner.name].name / notebook_path
                peek = f"import os; print(os.access({str(other)!r}, os.R_OK))" if n_learners > 1 else None
                found = asyncio.run(_execute(learner, notebook_path, cells, also=peek))
                learner.results.update({key: found[key] for key in
                                        ("kernel_start_seconds", "first_output_seconds", "run_seconds", "errors")})
                learner.results["reads_another_learners_files"] = found["also"].strip() == "True" if peek else None

            started = time.monotonic()
            sampler.peaks = dict.fromkeys(sampler.peaks, 0.0)
            each(by_api, run_chapter, meanwhile=person and person.run_all)
            wall = round(time.monotonic() - started, 1)
            print(f"{chapter} ran in every learner's server at once: {wall} s", flush=True)
            time.sleep(2)
            for learner in learners:
                learner.results["peak_rss_mb"] = round(sampler.peaks[learner.name])
                learner.results["rest_rss_mb"] = round(session_memory(hub.server_pid(learner.name))["rss_mb"])
                other = neighbour[learner.name]
                status = learner.api("GET", f"/user/{other.name}/api/contents/{notebook_path}").status_code
                learner.results["opens_another_learners_server"] = status == 200
            hub_rest, proxy_rest = hub.own_memory_mb()
            each(by_api, lambda learner: learner.add_note(notebook_path), meanwhile=person and person.add_note)

            def open_next_chapter(learner):  # the kernel policy restarts the idle chapter's kernel
                learner.api("POST", f"/user/{learner.name}/api/sessions", json={
                    "path": next_path, "type": "notebook", "name": "", "kernel": {"name": "python3"}}
                ).raise_for_status()
                time.sleep(2)
                learner.results["after_opening_next_chapter_rss_mb"] = round(
                    session_memory(hub.server_pid(learner.name))["rss_mb"])

            each(learners, open_next_chapter)
        each(learners, Learner.stop_server)
        print("notes saved, servers stopped", flush=True)

        def come_back(learner):
            learner.results["restart_seconds"] = learner.start_server()
            learner.results["second_pull_seconds"] = learner.click(link)
            learner.results["edit_kept"] = learner.has_note(notebook_path)

        each(learners, come_back)
        sampler.stop.set()
        sampler.join()
    finally:
        end_tree(hub.tether)
        hub.tether.stdin.close()
        hub.log.close()
    return summarise(learners, chapter, wall, sampler, hub_rest, proxy_rest)


def summarise(learners, chapter, wall, sampler, hub_rest, proxy_rest):
    """The results file's contents."""
    per_learner = [learner.results for learner in learners]
    failures = [f"{r['name']}: {error}" for r in per_learner for error in r["errors"]]
    failures += [f"{r['name']} opened another learner's server with their own token"
                 for r in per_learner if r["opens_another_learners_server"]]
    failures += [f"{r['name']}: opening the next chapter did not restart the idle kernel (no kernel policy?)"
                 for r in per_learner if r["after_opening_next_chapter_rss_mb"] > POLICY_KEEPS * r["rest_rss_mb"]]
    versions = {name: importlib.metadata.version(name) for name in ("jupyterhub", "nbgitpuller", "jupyter_server")}
    versions["configurable-http-proxy"] = PROXY_PACKAGE.split("@")[1]
    reads = [r["reads_another_learners_files"] for r in per_learner if r["reads_another_learners_files"] is not None]
    return {
        "made": {"date": datetime.date.today().isoformat(),
                 "machine": {"cpus": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 1e9),
                             "python": platform.python_version(), "platform": platform.platform()},
                 "versions": versions},
        "chapter": chapter,
        "learners": per_learner,
        "hub": {"peak_rss_mb": round(sampler.hub_peak), "rest_rss_mb": round(hub_rest),
                "proxy_peak_rss_mb": round(sampler.proxy_peak), "proxy_rest_rss_mb": round(proxy_rest)},
        "summary": {
            "learners": len(per_learner),
            "in_chromium": sum("chromium_link_to_notebook_seconds" in r for r in per_learner),
            "chapter_wall_seconds": wall,
            "max_first_output_seconds": max(r["first_output_seconds"] or 0 for r in per_learner),
            "max_peak_rss_mb": max(r["peak_rss_mb"] for r in per_learner),
            "max_rest_rss_mb": max(r["rest_rss_mb"] for r in per_learner),
            "failures": failures,
            "edits_lost": sum(not r["edit_kept"] for r in per_learner),
            "kernel_policy_freed_mb": [r["rest_rss_mb"] - r["after_opening_next_chapter_rss_mb"] for r in per_learner],
        },
        "isolation": {
            "servers": "the Hub refused each learner's token at another learner's server"
                       if not any(r["opens_another_learners_server"] for r in per_learner)
                       else "a learner's token opened another learner's server",
            "files": ("NOT isolated: every learner's kernel could read another learner's notebooks (the local "
                      "spawner runs every server as the same operating-system user)") if any(reads) else
                     ("no learner's kernel could read another's files" if reads else "one learner: not checked"),
            "kubernetes": ("on Zero to JupyterHub each server is a pod with only its own home volume mounted, "
                           "its memory and CPU limits enforced by cgroups, and a network policy between pods"),
        },
    }


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m course_lib.tools.classroom_load",
                                     description=__doc__.split("\n")[0].split(": ", 1)[1])
    parser.add_argument("--learners", type=int, required=True, help="how many simulated learners")
    parser.add_argument("--chapter", default="00_welcome", help="the chapter every learner runs")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where the results go (default: .bench/)")
    parser.add_argument("--save", action="store_true",
                        help="also write course_lib/results/classroom.json (the instructor's guide quotes it)")
    parser.add_argument("--no-chromium", action="store_true",
                        help="every learner through the API (default: learner1 uses JupyterLab in Chromium)")
    args = parser.parse_args(argv)
    if args.learners < 1:
        sys.exit(f"--learners must be 1 or more, got {args.learners}")
    if not (CHAPTERS / f"{args.chapter}.ipynb").exists():
        sys.exit(f"unknown chapter {args.chapter!r}; the chapters are: {', '.join(classroom.chapter_names())}")
    problem = memory_problem(args.learners, args.chapter, psutil.virtual_memory().available / MB)
    if problem:
        sys.exit(problem)
    if not args.no_chromium and browser.find_chromium() is None:
        sys.exit(browser.CHROMIUM_HELP + " Or run with --no-chromium.")
    if shutil.which("git") is None:
        sys.exit("git is needed (nbgitpuller clones the course with it); install git")
    folder = Path(tempfile.mkdtemp(prefix="course-classroom-"))
    kept = Path(tempfile.gettempdir()) / "course-classroom-hub.log"
    try:
        results = run_class(args.learners, args.chapter, folder, chromium=not args.no_chromium)
    finally:
        if (folder / "hub.log").exists():  # the Hub's and the servers' log, for a failed run
            shutil.copy(folder / "hub.log", kept)
        shutil.rmtree(folder, ignore_errors=True)
    text = json.dumps(results, indent=1) + "\n"
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(text)
    if args.save:
        (classroom.RESULTS / "classroom.json").write_text(text)
    summary = results["summary"]
    print(json.dumps(summary, indent=1))
    print(f"results: {args.json}{' and course_lib/results/classroom.json' if args.save else ''}; the Hub's log: {kept}")
    if summary["failures"] or summary["edits_lost"]:
        sys.exit(f"{len(summary['failures'])} failures, {summary['edits_lost']} edits lost")


if __name__ == "__main__":
    main()
