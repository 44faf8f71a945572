"""IPython extension: the first cell run in a kernel that the kernel policy restarted says why.

``kernel_policy.RestartIdleKernelsManager`` restarts idle kernels to make room
for a new chapter and records each in ``NOTICE_FILE`` beside the kernels'
connection files. When the learner comes back to such a chapter and runs a
cell, its variables are gone; without a word they would meet a ``NameError``.
This extension (loaded into every kernel the policy starts) prints, above the
first cell's output, what happened and what to do, then forgets the notice.
"""

import json
import os
from pathlib import Path

NOTICE_FILE = "course-restarted-kernels.json"

MESSAGE = (
    "Note: this notebook's kernel was restarted to free memory ({freed_mb:,} MB) when you opened "
    "{opened}. The course keeps one chapter in memory at a time (on Binder the whole session has "
    "2 GB), so it restarts the idle chapters you are not running. Everything this notebook "
    "computed before is gone: choose Run > Run All Cells to run it again from the top."
)


def take_notice(connection_file):
    """The notice for the kernel of ``connection_file`` (a dict), removed from the file; or None."""
    folder, name = os.path.split(connection_file)
    kernel_id = name.removeprefix("kernel-").removesuffix(".json")
    path = Path(folder) / NOTICE_FILE
    try:
        notices = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    notice = notices.pop(kernel_id, None)
    if notice is not None:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(notices))
        os.replace(tmp, path)
    return notice


def message(notice):
    """The text printed for ``notice`` (``{"opened", "freed_mb"}``)."""
    opened = os.path.basename(notice.get("opened") or "") or "another notebook"
    return MESSAGE.format(freed_mb=int(notice.get("freed_mb", 0)), opened=opened)


def load_ipython_extension(ipython):
    """Check once, before the first cell runs, whether this kernel was restarted by the policy."""
    try:
        from ipykernel.connect import get_connection_file

        connection_file = get_connection_file()
    except Exception:  # not an ipykernel (plain IPython): nothing to say
        return

    def before_first_cell(*_):
        ipython.events.unregister("pre_run_cell", before_first_cell)
        notice = take_notice(connection_file)
        if notice is not None:
            print(message(notice) + "\n", flush=True)

    ipython.events.register("pre_run_cell", before_first_cell)
