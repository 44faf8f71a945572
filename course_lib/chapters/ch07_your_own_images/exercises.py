"""Chapter 07's exercise checks: an input pipeline in the right order, and the most confident mistakes.

Each check runs the learner's function on inputs it makes itself and rejects a function that
hands the work to the course's own implementation (``recipe.confident_mistakes``,
``pipeline.dataset``).
"""

import numpy as np

from course_lib.core.exercises import attempt, error_text, hint, verdict
from course_lib.own_images.pipeline import dataset
from course_lib.own_images.recipe import confident_mistakes

HINTS = {
    1: "ask which steps must run again every epoch and which only once. Decoding is slow and gives "
       "the same result every time: map it, then cache. Shuffling must differ every epoch, and "
       "batches are made from the shuffled images: shuffle (a buffer as large as the data set), "
       "then batch. Prefetch last.",
    2: "keep the images whose arg-max is not the label (np.flatnonzero), sort those by their largest "
       "probability, highest first (np.argsort of minus the confidence), and keep the first k.",
}
#: Exercise 1's made-up data set: files, batch size, epochs read.
N_FILES, BATCH, EPOCHS = 48, 8, 3
#: A well-shuffled batch spans most of the files: the mean range of 8 random files of 48 is
#: about 7/9 of 48; a shuffle buffer of a few files gives about 8.
WELL_MIXED = 0.5


def show_hint(exercise):
    """Print the hint of exercise 1 or 2."""
    hint(HINTS[exercise])


def _mistake_cases(rng):
    """(name, probabilities, labels, k): random, more mistakes than k, fewer, none, ties."""
    for n, classes, k in ((30, 4, 5), (12, 3, 20)):
        p = rng.dirichlet(np.ones(classes), size=n)
        yield f"{n} images, {classes} classes, k={k}", p, rng.integers(classes, size=n), k
    p = rng.dirichlet(np.ones(3), size=10)
    yield "every prediction right", p, p.argmax(axis=1), 4
    p = np.tile([[0.6, 0.3, 0.1]], (6, 1))
    yield "equal confidences (keep them in index order)", p, np.array([1, 0, 2, 1, 2, 0]), 3


def check_confident_mistakes(my_function):
    """Exercise 2: ``my_function(probabilities, labels, k)`` -> the indices of the ``k`` most
    confident wrong predictions, most confident first."""
    for name, p, y, k in _mistake_cases(np.random.default_rng(2027)):
        got, problem = attempt(my_function, p.copy(), y.copy(), k, forbidden=(confident_mistakes,))
        if problem:
            return verdict(False, "", problem)
        try:
            got = [int(i) for i in np.asarray(got).ravel()]
        except (TypeError, ValueError):
            return verdict(False, "", "return the indices: a list or an array of whole numbers.")
        if got != confident_mistakes(p, y, k).tolist():
            return verdict(False, "", f"on the case '{name}' your indices are not the most confident "
                                      "mistakes in order. Hint: " + HINTS[2])
    return verdict(True, "you found the most confident mistakes, in order, on four cases you had "
                         "never seen (and none when there were none).", "")


def _counted_decoder():
    """A stand-in for decoding an image file: returns the file's number; counts its calls."""
    import tensorflow as tf

    calls = []

    def count(number):
        calls.append(int(number))
        return number

    def decode(number):
        value = tf.py_function(count, [number], tf.int64)
        value.set_shape(())
        return value

    return decode, calls


def _epochs(data):
    """Every epoch's batches, each as a sorted tuple of file numbers."""
    return [[tuple(sorted(np.asarray(batch).ravel().tolist())) for batch in data] for _ in range(EPOCHS)]


def _pipeline_problem(epochs, calls):
    """What is wrong with a pipeline that gave these batches after these decode calls, or None."""
    files = list(range(N_FILES))
    for i, batches in enumerate(epochs, 1):
        seen = sorted(f for batch in batches for f in batch)
        if seen != files:
            return f"epoch {i} did not give every file exactly once (it gave {len(seen)} of {N_FILES})."
        if any(len(batch) != BATCH for batch in batches):
            return f"make batches of batch_size ({BATCH}) files."
    if len(calls) != N_FILES:
        return (f"decode ran {len(calls)} times for {N_FILES} files over {EPOCHS} epochs: decode "
                "each file once and cache what it gives (cache after the map, not before).")
    if set(epochs[0]) == set(epochs[1]) == set(epochs[2]):
        return ("every epoch has the same batches (in another order at best): shuffle the single "
                "images after the cache and before batching, so each epoch makes new batches.")
    spread = np.mean([max(batch) - min(batch) for batches in epochs for batch in batches])
    if spread < WELL_MIXED * N_FILES:
        return ("your batches hold files that sit close together in the folder's order (a folder is "
                "sorted by class, so such batches hold one class or two): give shuffle a buffer as "
                "large as the data set.")
    return None


def check_pipeline(my_pipeline):
    """Exercise 1: ``my_pipeline(files, decode, batch_size, seed)`` -> a ``tf.data.Dataset`` that
    decodes each file once, and gives every file once per epoch in new, shuffled batches."""
    import tensorflow as tf

    decode, calls = _counted_decoder()
    files = tf.data.Dataset.range(N_FILES)
    data, problem = attempt(my_pipeline, files, decode, BATCH, 7, forbidden=(dataset,))
    if problem:
        return verdict(False, "", problem)
    if not isinstance(data, tf.data.Dataset):
        return verdict(False, "", f"return a tf.data.Dataset, not {type(data).__name__}.")
    try:
        epochs = _epochs(data)
    except Exception as error:  # the learner's pipeline failed while reading
        return verdict(False, "", f"reading your data set raised {error_text(error)}")
    problem = _pipeline_problem(epochs, calls)
    if problem:
        return verdict(False, "", problem + " Hint: " + HINTS[1])
    return verdict(True, f"decode ran once per file ({N_FILES} times in {EPOCHS} epochs), and every "
                         "epoch made new batches of every file.", "")
