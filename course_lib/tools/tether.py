"""``python -m course_lib.tools.tether COMMAND ...``: run COMMAND for as long as our parent lives.

The parent starts the tether with a pipe as its standard input and never
writes to it. However the parent ends (it returns, it is interrupted, a
timeout or ``kill -9`` ends it), the operating system closes its end of the
pipe; the tether reads end-of-file and ends COMMAND and every process under
it (a Jupyter server's kernels run in sessions of their own, so a process
group signal would miss them): SIGTERM, then SIGKILL after ``GRACE_SECONDS``.
It exits with COMMAND's exit code when COMMAND ends by itself.

Works wherever pipes do (Linux, macOS), unlike Linux's parent-death signal.
"""

import os
import signal
import subprocess
import sys
import threading

import psutil

GRACE_SECONDS = 5.0


def end_tree(process, grace=GRACE_SECONDS):
    """SIGTERM ``process`` and everything under it, SIGKILL what is left after ``grace`` seconds."""
    try:
        everyone = [process, *process.children(recursive=True)]
    except psutil.Error:
        everyone = [process]
    for p in everyone:
        try:
            p.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(everyone, timeout=grace)
    for p in alive:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(alive, timeout=grace)


def main(argv=None):
    command = list(sys.argv[1:] if argv is None else argv)
    if not command:
        sys.exit(__doc__)
    child = psutil.Popen(command, stdin=subprocess.DEVNULL)
    ending, ended = threading.Event(), threading.Event()

    def end(*_):
        if not ending.is_set():
            ending.set()
            end_tree(child)
            ended.set()

    def watch_parent():
        # os.read, not sys.stdin: a buffered reader blocked in a daemon thread stalls the
        # interpreter's shutdown. b"" comes only once every writer has closed the pipe.
        while os.read(0, 4096):
            pass
        end()

    signal.signal(signal.SIGTERM, end)
    signal.signal(signal.SIGINT, end)
    threading.Thread(target=watch_parent, daemon=True).start()
    code = child.wait()
    if ending.is_set():  # let end_tree reach the kernels too before this process exits
        ended.wait(timeout=2 * GRACE_SECONDS + 1)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
