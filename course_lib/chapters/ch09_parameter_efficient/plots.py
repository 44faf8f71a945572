"""Chapter 09's figure: target accuracy against the share of the weights each method trains."""

import matplotlib.pyplot as plt
from matplotlib.ticker import PercentFormatter

from course_lib.core.plots import FONT_SIZE, PALETTE, style_axes

#: Each family of methods its colour and marker (an arm belongs to the family its name starts
#: with); the baselines (probe, full, LP-FT) are black squares.
FAMILIES = {"LoRA": (PALETTE[0], "o"), "BitFit": (PALETTE[3], "^"), "adapters": (PALETTE[4], "D")}
BASELINE = (PALETTE[7], "s")


def family_style(arm):
    """``(colour, marker)`` of ``arm``'s family of methods."""
    return next((style for name, style in FAMILIES.items() if arm.startswith(name)), BASELINE)


def accuracy_vs_share(report, shares, live=None, measured="mnist_m test accuracy"):
    """Every arm a point at (trainable share, median accuracy), its bar the range over seeds.

    Args:
        report: the experiment's ``Report`` (``results.load("parameter_efficient")``).
        shares: ``{arm: share of the source model's weights it trains}`` (``Budget.share``);
            the arms plotted, in this order.
        live: optional ``{arm: (share, accuracy)}`` of runs made in the notebook, drawn as
            hollow stars.
        measured: what the y axis shows.

    Returns:
        the matplotlib ``Figure``; the x axis is logarithmic, in percent. Each family of methods
        has its colour and marker (``FAMILIES``), so the figure reads without colour too.
    """
    if not shares:
        raise ValueError("shares is empty; pass {arm: share} for the arms to plot")
    fig, ax = plt.subplots(figsize=(9, 5.5))
    for arm, share in shares.items():
        values = report.values(arm)
        median = report.median(arm)
        colour, marker = family_style(arm)
        ax.errorbar([share], [median], yerr=[[median - min(values)], [max(values) - median]],
                    fmt=marker, color=colour, capsize=4, markersize=8)
        ax.annotate(arm, (share, median), textcoords="offset points", xytext=(7, 4),
                    fontsize=FONT_SIZE - 2, color=colour)
    for arm, (share, value) in (live or {}).items():
        ax.plot([share], [value], "*", markerfacecolor="none", markeredgecolor="black", markersize=16,
                label=f"{arm}: this notebook's run")
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=None))
    ax.set_xlabel("share of the source model's weights that train (log scale)")
    ax.set_ylabel(measured)
    ax.set_title(f"What each method trains and what it reaches: median and range over seeds "
                 f"{', '.join(map(str, report.seeds))}")
    if live:
        ax.legend(loc="lower right", fontsize=FONT_SIZE - 2)
    style_axes(ax)
    fig.tight_layout()
    return fig
