"""Chapter 04, learning from the unlabelled target alone: AdaBN, pseudo-labelling, information maximisation; the confidence widget.

The chapter's own pieces: ``experiments`` (registered with ``course_lib.experiments``),
``exercises`` (the checks of its exercises), ``widget``.
"""
