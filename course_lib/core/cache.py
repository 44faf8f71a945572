"""The cache folder: data and trained models built once, written atomically, checked when read.

Every entry's file name carries a key: a hash of everything that shapes it (the recipe,
the architecture, the data version, the versions of the course and of the libraries that
made it), so a changed recipe or an upgrade never loads a stale entry. Writes go to a
unique temporary file that is renamed when complete: a run stopped halfway never leaves
half a file, and two kernels filling one entry at once both succeed. An entry that cannot
be read (a truncated file, a disk error) is reported with its path, deleted and rebuilt.

``$COURSE_CACHE_DIR`` moves the folder (default ``~/.cache/transfer-learning-course``);
when it cannot be written, the course warns and uses a folder in the temporary directory.
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


def cache_dir():
    """The cache folder (created if missing): ``$COURSE_CACHE_DIR`` or ``~/.cache/...``."""
    wanted = Path(os.environ.get(CACHE_ENV) or DEFAULT_FOLDER).expanduser()
    if _writable(wanted):
        return wanted
    user = os.getuid() if hasattr(os, "getuid") else "user"
    fallback = Path(tempfile.gettempdir()) / f"transfer-learning-course-{user}"
    if not _writable(fallback):
        raise OSError(f"cannot write to the cache folder {wanted} nor to {fallback}; set "
                      f"{CACHE_ENV} to a folder you can write to")
    warnings.warn(f"cannot write to the cache folder {wanted}; using {fallback} for this session "
                  f"(set {CACHE_ENV} to a writable folder to keep the cache)", CacheWarning,
                  stacklevel=2)
    return fallback


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


def _unreadable(path, error):
    warnings.warn(f"the cache entry {path} could not be read ({type(error).__name__}: {error}); "
                  "deleting it and building it again", CacheWarning, stacklevel=3)
    Path(path).unlink(missing_ok=True)


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

    path = cache_dir() / f"{name}_{key(parts)}.npz"
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as stored:
                return {field: stored[field] for field in stored.files}
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as error:
            _unreadable(path, error)
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
    path = cache_dir() / (f"{name}_"
                          f"{key(parts, model.to_json(), versions('keras', 'tensorflow'))}.keras")
    if path.exists():
        try:
            return keras.models.load_model(path, safe_mode=True), True
        except Exception as error:  # a damaged .keras file fails in many ways; all mean "rebuild"
            _unreadable(path, error)
    model = train(model)
    _store(path, model.save)
    return model, False
