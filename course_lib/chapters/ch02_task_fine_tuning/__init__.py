"""Chapter 02, task fine-tuning: what to unfreeze, learning rates, BatchNorm, forgetting; the layer-freezing widget.

The chapter's own pieces: ``experiments`` (registered with ``course_lib.experiments``),
``exercises`` (the checks of its exercises), ``widget``.
"""
