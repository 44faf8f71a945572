"""``python -m course_lib.methods.own_images``: bad input stops cleanly; the folder command trains and
exports with the default strategy, MirroredStrategy over two logical CPU devices and a
two-worker MultiWorkerMirroredStrategy (two local processes on 127.0.0.1).

The distributed runs start fresh processes (a CPU can only be split before TensorFlow starts)
and never outlive their test: each is killed, with its process group, when the test ends.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import course_lib

course_lib.setup(0)

from course_lib.methods.own_images import pipeline, samples  # noqa: E402
from course_lib.methods.own_images.cli import BAD_INPUT, main  # noqa: E402
from course_lib.methods.own_images.folder import check_folder  # noqa: E402
from methods.own_images_fixtures import make_squares  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
#: Seconds a distributed run may take here (2 shared cores, TensorFlow started per process).
RUN_TIMEOUT = 420
#: The same global batch (16) on one device, on two and on two workers; no augmentation and no
#: dropout, so the runs differ only in the order of floating-point sums and of the shuffled data.
COMMON = ["--offline", "--image-size", "32", "--head-epochs", "4", "--fine-epochs", "1", "--no-augment",
          "--dropout", "0", "--seed", "0"]
#: Largest difference in test accuracy allowed between one device and two (2 of the 16 test images).
TOLERANCE = 0.125


# ----------------------------------------------------------------------------- bad input

@pytest.fixture()
def squares(tmp_path):
    return make_squares(tmp_path / "squares")


def _bad(argv, capsys):
    assert main(argv) == BAD_INPUT
    return capsys.readouterr().err


def test_a_missing_folder(tmp_path, capsys):
    error = _bad(["train", str(tmp_path / "nowhere"), "--output", str(tmp_path / "out"), "--offline"], capsys)
    assert error.startswith("error: image folder") and "does not exist" in error
    assert not (tmp_path / "out").exists()


def test_an_empty_folder_and_a_single_class(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert "has no class sub-folders" in _bad(["train", str(tmp_path / "empty"), "--offline"], capsys)
    make_squares(tmp_path / "one", colours={"blue": (30, 60, 220)})
    assert "only one class ('blue')" in _bad(["train", str(tmp_path / "one"), "--offline"], capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "one"]  # nothing written


def test_unreadable_files_are_counted_skipped_and_named(squares, capsys):
    (squares / "blue" / "notes.txt").write_text("not an image")
    assert main(["check", str(squares)]) == 0
    out = capsys.readouterr().out
    assert "3 classes, 36 usable images" in out and "skipped 1 file(s)" in out and "blue/notes.txt" in out
    for path in list((squares / "orange").iterdir())[:5]:
        path.write_bytes(b"broken")
    error = _bad(["check", str(squares)], capsys)
    assert "{'orange': 7}" in error and "skipped 6 file(s)" in error
    assert "6 x not an image TensorFlow recognises" in error and "blue/notes.txt and 5 more" in error


def test_an_output_folder_that_exists_is_never_overwritten(squares, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    error = _bad(["train", str(squares), "--output", str(out), "--offline"], capsys)
    assert "the output folder" in error and "already exists" in error
    assert [p.name for p in out.iterdir()] == ["mine.txt"] and (out / "mine.txt").read_text() == "keep me"


@pytest.mark.parametrize("option, message", [
    (["--image-size", "5000"], "image_size must be a whole number from 32 to 512"),
    (["--validation-share", "0"], "validation_share must be between 0 and 1"),
    (["--head-epochs", "0"], "head_epochs must be a whole number >= 1"),
    (["--strategy", "multiworker"], "--strategy multiworker needs TF_CONFIG"),
    (["--threads", "0"], "--threads must be a whole number >= 1, got 0"),  # issue 27: 0 was "every CPU"
    (["--cpu-devices", "0"], "--cpu-devices must be a whole number >= 1, got 0"),
])
def test_bad_options(squares, tmp_path, capsys, monkeypatch, option, message):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    error = _bad(["train", str(squares), "--output", str(tmp_path / "out"), "--offline", *option], capsys)
    assert message in error and not (tmp_path / "out").exists()


@pytest.mark.parametrize("option, message", [(["--passes", "0"], "--passes must be a whole number >= 1, got 0"),
                                             (["--image-size", "8"], "image_size must be a whole number from 32")])
def test_bad_bench_options(squares, capsys, option, message):
    assert message in _bad(["bench", str(squares), *option], capsys)


# ----------------------------------------------------------------------------- real runs

@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return samples.make_sample_folder(tmp_path_factory.mktemp("cli") / "sample", per_class=20, image_size=40)


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _run_together(jobs, cwd):
    """Run ``[(argv, extra environment)]`` at once; return their outputs. None outlives this call:
    when one fails, or the time is up, the others are killed with their process groups."""
    processes, logs = [], []
    deadline = time.monotonic() + RUN_TIMEOUT
    try:
        for i, (argv, extra) in enumerate(jobs):
            env = {**os.environ, "PYTHONPATH": str(ROOT), "COURSE_QUIET": "1", **extra}
            logs.append(Path(cwd) / f"process{i}.log")
            with open(logs[-1], "w") as log:
                processes.append(subprocess.Popen([sys.executable, *argv], cwd=cwd, env=env, stdout=log,
                                                  stderr=subprocess.STDOUT, start_new_session=True))
        while time.monotonic() < deadline:
            codes = [p.poll() for p in processes]
            if None not in codes or any(code not in (None, 0) for code in codes):
                break
            time.sleep(0.5)
    finally:
        for p in processes:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    outputs = [log.read_text() for log in logs]
    for p, out in zip(processes, outputs):
        assert p.returncode == 0, out[-3000:]
    return outputs


def _accuracy_of_the_exported_model(run_folder, folder):
    """Test accuracy of ``model.keras`` measured afresh on the same split."""
    import keras

    from course_lib.methods.own_images.recipe import predict_dataset

    model = keras.models.load_model(run_folder / "model.keras")
    test = pipeline.split_files(check_folder(folder), seed=0)["test"]
    probabilities, labels = predict_dataset(model, pipeline.dataset(test, 32, 64, training=False))
    return float(np.mean(probabilities.argmax(axis=1) == labels))


def _check_run(run_folder, folder, replicas):
    assert sorted(p.name for p in run_folder.iterdir()) == [
        "confusion_matrix.png", "curves.png", "mistakes.png", "model.keras", "report.json", "report.md"]
    facts = json.loads((run_folder / "report.json").read_text())
    assert facts["distributed"]["replicas"] == replicas and facts["distributed"]["global_batch"] == 16
    assert facts["weights"] == "random init, not transfer" and facts["split"]["test"] == 16
    accuracy = facts["test_accuracy"]["two stages"]
    assert _accuracy_of_the_exported_model(run_folder, folder) == pytest.approx(accuracy)
    return accuracy


@pytest.fixture(scope="module")
def one_and_two_devices(sample, tmp_path_factory):
    """The default strategy (one device, batch 16) and MirroredStrategy (two devices, 8 each),
    in one fresh process whose CPU is split in two."""
    out = tmp_path_factory.mktemp("devices")
    script = textwrap.dedent(f"""
        import sys
        from course_lib.methods.own_images.cli import main
        common = {COMMON!r} + ["--cpu-devices", "2"]
        assert main(["train", {str(sample)!r}, "--output", "one", "--batch-size", "16", *common]) == 0
        assert main(["train", {str(sample)!r}, "--output", "two", "--batch-size", "8",
                     "--strategy", "mirrored", *common]) == 0
    """)
    log = _run_together([(["-c", script], {})], out)[0]
    return out, log


@pytest.mark.slow
def test_the_folder_command_trains_and_exports_on_one_device(one_and_two_devices, sample):
    out, log = one_and_two_devices
    accuracy = _check_run(out / "one", sample, replicas=1)
    assert accuracy >= 0.25 + 0.2, log[-2000:]  # chance is 0.25: it learned something
    assert "wrote one (model.keras, report.md, figures)" in log


@pytest.mark.slow
def test_mirrored_over_two_cpu_devices_matches_one_device(one_and_two_devices, sample):
    out, log = one_and_two_devices
    one = json.loads((out / "one" / "report.json").read_text())["test_accuracy"]["two stages"]
    two = _check_run(out / "two", sample, replicas=2)
    assert abs(two - one) <= TOLERANCE, (one, two)
    assert "MirroredStrategy" in (out / "two" / "report.md").read_text()


@pytest.mark.slow
def test_two_workers_train_and_the_chief_exports(sample, one_and_two_devices, tmp_path):
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    argv = ["-m", "course_lib.methods.own_images", "train", str(sample), "--output", "workers", "--batch-size", "8",
            "--strategy", "multiworker", *COMMON]
    logs = _run_together([(argv, {"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker",
                                                                                        "index": i}})})
                          for i in range(2)], tmp_path)
    assert "wrote workers" in logs[0] and "the chief (worker 0) writes the outputs" in logs[1]
    accuracy = _check_run(tmp_path / "workers", sample, replicas=2)
    assert f"two stages {accuracy:.3f}" in logs[1]  # both workers hold the same model
    one = json.loads((one_and_two_devices[0] / "one" / "report.json").read_text())["test_accuracy"]["two stages"]
    assert abs(accuracy - one) <= TOLERANCE, (one, accuracy)
