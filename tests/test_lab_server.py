"""Issue 19: a test's Jupyter server dies with the run that started it, and its token is not in `ps`."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(os.name != "posix", reason="process groups and signals as on Linux and macOS")]

# A stand-in for a pytest run: starts a server and a kernel, reports them, then hangs.
RUN = textwrap.dedent("""
    import json, sys, time
    from course_lib.tools.lab import jupyter_server
    with jupyter_server(app="lab") as server:
        kernel = server.api("kernels", "POST", {"name": "python3"})
        time.sleep(2)
        print(json.dumps({"token": server.token, "tether": server.tether.pid, "server": server.pid,
                          "tree": [p.pid for p in server.tether.children(recursive=True)]}), flush=True)
        time.sleep(600)
""")


def _start_run():
    run = subprocess.Popen([sys.executable, "-c", RUN], stdout=subprocess.PIPE, text=True,
                           start_new_session=True)
    line = run.stdout.readline()
    if not line:
        run.kill()
        pytest.fail("the stand-in run did not start a server")
    return run, json.loads(line)


def _gone(pids, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [pid for pid in pids if psutil.pid_exists(pid)
                 and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
        if not alive:
            return []
        time.sleep(0.2)
    return alive


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_server_and_kernels_die_with_the_run_that_started_them(how):
    run, started = _start_run()
    everyone = [started["tether"], *started["tree"]]
    assert len(started["tree"]) >= 2, "expected the server and its kernel"
    try:
        for pid in everyone:
            command_line = " ".join(psutil.Process(pid).cmdline())
            assert started["token"] not in command_line, f"the token is visible in `ps` for {command_line}"
        os.kill(run.pid, how)  # what a CI timeout or `kill -9` of pytest does
        run.wait(timeout=30)
        alive = _gone(everyone)
        assert not alive, f"still running after the run was killed: {alive}"
    finally:
        for pid in everyone:
            try:
                psutil.Process(pid).kill()
            except psutil.Error:
                pass
