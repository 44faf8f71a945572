"""course_lib.publishing: the launch links, the widgets' recorded sessions, and how an executed
notebook gets them in place of its live widgets."""

import json

import nbformat
import numpy as np
import pytest
from IPython.core.formatters import DisplayFormatter

import course_lib

course_lib.setup(0)

from course_lib import publishing  # noqa: E402
from course_lib.chapters.ch02_task_fine_tuning import widget as layer_freezing  # noqa: E402
from course_lib.chapters.ch05_self_training_and_source_free import (  # noqa: E402
    widget as confidence_threshold)
from course_lib.chapters.ch06_domain_adaptation import widget as adaptation  # noqa: E402
from course_lib.chapters.ch06_domain_adaptation.experiments import Scores  # noqa: E402
from course_lib.core.cnn import build_cnn  # noqa: E402

NOTEBOOK = "chapters/02_task_fine_tuning.ipynb"


def shown(obj):
    """What Jupyter would display for ``obj``: ``{mimetype: data}``."""
    return DisplayFormatter().format(obj)[0]


def recorded(widget):
    """The recording registered for ``widget`` (a live ipywidgets widget), for ``NOTEBOOK``."""
    return publishing._registered[widget.model_id](NOTEBOOK)


def test_launch_links_are_the_course_repositorys():
    assert (publishing.binder_url("chapters/00_welcome.ipynb") ==
            "https://mybinder.org/v2/gh/transfer-learning-hands-on/course/HEAD"
            "?urlpath=lab/tree/chapters/00_welcome.ipynb")
    assert (publishing.colab_url("chapters/00_welcome.ipynb") ==
            "https://colab.research.google.com/github/transfer-learning-hands-on/course/blob/main/"
            "chapters/00_welcome.ipynb")


class Live:
    """A stand-in widget whose own display must never be used by a recording."""

    value = 42

    def _repr_mimebundle_(self, **kwargs):
        return {"text/plain": "LIVE WIDGET"}

    def _ipython_display_(self):
        raise AssertionError("the live widget was displayed")


def test_recording_displays_itself_and_hands_other_attributes_to_the_live_widget():
    recording = publishing.Recording("the test widget", ["pressed <Train>"], "<table></table>",
                                     png=b"\x89PNG fake", live=Live(), notebook=NOTEBOOK)
    data = shown(recording)
    page = data["text/html"]
    assert "Recorded when this page was built" in page and "the test widget" in page
    assert "<li>pressed &lt;Train&gt;</li>" in page  # steps are escaped
    assert 'src="data:image/png;base64,' in page and "<table></table>" in page
    assert publishing.binder_url(NOTEBOOK) in page and publishing.colab_url(NOTEBOOK) in page
    assert "LIVE WIDGET" not in data["text/plain"] and "pressed <Train>" in data["text/plain"]
    assert recording.value == 42
    with pytest.raises(AttributeError):
        recording._private_thing  # noqa: B018


def test_recording_needs_steps():
    with pytest.raises(ValueError, match="at least one step"):
        publishing.Recording("w", [], "")


def test_recording_without_live_widget_has_only_its_own_attributes():
    recording = publishing.Recording("w", ["a step"], "<table></table>")
    assert "Open this chapter in Jupyter" in recording._repr_html_()
    with pytest.raises(AttributeError):
        recording.state  # noqa: B018


@pytest.fixture(scope="module")
def tiny_task():
    rng = np.random.default_rng(0)
    x = rng.random((40, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, size=40)
    model = build_cnn(channels=1, filters=(4, 8), units=16)
    return model, (x[:32], y[:32]), (x[32:], y[32:])


def test_layer_freezing_factory_registers_a_session_of_four_runs_that_resets(tiny_task):
    model, train, validation = tiny_task
    demo = layer_freezing.layer_freezing_demo(model, train, validation, epochs=1)
    assert isinstance(demo, layer_freezing.LayerFreezingDemo)  # what a learner gets, always
    recording = recorded(demo.box)
    assert isinstance(recording, publishing.Recording)
    assert len(recording.steps) == 4
    assert "frozen" in recording.steps[1] and "validation accuracy" in recording.steps[0]
    assert "0.01" in recording.steps[3]
    assert recording.table_html.count("<tr") == 5 and recording.png.startswith(b"\x89PNG")
    # the live widget is back to where a learner starts, and the notebook can still drive it
    assert demo.state.results == [] and demo.state.frozen_units() == []
    assert demo.state.learning_rate == layer_freezing.DEFAULT_RATE
    first = next(iter(recording.toggles))
    recording.toggles[first].value = True
    recording.train_button.click()
    assert len(recording.state.results) == 1


def test_confidence_threshold_factory_registers_the_slider_moved_and_restored():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(10) * 0.3, size=300)
    y = rng.integers(0, 10, size=300)
    widget = confidence_threshold.confidence_threshold_widget(p, y, threshold=0.9)
    assert "course-confidence-threshold" in widget._dom_classes
    recording = recorded(widget)
    assert [s.split(":")[0] for s in recording.steps] == [
        f"Moved the slider to {t}" for t in ("0.99", "0.90", "0.70", "0.50")]
    assert recording.table_html.count("<tr") == 5 and recording.png.startswith(b"\x89PNG")
    assert recording.state.threshold == 0.9  # back where the notebook left it
    expected = confidence_threshold.ThresholdState(p, y, 0.9).summary()["passed"]
    assert recording.state.summary()["passed"] == expected


def test_a_chinese_chapter_records_its_widget_in_chinese():
    """The recording is made in the chapter's kernel, in its language (the Chinese edition's walk)."""
    from course_lib.core import language

    rng = np.random.default_rng(0)
    p, y = rng.dirichlet(np.ones(10) * 0.3, size=300), rng.integers(0, 10, size=300)
    language.use("zh")
    try:
        recording = recorded(confidence_threshold.confidence_threshold_widget(p, y, threshold=0.9))
        page = recording._repr_html_()
    finally:
        language.use("en")
    assert recording.steps[0].startswith("把滑块移到 0.99：") and "构建本页时录制" in page
    assert "置信度阈值控件" in page and "Moved" not in page


def test_adaptation_factory_registers_the_notebooks_runs_and_trains_nothing():
    def runner(method, weight):
        raise AssertionError("the site recording must not train")

    lab = adaptation.AdaptationLab(runner)
    lab.add("dann", 1.0, Scores(source_validation=0.96, target_test=0.8, pad=0.1,
                                      source_features=None, target_features=None), 12.0)
    widget = adaptation.adaptation_widget(lab)
    assert not isinstance(widget, publishing.Recording)
    recording = recorded(widget)
    assert len(recording.steps) == 1 and "dann at weight 1" in recording.steps[0]
    assert "0.800" in recording.table_html and recording.png is None


def test_an_executed_notebook_gets_every_recording_in_place_of_its_live_widget(tmp_path, monkeypatch):
    monkeypatch.setattr(publishing, "_registered", {})  # as in a fresh kernel: only this notebook's widget
    rng = np.random.default_rng(0)
    widget = confidence_threshold.confidence_threshold_widget(rng.dirichlet(np.ones(10), size=50),
                                                             rng.integers(0, 10, size=50))
    view = {publishing.WIDGET_VIEW: {"model_id": widget.model_id, "version_major": 2, "version_minor": 0}}
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("w", outputs=[nbformat.v4.new_output("display_data", data=view)]),
        nbformat.v4.new_code_cell("print(1)", outputs=[nbformat.v4.new_output("stream", text="1\n")])])
    notebook.metadata["widgets"] = {"state": "live"}
    exec(publishing.RECORD_CODE.format(path=str(tmp_path / "r.json"), notebook=NOTEBOOK))
    publishing.with_recordings(notebook, json.loads((tmp_path / "r.json").read_text()))
    html = notebook.cells[0].outputs[0].data["text/html"]
    assert "the confidence-threshold widget" in html and publishing.binder_url(NOTEBOOK) in html
    assert notebook.cells[1].outputs[0].text == "1\n" and "widgets" not in notebook.metadata
    unknown = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("w", outputs=[
        nbformat.v4.new_output("display_data", data={publishing.WIDGET_VIEW: {"model_id": "nope"}})])])
    with pytest.raises(ValueError, match="not recorded: its factory must call publishing.register"):
        publishing.with_recordings(unknown, {})
