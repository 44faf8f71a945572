"""Chapter 09's figure: target accuracy against the share of the weights each method trains."""

import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter

from course_lib.core.language import N_, _
from course_lib.core.plots import FONT_SIZE, PALETTE, style_axes
from course_lib.results.report import key_of, selection_of

#: Each family of methods its colour and marker (an arm belongs to the family its name starts
#: with: BitFit + BatchNorm is a BitFit); the baselines (probe, full, LP-FT) are black squares.
FAMILIES = {"LoRA": (PALETTE[0], "o"), "BitFit": (PALETTE[3], "^"), "adapters": (PALETTE[4], "D")}
BASELINE = (PALETTE[7], "s")
#: Arms whose shares lie within this factor of each other are neighbours: the second is drawn a
#: little to the right (the same share, e.g. scratch and full) and labelled below its point.
NEIGHBOURS = 1.3


def family_style(arm):
    """``(colour, marker)`` of ``arm``'s family of methods."""
    return next((style for name, style in FAMILIES.items() if arm.startswith(name)), BASELINE)


def describe(arm, fields):
    """An arm and its fields as the figure writes them: ``LoRA (rank 16, layers convs)``."""
    return f"{arm} ({', '.join(f'{k} {v}' for k, v in fields.items())})" if fields else arm


def accuracy_vs_share(report, shares, live=None, measured=N_("mnist_m test accuracy")):
    """Every arm a point at (trainable share, median accuracy), its bar the range over seeds.

    Args:
        report: the experiment's ``Report`` (``results.load("parameter_efficient")``).
        shares: a ``pandas.Series`` of the share of the source model's weights each arm trains,
            indexed by arm and fields (``experiments.budgets(source)["share"]``); the arms
            plotted, in this order.
        live: optional ``Measured`` of runs made in the notebook (an arm of ``shares``, its
            fields, its accuracy), drawn as hollow stars.
        measured: what the y axis shows.

    Returns:
        the matplotlib ``Figure``; the x axis is logarithmic, in percent. Each family of methods
        has its colour and marker (``FAMILIES``), so the figure reads without colour too. Arms
        of (nearly) the same share are kept apart (``NEIGHBOURS``).
    """
    if shares is None or not len(shares):
        raise ValueError("shares is empty; pass a Series of the share of each arm to plot (budgets(...)['share'])")
    names = list(shares.index.names)
    fig, ax = plt.subplots(figsize=(9, 5.5))
    drawn = []
    for key, share in shares.items():
        arm = selection_of(names, key)
        values = report.values(**arm)
        median = report.median(**arm)
        colour, marker = family_style(arm["arm"])
        neighbour = any(1 / NEIGHBOURS < share / other < NEIGHBOURS for other in drawn)
        x = share * (1.08 if any(abs(share / other - 1) < 1e-6 for other in drawn) else 1)
        drawn.append(share)
        ax.errorbar([x], [median], yerr=[[median - min(values)], [max(values) - median]],
                    fmt=marker, color=colour, capsize=4, markersize=8)
        ax.annotate(describe(arm.pop("arm"), arm), (x, median), textcoords="offset points",
                    xytext=(7, -14 if neighbour else 4), fontsize=FONT_SIZE - 2, color=colour)
    for run in live or ():
        ax.plot([shares[key_of(names, {"arm": run.arm, **run.fields})]], [run.value], "*", markerfacecolor="none",
                markeredgecolor="black", markersize=16,
                label=_("{arm}: this notebook's run").format(arm=describe(run.arm, run.fields)))
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda share, _: f"{100 * share:g}%"))
    ax.set_xlabel(_("share of the source model's weights that train (log scale)"))
    ax.set_ylabel(_(measured))
    ax.set_title(_("What each method trains and what it reaches: median and range over seeds {seeds}").format(
        seeds=", ".join(map(str, report.seeds))))
    if live:
        ax.legend(loc="lower right", fontsize=FONT_SIZE - 2)
    style_axes(ax)
    fig.tight_layout()
    return fig
