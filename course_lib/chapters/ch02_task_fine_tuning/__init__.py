"""Chapter 02, task fine-tuning: what to unfreeze, what it gains over scratch, and what it forgets.

The chapter's own pieces: ``task`` (the labelled target images, split into train and
validation, and the test sets), ``experiments`` (registered with ``course_lib.experiments``),
``exercises`` (the checks of its exercises), ``widget`` (the layer-freezing widget) and
``plots`` (its figures).
"""
