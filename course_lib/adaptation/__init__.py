"""Unsupervised domain adaptation: labelled source images, unlabelled target images.

- ``gradient_reversal``: the reversal layer and Ganin's lambda schedule;
- ``dann``: DANN, a Keras model with its own ``train_step``;
- ``discrepancy``: ``coral_loss``, ``mmd_loss`` and a model adding either to the source loss;
- ``two_domain``: what they share (separate source/target passes, warm start from a source model);
- ``proxy_a_distance``: how well a classifier tells two feature sets apart.
"""

from course_lib.adaptation.dann import DANN, train_adapter, train_dann
from course_lib.adaptation.discrepancy import DiscrepancyModel, coral_loss, mmd_loss
from course_lib.adaptation.gradient_reversal import GradientReversal, LambdaSchedule, ganin_schedule
from course_lib.adaptation.proxy_a_distance import proxy_a_distance
from course_lib.adaptation.two_domain import TwoDomainModel, paired_inputs, split_source_model
# AdaBN lives with the other source-free methods (chapter 04); DANN and friends reuse it.
from course_lib.source_free import reestimate_batchnorm

__all__ = [
    "DANN", "DiscrepancyModel", "GradientReversal", "LambdaSchedule", "TwoDomainModel",
    "coral_loss", "ganin_schedule", "mmd_loss", "paired_inputs", "proxy_a_distance",
    "reestimate_batchnorm", "split_source_model", "train_adapter", "train_dann",
]
