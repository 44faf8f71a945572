"""A Jupyter server kernel policy for small sessions: one chapter's memory at a time.

A learner opens chapter 00, runs it, opens chapter 01: JupyterLab keeps chapter
00's kernel alive, and with TensorFlow imported it holds about 0.8-1.4 GB. Two
of them do not fit in Binder's 2 GB. With this kernel manager, starting a
kernel first restarts every other kernel that is idle and holds more than
``restart_above_mb``: its memory goes back to what a fresh kernel holds (about
50 MB), its tab stays open and usable, JupyterLab shows a fresh kernel, and
the next cell the learner runs there prints why (see ``restart_notice``).
Busy kernels are never touched.

Configure it in ``jupyter_server_config.py`` (``binder/`` does) or on the
command line::

    jupyter lab --ServerApp.kernel_manager_class=course_lib.tools.kernel_policy.RestartIdleKernelsManager

Imports only jupyter_server and psutil (never NumPy or TensorFlow): the server
process loads it.
"""

import asyncio
import json
import os
import time
from pathlib import Path

import psutil
from jupyter_core.paths import jupyter_runtime_dir
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from traitlets import Float, Unicode

from course_lib.core.resources import MB
from course_lib.tools.restart_notice import NOTICE_FILE

#: The IPython extension that tells the learner, in the next cell they run, why the kernel is fresh.
NOTICE_EXTENSION = "course_lib.tools.restart_notice"


def notice_path(connection_dir=None):
    """Where restart notices are kept: ``NOTICE_FILE`` beside the kernels' connection files."""
    return Path(connection_dir or jupyter_runtime_dir()) / NOTICE_FILE


def _set_notice(path, kernel_id, notice):
    """Record ``notice`` (a dict) for ``kernel_id`` in the notices file, or forget it (None).

    Written to a copy, then renamed: a kernel reading it never sees half a file.
    """
    try:
        notices = json.loads(path.read_text())
    except (OSError, ValueError):
        notices = {}
    if notice is None:
        notices.pop(kernel_id, None)
    else:
        notices[kernel_id] = notice
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(notices))
    os.replace(tmp, path)


def kernel_memory_mb(kernel_manager):
    """Resident memory in MB of one kernel's process and its children (0 if it has none)."""
    pid = getattr(getattr(kernel_manager, "provisioner", None), "pid", None)
    if not pid:
        return 0.0
    try:
        process = psutil.Process(pid)
        return sum(p.memory_info().rss for p in [process, *process.children(recursive=True)]) / MB
    except psutil.Error:
        return 0.0


class RestartIdleKernelsManager(AsyncMappingKernelManager):
    """Starting a kernel restarts the idle kernels that hold memory; busy ones are left alone."""

    restart_above_mb = Float(
        250.0, config=True,
        help="Restart an idle kernel only if it holds more than this many MB (resident). A fresh "
             "kernel holds about 50 MB and one that imported TensorFlow about 760 MB, so the "
             "default spares kernels that hold little, whose state a restart would lose for nothing.")
    notice_extension = Unicode(
        NOTICE_EXTENSION, config=True,
        help="IPython extension loaded into every Python kernel, which prints the restart notice "
             "in the next cell run after this policy restarted the kernel ('' to load none).")

    async def start_kernel(self, *, kernel_id=None, path=None, **kwargs):
        """Restart the other idle kernels that hold memory, then start the new kernel.

        An existing ``kernel_id`` (a tab reconnecting) starts nothing and restarts nothing.
        """
        if kernel_id is None or kernel_id not in self:
            # The notebook being opened (jupyter_server passes its path to the kernel's environment).
            await self.restart_idle_kernels(reason=(kwargs.get("env") or {}).get("JPY_SESSION_NAME", path))
            name = kwargs.get("kernel_name") or self.default_kernel_name
            if self.notice_extension and name.startswith("python"):
                kwargs["extra_arguments"] = [*kwargs.get("extra_arguments", []),
                                             f"--IPKernelApp.extensions={self.notice_extension}"]
        return await super().start_kernel(kernel_id=kernel_id, path=path, **kwargs)

    def idle_kernels_holding_memory(self):
        """``[(kernel_id, MB)]`` of the kernels that are idle and hold more than ``restart_above_mb``."""
        found = []
        for kernel_id in self.list_kernel_ids():
            kernel = self.get_kernel(kernel_id)
            if getattr(kernel, "execution_state", None) != "idle":
                continue  # busy, starting, restarting or dead: never touched
            mb = kernel_memory_mb(kernel)
            if mb > self.restart_above_mb:
                found.append((kernel_id, mb))
        return found

    async def restart_idle_kernels(self, reason=None):
        """Restart every idle kernel holding more than ``restart_above_mb``; return their ids.

        Args:
            reason: the notebook path being opened, for the notice and the server log.
        """
        restarted = []
        for kernel_id, mb in self.idle_kernels_holding_memory():
            self.log.info("Restarting idle kernel %s (%.0f MB) to make room for %s",
                          kernel_id, mb, reason or "a new kernel")
            notices = notice_path(self.connection_dir or None)
            _set_notice(notices, kernel_id, {"opened": reason or "", "freed_mb": round(mb), "time": time.time()})
            try:
                # The kernel is back when it answers (jupyter_server times that out itself).
                await (await self.restart_kernel(kernel_id))
            except Exception as error:  # a failed restart must not stop the new kernel
                self.log.warning("Restarting kernel %s failed: %s", kernel_id, error)
                _set_notice(notices, kernel_id, None)
                continue
            await self.report_idle(kernel_id)
            restarted.append(kernel_id)
        return restarted

    async def report_idle(self, kernel_id, timeout=10.0):
        """Make the restarted kernel tell every open tab that it is idle.

        A restarted kernel announces only "starting", and JupyterLab ignores the
        status of the server's own kernel-info request, so the tab would say
        "Starting" until the learner runs a cell. A silent, empty execute request
        (no output, no execution count, no history, and not counted as the
        learner's first cell) makes the kernel report busy, then idle, as after
        any cell. ``timeout`` is in seconds.
        """
        kernel = self.get_kernel(kernel_id)
        stream = kernel.connect_shell()
        replied = asyncio.get_running_loop().create_future()
        stream.on_recv(lambda _: replied.done() or replied.set_result(True))
        kernel.session.send(stream, "execute_request", {
            "code": "", "silent": True, "store_history": False, "user_expressions": {},
            "allow_stdin": False, "stop_on_error": False})
        try:
            await asyncio.wait_for(replied, timeout)
        except asyncio.TimeoutError:
            self.log.warning("Kernel %s did not answer after its restart", kernel_id)
        finally:
            stream.close()
