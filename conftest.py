"""pytest settings shared by the unit tests and the notebook runs (nbval).

The tests and the notebooks they execute use a fresh cache folder, so that a
test run never reads or changes the learner's cache, and so that the cold
path (parse MNIST, build MNIST-M, train the source model) is what is tested.
Set COURSE_CACHE_DIR yourself to reuse a cache between runs. ``course_lib.setup()``
runs first, as in every notebook, so the tests use the course's one TensorFlow thread;
every test starts again from seed 0 and closes the figures it drew.
"""

import os
import shutil
import tempfile

import pytest

# The chapters executed once per run, by the learner's walk in the background (tests/executed.py).
pytest_plugins = ["executed"]
_made_cache = None


def pytest_configure(config):
    global _made_cache
    import matplotlib

    matplotlib.use("Agg")  # this process only: the notebooks' kernels keep Jupyter's inline backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "COURSE_CACHE_DIR" not in os.environ:
        _made_cache = tempfile.mkdtemp(prefix="course-cache-")
        os.environ["COURSE_CACHE_DIR"] = _made_cache
    import course_lib

    course_lib.setup()  # before any test runs an op: TensorFlow's thread pools are sized once


def pytest_unconfigure(config):
    if _made_cache:
        shutil.rmtree(_made_cache, ignore_errors=True)


@pytest.fixture(autouse=True)
def _seeded():
    import matplotlib.pyplot as plt

    import course_lib

    course_lib.setup(0)
    yield
    plt.close("all")
