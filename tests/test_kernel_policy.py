"""The Binder kernel policy in a real Jupyter server: a new kernel restarts the idle ones that hold memory.

The server is started the way Binder's is configured (binder/jupyter_server_config.py);
the kernels are driven over their own connection files.
"""

import json
import queue
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from jupyter_client import BlockingKernelClient

import course_lib.tools
from course_lib.tools import restart_notice
from course_lib.tools.lab import jupyter_server

HOLD_400_MB = "x = bytearray(400_000_000); x[::4096] = b'1' * len(x[::4096])"


@pytest.fixture(scope="module")
def server():
    with jupyter_server(app="lab", policy=True) as running:
        yield running


def _start(server):
    kernel = server.api("kernels", "POST", {"name": "python3"})
    client = BlockingKernelClient(connection_file=str(server.folder / "runtime" / f"kernel-{kernel['id']}.json"))
    client.load_connection_file()
    client.start_channels(hb=False)  # the heartbeat lags behind on a busy machine; kernel_info suffices
    client.wait_for_ready(timeout=60)
    return kernel["id"], client


def _run(client, code, timeout=60):
    """Run ``code``; return (status, text printed)."""
    printed = []

    def hook(msg):
        if msg["msg_type"] == "stream":
            printed.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            printed.append(msg["content"]["ename"])

    reply = client.execute_interactive(code, timeout=timeout, output_hook=hook)
    return reply["content"]["status"], "".join(printed)


def _kernel_pid(server, kernel_id):
    for process in psutil.Process(server.pid).children(recursive=True):
        if any(kernel_id in part for part in process.cmdline()):
            return process.pid
    raise AssertionError(f"no process for kernel {kernel_id}")


def _wait_idle(server, kernel_id, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if {k["id"]: k for k in server.api("kernels")}[kernel_id]["execution_state"] == "idle":
            return
        time.sleep(0.2)
    raise AssertionError(f"kernel {kernel_id} never became idle")


def _wait_for_output_channel(client, timeout=60):
    """Wait until our client's output (IOPub) socket hears the restarted kernel.

    A kernel-info request is answered with busy/idle status messages on IOPub but runs no cell,
    so it does not use up the restart notice that the first cell prints.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        request = client.kernel_info()
        try:
            while True:
                message = client.get_iopub_msg(timeout=1)
                if message["parent_header"].get("msg_id") == request:
                    return
        except queue.Empty:
            continue
    raise AssertionError("the restarted kernel's output never reached the client")


def _shutdown_all(server):
    for kernel in server.api("kernels"):
        server.api(f"kernels/{kernel['id']}", "DELETE")


@pytest.mark.slow
def test_a_new_kernel_restarts_an_idle_kernel_that_holds_memory_and_the_next_cell_says_why(server):
    first, client = _start(server)
    assert _run(client, HOLD_400_MB)[0] == "ok"
    _wait_idle(server, first)
    pid_before = _kernel_pid(server, first)
    assert server.memory()["kernels"][pid_before] > 400

    second, other = _start(server)
    pid_after = _kernel_pid(server, first)
    assert pid_after != pid_before, "the idle kernel holding 400 MB was not restarted"
    assert psutil.Process(pid_after).memory_info().rss / 1e6 < 200
    assert "Restarting idle kernel " + first in server.log()

    _wait_for_output_channel(client)
    status, printed = _run(client, "print(len(x))")
    assert status == "error" and "NameError" in printed  # the state is gone, as after any restart
    assert "kernel was restarted to free memory" in printed and "Run All Cells" in printed
    assert "kernel was restarted" not in _run(client, "1 + 1")[1]  # said once, not at every cell
    assert _kernel_pid(server, second)  # the new kernel runs
    client.stop_channels()
    other.stop_channels()
    _shutdown_all(server)


@pytest.mark.slow
def test_busy_kernels_and_small_kernels_are_left_alone(server):
    busy, busy_client = _start(server)
    small, small_client = _start(server)
    assert _run(busy_client, HOLD_400_MB)[0] == "ok"
    assert _run(small_client, "y = 41")[0] == "ok"
    _wait_idle(server, small)
    pids = {k: _kernel_pid(server, k) for k in (busy, small)}
    busy_client.execute("import time; time.sleep(6)")  # busy while the next kernel starts
    time.sleep(1)

    third, third_client = _start(server)
    assert {k: _kernel_pid(server, k) for k in (busy, small)} == pids
    busy_client.get_shell_msg(timeout=30)
    assert _run(busy_client, "print(len(x))") == ("ok", "400000000\n")
    assert _run(small_client, "print(y + 1)") == ("ok", "42\n")
    for c in (busy_client, small_client, third_client):
        c.stop_channels()
    _shutdown_all(server)


def test_notice_is_read_once_from_beside_the_connection_file(tmp_path):
    connection = tmp_path / "kernel-abc.json"
    (tmp_path / restart_notice.NOTICE_FILE).write_text(json.dumps(
        {"abc": {"opened": "chapters/01_feature_extraction.ipynb", "freed_mb": 1234}, "other": {}}))
    notice = restart_notice.take_notice(str(connection))
    assert "01_feature_extraction.ipynb" in restart_notice.message(notice)
    assert "1,234 MB" in restart_notice.message(notice)
    assert restart_notice.take_notice(str(connection)) is None
    assert json.loads((tmp_path / restart_notice.NOTICE_FILE).read_text()) == {"other": {}}


def test_the_policy_module_imports_no_numpy_or_tensorflow():
    """The server imports it: its own imports must stay light.

    Checked with a stand-in for the course_lib package (its __init__ imports
    NumPy today, see course_lib.environment), so that this tests the modules
    the server loads, kernel_policy and what it imports.
    """
    package = Path(course_lib.tools.__file__).resolve().parents[1]
    code = (
        "import sys, types\n"
        f"stub = types.ModuleType('course_lib'); stub.__path__ = [{str(package)!r}]\n"
        "sys.modules['course_lib'] = stub\n"
        "import course_lib.tools.kernel_policy\n"
        "print(sorted({'numpy', 'tensorflow', 'keras'} & {m.split('.')[0] for m in sys.modules}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
