"""Chapter 05, learning from the unlabelled target: AdaBN, self-training (pseudo-labels) and
source-free adaptation (information maximisation, SHOT).

The chapter's own pieces: ``experiments`` (registered with ``course_lib.experiments``),
``exercises`` (the checks of its exercises), ``widget``.
"""
