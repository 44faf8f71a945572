"""``python -m course_lib.tools.warm``: fill the cache folder so every chapter starts fast.

Binder's ``postBuild`` and ``python3 make.py course`` run it; teachers can run it before a
class. It builds the offline data (MNIST parsed once, MNIST-M blended once) and trains every
source model the chapters load: the ``RECIPES`` of each declared chapter's ``experiments``
module (``course_lib.syllabus``), and makes what else they keep there (its ``CACHED``:
chapter 08's sample folders).
"""

import dataclasses
import time

import course_lib
from course_lib.core import data
from course_lib.core.pretrained import trained
from course_lib.syllabus import CHAPTERS


def chapter_recipes():
    """Every ``core.pretrained.Recipe`` the chapters list, once each, in chapter order."""
    found = []
    for chapter in CHAPTERS:
        for recipe in chapter.recipes():
            if recipe not in found:
                found.append(recipe)
    return found


def warm(seed=0):
    """Build every cached artefact the chapters use, for ``seed``; print what and how long."""
    course_lib.setup(seed)
    for name in data.DOMAINS:
        start = time.perf_counter()
        x, _ = data.load_domain(name, "train", seed=seed)
        print(f"{name}: {len(x)} training images ready ({time.perf_counter() - start:.1f} s)", flush=True)
    for recipe in chapter_recipes():
        start = time.perf_counter()
        model = trained(dataclasses.replace(recipe, seed=seed))
        state = "loaded" if model.from_cache else "trained"
        print(f"{recipe.name}: {state} ({time.perf_counter() - start:.1f} s)", flush=True)
    for chapter in CHAPTERS:
        for make in chapter.cached():
            start = time.perf_counter()
            make()
            print(f"{chapter.name}: {make.__name__} ready ({time.perf_counter() - start:.1f} s)", flush=True)
    print(f"cache folder: {course_lib.cache_dir()}")


if __name__ == "__main__":
    warm()
