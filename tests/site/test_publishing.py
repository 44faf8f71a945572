"""course_lib.publishing: the site-build switch, the launch links, and the widgets' recorded sessions."""

import numpy as np
import pytest
from IPython.core.formatters import DisplayFormatter

import course_lib

course_lib.setup(0)

from course_lib import publishing  # noqa: E402
from course_lib.chapters.ch02_task_fine_tuning import widget as layer_freezing  # noqa: E402
from course_lib.chapters.ch04_self_training_and_source_free import (  # noqa: E402
    widget as confidence_threshold)
from course_lib.chapters.ch05_domain_adaptation import widget as adaptation  # noqa: E402
from course_lib.chapters.ch05_domain_adaptation.experiments import Scores  # noqa: E402
from course_lib.core.cnn import build_cnn  # noqa: E402

NOTEBOOK = "chapters/02_task_fine_tuning.ipynb"


@pytest.fixture
def building(monkeypatch):
    monkeypatch.setenv(publishing.SITE_BUILD_VARIABLE, NOTEBOOK)


@pytest.fixture
def not_building(monkeypatch):
    monkeypatch.delenv(publishing.SITE_BUILD_VARIABLE, raising=False)


def shown(obj):
    """What Jupyter would display for ``obj``: ``{mimetype: data}``."""
    return DisplayFormatter().format(obj)[0]


def test_building_site_follows_the_variable(building):
    assert publishing.building_site() and publishing.site_notebook() == NOTEBOOK


def test_not_building_site_without_the_variable(not_building):
    assert not publishing.building_site() and publishing.site_notebook() is None


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


def test_recording_displays_itself_and_hands_other_attributes_to_the_live_widget(building):
    recording = publishing.Recording("the test widget", ["pressed <Train>"], "<table></table>",
                                     png=b"\x89PNG fake", live=Live())
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


def test_recording_without_live_widget_has_only_its_own_attributes(not_building):
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


def test_layer_freezing_factory_records_four_runs_then_resets(building, tiny_task):
    model, train, validation = tiny_task
    recording = layer_freezing.layer_freezing_demo(model, train, validation, epochs=1)
    assert isinstance(recording, publishing.Recording)
    assert len(recording.steps) == 4
    assert "frozen" in recording.steps[1] and "validation accuracy" in recording.steps[0]
    assert "0.01" in recording.steps[3]
    assert recording.table_html.count("<tr") == 5 and recording.png.startswith(b"\x89PNG")
    # the live widget is back to where a learner starts, and the notebook can still drive it
    demo = recording.live
    assert demo.state.results == [] and demo.state.frozen_units() == []
    assert demo.state.learning_rate == layer_freezing.DEFAULT_RATE
    first = next(iter(recording.toggles))
    recording.toggles[first].value = True
    recording.train_button.click()
    assert len(recording.state.results) == 1


def test_layer_freezing_factory_gives_the_live_widget_otherwise(not_building, tiny_task):
    model, train, validation = tiny_task
    demo = layer_freezing.layer_freezing_demo(model, train, validation, epochs=1)
    assert isinstance(demo, layer_freezing.LayerFreezingDemo)


def test_confidence_threshold_factory_records_the_slider_and_restores_it(building):
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(10) * 0.3, size=300)
    y = rng.integers(0, 10, size=300)
    recording = confidence_threshold.confidence_threshold_widget(p, y, threshold=0.9)
    assert isinstance(recording, publishing.Recording)
    assert [s.split(":")[0] for s in recording.steps] == [
        f"Moved the slider to {t}" for t in ("0.99", "0.90", "0.70", "0.50")]
    assert recording.table_html.count("<tr") == 5 and recording.png.startswith(b"\x89PNG")
    assert recording.state.threshold == 0.9  # back where the notebook left it
    expected = confidence_threshold.ThresholdState(p, y, 0.9).summary()["passed"]
    assert recording.state.summary()["passed"] == expected


def test_confidence_threshold_factory_gives_the_live_widget_otherwise(not_building):
    p = np.array([[0.9, 0.1], [0.2, 0.8]])
    widget = confidence_threshold.confidence_threshold_widget(p, np.array([0, 1]))
    assert "course-confidence-threshold" in widget._dom_classes


def test_adaptation_factory_shows_the_notebooks_runs_and_trains_nothing(building):
    def runner(method, weight):
        raise AssertionError("the site recording must not train")

    lab = adaptation.AdaptationLab(runner)
    lab.add("dann", 1.0, Scores(source_validation=0.96, target_test=0.8, pad=0.1,
                                      source_features=None, target_features=None), 12.0)
    recording = adaptation.adaptation_widget(lab)
    assert isinstance(recording, publishing.Recording)
    assert len(recording.steps) == 1 and "dann at weight 1" in recording.steps[0]
    assert "0.800" in recording.table_html and recording.png is None


def test_adaptation_factory_gives_the_live_widget_otherwise(not_building):
    lab = adaptation.AdaptationLab(lambda method, weight: None)
    assert not isinstance(adaptation.adaptation_widget(lab), publishing.Recording)
