"""The compact progress line."""

import numpy as np

from course_lib.core.cnn import build_cnn
from course_lib.core.progress import ProgressLine, format_logs, in_notebook
from course_lib.core.training import fit


def test_format_logs_shows_the_given_keys_in_order_or_every_number():
    logs = {"accuracy": 0.5, "loss": 1.25, "lr": np.float32(3), "note": "text"}
    assert format_logs(logs, keys=("loss", "accuracy")) == "loss 1.250 · accuracy 0.500"
    assert format_logs(logs) == "loss 1.250 · accuracy 0.500 · lr 3.000"
    assert format_logs({"val_accuracy": 0.4, "accuracy": 0.5}) == "accuracy 0.500 · val_accuracy 0.400"


def test_one_line_per_epoch_silent_outside_a_notebook(capsys):
    x = np.random.default_rng(0).random((64, 28, 28, 1)).astype("float32")
    y = np.arange(64) % 10
    line = ProgressLine("toy")
    model = build_cnn()
    fit(model, (x, y), epochs=2, callbacks=[line])
    assert not in_notebook() and not line.show
    assert capsys.readouterr().out == ""
    assert line.lines[0] == "toy: starting (2 epochs)"
    assert line.lines[-1].startswith("toy: epoch 2/2 · loss ")
    assert len(line.lines) == 3
