"""Chapter 00, welcome: the three domains, the source model, the domain gap.

The chapter's own pieces: ``experiments`` (registered with ``course_lib.experiments``),
``exercises`` (the checks of its exercises).
"""
