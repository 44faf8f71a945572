"""The shared plots draw what they are given and refuse what they cannot draw."""

import matplotlib.pyplot as plt
import numpy as np
import pytest

from course_lib.core import plots


def _images(n, channels):
    return np.random.default_rng(0).random((n, 28, 28, channels)).astype("float32"), np.arange(n) % 10


def test_sample_grid_has_a_row_per_domain():
    fig = plots.sample_grid({"grey": _images(6, 1), "colour": _images(6, 3)}, n=4)
    assert len(fig.axes) == 8
    assert fig.axes[0].get_ylabel() == "grey"
    plt.close(fig)


def test_sample_grid_errors():
    with pytest.raises(ValueError, match="empty"):
        plots.sample_grid({})
    with pytest.raises(ValueError, match="fewer than n=8"):
        plots.sample_grid({"tiny": _images(3, 1)}, n=8)


def test_learning_curves_plot_train_and_validation():
    ax = plots.learning_curves({"run": {"accuracy": [0.5, 0.7], "val_accuracy": [0.4, 0.6]}})
    assert len(ax.lines) == 2
    with pytest.raises(ValueError, match="has no 'loss'"):
        plots.learning_curves({"run": {"accuracy": [0.5]}}, metric="loss")
    plt.close("all")


def test_bar_chart_writes_each_value():
    ax = plots.bar_chart({"a": 0.25, "b": 0.75}, chance=0.1)
    assert [t.get_text() for t in ax.texts] == ["0.25", "0.75"]
    with pytest.raises(ValueError, match="empty"):
        plots.bar_chart({})
    plt.close("all")


def test_the_course_palette_is_the_default_colour_cycle_after_setup():
    import matplotlib as mpl

    import course_lib

    course_lib.setup()
    colours = mpl.rcParams["axes.prop_cycle"].by_key()["color"]
    assert [c.upper() for c in colours] == list(plots.PALETTE)
    assert "#FF0000" not in colours and "#00FF00" not in colours
