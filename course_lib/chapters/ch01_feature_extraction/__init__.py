"""Chapter 01, feature extraction: a frozen extractor and a new head; which layer to cut.

The chapter's own pieces: ``experiments`` (registered with ``course_lib.experiments``),
``exercises`` (the checks of its exercises).
"""
