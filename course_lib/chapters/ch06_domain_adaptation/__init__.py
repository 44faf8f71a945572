"""Chapter 06, unsupervised domain adaptation: DANN, Deep CORAL, MMD, the proxy A-distance; the adaptation widget.

The chapter's own pieces: ``experiments`` (registered with ``course_lib.experiments``),
``exercises`` (the checks of its exercises), ``widget``.
"""
