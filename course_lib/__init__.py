"""Transfer Learning, Hands-On: the implementations that the chapters call.

Start every notebook with::

    import course_lib
    course_lib.setup()
    course_lib.check_env()

Heavy libraries (TensorFlow, Keras) are imported by the modules that need
them, so that ``setup()`` can quiet TensorFlow's logs before it loads.
"""

import os

# Must be set before TensorFlow is imported anywhere.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from course_lib.environment import cache_dir, check_env, setup  # noqa: E402

__all__ = ["setup", "check_env", "cache_dir"]
__version__ = "0.1.0"
