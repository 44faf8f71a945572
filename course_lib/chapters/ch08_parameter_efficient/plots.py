"""Chapter 08's figure: target accuracy against the share of the weights each method trains."""

import matplotlib.pyplot as plt

from course_lib.core.plots import FONT_SIZE, PALETTE, style_axes


def accuracy_vs_share(report, shares, live=None):
    """Every arm a point at (trainable share, median accuracy), its bar the range over seeds.

    Args:
        report: the experiment's ``Report`` (``results.load("parameter_efficient")``).
        shares: ``{arm: share of the source model's weights it trains}`` (``Budget.share``);
            the arms plotted, in this order.
        live: optional ``{arm: (share, accuracy)}`` of runs made in the notebook, drawn as
            hollow markers.

    Returns:
        the matplotlib ``Figure``; the x axis is logarithmic.
    """
    if not shares:
        raise ValueError("shares is empty; pass {arm: share} for the arms to plot")
    fig, ax = plt.subplots(figsize=(9, 5.5))
    for i, (arm, share) in enumerate(shares.items()):
        values = report.values(arm)
        median = report.median(arm)
        colour = PALETTE[i % (len(PALETTE) - 1)]
        ax.errorbar([share], [median], yerr=[[median - min(values)], [max(values) - median]],
                    fmt="o", color=colour, capsize=4, markersize=8)
        ax.annotate(arm, (share, median), textcoords="offset points", xytext=(7, 4),
                    fontsize=FONT_SIZE - 2, color=colour)
    for arm, (share, value) in (live or {}).items():
        ax.plot([share], [value], "D", markerfacecolor="none", markeredgecolor="black", markersize=10,
                label=f"{arm}: this notebook's run")
    ax.set_xscale("log")
    ax.set_xlabel("share of the source model's weights that train (log scale)")
    ax.set_ylabel("mnist_m test accuracy")
    ax.set_title(f"What each method trains and what it reaches: median and range over seeds "
                 f"{', '.join(map(str, report.seeds))}")
    if live:
        ax.legend(loc="lower right", fontsize=FONT_SIZE - 2)
    style_axes(ax)
    fig.tight_layout()
    return fig
