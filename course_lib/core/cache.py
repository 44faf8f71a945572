"""The cache folder: data and trained models built once, written atomically, checked when read.

Every entry's file name carries a key: a hash of everything that shapes it (the recipe,
the architecture, the data version, the versions of the course and of the libraries that
made it), so a changed recipe or an upgrade never loads a stale entry. Writes go to a
unique temporary file that is renamed when complete: a run stopped halfway never leaves
half a file, and two kernels filling one entry at once both succeed. An entry that cannot
be read (a truncated file, random bytes, a disk error) is reported with its path as damaged,
deleted and rebuilt.

``$COURSE_CACHE_DIR`` moves the folder (default ``~/.cache/transfer-learning-course``).
When it cannot be written (a folder a teacher warmed, then made read-only for a class on a
shared volume), the course still reads the entries it holds, writes new ones to a folder in
the temporary directory, and says so once.
"""

import hashlib
import json
import os
import tempfile
import warnings
import zipfile
from pathlib import Path

CACHE_ENV = "COURSE_CACHE_DIR"
DEFAULT_FOLDER = Path("~/.cache/transfer-learning-course")


class CacheWarning(UserWarning):
    """Something in the cache folder could not be read or written (the course goes on)."""


def _writable(path):
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(path, os.W_OK | os.X_OK)


def _wanted():
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_FOLDER).expanduser()


#: The read-only cache folders already reported (each is reported once per process).
_reported = set()


def cache_dir():
    """The cache folder new entries are written to (created if missing): ``$COURSE_CACHE_DIR``
    or ``~/.cache/...``; if that cannot be written, a folder in the temporary directory."""
    wanted = _wanted()
    if _writable(wanted):
        return wanted
    user = os.getuid() if hasattr(os, "getuid") else "user"
    fallback = Path(tempfile.gettempdir()) / f"transfer-learning-course-{user}"
    if not _writable(fallback):
        raise OSError(f"cannot write to the cache folder {wanted} nor to {fallback}; set "
                      f"{CACHE_ENV} to a folder you can write to")
    if wanted not in _reported:
        _reported.add(wanted)
        reading = "reading the entries it holds, " if wanted.is_dir() else ""
        warnings.warn(f"cannot write to the cache folder {wanted}; {reading}writing new entries to {fallback} "
                      f"(set {CACHE_ENV} to a writable folder to keep them)", CacheWarning, stacklevel=2)
    return fallback


def entry_path(name):
    """Where the cache entry ``name`` (a file or folder name) is: in the cache folder if it is
    there (even a read-only one), else in ``cache_dir()`` (where it is to be written)."""
    found = _wanted() / name
    return found if os.access(found, os.R_OK) else cache_dir() / name


def versions(*libraries):
    """``{name: version}`` of the course and of ``libraries`` (e.g. "keras", "tensorflow")."""
    import importlib.metadata

    from course_lib import __version__

    found = {"course": __version__}
    for name in libraries:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:  # e.g. tensorflow-cpu instead
            module = __import__(name)
            found[name] = getattr(module, "__version__", "unknown")
    return found


def key(*parts):
    """A short hash of ``parts`` (anything JSON can write, or its ``repr``)."""
    text = json.dumps(parts, sort_keys=True, default=repr)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def atomic_write(path, write):
    """Call ``write(temporary_path)``, then rename the temporary file to ``path``.

    The temporary file sits beside ``path`` with a unique name and the same suffix, so
    concurrent writers never touch each other's file, and ``path`` is either absent or
    complete. Returns ``path``.
    """
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(handle)
    try:
        write(Path(temporary))
        os.chmod(temporary, 0o666 & ~_umask())  # as an ordinary new file; mkstemp makes it private
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _damaged(path):
    """Report the damaged entry ``path``, delete it if it can, and return where to rebuild it."""
    path = Path(path)
    try:
        path.unlink(missing_ok=True)
        rebuilt = path
    except OSError:  # a read-only cache folder: rebuilt in the writable one
        rebuilt = cache_dir() / path.name
    warnings.warn(f"the cache entry {path} is damaged (could not be read), rebuilt"
                  + (f" in {rebuilt.parent}" if rebuilt != path else ""), CacheWarning, stacklevel=3)
    return rebuilt


def _store(path, write):
    try:
        atomic_write(path, write)
    except OSError as error:
        warnings.warn(f"could not write the cache entry {path} ({error}); it will be built again "
                      "next time", CacheWarning, stacklevel=3)


def cached_arrays(name, parts, build):
    """NumPy arrays from the cache, or ``build()`` them and store them.

    Args:
        name: the start of the file name, e.g. ``"mnist_m"``.
        parts: everything that shapes the arrays (see ``key``).
        build: a function of no arguments returning ``{array name: array}``.

    Returns:
        ``{array name: array}``, the same whether built now or read back.
    """
    import numpy as np

    path = entry_path(f"{name}_{key(parts)}.npz")
    if path.exists():
        try:
            with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as stored:  # closed if damaged
                return {field: stored[field] for field in stored.files}
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile):
            path = _damaged(path)
    arrays = build()
    _store(path, lambda temporary: np.savez_compressed(temporary, **arrays))
    return arrays


def cached_model(name, parts, build, train):
    """A trained Keras model from the cache, or ``train(build())`` it and store it.

    Args:
        name: the start of the file name, e.g. ``"source_mnist_c1_s0"``.
        parts: the recipe: everything besides the architecture that shapes the weights
            (data, split, epochs, rates, seed, ...).
        build: returns the untrained model; its architecture (``to_json()``) is part of the key.
        train: trains the model it is given and returns it.

    Returns:
        ``(model, loaded)``: the model, and whether it came from the cache.
    """
    import keras

    model = build()
    path = entry_path(f"{name}_{key(parts, model.to_json(), versions('keras', 'tensorflow'))}.keras")
    if path.exists():
        try:
            return keras.models.load_model(path, safe_mode=True), True
        except Exception:  # a damaged .keras file fails in many ways; all mean "rebuild"
            path = _damaged(path)
    model = train(model)
    _store(path, model.save)
    return model, False
