"""Chapter 06's figures: DANN as a picture, and the two domains' features before and after adaptation."""

import matplotlib.pyplot as plt
import numpy as np

from course_lib.core.language import N_, _
from course_lib.core.plots import FONT_SIZE, PALETTE, style_axes

#: Colours: the source domain blue, the target orange (Okabe-Ito: never a red/green pair).
SOURCE_COLOUR, TARGET_COLOUR = PALETTE[0], PALETTE[1]
#: The reversed gradient: vermillion, dashed.
REVERSED_COLOUR = PALETTE[3]

#: DANN's parts: name -> (x, y, text, face colour) on a 13 x 6 canvas.
DANN_PARTS = {
    "images": (1.2, 3.0, N_("images\nsource $x_s$ (labelled)\ntarget $x_t$ (unlabelled)"), "#eeeeee"),
    "extractor": (4.3, 3.0, N_("feature extractor $G_f$\n(conv blocks, features;\nwarm from the source)"),
                  PALETTE[2]),
    "classifier": (7.6, 4.7, N_("label classifier $G_y$\n(head)"), PALETTE[4]),
    "reversal": (6.6, 1.3, N_("gradient reversal\n$R_\\lambda$: forward $x$,\nbackward $-\\lambda\\,g$"),
                 PALETTE[6]),
    "domain": (9.2, 1.3, N_("domain classifier $G_d$\n(256-256-1, own Adam)"), PALETTE[5]),
    "task_loss": (11.4, 4.7, N_("$L_y$: cross-entropy\non source labels"), "#ffffff"),
    "domain_loss": (11.7, 2.9, N_("$L_d$: source or target?\n(binary cross-entropy)"), "#ffffff"),
}
#: Forward arrows: (from, to, label, where the label goes relative to the arrow's middle).
DANN_FLOW = (("images", "extractor", N_("each domain in\nits own pass"), (0, 0.45)),
             ("extractor", "classifier", N_("source features"), (-0.5, 0.3)),
             ("extractor", "reversal", N_("source + target\nfeatures"), (0.95, 0.15)),
             ("reversal", "domain", "", (0, 0)), ("classifier", "task_loss", "", (0, 0)),
             ("domain", "domain_loss", "", (0, 0)))


def dann_diagram():
    """DANN: extractor, label classifier, domain classifier behind the reversal layer, two losses.

    Solid arrows carry data forward; the dashed vermillion arrow is the gradient of L_d
    as it reaches the extractor: reversed and scaled by lambda.

    Returns:
        the matplotlib ``Figure``.
    """
    fig, ax = plt.subplots(figsize=(13, 5.6))
    ax.set_xlim(-0.2, 12.9)
    ax.set_ylim(0.1, 5.8)
    ax.axis("off")
    boxes = {name: ax.text(x, y, _(text), ha="center", va="center", fontsize=FONT_SIZE - 1,
                           bbox={"boxstyle": "round,pad=0.5", "facecolor": colour, "alpha": 0.55,
                                 "edgecolor": "black"})
             for name, (x, y, text, colour) in DANN_PARTS.items()}
    fig.canvas.draw()  # lays the boxes out, so the arrows below can stop at their edges
    for start, end, label, (dx, dy) in DANN_FLOW:
        (x0, y0), (x1, y1) = DANN_PARTS[start][:2], DANN_PARTS[end][:2]
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops={"arrowstyle": "-|>", "color": "black", "linewidth": 1.4, "shrinkA": 2,
                                "shrinkB": 2, "patchA": boxes[start].get_bbox_patch(),
                                "patchB": boxes[end].get_bbox_patch()})
        if label:
            ax.text((x0 + x1) / 2 + dx, (y0 + y1) / 2 + dy, _(label), ha="center", va="center",
                    fontsize=FONT_SIZE - 3, style="italic")
    (xr, yr), (xe, ye) = DANN_PARTS["reversal"][:2], DANN_PARTS["extractor"][:2]
    ax.annotate("", xy=(xe - 0.3, ye - 0.8), xytext=(xr - 1.3, yr - 0.3),
                arrowprops={"arrowstyle": "-|>", "color": REVERSED_COLOUR, "linewidth": 2, "linestyle": "--",
                            "connectionstyle": "arc3,rad=-0.3"})
    ax.text(3.0, 0.6, _("gradient of $L_d$ reaching $G_f$: times $-\\lambda$\n"
                        "(the extractor learns to fool $G_d$)"), color=REVERSED_COLOUR, fontsize=FONT_SIZE - 2,
            ha="center")
    ax.set_title(_("DANN: one network, one shared extractor, two losses"), fontsize=FONT_SIZE + 1)
    fig.tight_layout()
    return fig


def project_2d(source, target):
    """PCA fitted on both feature sets together; returns their (n, 2) projections."""
    from sklearn.decomposition import PCA

    source = np.asarray(source).reshape(len(source), -1)
    target = np.asarray(target).reshape(len(target), -1)
    if source.shape[1] != target.shape[1]:
        raise ValueError(f"source and target features must have the same width, "
                         f"got {source.shape[1]} and {target.shape[1]}")
    pca = PCA(n_components=2, random_state=0).fit(np.concatenate([source, target]))
    return pca.transform(source), pca.transform(target)


def feature_space(panels, n_points=500):
    """One scatter per panel: source features in blue, target features in orange.

    Args:
        panels: ``{title: (source_features, target_features)}``, e.g. before and after
            adaptation; each projected with its own PCA.
        n_points: at most this many points of each domain are drawn.

    Returns:
        the matplotlib ``Figure``.
    """
    if not panels:
        raise ValueError("panels is empty; pass {title: (source_features, target_features)}")
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.8), squeeze=False)
    for ax, (title, (source, target)) in zip(axes[0], panels.items()):
        s2, t2 = project_2d(source[:n_points], target[:n_points])
        ax.scatter(*s2.T, s=10, alpha=0.5, color=SOURCE_COLOUR, label=_("source (mnist)"))
        ax.scatter(*t2.T, s=10, alpha=0.5, color=TARGET_COLOUR, marker="^", label=_("target (mnist_m)"))
        ax.set_title(title)
        ax.set_xlabel("PCA 1")
        ax.set_ylabel("PCA 2")
        style_axes(ax)
        ax.legend(fontsize=FONT_SIZE - 1, markerscale=2)
    fig.tight_layout()
    return fig
