"""Chapter 09's budget widget: its state, the widget built headless, and its recorded session."""

import numpy as np
import pytest

import course_lib

course_lib.setup(0)

from course_lib import publishing  # noqa: E402
from course_lib.chapters.ch09_parameter_efficient.widget import (BudgetState, budget_widget,  # noqa: E402
                                                                 lora_layers)
from course_lib.core.cnn import build_cnn  # noqa: E402
from course_lib.methods import parameter_efficient as pe  # noqa: E402


@pytest.fixture(scope="module")
def source():
    return build_cnn(filters=(4, 8), units=16, seed=0)


@pytest.fixture(scope="module")
def task():
    rng = np.random.default_rng(0)
    x, y = rng.random((40, 28, 28, 1), dtype=np.float32), np.arange(40) % 10
    return {"train": (x[:20], y[:20]), "validation": (x[20:], y[20:])}


def test_the_count_follows_the_method_the_rank_and_the_layers(source, task):
    state = BudgetState(source, task, steps=2)
    assert state.method == "LoRA" and lora_layers(source) == ["block1_conv", "block2_conv", "features", "head"]
    ranks = [state.set(rank=r).trainable for r in (1, 4, 16)]
    assert ranks == sorted(ranks) and len(set(ranks)) == 3
    want = pe.budget(pe.with_lora(source, rank=16, layers=["features", "head"]), source)
    assert state.set(layers=["head", "features"]) == want and state.layers == ("features", "head")
    assert "LoRA r16 on features, head: trains" in state.text()
    bitfit = state.set(method="BitFit")
    assert bitfit == pe.budget(pe.bitfit(source), source) and state.label == "BitFit"
    assert state.set(method="full").share == 1.0


@pytest.mark.parametrize("setting, says", [({"rank": 0}, "rank"), ({"rank": 33}, "rank"),
                                           ({"layers": ["block1_bn"]}, "block1_bn"),
                                           ({"layers": []}, "none"), ({"method": "prompt"}, "method")])
def test_impossible_settings_are_refused(source, task, setting, says):
    with pytest.raises(ValueError, match=says):
        BudgetState(source, task).set(**setting)


def test_a_run_records_its_validation_accuracy_and_what_it_trained(source, task):
    state = BudgetState(source, task, steps=2)
    state.set(method="BitFit")
    row = state.train()
    assert row["run"] == 1 and row["setting"] == "BitFit" and 0 <= row["val_accuracy"] <= 1
    assert row["rate"] in pe.RATE_GRID["bitfit"] and row["trainable"] == state.budget().trainable
    assert state.table_html().count("</tr>") == 2 and state.figure().axes[0].get_xscale() == "log"
    state.reset()
    assert state.runs == [] and "press Train" in state.figure().axes[0].get_title()


def test_the_widget_updates_its_count_trains_and_shows_errors(source, task):
    widget = budget_widget(source, task, steps=2)
    count = widget.children[3]
    widget.method.value = "BitFit"
    assert count.value.startswith("BitFit: trains") and widget.rank.disabled and widget.layers.disabled
    widget.method.value = "LoRA"
    widget.rank.value = 8
    assert "LoRA r8 on block1_conv, block2_conv" in count.value and not widget.rank.disabled
    widget.train_button.click()
    assert len(widget.state.runs) == 1 and "validation accuracy" in widget.children[5].value
    assert widget.children[-1].value.count("</tr>") == 2 and widget.children[6].value
    widget.layers.value = ()  # no layer: refused in the status line, the widget stays usable
    assert "Could not" in widget.children[5].value and widget.state.layers == ("block1_conv", "block2_conv")


def test_the_recording_shows_the_settings_and_the_runs_then_puts_the_setting_back(source, task):
    widget = budget_widget(source, task, steps=2)
    widget.train_button.click()
    recording = publishing.record_budget(widget, notebook="chapters/09_parameter_efficient.ipynb")
    assert len(recording.steps) == 5 and recording.steps[0].startswith("Chose LoRA r1")
    assert recording.steps[-1].startswith("Run 1: trained LoRA r4") and recording.png
    assert (widget.state.method, widget.state.rank) == ("LoRA", 4)
