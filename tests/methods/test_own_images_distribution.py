"""Chapter 08's distribution settings, without starting a cluster: the global batch and the
learning rate, TF_CONFIG, which worker writes, the precision policy (the runs themselves are in
test_own_images_cli)."""

import json
from types import SimpleNamespace

import pytest

import course_lib

course_lib.setup(0)

import tensorflow as tf  # noqa: E402

from course_lib.methods.own_images import distribution  # noqa: E402
from course_lib.methods.own_images.cli import main  # noqa: E402


def test_the_learning_rate_grows_with_the_global_batch():
    assert distribution.scaled(32, 1e-3, 1) == (32, 1e-3)
    assert distribution.scaled(32, 1e-3, 4) == (128, 4e-3)
    assert distribution.scaled(16, 1e-3, 1) == distribution.scaled(8, 1e-3, 2) == (16, 5e-4)  # same global batch
    with pytest.raises(ValueError, match="learning_rate must be a finite number"):
        distribution.scaled(32, float("nan"), 2)
    with pytest.raises(ValueError, match="batch_size must be a whole number >= 1"):
        distribution.scaled(0, 1e-3, 2)


def test_tf_config_is_read_and_explained(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": {"worker": ["a:1", "b:2"]},
                                                "task": {"type": "worker", "index": 1}}))
    assert distribution.cluster() == (["a:1", "b:2"], "worker", 1)
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {}}')
    with pytest.raises(ValueError, match="TF_CONFIG is not a cluster description.*expected e.g."):
        distribution.cluster()
    monkeypatch.delenv("TF_CONFIG")
    with pytest.raises(ValueError, match="needs TF_CONFIG"):
        distribution.make_strategy("multiworker")


def _strategy(task_type, task_id, cluster):
    spec = tf.train.ClusterSpec(cluster)
    return SimpleNamespace(cluster_resolver=SimpleNamespace(task_type=task_type, task_id=task_id,
                                                            cluster_spec=lambda: spec))


def test_only_the_chief_writes():
    workers = {"worker": ["a:1", "b:2"]}
    assert distribution.is_chief(None)
    assert distribution.is_chief(_strategy("worker", 0, workers))
    assert not distribution.is_chief(_strategy("worker", 1, workers))
    with_chief = {"chief": ["c:0"], **workers}
    assert distribution.is_chief(_strategy("chief", 0, with_chief))
    assert not distribution.is_chief(_strategy("worker", 0, with_chief))


def test_cpus_train_in_float32_and_the_policy_comes_back():
    assert distribution.precision_policy() == "float32"  # no GPU here
    with distribution.precision("mixed_float16"):
        assert tf.keras.mixed_precision.global_policy().name == "mixed_float16"
    assert tf.keras.mixed_precision.global_policy().name == "float32"
    with pytest.raises(ValueError, match="unknown precision 'float16'"):
        with distribution.precision("float16"):
            pass


def test_the_cpu_can_only_be_split_before_tensorflow_starts():
    with pytest.raises(RuntimeError, match="TensorFlow has started already.*--cpu-devices"):
        distribution.configure_cpu_devices(3)
    assert distribution.replicas(None) == 1 and distribution.make_strategy("default") is None


def test_the_bench_command_measures_every_pass(tmp_path, capsys):
    from methods.own_images_fixtures import make_squares

    assert main(["bench", str(make_squares(tmp_path / "squares")), "--passes", "2", "--image-size", "32"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("check: 36 images decoded in")
    assert lines[1].startswith("pass 1 (decode, fill the cache): ") and lines[2].startswith("pass 2 (from the cache): ")


def test_each_command_has_its_help():
    from course_lib.methods.own_images.cli import command_help

    text = command_help("train")
    assert text.startswith("usage: python -m course_lib.methods.own_images train") and "--strategy" in text
    with pytest.raises(ValueError, match="unknown command 'fit'"):
        command_help("fit")
