"""The compact progress line."""

import numpy as np

from course_lib.models import build_cnn, train_classifier
from course_lib.progress import ProgressLine, format_logs, in_notebook


def test_format_logs_keeps_known_keys_in_order():
    assert format_logs({"accuracy": 0.5, "loss": 1.25, "lr": 3}) == "loss 1.250 · accuracy 0.500"


def test_one_line_per_epoch_silent_outside_a_notebook(capsys):
    x = np.random.default_rng(0).random((64, 28, 28, 1)).astype("float32")
    y = np.arange(64) % 10
    line = ProgressLine("toy")
    model = build_cnn()
    train_classifier(model, x, y, epochs=2, progress=None)
    model.fit(x, y, epochs=2, verbose=0, callbacks=[line])
    assert not in_notebook() and not line.show
    assert capsys.readouterr().out == ""
    assert line.lines[0] == "toy: starting (2 epochs)"
    assert line.lines[-1].startswith("toy: epoch 2/2 · loss ")
    assert len(line.lines) == 3
