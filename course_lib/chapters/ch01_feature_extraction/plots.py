"""Chapter 01's figure: the networks feature extraction trains, one per place to cut."""

from course_lib.core.cnn import BLOCKS
from course_lib.core.language import N_, _
from course_lib.core.plots import BLOCK_LABELS, block_diagram


def cut_diagram(layers):
    """For each layer to cut after, the network that trains: the source's blocks up to the cut,
    frozen, the blocks above it cut off, and a new head on top that trains.

    Args:
        layers: layer names of the course CNN, e.g. ``experiments.CANDIDATE_LAYERS``.

    Returns:
        the matplotlib ``Figure`` (``plots.block_diagram``), one column per layer.
    """
    columns = {}
    for layer in layers:
        holder = [block for block, names in BLOCKS.items() if layer in names]
        if not holder or holder[0] == "head":
            allowed = [name for block, names in BLOCKS.items() if block != "head" for name in names]
            raise ValueError(f"cannot cut after {layer!r}: cut after a layer below the head, one of {', '.join(allowed)}")
        kept = list(BLOCKS).index(holder[0])
        stack = [(BLOCK_LABELS[block], "frozen" if i <= kept else "cut off")
                 for i, block in enumerate(b for b in BLOCKS if b != "head")]
        columns[_("cut after {layer}").format(layer=layer)] = [*stack, (N_("new head: dense, softmax"), "new, trains")]
    return block_diagram(columns)
