"""``python -m course_lib.tools.launch``: open the course in JupyterLab (or Notebook 7), as ``make.py course`` does.

    python -m course_lib.tools.launch [--notebook] [--restart-idle-kernels | --keep-idle-kernels]
                                      [JUPYTER OPTIONS ...]

- Opens the first chapter, ``chapters/00_welcome.ipynb``, in JupyterLab, or in Notebook 7 with
  ``--notebook``.
- As root (a container, a cloud shell), JupyterLab refuses to start unless told
  ``--allow-root``: the course passes it, and says so.
- On a machine or container with less than ``POLICY_BELOW_MB`` of memory, the server
  uses Binder's kernel policy (``binder/jupyter_server_config.py``): opening a notebook
  restarts the other idle notebooks' kernels. Every chapter's kernel holds 1.0-1.5 GB
  once it has run, and JupyterLab keeps them all: a walk through the whole course
  holds about 7.5 GB without the policy, under 2 GB with it. With more memory every
  chapter stays as the learner left it. The two flags override the choice.
- Any other option goes to Jupyter (``--port 8899``, ``--ip 0.0.0.0`` in a container, ...).
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

from course_lib.core.resources import memory_limit_mb
from course_lib.syllabus import CHAPTERS

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "binder" / "jupyter_server_config.py"
FIRST_CHAPTER = CHAPTERS[0].notebook
#: With less memory than this (MB), idle kernels are restarted when a notebook opens.
POLICY_BELOW_MB = 12_000


def plan(memory_mb, is_root, notebook=False, policy=None, extra=()):
    """The Jupyter command to run and what to tell the learner about it.

    Args:
        memory_mb: memory this machine or container may use, in MB.
        is_root: whether we run as root.
        notebook: Notebook 7 instead of JupyterLab.
        policy: True / False to force Binder's kernel policy on or off; None decides by memory.
        extra: more options for Jupyter.

    Returns:
        ``(command, notes)``: the argument list after ``python -m``, and lines to print.
    """
    app = "notebook" if notebook else "lab"
    command = ["jupyter", app, FIRST_CHAPTER]
    notes = []
    if policy is None:
        policy = memory_mb < POLICY_BELOW_MB
        why = f"this machine has {memory_mb / 1000:.1f} GB of memory"
    else:
        why = "as asked"
    if policy:
        command.append(f"--config={CONFIG}")
        notes.append(f"{why}: opening a notebook restarts the other notebooks' kernels that are idle "
                     "(one chapter's memory at a time, as on Binder); their tabs stay open. "
                     "To keep every kernel: python3 make.py course --keep-idle-kernels")
    if is_root:
        command.append("--allow-root")
        notes.append("running as root (a container?): Jupyter is started with --allow-root. On your own "
                     "computer, run the course as your usual user instead. Inside a container, add "
                     "--ip=0.0.0.0 --no-browser and open the printed address from outside.")
    command += list(extra)
    return command, notes


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 make.py course", description=__doc__.split("\n")[0])
    parser.add_argument("--notebook", action="store_true", help="open Notebook 7 instead of JupyterLab")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--restart-idle-kernels", dest="policy", action="store_true", default=None,
                       help="always restart idle kernels when a notebook opens (Binder's setting)")
    group.add_argument("--keep-idle-kernels", dest="policy", action="store_false",
                       help="never restart them")
    args, extra = parser.parse_known_args(argv)
    is_root = hasattr(os, "geteuid") and os.geteuid() == 0
    command, notes = plan(memory_limit_mb(), is_root, args.notebook, args.policy, extra)
    for note in notes:
        print(f"Note: {note}", flush=True)
    try:
        code = subprocess.run([sys.executable, "-m", *command], cwd=ROOT).returncode
    except KeyboardInterrupt:  # Ctrl-C: Jupyter has shut down already
        return 0
    if code not in (0, 130, -2):
        print(f"\nJupyter stopped with exit code {code}; its message is above. If the port is taken: "
              "python3 make.py course --port 8899. More in the README's Troubleshooting section.",
              file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
