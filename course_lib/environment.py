"""Reproducible, quiet, small-machine settings and an environment check.

``setup()`` is the first call of every notebook; ``check_env()`` prints what
the learner's machine has, and warns where it is short of what the course needs.
"""

import logging
import os
import platform
import random
import warnings
from pathlib import Path

import numpy as np

BINDER_MEMORY_GB = 2.0
#: The course's default seed; experiments pass their own.
DEFAULT_SEED = 0

_threads_set = False


def cache_dir():
    """Folder for the course's cached data and models (created if missing).

    ``$COURSE_CACHE_DIR`` overrides the default ``~/.cache/transfer-learning-course``.
    """
    path = Path(
        os.environ.get("COURSE_CACHE_DIR")
        or Path.home() / ".cache" / "transfer-learning-course"
    ).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _cpu_count():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def setup(seed=DEFAULT_SEED, threads=None):
    """Seed everything, make TensorFlow deterministic and quiet, size its thread pools.

    Args:
        seed: seeds Python's ``random``, NumPy and TensorFlow/Keras.
        threads: TensorFlow intra-op threads; default: the CPUs this process
            may use, at most 4 (more threads do not help models this small).
            Thread pools can only be sized before TensorFlow first runs an op,
            so a later call keeps the first setting.

    Returns:
        the seed, for printing.
    """
    global _threads_set
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    import keras
    import tensorflow as tf

    if not _threads_set:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(
                threads or min(_cpu_count(), 4)
            )
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:  # TensorFlow already started: keep its pools
            pass
        _threads_set = True
    tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(seed)  # Python, NumPy and TensorFlow
    random.seed(seed)
    np.random.seed(seed)

    tf.get_logger().setLevel(logging.ERROR)
    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:
        pass
    warnings.filterwarnings("ignore", module="keras")
    return seed


def _memory_gb():
    """(total, available, container limit or None) in GB."""
    import psutil

    vm = psutil.virtual_memory()
    limit = None
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < vm.total:
            limit = int(text) / 1e9
        break
    return vm.total / 1e9, vm.available / 1e9, limit


def on_binder():
    """True when running inside a mybinder.org session."""
    return any(key.startswith("BINDER_") for key in os.environ)


def environment_facts():
    """The facts ``check_env`` reports, as a list of (item, value) string pairs."""
    import ipywidgets
    import keras
    import matplotlib
    import sklearn
    import tensorflow as tf

    from course_lib import data

    total, available, limit = _memory_gb()
    gpus = tf.config.list_physical_devices("GPU")
    facts = [
        ("python", platform.python_version()),
        ("tensorflow", tf.__version__),
        ("keras", keras.__version__),
        ("numpy", np.__version__),
        ("scikit-learn", sklearn.__version__),
        ("matplotlib", matplotlib.__version__),
        ("ipywidgets", ipywidgets.__version__),
        ("CPUs", str(_cpu_count())),
        ("memory", f"{total:.1f} GB total, {available:.1f} GB free"
                   + (f", container limit {limit:.1f} GB" if limit else "")),
        ("GPU", ", ".join(g.name for g in gpus) if gpus else "none (CPU only: fine for this course)"),
        ("Binder", "yes" if on_binder() else "no"),
    ]
    for name, status in data.offline_status().items():
        facts.append((f"data: {name}", status))
    facts.append(("cache folder", str(cache_dir())))
    return facts


def environment_warnings(facts=None):
    """Warnings for ``check_env``: memory near Binder's limit, offline data missing."""
    facts = dict(facts or environment_facts())
    found = []
    _, available, limit = _memory_gb()
    usable = min(x for x in (available, limit) if x is not None)
    if usable < BINDER_MEMORY_GB * 1.25:
        found.append(
            f"only {usable:.1f} GB of memory is usable here, near Binder's "
            f"{BINDER_MEMORY_GB:.0f} GB limit; each notebook needs up to 1.5 GB, so shut "
            "down other notebooks' kernels before running the next one."
        )
    missing = [key for key, value in facts.items()
               if key.startswith("data: ") and value.startswith("missing")]
    if missing:
        found.append("offline data missing (" + ", ".join(missing)
                     + "): reinstall the course as the README says.")
    return found


def check_env():
    """Print a small table of what this machine has, and warn about what is short."""
    facts = environment_facts()
    width = max(len(item) for item, _ in facts)
    for item, value in facts:
        print(f"{item:<{width}}  {value}")
    for warning in environment_warnings(facts):
        print("\nWarning: " + warning)
