"""The cache: keyed entries, atomic writes, two writers at once, unreadable and stale entries."""

import os
import stat
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import pytest

from course_lib.core import cache
from course_lib.core.cnn import build_cnn


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path))
    return tmp_path


def _arrays():
    return {"x": np.arange(12, dtype="uint8").reshape(3, 4)}


def test_arrays_are_built_once_then_read_back(folder):
    built = []

    def build():
        built.append(1)
        return _arrays()

    first = cache.cached_arrays("toy", ["v1"], build)
    second = cache.cached_arrays("toy", ["v1"], build)
    np.testing.assert_array_equal(first["x"], second["x"])
    assert built == [1] and len(list(folder.glob("toy_*.npz"))) == 1
    cache.cached_arrays("toy", ["v2"], build)  # another recipe, another entry
    assert built == [1, 1] and len(list(folder.glob("toy_*.npz"))) == 2
    assert not list(folder.glob(".toy*")), "no temporary file is left behind"


def test_a_truncated_entry_is_reported_deleted_and_rebuilt(folder):
    cache.cached_arrays("toy", ["v1"], _arrays)
    path = next(folder.glob("toy_*.npz"))
    path.write_bytes(path.read_bytes()[:20])
    with pytest.warns(cache.CacheWarning, match=f"{path.name} is damaged .could not be read., rebuilt$"):
        again = cache.cached_arrays("toy", ["v1"], _arrays)
    np.testing.assert_array_equal(again["x"], _arrays()["x"])
    np.testing.assert_array_equal(np.load(path)["x"], _arrays()["x"])


@pytest.mark.parametrize("damage", [lambda data: np.random.default_rng(0).bytes(len(data)),  # said "pickled"
                                    lambda data: data[: len(data) // 2]])  # said "File not found"
@pytest.mark.parametrize("kind", ["arrays", "model"])
def test_a_damaged_entry_is_called_damaged_whatever_the_damage(folder, damage, kind):
    """Issue 27: random bytes were reported as "pickled (object) data", a truncated model as "File not found"."""
    build = lambda: build_cnn(filters=(4, 4), units=8)  # noqa: E731
    fill = (lambda: cache.cached_arrays("toy", ["v1"], _arrays)) if kind == "arrays" else \
        (lambda: cache.cached_model("toy_cnn", ["recipe"], build, lambda m: m))
    fill()
    (path,) = folder.glob("toy*")
    path.write_bytes(damage(path.read_bytes()))
    with pytest.warns(cache.CacheWarning) as caught:
        fill()
    (message,) = [str(w.message) for w in caught if w.category is cache.CacheWarning]
    assert message == f"the cache entry {path} is damaged (could not be read), rebuilt"


def test_a_read_only_cache_warmed_by_a_teacher_is_read_and_new_entries_go_elsewhere(folder, tmp_path_factory,
                                                                                     monkeypatch):
    """Issue 27: a cache folder a teacher warmed, then read-only for the class, was ignored: every
    learner rebuilt every entry in /tmp and saw the warning two or three times."""
    elsewhere = tmp_path_factory.mktemp("tmp")
    monkeypatch.setattr(tempfile, "tempdir", str(elsewhere))
    cache.cached_arrays("warm", ["v1"], _arrays)
    writable = cache._writable  # read-only for the learner (root, who runs CI, can write anywhere)
    monkeypatch.setattr(cache, "_writable", lambda path: path != folder and writable(path))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        read = cache.cached_arrays("warm", ["v1"], lambda: pytest.fail("rebuilt a warm entry"))
        cache.cached_arrays("cold", ["v1"], _arrays)
        cache.cached_arrays("cold", ["v2"], _arrays)
    np.testing.assert_array_equal(read["x"], _arrays()["x"])
    messages = [str(w.message) for w in caught]
    fallback = cache.cache_dir()
    assert messages == [f"cannot write to the cache folder {folder}; reading the entries it holds, writing "
                        f"new entries to {fallback} (set COURSE_CACHE_DIR to a writable folder to keep them)"]
    assert fallback.parent == elsewhere and len(list(fallback.glob("cold_*.npz"))) == 2
    assert [p.name for p in folder.iterdir()] == [next(folder.glob("warm_*")).name]


def test_written_files_get_the_usual_permissions(folder):
    path = cache.atomic_write(folder / "report.json", lambda temporary: temporary.write_text("{}"))
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask


def test_a_failed_write_leaves_no_file(folder):
    target = folder / "entry.npz"

    def half_then_fail(temporary):
        temporary.write_bytes(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cache.atomic_write(target, half_then_fail)
    assert list(folder.iterdir()) == []


#: A worker filling one entry 20 times: it says it is ready, then waits for "go" so that both race.
_FILL = """
import os, sys, time
import numpy as np
from course_lib.core import cache
folder = sys.argv[1]
open(os.path.join(folder, "ready-" + sys.argv[2]), "w").close()
while not os.path.exists(os.path.join(folder, "go")):
    time.sleep(0.001)
for _ in range(20):
    cache.cached_arrays("shared", ["v1"], lambda: {"x": np.ones((200, 200), "uint8")})
"""


def test_two_processes_filling_one_entry_both_succeed(folder, tmp_path):
    signals = tmp_path / "signals"
    signals.mkdir()
    environ = {**os.environ, cache.CACHE_ENV: str(folder)}
    workers = [subprocess.Popen([sys.executable, "-c", _FILL, str(signals), str(i)], env=environ)
               for i in range(2)]
    deadline = time.monotonic() + 60
    while len(list(signals.glob("ready-*"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    (signals / "go").touch()
    assert [w.wait(60) for w in workers] == [0, 0]
    assert len(list(folder.glob("shared_*.npz"))) == 1 and not list(folder.glob(".shared*"))


def test_a_changed_architecture_is_a_new_model_entry(folder):
    trained = []

    def train(model):
        trained.append(model.count_params())
        return model

    small = lambda: build_cnn(filters=(4, 4), units=8)  # noqa: E731
    wider = lambda: build_cnn(filters=(8, 8), units=8)  # noqa: E731
    model, loaded = cache.cached_model("toy_cnn", ["recipe"], small, train)
    assert not loaded
    again, loaded = cache.cached_model("toy_cnn", ["recipe"], small, train)
    assert loaded and again.count_params() == model.count_params()
    other, loaded = cache.cached_model("toy_cnn", ["recipe"], wider, train)
    assert not loaded and other.count_params() != model.count_params()
    assert trained == [model.count_params(), other.count_params()]


def test_a_damaged_model_file_is_rebuilt(folder):
    build = lambda: build_cnn(filters=(4, 4), units=8)  # noqa: E731
    cache.cached_model("toy_cnn", ["recipe"], build, lambda m: m)
    path = next(folder.glob("toy_cnn_*.keras"))
    path.write_bytes(path.read_bytes()[:100])
    with pytest.warns(cache.CacheWarning, match="could not be read"):
        _, loaded = cache.cached_model("toy_cnn", ["recipe"], build, lambda m: m)
    assert not loaded and path.stat().st_size > 100


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can write anywhere")
def test_a_read_only_cache_folder_falls_back_with_a_warning(folder):
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with pytest.warns(cache.CacheWarning, match="cannot write"):
            used = cache.cache_dir()
        assert used != folder and os.access(used, os.W_OK)
    finally:
        folder.chmod(stat.S_IRWXU)


def test_an_unwritable_cache_folder_falls_back_with_a_warning(tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(cache.CACHE_ENV, str(blocker / "cache"))
    with pytest.warns(cache.CacheWarning, match="cannot write to the cache folder"):
        used = cache.cache_dir()
    assert os.access(used, os.W_OK)


def test_keys_cover_the_library_versions():
    found = cache.versions("numpy")
    assert set(found) == {"course", "numpy"} and found["numpy"] == np.__version__
    assert cache.key([1, 2]) != cache.key([1, 2], found)
