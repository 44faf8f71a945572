"""Tools for running the course, not imported by the notebooks.

``bench``  time and memory of every chapter (``python -m course_lib.tools.bench``)
``warm``   fill the cache folder before a class (``python -m course_lib.tools.warm``)
"""
