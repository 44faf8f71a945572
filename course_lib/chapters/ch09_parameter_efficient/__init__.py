"""Chapter 09, parameter-efficient fine-tuning: LP-FT, BitFit, LoRA and adapters, measured on one CPU.

The chapter's own pieces: ``experiments`` (registered with ``course_lib.experiments``: every
method's arm and what it trains, and the text example's) and ``exercises`` (the checks of its
exercises). The methods themselves are ``course_lib.methods.parameter_efficient`` and, for the
small Transformer on tweets, ``course_lib.methods.text_transfer``.
"""
