"""Tools for running the course, not imported by the notebooks.

``bench``          time and memory of every chapter, and of the walk (``python -m course_lib.tools.bench``)
``walk``           the learner's walk: every chapter in one JupyterLab on one CPU (``python -m course_lib.tools.walk``)
``warm``           fill the cache folder before a class (``python -m course_lib.tools.warm``)
``launch``         open the course in JupyterLab or Notebook 7, as ``make.py course`` does
``kernel_policy``  the Jupyter server's kernel manager for small sessions (Binder), with ``restart_notice``
``lab``, ``tether``, ``browser``  private Jupyter servers tied to their caller, and headless Chromium
"""
