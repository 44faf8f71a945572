"""Architecture pictures for chapter 04, drawn with matplotlib alone (no pydot, no graphviz).

Each function returns a ``Figure`` of labelled boxes joined by arrows.
"""

import matplotlib.pyplot as plt
from matplotlib.colors import to_hex, to_rgb
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from course_lib.core import checks
from course_lib.core.language import _
from course_lib.core.plots import FONT_SIZE, PALETTE
from course_lib.methods.fusion import FUSIONS

#: How far box colours are blended towards white, so black text stays readable on them.
TINT = 0.55


def _tint(colour):
    return to_hex([c + (1 - c) * TINT for c in to_rgb(colour)])


#: Box colours by role: tints of the course's colour-blind-safe palette (no red/green pair).
COLOURS = {"source": _tint(PALETTE[0]), "target": _tint(PALETTE[1]), "shared": _tint(PALETTE[6]),
           "new": "#dddddd", "loss": _tint(PALETTE[5]), "frozen": _tint(PALETTE[2])}
#: Colour of the arrows that carry weights from one model to another.
TRANSFER_ARROW = PALETTE[3]


def _box(ax, x, y, text, role, width=2.2, height=0.9):
    if role not in COLOURS:
        raise ValueError(f"unknown role {role!r}; allowed: {', '.join(COLOURS)}")
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                boxstyle="round,pad=0.08", facecolor=COLOURS[role],
                                edgecolor="black", linewidth=1.2))
    ax.text(x, y, text, ha="center", va="center", fontsize=FONT_SIZE - 1)
    return (x, y, width, height)


def _arrow(ax, start, end, text=None, style="-|>", dashed=False):
    """An arrow from the right edge of box ``start`` to the left edge of box ``end``."""
    (x0, y0, w0, _), (x1, y1, w1, _) = start, end
    tail, head = (x0 + w0 / 2 + 0.1, y0), (x1 - w1 / 2 - 0.1, y1)
    ax.add_patch(FancyArrowPatch(tail, head, arrowstyle=style, mutation_scale=16, linewidth=1.4,
                                 linestyle="--" if dashed else "-", color="black"))
    if text:
        ax.text((tail[0] + head[0]) / 2, (tail[1] + head[1]) / 2 + 0.25, text, ha="center",
                fontsize=FONT_SIZE - 2, style="italic")


def _figure(width, height, title, xmax):
    fig, ax = plt.subplots(figsize=(width, height))
    ax.set_xlim(0, xmax)
    ax.set_ylim(0, height * 1.4)
    ax.axis("off")
    ax.set_title(title, fontsize=FONT_SIZE + 1)
    return fig, ax


def channel_copying_diagram():
    """Grey source CNN -> colour target CNN: first kernel adapted, the rest copied by name."""
    fig, ax = _figure(10, 3.6, _("Channel copying: grey source model -> colour target model"), 9.2)
    top, bottom = 3.6, 1.3
    s_in = _box(ax, 1.4, top, _("grey image\n28x28x1"), "source")
    s_c1 = _box(ax, 4.4, top, "block1_conv\n3x3x1 -> 16", "source")
    s_rest = _box(ax, 7.6, top, "block2, features\nhead", "source")
    t_in = _box(ax, 1.4, bottom, _("colour image\n28x28x3"), "target")
    t_c1 = _box(ax, 4.4, bottom, "block1_conv\n3x3x3 -> 16", "target")
    t_rest = _box(ax, 7.6, bottom, "block2, features\nhead", "target")
    _arrow(ax, s_in, s_c1)
    _arrow(ax, s_c1, s_rest)
    _arrow(ax, t_in, t_c1)
    _arrow(ax, t_c1, t_rest)
    for src, dst, text in ((s_c1, t_c1, _("adapted:\nrepeat x3, / 3")), (s_rest, t_rest, _("copied\nby name"))):
        ax.add_patch(FancyArrowPatch((src[0], src[1] - 0.55), (dst[0], dst[1] + 0.55),
                                     arrowstyle="-|>", mutation_scale=16, linewidth=1.4,
                                     linestyle="--", color=TRANSFER_ARROW))
        ax.text(src[0] + 0.25, (src[1] + dst[1]) / 2, text, fontsize=FONT_SIZE - 2, color=TRANSFER_ARROW,
                va="center")
    fig.tight_layout()
    return fig


def shared_embedding_diagram():
    """Source and target images through one shared embedding g; pair losses and a classifier."""
    fig, ax = _figure(10, 3.8, _("Intra-domain mapping: one embedding for both domains"), 11.3)
    s_in = _box(ax, 1.4, 4.0, _("source images\n(all labelled)"), "source")
    t_in = _box(ax, 1.4, 1.3, _("target images\n(few labelled)"), "target")
    g = _box(ax, 5.0, 2.65, _("shared embedding g\n(conv, conv, dense)"), "shared", width=2.8, height=1.2)
    loss = _box(ax, 9.6, 4.0, _("same class: pull\ndifferent: push apart"), "loss", width=3.0)
    head = _box(ax, 9.6, 1.3, _("softmax classifier\n(on the embedding)"), "new", width=3.0)
    _arrow(ax, s_in, g)
    _arrow(ax, t_in, g)
    _arrow(ax, g, loss, _("pairs"))
    _arrow(ax, g, head)
    fig.tight_layout()
    return fig


def fusion_diagram(fusion="concat"):
    """Two branches (frozen source, trainable target) joined in a fusion layer, then a head."""
    checks.choice(fusion, "fusion", FUSIONS)
    fig, ax = _figure(10, 3.8, _("Inter-domain fusion: two branches, one fusion layer"), 12.3)
    s_in = _box(ax, 1.3, 4.0, _("grey view"), "source", width=1.8)
    t_in = _box(ax, 1.3, 1.3, _("colour view"), "target", width=1.8)
    s_b = _box(ax, 4.4, 4.0, _("source branch\n(frozen conv features)"), "frozen", width=2.9)
    t_b = _box(ax, 4.4, 1.3, _("target branch\n(trainable CNN)"), "target", width=2.9)
    text = _("concatenate\n[a; b]") if fusion == "concat" else _("gated sum\ng*a' + (1-g)*b'")
    f = _box(ax, 8.0, 2.65, text, "shared", width=2.4, height=1.2)
    head = _box(ax, 11.2, 2.65, _("softmax\nhead"), "new", width=1.8)
    _arrow(ax, s_in, s_b)
    _arrow(ax, t_in, t_b)
    _arrow(ax, s_b, f, "a")
    _arrow(ax, t_b, f, "b")
    _arrow(ax, f, head)
    fig.tight_layout()
    return fig


def multimodal_diagram():
    """Training sees two views of each digit; the deployed photo model sees one."""
    fig, ax = _figure(10, 3.8, _("Multimodal source, single-modal target"), 12.3)
    ink = _box(ax, 1.3, 4.0, _("ink view\n(clean digit)"), "source", width=1.9)
    photo = _box(ax, 1.3, 1.3, _("photo view\n(same digit)"), "target", width=1.9)
    teacher = _box(ax, 4.6, 4.0, _("ink model\n(frozen)"), "frozen", width=2.2)
    labels = _box(ax, 8.0, 4.0, _("its labels\nfor the pairs"), "loss", width=2.2)
    student = _box(ax, 4.6, 1.3, _("photo model\n(copied kernels)"), "target", width=2.2)
    deployed = _box(ax, 8.0, 1.3, _("deployed:\nphotos only"), "new", width=2.2)
    digit = _box(ax, 11.2, 1.3, _("digit"), "new", width=1.4)
    _arrow(ax, ink, teacher)
    _arrow(ax, teacher, labels)
    _arrow(ax, photo, student)
    _arrow(ax, student, deployed)
    _arrow(ax, deployed, digit)
    ax.add_patch(FancyArrowPatch((labels[0], labels[1] - 0.55), (student[0] + 1.0, student[1] + 0.55),
                                 arrowstyle="-|>", mutation_scale=16, linewidth=1.4, linestyle="--",
                                 color=TRANSFER_ARROW))
    ax.text(7.3, 2.65, _("train on"), fontsize=FONT_SIZE - 2, color=TRANSFER_ARROW, style="italic")
    fig.tight_layout()
    return fig
