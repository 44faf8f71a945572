"""Reproducible, quiet, small-machine settings, and the environment check.

``setup()`` is the first call of every notebook; ``check_env()`` prints what the
learner's machine has and warns where it is short of what the course needs.

Threads: TensorFlow runs the course's computations on **one** intra-op and one inter-op
thread, on every machine. The same code, data and seed then give the same numbers with
one, two or four CPUs of one processor (different thread counts sum floating-point numbers
in different orders). Another processor can still move a number in its second decimal
(oneDNN's kernels follow its instruction sets): ``course_lib.experiments`` measures that
spread, and the claims' margins are far larger. The course's models are small: measured
on 2 cores, two threads were at most about 10 % faster than one.
"""

import logging
import os
import platform
import random
from pathlib import Path

import numpy as np

from course_lib.core import checks, resources
from course_lib.core.language import N_, _, use as use_language
from course_lib.core.plots import use_course_style

#: Binder's memory limit for a whole session (server and kernels), in GB.
BINDER_MEMORY_GB = 2.0
#: The memory one chapter's kernel may hold (GB): its budget, with the server and another kernel beside it.
CHAPTER_MEMORY_GB = 1.5
#: The course's default seed; experiments pass their own.
DEFAULT_SEED = 0
#: TensorFlow intra-op threads for the course's computations (see the module docstring).
THREADS = 1
#: ``check_env`` warns when the other kernels of this user hold this much memory (MB).
OTHER_KERNELS_MB = 300
#: What the course benchmark (the walk, ``python -m course_lib.tools.walk --save``) measured per chapter.
BENCHMARK = Path(__file__).resolve().parents[1] / "results" / "benchmark.json"

_threads_set = False


def seed_everything(seed=DEFAULT_SEED):
    """Seed Python's ``random``, NumPy, TensorFlow and Keras with ``seed``; return it.

    The one place the course seeds: model builders and ``training.fit`` call it, so a
    model built or trained with the same seed is the same wherever it is made.
    """
    import keras

    seed = checks.seed(seed)
    keras.utils.set_random_seed(seed)  # Python, NumPy and the backend
    random.seed(seed)
    np.random.seed(seed)
    return seed


def setup(seed=DEFAULT_SEED, threads=THREADS, language="en"):
    """Seed everything, make TensorFlow deterministic and quiet, size its thread pools, choose the language.

    Args:
        seed: seeds Python's ``random``, NumPy and TensorFlow/Keras.
        threads: TensorFlow intra-op threads (default ``THREADS``, 1: see the module
            docstring). Thread pools can only be sized before TensorFlow first runs an
            op, so a later call keeps the first setting.
        language: the language of what the library shows (labels, checks, claims, plots):
            a key of ``core.language.LANGUAGES``, "en" or "zh" (the Chinese edition's notebooks).

    Returns:
        the seed.
    """
    global _threads_set
    use_language(language)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    import tensorflow as tf

    threads = checks.whole_number(threads, "threads")
    if not _threads_set:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:  # TensorFlow already started: keep its pools
            pass
        _threads_set = True
    if tf.config.list_physical_devices("GPU"):
        print(_("A GPU is present: TensorFlow's op determinism stays off (some GPU ops have no "
                "deterministic version), so numbers can differ slightly from run to run and from "
                "the CPU numbers the notebooks quote."))
    else:
        tf.config.experimental.enable_op_determinism()
    tf.get_logger().setLevel(logging.ERROR)
    use_course_style()
    return seed_everything(seed)


def on_binder():
    """True when running inside a mybinder.org session."""
    return any(key.startswith("BINDER_") for key in os.environ)


def offline_status():
    """Whether each data domain's offline source is installed: ``{domain: "ok ..." or "missing ..."}``."""
    from course_lib.core.data import DOMAIN_PACKAGES

    status = {}
    for name, module in DOMAIN_PACKAGES.items():
        try:
            __import__(module)
            status[name] = f"ok ({module})"
        except ImportError:
            status[name] = f"missing: install the course to get {module.split('.')[0]}"
    return status


def environment_facts():
    """The facts ``check_env`` reports, as a list of (item, value) string pairs (the values in the
    current language; the items in English, shown through ``_()``)."""
    import ipywidgets
    import psutil
    import keras
    import matplotlib
    import sklearn
    import tensorflow as tf

    from course_lib.core.cache import cache_dir

    vm = psutil.virtual_memory()
    limit = resources.memory_limit_mb() / 1000
    gpus = tf.config.list_physical_devices("GPU")
    facts = [
        ("python", platform.python_version()),
        ("tensorflow", tf.__version__),
        ("keras", keras.__version__),
        ("numpy", np.__version__),
        ("scikit-learn", sklearn.__version__),
        ("matplotlib", matplotlib.__version__),
        ("ipywidgets", ipywidgets.__version__),
        (N_("CPUs"), _("{cpus} usable; TensorFlow runs on {threads} thread").format(
            cpus=resources.available_cpus(), threads=THREADS)),
        (N_("memory"), _("{total:.1f} GB total, {free:.1f} GB free").format(total=vm.total / 1e9, free=vm.available / 1e9)
                   + (_(", container limit {limit:.1f} GB").format(limit=limit) if limit < vm.total / 1e9 else "")),
        ("GPU", ", ".join(g.name for g in gpus) if gpus else _("none (CPU only: fine for this course)")),
        ("Binder", _("yes") if on_binder() else _("no")),
    ]
    facts += [(f"data: {name}", status) for name, status in offline_status().items()]
    facts.append((N_("cache folder"), str(cache_dir())))
    return facts


def environment_warnings(facts=None):
    """Warnings for ``check_env``: memory near Binder's limit, other kernels holding memory,
    offline data missing."""
    import psutil

    facts = dict(facts or environment_facts())
    found = []
    usable = min(psutil.virtual_memory().available / 1e9, resources.memory_limit_mb() / 1000)
    if usable < BINDER_MEMORY_GB * 1.25:
        found.append(_(
            "only {usable:.1f} GB of memory is usable here, near Binder's {binder:.0f} GB limit; "
            "a chapter needs up to {chapter} GB.").format(usable=usable, binder=BINDER_MEMORY_GB,
                                                          chapter=CHAPTER_MEMORY_GB))
    others = resources.other_kernels(exclude_pid=os.getpid())
    held = sum(kernel.rss_mb for kernel in others)
    if held >= OTHER_KERNELS_MB:
        found.append(_(
            "{kernels} other notebook kernel(s) hold {held:,.0f} MB of memory. If this chapter "
            "runs out of memory, shut them down (Kernel > Shut Down All Kernels, then run this "
            "notebook again).").format(kernels=len(others), held=held))
    missing = [key for key, value in facts.items()
               if key.startswith("data: ") and value.startswith("missing")]
    if missing:
        found.append(_("offline data missing ({domains}): reinstall the course as the README says.").format(
            domains=", ".join(missing)))
    return found


def run_time(chapter):
    """What the course's benchmark last measured for ``chapter`` (e.g. ``"02_task_fine_tuning"``):
    a sentence, or None when it has not been measured."""
    import json

    if not BENCHMARK.exists():
        return None
    bench = json.loads(BENCHMARK.read_text())
    found = bench.get("chapters", {}).get(chapter)
    if not found:
        return None
    return _("{chapter}: about {seconds:.0f} s on one CPU with a warm cache, peak memory {peak:.1f} GB "
             "(course benchmark, {date})").format(chapter=chapter, seconds=found["seconds_1cpu"],
                                                   peak=found["peak_mb"] / 1000, date=bench["made"]["date"])


def check_env(chapter=None):
    """Print what this machine has, warn about what is short, and the chapter's measured run time.

    Args:
        chapter: the notebook's name without ``.ipynb``, e.g. ``"02_task_fine_tuning"``.
    """
    facts = [(_(item), value) for item, value in environment_facts()]  # names of things stay as they are
    width = max(len(item) for item, value in facts)
    for item, value in facts:
        print(f"{item:<{width}}  {value}")
    for warning in environment_warnings(facts):
        print("\n" + _("Warning: {warning}").format(warning=warning))
    if chapter is not None:
        print("\n" + (run_time(chapter) or _("{chapter}: not measured by the course benchmark yet").format(
            chapter=chapter)))
