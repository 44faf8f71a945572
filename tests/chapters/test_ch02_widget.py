"""The layer-freezing widget: its state follows every toggle; Train adds a row of validation
accuracies; any failure shows in the status line and leaves Train usable; Reset clears."""

import numpy as np
import pytest

import course_lib

course_lib.setup(0)

from course_lib.chapters.ch02_task_fine_tuning import widget as lf  # noqa: E402
from course_lib.core.cnn import build_cnn  # noqa: E402
from course_lib.core.evaluation import accuracy  # noqa: E402
from course_lib.core.layers import parameter_counts  # noqa: E402


@pytest.fixture(scope="module")
def source():
    return build_cnn(channels=1, filters=(4, 8), units=16)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.random((48, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, size=48)
    return (x[:32], y[:32]), (x[32:], y[32:])


@pytest.fixture()
def state(source, data):
    return lf.LayerFreezingState(source, *data, epochs=2)


def test_every_toggle_changes_flags_and_count(state, source):
    assert list(state.units) == ["block1", "block2", "features", "head"]  # model order
    total = source.count_params()
    for unit in state.units:
        before = state.counts()[0]
        state.toggle(unit)
        assert all(not state.model.get_layer(n).trainable for n in state.units[unit])
        trainable, frozen = state.counts()
        assert trainable + frozen == total
        # what left the trainable count: the unit's trainable params (BN moving stats never trained)
        layer_trainable = sum(sum(int(np.prod(v.shape)) for v in state.model.get_layer(n).weights
                                  if "moving" not in v.path) for n in state.units[unit])
        assert before - trainable == layer_trainable
        assert f"{trainable:,}" in state.count_text()
    assert state.counts()[0] == 0
    state.toggle("head")
    assert state.counts()[0] == source.get_layer("head").count_params()
    assert state.frozen_units() == ["block1", "block2", "features"]


def test_train_appends_validation_rows_from_the_same_start_and_reset_clears(state, source, data):
    """Two runs with the same settings: two rows, two curves, equal results; then Reset."""
    seen = []
    weights = source.get_layer("block1_conv").get_weights()[0].copy()
    state.set_frozen("block1", True)
    state.set_learning_rate(3e-3)
    first = state.train(on_epoch=lambda done, epochs, logs: seen.append((done, epochs, "val_accuracy" in logs)))
    assert seen == [(1, 2, True), (2, 2, True)]
    assert first["run"] == 1 and first["frozen"] == "block1" and first["learning_rate"] == 3e-3
    assert first["trainable_params"] == state.counts()[0]
    # the table's number is the model's accuracy on the validation split, after the run
    assert first["val_accuracy"] == round(accuracy(state.model, *data[1]), 3)
    assert first["best_val_accuracy"] == round(max(state.histories[0]), 3)
    second = state.train()
    assert second["val_accuracy"] == first["val_accuracy"]  # every run starts afresh
    assert len(state.results_table()) == 2 and len(state.histories) == 2
    html = state.results_html()
    assert html.count("<tr") == 3 and "validation accuracy" in html  # header + 2 runs
    assert state.curve_png().startswith(b"\x89PNG")
    assert state.curve_figure().axes[0].get_ylabel() == "validation accuracy"
    assert source.get_layer("block1_conv").trainable  # the source model itself is never changed
    np.testing.assert_array_equal(source.get_layer("block1_conv").get_weights()[0], weights)
    state.reset()
    assert state.results == [] and state.histories == []
    assert state.frozen_units() == [] and state.learning_rate == lf.DEFAULT_RATE
    assert state.counts() == parameter_counts(source)


def test_train_refuses_when_everything_is_frozen(state):
    for unit in state.units:
        state.set_frozen(unit, True)
    with pytest.raises(ValueError, match="unfreeze at least one"):
        state.train()


@pytest.mark.parametrize("call, message", [
    (lambda s: s.toggle("block9"), "allowed: 'block1', 'block2', 'features', 'head'"),
    (lambda s: s.set_learning_rate(0.5), "unknown learning rate"),
])
def test_state_rejects_bad_input(state, call, message):
    with pytest.raises(ValueError, match=message):
        call(state)


def test_constructor_rejects_bad_input(source, data):
    train, validation = data
    with pytest.raises(ValueError, match="allowed: 'blocks', 'layers'"):
        lf.LayerFreezingState(source, train, validation, units="neurons")
    with pytest.raises(ValueError, match="epochs"):
        lf.LayerFreezingState(source, train, validation, epochs=0)
    with pytest.raises(ValueError, match="validation must be a pair"):
        lf.LayerFreezingState(source, train, validation[0])


def test_layer_units_list_every_layer_with_weights(source, data):
    state = lf.LayerFreezingState(source, *data, units="layers", epochs=1)
    assert list(state.units) == [layer.name for layer in source.layers if layer.weights]


def test_widget_wires_toggles_button_and_reset(source, data):
    demo = lf.layer_freezing_demo(source, *data, epochs=1)
    before = demo.count.value
    demo.toggles["block1"].value = True
    assert demo.state.frozen["block1"] and demo.count.value != before
    assert "frozen" in demo.toggles["block1"].description
    assert "course-layer-toggle-block1" in demo.toggles["block1"]._dom_classes
    demo.rate.value = 3e-3
    assert demo.state.learning_rate == 3e-3
    empty_curve = demo.curve.value
    demo.train_button.click()
    assert len(demo.state.results) == 1
    assert "course-results" in demo.table.value and demo.curve.value != empty_curve
    assert demo.progress.value == 1 and "run 1: validation accuracy" in demo.status.value
    for unit in demo.toggles:
        demo.toggles[unit].value = True
    demo.train_button.click()  # refused: shown in the status line, nothing raised
    assert "unfreeze" in demo.status.value and len(demo.state.results) == 1
    assert not demo.train_button.disabled
    demo.reset_button.click()
    assert demo.state.results == [] and not any(t.value for t in demo.toggles.values())
    assert "No runs yet" in demo.table.value and demo.status.value == "ready"
    for name in ("course-layer-freezing",):
        assert name in demo.box._dom_classes


def test_any_failure_shows_in_the_status_line_and_train_stays_usable(source, data, monkeypatch):
    demo = lf.layer_freezing_demo(source, *data, epochs=1)

    def broken(on_epoch=None):
        raise RuntimeError("the kernel ran out of <memory>")

    monkeypatch.setattr(demo.state, "train", broken)
    assert demo.train() is None
    assert "RuntimeError" in demo.status.value and "&lt;memory&gt;" in demo.status.value
    assert not demo.train_button.disabled
    monkeypatch.undo()
    assert demo.train()["run"] == 1  # usable again
