"""Chapter 03's figures: what trains at which rate in each schedule, drawn; validation accuracy
through gradual unfreezing. (Results over seeds: chapter 02's ``seed_bars``.)"""

import matplotlib.pyplot as plt
import numpy as np

from course_lib.core.cnn import BLOCKS
from course_lib.core.language import _
from course_lib.core.plots import FONT_SIZE, PALETTE, block_diagram, style_axes


def schedule_diagram(rate, block_rates, stages, shown_stage=2):
    """The CNN three ways, input at the bottom: one rate for every block, a rate per block, and
    gradual unfreezing at one of its stages.

    Args:
        rate: the one learning rate of plain fine-tuning.
        block_rates: ``{block: rate}`` of discriminative fine-tuning (``layerwise_rates``).
        stages: gradual unfreezing's blocks, head first (``UNFREEZING_STAGES``); stage k
            trains the first k of them, each at its ``block_rates`` rate.
        shown_stage: which stage to draw (1 = the head alone).

    Returns:
        the matplotlib ``Figure`` (``plots.block_diagram``), each block labelled with its rate.
    """
    if set(block_rates) != set(BLOCKS):
        raise ValueError(f"block_rates needs a rate for each of {list(BLOCKS)}, got {sorted(block_rates)}")
    if not 1 <= shown_stage <= len(stages):
        raise ValueError(f"shown_stage must be 1 to {len(stages)}, got {shown_stage}")
    training = set(stages[:shown_stage])
    label = _("{block}: rate {rate:.1e}")
    columns = {
        _("one rate for every block"): [(label.format(block=b, rate=rate), "trains") for b in BLOCKS],
        _("a rate per block"): [(label.format(block=b, rate=block_rates[b]), "trains") for b in BLOCKS],
        _("gradual unfreezing, stage {stage} of {stages}").format(stage=shown_stage, stages=len(stages)): [
            (label.format(block=b, rate=block_rates[b]) if b in training else b,
             "trains" if b in training else "frozen") for b in BLOCKS],
    }
    return block_diagram(columns)


def stage_plot(log, steps_per_stage, ax=None):
    """Validation accuracy through gradual unfreezing; dotted lines where a block is unfrozen.

    Args:
        log: ``learning_rates.gradual_unfreezing``'s log (``stage``, ``trainable``,
            ``val_accuracy`` per evaluation).
        steps_per_stage: the steps each stage trained.

    Returns:
        the matplotlib ``Axes``.
    """
    if "val_accuracy" not in log or not log["val_accuracy"]:
        raise ValueError("the log has no validation accuracy: run gradual_unfreezing with validation_data")
    if ax is None:
        ax = plt.subplots(figsize=(8, 4))[1]
    n = len(log["val_accuracy"])
    steps = np.arange(1, n + 1) * (steps_per_stage * log["stage"][-1] / n)
    ax.plot(steps, log["val_accuracy"], "-o", color=PALETTE[0], linewidth=2.5)
    for stage in sorted(set(log["stage"])):
        start = (stage - 1) * steps_per_stage
        trainable = log["trainable"][log["stage"].index(stage)]
        if stage > 1:
            ax.axvline(start, color="grey", linestyle=":")
        ax.text(start + steps_per_stage / 2, 0.04, trainable.replace("+", "\n+"), ha="center",
                va="bottom", fontsize=FONT_SIZE - 4)
    ax.set_ylim(0, 1)
    ax.set_xlabel(_("gradient steps"))
    ax.set_ylabel(_("validation accuracy"))
    ax.set_title(_("gradual unfreezing: one more block per stage"))
    style_axes(ax)
    return ax


