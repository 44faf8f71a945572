"""Image folders for chapter 08's tests, made on the spot: coloured squares, phone-style
photos with a second image inside (MPO), a decompression bomb."""

import numpy as np
from PIL import Image

COLOURS = {"blue": (30, 60, 220), "orange": (230, 150, 0), "purple": (150, 40, 160)}


def make_squares(root, per_class=12, size=32, colours=COLOURS, seed=0, fmt="png"):
    """One sub-folder per colour, ``per_class`` images of a coloured square on grey noise."""
    rng = np.random.default_rng(seed)
    for name, rgb in colours.items():
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            image = rng.integers(90, 160, size=(size, size, 3)).astype("uint8")
            side = int(rng.integers(size // 3, size // 2 + 1))
            top, left = rng.integers(0, size - side, size=2)
            image[top:top + side, left:left + side] = rgb
            Image.fromarray(image).save(root / name / f"{name}_{i:03d}.{fmt}")
    return root


def save_mpo(path, rng, size=(48, 64)):
    """A JPEG with a second, smaller image appended, as phones write them (Pillow: "MPO")."""
    first = Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8))
    second = Image.fromarray(rng.integers(0, 255, (size[0] // 4, size[1] // 4, 3), dtype=np.uint8))
    first.save(path, format="MPO", save_all=True, append_images=[second])
    return path


def save_bomb(path, side=15000):
    """A PNG of side x side pixels in a few kilobytes (a 15000 x 15000 one is 27 KB)."""
    Image.new("1", (side, side)).save(path)
    return path
