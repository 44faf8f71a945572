"""Unsupervised domain adaptation: labelled source images, unlabelled target images (chapter 06).

- ``two_domain``: ``TwoDomainModel`` (separate source and target passes) and ``paired``;
- ``dann``: DANN, a ``TwoDomainModel`` with a domain classifier behind gradient reversal;
- ``gradient_reversal``: the reversal layer and Ganin's lambda schedule (DANN follows it in its step);
- ``discrepancy``: ``coral_loss``, ``mmd_loss`` and ``DiscrepancyModel``;
- ``proxy_a_distance``: how well a classifier tells two feature sets apart.

AdaBN, which every arm uses before testing, is ``course_lib.methods.batchnorm.reestimate``.
"""

from course_lib.methods.adaptation.dann import DANN, dann_steps
from course_lib.methods.adaptation.discrepancy import DiscrepancyModel, coral_loss, mmd_loss
from course_lib.methods.adaptation.gradient_reversal import GradientReversal, ganin_schedule
from course_lib.methods.adaptation.proxy_a_distance import proxy_a_distance
from course_lib.methods.adaptation.two_domain import TwoDomainModel, paired

__all__ = ["DANN", "DiscrepancyModel", "GradientReversal", "TwoDomainModel", "coral_loss", "dann_steps",
           "ganin_schedule", "mmd_loss", "paired", "proxy_a_distance"]
