"""Notebook 7 (`jupyter notebook`): a notebook run from its Run menu, and a widget used, in headless Chromium.

The notebook is the smallest that shows the course's widgets (``jupyter_session.WIDGETS_NOTEBOOK``);
the chapters run in JupyterLab, in the learner's walk."""

import os

import pytest

from browser.jupyter_session import (CHROMIUM_HELP, SCREENSHOTS, WIDGETS_NOTEBOOK, chromium_page, find_chromium,
                                     jupyter_lab, write_widgets_notebook)
from course_lib.tools import browser

pytestmark = pytest.mark.slow

@pytest.fixture(scope="module")
def notebook7():
    if find_chromium() is None:
        if os.environ.get("CI"):
            pytest.fail(CHROMIUM_HELP)
        pytest.skip(CHROMIUM_HELP)
    with jupyter_lab(app="notebook") as server:
        write_widgets_notebook(server)
        yield server


def test_a_chapter_and_its_widget_in_notebook_7(notebook7):
    with chromium_page() as page:
        try:
            page.goto(notebook7.url(f"notebooks/{WIDGETS_NOTEBOOK}"), timeout=90_000)
            browser.wait_for_notebook(page, WIDGETS_NOTEBOOK)
            # As a learner does: the menu bar's Run menu, then "Run All Cells".
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
            page.wait_for_function("() => window.jupyterapp.shell.currentWidget.sessionContext"
                                   ".session.kernel.status === 'busy'", timeout=30_000)
            browser.wait_until_run(page)
            assert browser.notebook_problems(page) == []

            widget = page.locator(".course-layer-freezing").first
            widget.scroll_into_view_if_needed()
            count = widget.locator(".course-param-count")
            before = count.inner_text()
            widget.locator(".course-layer-toggle").first.click()  # the kernel answers through the widget
            page.wait_for_function("([el, old]) => el.innerText !== old",
                                   arg=[count.element_handle(), before], timeout=30_000)
            assert browser.notebook_problems(page) == []
            widget.screenshot(path=str(SCREENSHOTS / "notebook7_layer_freezing.png"))
        finally:
            page.screenshot(path=str(SCREENSHOTS / "notebook7-last.png"))
