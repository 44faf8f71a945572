"""Transfer Learning, Hands-On: the implementations that the chapters call.

Start every notebook with::

    import course_lib
    course_lib.setup()
    course_lib.check_env()

The package has three layers (``ARCHITECTURE.md`` draws them): ``core`` (what every
chapter shares: data, the CNN, training, the cache, the environment), ``methods`` (the
techniques, one module each, your own photos' recipe among them) and ``chapters`` (each
chapter's experiments, exercise checks and widgets), plus ``tools`` (benchmark, cache
warming). Importing ``course_lib`` itself is light: TensorFlow loads when first used.
"""

import os

# Must be set before TensorFlow is imported anywhere.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.2.0"
__all__ = ["setup", "check_env", "cache_dir"]


def __getattr__(name):
    """``course_lib.setup``, ``check_env`` and ``cache_dir``, imported on first use."""
    if name in ("setup", "check_env"):
        from course_lib.core import environment

        return getattr(environment, name)
    if name == "cache_dir":
        from course_lib.core.cache import cache_dir

        return cache_dir
    raise AttributeError(f"module 'course_lib' has no attribute {name!r}")
