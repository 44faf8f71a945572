"""The ``keras.applications`` backbones the course offers, and their blocks.

A backbone is a network trained on ImageNet with its classifier removed: it turns an image
into a stack of feature maps. The course offers the two MobileNetV3s: small, fast on a CPU,
with preprocessing built in (they take pixels 0-255), and with an MD5 hash published for their
weights, so a damaged weights file is caught (``weights.verify``).
"""

import dataclasses
import re

from course_lib.core import checks

DEFAULT_BACKBONE = "MobileNetV3Small"
_V3 = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v3/"


@dataclasses.dataclass(frozen=True)
class Backbone:
    """A ``keras.applications`` constructor and its ImageNet weights file (without the top).

    ``weights_md5`` is the hash ``keras.applications`` itself checks downloads against.
    """

    constructor: str
    weights_file: str
    weights_md5: str

    @property
    def weights_url(self):
        return _V3 + self.weights_file


BACKBONES = {
    "MobileNetV3Small": Backbone("MobileNetV3Small", "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5",
                                 "d3e8ec802a04aa4fc771ee12a9a9b836"),
    "MobileNetV3Large": Backbone("MobileNetV3Large", "weights_mobilenet_v3_large_224_1.0_float_no_top_v2.h5",
                                 "07fb09a5933dd0c8eaafa16978110389"),
}
#: The blocks of the MobileNetV3s are named ``expanded_conv[_N]_...``.
_BLOCK = re.compile(r"^(expanded_conv(?:_\d+)?)_")


def check_name(name):
    """``name``, if it is one of ``BACKBONES`` (the message lists them)."""
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; allowed: {', '.join(BACKBONES)}")
    return name


def build_backbone(name=DEFAULT_BACKBONE, image_size=96, weights_path=None):
    """The backbone without its ImageNet classifier, named ``"backbone"``.

    Args:
        weights_path: the ImageNet weights file, already checked against its published hash
            (``weights.verified_path``), or None for a random initialisation.

    Returns:
        a ``keras.Model`` from (batch, image_size, image_size, 3) pixels 0-255 (it rescales them
        itself) to a feature map, e.g. (batch, 3, 3, 576) for MobileNetV3Small at 96x96.
    """
    import keras

    constructor = getattr(keras.applications, BACKBONES[check_name(name)].constructor)
    weights = None if weights_path is None else str(weights_path)
    return constructor(input_shape=(image_size, image_size, 3), include_top=False, weights=weights,
                       include_preprocessing=True, name="backbone")


def blocks(backbone):
    """The backbone's blocks in order: ``[(block name, index of its first layer)]``."""
    found = []
    for index, layer in enumerate(backbone.layers):
        match = _BLOCK.match(layer.name)
        if match and (not found or found[-1][0] != match.group(1)):
            found.append((match.group(1), index))
    return found


def top_blocks_start(backbone, n_blocks):
    """The index of the first layer of the backbone's top ``n_blocks`` blocks."""
    found = blocks(backbone)
    n_blocks = checks.whole_number(n_blocks, "top_blocks", maximum=len(found))
    return found[-n_blocks][1]
