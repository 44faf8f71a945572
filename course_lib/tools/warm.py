"""``python -m course_lib.tools.warm``: fill the cache folder so the chapters start fast.

Binder's ``postBuild`` runs it; learners can too. It builds the offline data
(MNIST parsed once, MNIST-M blended once) and trains the source models.
"""

import time

import course_lib
from course_lib import data, feature_extraction, models, transferability
from course_lib.experiments import feature_extraction as feature_extraction_experiment


def warm(seed=0):
    """Build every cached artefact the chapters use; print what and how long."""
    course_lib.setup(seed)
    for name in data.DOMAINS:
        start = time.perf_counter()
        x, _ = data.load_domain(name, "train", seed=seed)
        print(f"{name}: {len(x)} training images ready ({time.perf_counter() - start:.1f} s)")
    start = time.perf_counter()
    model = models.source_model(seed=seed, progress=None)
    state = "loaded" if model.source_cached else "trained"
    print(f"source model {state} ({time.perf_counter() - start:.1f} s)")
    start = time.perf_counter()
    feature_extraction_experiment.old_task_source(seed=seed)
    print(f"mnist_m digits 0-4 source model of chapter 01 ready ({time.perf_counter() - start:.1f} s)")
    start = time.perf_counter()
    feature_extraction.subtask_source_model(seed=seed)
    transferability.shuffled_label_source(seed=seed)
    print(f"chapter 05's task-A and shuffled-label source models ready ({time.perf_counter() - start:.1f} s)")
    print(f"cache folder: {course_lib.cache_dir()}")


if __name__ == "__main__":
    warm()
