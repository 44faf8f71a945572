"""The layer-freezing widget: its state follows every toggle; Train adds a row; Reset clears."""

import numpy as np
import pytest

import course_lib

course_lib.setup(0)

from course_lib.fine_tuning import parameter_counts  # noqa: E402
from course_lib.models import BLOCKS, build_cnn  # noqa: E402
from course_lib.widgets import layer_freezing as lf  # noqa: E402


@pytest.fixture(scope="module")
def source():
    return build_cnn(channels=1, filters=(4, 8), units=16)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.random((40, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, size=40)
    return ((x[:32], y[:32]), (x[32:], y[32:])), (x[32:], y[32:])


@pytest.fixture()
def state(source, data):
    target, src = data
    return lf.LayerFreezingState(source, target, src, epochs=1)


def block_params(model, block):
    return sum(model.get_layer(n).count_params() for n in BLOCKS[block])


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
        assert str(f"{trainable:,}") in state.count_text()
    assert state.counts()[0] == 0
    state.toggle("head")
    assert state.counts()[0] == source.get_layer("head").count_params()
    assert state.frozen_units() == ["block1", "block2", "features"]


def test_train_appends_rows_from_the_same_start_and_reset_clears(state, source):
    """Two runs with the same settings: two rows, two curves, equal results; then Reset."""
    seen = []
    weights = source.get_layer("block1_conv").get_weights()[0].copy()
    state.set_frozen("block1", True)
    state.set_learning_rate(3e-3)
    first = state.train(on_epoch=lambda done, epochs, logs: seen.append((done, epochs)))
    assert seen == [(1, 1)]
    assert first["run"] == 1 and first["frozen"] == "block1" and first["learning_rate"] == 3e-3
    assert first["trainable_params"] == state.counts()[0]
    assert 0.0 <= first["target_accuracy"] <= 1.0 and 0.0 <= first["source_accuracy"] <= 1.0
    second = state.train()
    assert second["target_accuracy"] == first["target_accuracy"]  # every run starts afresh
    assert len(state.results_table()) == 2 and len(state.histories) == 2
    assert state.results_html().count("<tr") == 3  # header + 2 runs
    assert state.curve_png().startswith(b"\x89PNG")
    # the source model itself is never changed
    assert source.get_layer("block1_conv").trainable
    np.testing.assert_array_equal(source.get_layer("block1_conv").get_weights()[0], weights)
    state.reset()
    assert state.results == [] and state.histories == []
    assert state.frozen_units() == [] and state.learning_rate == 1e-3
    assert state.counts() == parameter_counts(source)


def test_train_refuses_when_everything_is_frozen(state):
    for unit in state.units:
        state.set_frozen(unit, True)
    with pytest.raises(ValueError, match="unfreeze at least one"):
        state.train()


@pytest.mark.parametrize("call, message", [
    (lambda s: s.toggle("block9"), "toggles: block1, block2, features, head"),
    (lambda s: s.set_learning_rate(0.5), "choose one of"),
])
def test_state_rejects_bad_input(state, call, message):
    with pytest.raises(ValueError, match=message):
        call(state)


def test_constructor_rejects_bad_input(source, data):
    target, _ = data
    with pytest.raises(ValueError, match="allowed: blocks, layers"):
        lf.LayerFreezingState(source, target, units="neurons")
    with pytest.raises(ValueError, match="epochs"):
        lf.LayerFreezingState(source, target, epochs=0)


def test_layer_units_list_every_layer_with_weights(source, data):
    target, _ = data
    state = lf.LayerFreezingState(source, target, units="layers", epochs=1)
    assert list(state.units) == [l.name for l in source.layers if l.weights]


def test_widget_wires_toggles_button_and_reset(source, data):
    target, src = data
    demo = lf.layer_freezing_demo(source, target, src, epochs=1)
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
    assert demo.progress.value == 1 and "run 1" in demo.status.value
    for unit in demo.toggles:
        demo.toggles[unit].value = True
    demo.train_button.click()  # refused: shown in the status line, nothing raised
    assert "unfreeze" in demo.status.value and len(demo.state.results) == 1
    demo.reset_button.click()
    assert demo.state.results == [] and not any(t.value for t in demo.toggles.values())
    assert "No runs yet" in demo.table.value
    for name in ("course-layer-freezing",):
        assert name in demo.box._dom_classes
