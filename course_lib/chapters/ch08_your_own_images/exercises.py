"""Chapter 08's exercise checks: an input pipeline with augmentation in the right place, and the
images with the largest losses.

Each check runs the learner's function on inputs it makes itself, compares with its own
computation, and refuses a function that hands the work to the course's own implementation
(``pipeline.dataset``, ``recipe.confident_mistakes``) or copies code the notebook shows.
"""

import numpy as np

from course_lib.core.exercises import attempt, error_text, hint, shown_code, verdict
from course_lib.core.language import N_, _
from course_lib.methods.own_images.pipeline import dataset
from course_lib.methods.own_images.recipe import confident_mistakes

HINTS = {
    1: N_("ask which steps must run again every epoch and which only once. Decoding is slow and gives "
       "the same result every time: map it, then cache. Augmentation must differ every epoch, so it "
       "comes after the cache, on single images (before batch). Shuffle (a buffer as large as the data "
       "set), then batch. Prefetch last."),
    2: N_("an image's loss is -log of the probability the model gave its label: "
       "-np.log(probabilities[np.arange(n), labels]). Sort the images by it, largest first, with a "
       "stable sort (np.argsort(-loss, kind='stable')), and keep the first k."),
}
INSTEAD = {1: N_("chain map, cache, map (the augmentation), shuffle, batch and prefetch on files yourself."),
           2: N_("compute each image's cross-entropy with NumPy and sort by it.")}
#: Exercise 1's made-up data set: files, batch size, epochs read.
N_FILES, BATCH, EPOCHS = 48, 8, 3
#: A well-shuffled batch spans most of the files: the mean range of 8 random files of 48 is
#: about 7/9 of 48; a shuffle buffer of a few files gives about 8.
WELL_MIXED = 0.5


def show_hint(exercise):
    """Print the hint of exercise 1 or 2."""
    hint(_(HINTS[exercise]))


def _loss_cases(rng):
    """(name, probabilities, labels, k): random, k larger than n, all right, ties."""
    for n, classes, k in ((30, 4, 5), (12, 3, 20)):
        p = rng.dirichlet(np.ones(classes), size=n)
        name = _("{n} images, {classes} classes, k={k}").format(n=n, classes=classes, k=k)
        yield name, p, rng.integers(classes, size=n), k
    p = rng.dirichlet(np.ones(3), size=10)
    yield _("every prediction right (the losses still differ)"), p, p.argmax(axis=1), 4
    p = np.tile([[0.6, 0.3, 0.1]], (6, 1))
    yield _("equal losses (keep them in index order)"), p, np.array([1, 0, 2, 1, 2, 0]), 3


def top_losses(probabilities, labels, k):
    """The check's own answer: the ``k`` largest cross-entropies, largest first, ties in index order."""
    loss = -np.log(probabilities[np.arange(len(labels)), labels])
    return np.argsort(-loss, kind="stable")[:k]


def check_top_losses(my_function):
    """Exercise 2: ``my_function(probabilities, labels, k)`` -> the indices of the ``k`` images with the
    largest cross-entropy loss, largest first."""
    for name, p, y, k in _loss_cases(np.random.default_rng(2027)):
        got, problem = attempt(my_function, p.copy(), y.copy(), k, forbidden=(confident_mistakes,),
                               shown=shown_code(__package__), instead=_(INSTEAD[2]))
        if problem:
            return verdict(False, "", problem)
        try:
            got = [int(i) for i in np.asarray(got).ravel()]
        except (TypeError, ValueError):
            return verdict(False, "", _("return the indices: a list or an array of whole numbers."))
        if got != top_losses(p, y, k).tolist():
            wrong_only = got == _most_confident_mistakes(p, y, k)
            slip = (_(" Those are the most confident mistakes; a right prediction can have a large loss too, and "
                      "a mistake's loss is about its label's probability, not the largest.") if wrong_only else "")
            return verdict(False, "", _("on the case '{name}' your indices are not the largest losses in "
                                        "order.{slip} exercises.show_hint(2) gives a hint.").format(name=name,
                                                                                                    slip=slip))
    return verdict(True, _("you found the images the model is most wrong about, right or not, in order, on four "
                           "cases you had never seen."), "")


def _most_confident_mistakes(p, y, k):
    wrong = np.flatnonzero(p.argmax(axis=1) != y)
    return wrong[np.argsort(-p[wrong].max(axis=1), kind="stable")][:k].tolist()


def _counted(step):
    """A stand-in for a pipeline step (decoding a file, augmenting an image): returns its input;
    records the shape of every input it is called on."""
    import tensorflow as tf

    calls = []

    def count(number):
        calls.append(np.shape(number.numpy()))
        return number

    def function(number):
        value = tf.py_function(count, [number], tf.int64)
        value.set_shape(number.shape)
        return value

    function.__name__ = step
    return function, calls


def _epochs(data):
    """Every epoch's batches, each as a sorted tuple of file numbers."""
    return [[tuple(sorted(np.asarray(batch).ravel().tolist())) for batch in data] for _ in range(EPOCHS)]


def _pipeline_problem(epochs, calls, augmented):
    """What is wrong with a pipeline that gave these batches after these decode and augment calls, or None."""
    files = list(range(N_FILES))
    for i, batches in enumerate(epochs, 1):
        seen = sorted(f for batch in batches for f in batch)
        if seen != files:
            return _("epoch {epoch} did not give every file exactly once (it gave {seen} of {files}).").format(
                epoch=i, seen=len(seen), files=N_FILES)
        if any(len(batch) != BATCH for batch in batches):
            return _("make batches of batch_size ({batch}) files.").format(batch=BATCH)
    if len(calls) != N_FILES:
        return _("decode ran {calls} times for {files} files over {epochs} epochs: decode each file once and "
                 "cache what it gives (cache after the map, not before).").format(calls=len(calls), files=N_FILES,
                                                                                  epochs=EPOCHS)
    if set(epochs[0]) == set(epochs[1]) == set(epochs[2]):
        return _("every epoch has the same batches (in another order at best): shuffle the single images after "
                 "the cache and before batching, so each epoch makes new batches.")
    if not augmented:
        return _("your pipeline never augments: map augment over the images.")
    if any(shape != () for shape in augmented):
        return _("augment single images, not batches: map it before batch.")
    if len(augmented) != N_FILES * EPOCHS:
        return _("augment ran {calls} times for {files} files over {epochs} epochs: once the cache holds the "
                 "augmented images, every epoch sees the same ones. Augment after the cache.").format(
                     calls=len(augmented), files=N_FILES, epochs=EPOCHS)
    spread = np.mean([max(batch) - min(batch) for batches in epochs for batch in batches])
    if spread < WELL_MIXED * N_FILES:
        return _("your batches hold files that sit close together in the folder's order (a folder is sorted by "
                 "class, so such batches hold one class or two): give shuffle a buffer as large as the data set.")
    return None


def check_pipeline(my_pipeline):
    """Exercise 1: ``my_pipeline(files, decode, augment, batch_size, seed)`` -> a ``tf.data.Dataset``
    that decodes each file once, augments every image afresh each epoch, and gives every file once per
    epoch in new, shuffled batches."""
    import tensorflow as tf

    decode, calls = _counted("decode")
    augment, augmented = _counted("augment")
    files = tf.data.Dataset.range(N_FILES)
    data, problem = attempt(my_pipeline, files, decode, augment, BATCH, 7, forbidden=(dataset,),
                            shown=shown_code(__package__), instead=_(INSTEAD[1]))
    if problem:
        return verdict(False, "", problem)
    if not isinstance(data, tf.data.Dataset):
        return verdict(False, "", _("return a tf.data.Dataset, not {type}.").format(type=type(data).__name__))
    try:
        epochs = _epochs(data)
    except Exception as error:  # the learner's pipeline failed while reading
        return verdict(False, "", _("reading your data set raised {error}").format(error=error_text(error)))
    problem = _pipeline_problem(epochs, calls, augmented)
    if problem:
        return verdict(False, "", problem + _(" exercises.show_hint(1) gives a hint."))
    return verdict(True, _("decode ran once per file ({files} times in {epochs} epochs), augment once per image "
                           "and epoch ({augmented} times), and every epoch made new batches.").format(
                               files=N_FILES, epochs=EPOCHS, augmented=N_FILES * EPOCHS), "")
