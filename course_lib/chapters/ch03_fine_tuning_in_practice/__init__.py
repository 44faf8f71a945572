"""Chapter 03, fine-tuning in practice: BatchNorm, learning rates per block, gradual
unfreezing, label smoothing and activations, each measured against plain fine-tuning.

The chapter's own pieces: ``experiments`` (registered with ``course_lib.experiments``; the
task and the rate choice are chapter 02's), ``exercises`` (the checks of its exercises) and
``plots`` (its figures).
"""
