"""Folders written whole or not at all, never over anything else.

``publish_folder(target, write)`` lets ``write`` fill a new hidden folder beside ``target``
and renames it to ``target`` when ``write`` returns: a run stopped halfway leaves no half
folder at ``target``, and a ``target`` that holds anything is never written into, overwritten
or deleted. (The rename replaces only a missing or empty ``target``.)
"""

import os
import shutil
import tempfile
from pathlib import Path


def missing_or_empty(path):
    """True if ``path`` does not exist or is an empty folder."""
    path = Path(path)
    return not path.exists() or (path.is_dir() and not any(path.iterdir()))


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
        os.replace(building, target)
    finally:
        shutil.rmtree(building, ignore_errors=True)  # our own folder, if the rename did not happen
    return target
