"""The widgets as a learner meets them: JupyterLab in headless Chromium, clicked like a person would.

Each test opens the smallest notebook that shows the course's widgets (the chapters' own
widget factories on tiny data: ``jupyter_session.WIDGETS_NOTEBOOK``; the chapters themselves
run in the learner's walk), runs it down to the widget, uses the widget, and saves a
screenshot of the final state to tests/screenshots/ (git-ignored).
Without Chromium the tests are skipped on a learner's machine, saying how to
install it, and fail in CI (where ``CI`` is set), so they are never skipped silently there.
"""

import os

import pytest

from browser.jupyter_session import (CHROMIUM_HELP, SCREENSHOTS, chromium_page, find_chromium,
                                     jupyter_lab, open_notebook, run_through_cell, WIDGETS_NOTEBOOK,
                                     write_widgets_notebook)

pytestmark = pytest.mark.slow

RUN_TIMEOUT = 120_000  # ms: the cells above the widget, on a slow 2-core machine
TRAIN_TIMEOUT = 120_000


@pytest.fixture(scope="module")
def lab():
    if find_chromium() is None:
        if os.environ.get("CI"):
            pytest.fail(CHROMIUM_HELP)
        pytest.skip(CHROMIUM_HELP)
    with jupyter_lab() as server:
        write_widgets_notebook(server)
        yield server


@pytest.fixture
def page(lab, request):
    with chromium_page() as page:
        yield page
        # The last state, passed or failed: what a person would have seen.
        page.screenshot(path=str(SCREENSHOTS / f"{request.node.name}-last.png"))


def _no_widget_errors(page):
    assert page.get_by_text("Error displaying widget").count() == 0
    assert page.get_by_text("Failed to load model class").count() == 0


def _show_widget(page, lab, notebook, cell_text, css_class):
    """Open ``notebook``, run it down to the cell containing ``cell_text``; the rendered widget."""
    open_notebook(page, lab, notebook)
    run_through_cell(page, cell_text)
    widget = page.locator(f".{css_class}").first
    widget.wait_for(timeout=RUN_TIMEOUT)
    widget.scroll_into_view_if_needed()
    _no_widget_errors(page)
    return widget


def test_layer_freezing_widget(lab, page):
    widget = _show_widget(page, lab, WIDGETS_NOTEBOOK, "layer_freezing_demo(", "course-layer-freezing")

    count = widget.locator(".course-param-count")
    before = count.inner_text()
    widget.locator(".course-layer-toggle").first.click()
    page.wait_for_function(
        "([el, old]) => el.innerText !== old", arg=[count.element_handle(), before], timeout=10_000)
    assert count.inner_text() != before

    rows = widget.locator(".course-results-table tbody tr")
    runs_before = rows.count()
    widget.locator(".course-train-button").click()
    page.wait_for_function(
        "([table, n]) => table.querySelectorAll('tbody tr').length > n",
        arg=[widget.locator(".course-results-table").element_handle(), runs_before],
        timeout=TRAIN_TIMEOUT,
    )
    assert rows.count() == runs_before + 1
    curve = widget.locator(".course-learning-curve")
    assert curve.bounding_box()["height"] > 100, "the learning curve was not drawn"
    _no_widget_errors(page)
    widget.screenshot(path=str(SCREENSHOTS / "02_layer_freezing.png"))
    page.screenshot(path=str(SCREENSHOTS / "02_layer_freezing_page.png"))


def test_confidence_threshold_widget(lab, page):
    widget = _show_widget(page, lab, WIDGETS_NOTEBOOK, "confidence_threshold_widget(",
                          "course-confidence-threshold")

    text = widget.locator(".course-threshold-text")
    before = text.inner_text()
    assert "pass" in before
    handle = widget.locator(".course-threshold-slider .noUi-handle, .course-threshold-slider [role=slider]")
    handle.first.focus()
    for _ in range(20):  # a learner pressing the left arrow: lower the threshold by 0.2
        page.keyboard.press("ArrowLeft")
    readout = widget.locator(".course-threshold-slider .widget-readout").inner_text().strip()
    assert readout == "0.70", readout
    # Every key press redraws; wait for the last one, then for the kernel to be idle again.
    page.wait_for_function("([el, t]) => el.innerText.includes(`threshold ${t}:`)",
                           arg=[text.element_handle(), readout], timeout=60_000)
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for(
        state="attached", timeout=60_000)
    after = text.inner_text()
    passed = lambda line: int(line.split(" of ")[0].split()[-1].replace(",", ""))  # noqa: E731
    assert passed(after) > passed(before), (before, after)
    widget.screenshot(path=str(SCREENSHOTS / "04_confidence_threshold.png"))
