"""Each chapter's own pieces, in a package named after the chapter's notebook.

``chNN_name/experiments.py``  the chapter's experiments, registered with ``course_lib.experiments``
``chNN_name/exercises.py``    the checks of its exercises
``chNN_name/widget.py``       its widget, if it has one

Adding a chapter: ``chapters/NN_name.ipynb`` (paired with ``NN_name.py``), a package here
named ``chNN_name`` with those modules, and a solutions notebook ``chapters/solutions/NN_name.ipynb``.
"""
