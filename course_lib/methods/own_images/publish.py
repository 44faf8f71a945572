"""Folders written whole or not at all, never over anything else.

``publish_folder(target, write)`` lets ``write`` fill a new hidden folder beside ``target``
and renames it to ``target`` when ``write`` returns: a run stopped halfway leaves no half
folder at ``target``, and a ``target`` that holds anything is never written into, overwritten
or deleted. (The rename replaces only a missing or empty ``target``.) A folder holding only what
file browsers leave and hide (``LEFTOVERS``: JupyterLab shows a folder holding only
``.ipynb_checkpoints/`` as empty) counts as empty; those entries are moved into the new folder.
"""

import os
import shutil
import tempfile
from pathlib import Path


#: What file browsers leave in a folder and hide: JupyterLab's checkpoints, macOS Finder's data.
LEFTOVERS = (".ipynb_checkpoints", ".DS_Store")


def missing_or_empty(path):
    """True if ``path`` does not exist or is a folder holding nothing but ``LEFTOVERS``."""
    path = Path(path)
    return not path.exists() or (path.is_dir() and all(p.name in LEFTOVERS for p in path.iterdir()))


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def publish_folder(target, write):
    """Fill a temporary folder with ``write(folder)``, then rename it to ``target``.

    Returns:
        ``target`` as a ``Path``.

    Raises:
        OSError: ``target`` appeared meanwhile and is not empty (nothing of it was touched).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.writing-"))
    try:
        os.chmod(building, 0o777 & ~_umask())  # as a folder made by mkdir (mkdtemp's is private)
        write(building)
        moved = [name for name in LEFTOVERS if (target / name).exists()]
        for name in moved:  # kept, and out of the way of the rename
            os.replace(target / name, building / name)
        try:
            os.replace(building, target)
        except OSError:
            for name in moved:
                os.replace(building / name, target / name)
            raise
    finally:
        shutil.rmtree(building, ignore_errors=True)  # our own folder, if the rename did not happen
    return target
