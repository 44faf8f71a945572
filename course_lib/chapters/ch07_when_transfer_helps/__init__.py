"""Chapter 07, when transfer helps and when it hurts: label budgets, negative transfer, overfitting, imbalance, label mismatch, layer transferability.

The chapter's own pieces: ``experiments`` (registered with ``course_lib.experiments``),
``exercises`` (the checks of its exercises).
"""
