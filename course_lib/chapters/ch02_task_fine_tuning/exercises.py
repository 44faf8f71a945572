"""Chapter 02's exercise check: freeze for BatchNorm-only fine-tuning, with ``layer.trainable``.

The check runs the learner's function on fresh models it makes itself, so copying an answer
from the notebook cannot pass, and refuses a function that hands the work to the course's own
freezing helpers or copies code the notebook shows.
"""

import numpy as np

from course_lib.core.cnn import BLOCKS, build_cnn
from course_lib.core.exercises import attempt, hint, shown_code, verdict
from course_lib.core.language import N_, _
from course_lib.core.layers import freeze, set_trainable, train_only, unfreeze
from course_lib.methods.fine_tuning import build

HINTS = {
    1: N_("loop over model.layers: a layer trains when it is a keras.layers.BatchNormalization or the "
          "head (its name is 'head'), and is frozen otherwise. A model can be frozen as a whole "
          "(model.trainable = False): then no layer trains whatever its own flag says, so set "
          "model.trainable = True first. Return the model."),
}
INSTEAD = {1: N_("loop over model.layers and set layer.trainable yourself.")}


def show_hint(exercise):
    """Print the hint of exercise 1."""
    hint(_(HINTS[exercise]))


def _attempt(function, *args, forbidden, exercise):
    return attempt(function, *args, forbidden=forbidden, shown=shown_code(__package__),
                   instead=_(INSTEAD[exercise]))


# ----------------------------------------------------------------------------- exercise 1

def _fresh_models():
    """Small course CNNs the learner has not seen, in three starting states."""
    everything = build_cnn(filters=(4, 8), units=16, seed=11, name="all_trainable")
    yield _("a model with every layer trainable"), everything
    whole = build_cnn(filters=(6, 10), units=12, seed=12, name="frozen_as_a_whole")
    whole.trainable = False
    yield _("a model frozen as a whole (model.trainable = False)"), whole
    mixed = build_cnn(filters=(4, 8), units=16, seed=13, name="upside_down")
    for layer in mixed.layers:
        layer.trainable = layer.name in BLOCKS["block1"]
    yield _("a model whose block1 trains and everything else is frozen"), mixed


def _trains(layer):
    """Whether ``layer`` trains in BatchNorm-only fine-tuning (Frankle et al. 2021), with a new head."""
    import keras

    return isinstance(layer, keras.layers.BatchNormalization) or layer.name in BLOCKS["head"]


def _expected_trainable(model):
    """Trainable parameters of a copy of ``model`` frozen the right way."""
    import keras

    reference = keras.models.clone_model(model)
    reference.trainable = True
    for layer in reference.layers:
        layer.trainable = _trains(layer)
    return sum(int(np.prod(v.shape)) for v in reference.trainable_weights)


def check_batchnorm_only(my_function):
    """Exercise 1: ``my_function(model)`` lets only the BatchNorm layers and the head train, using
    ``layer.trainable`` (not the course's freezing helpers); returns the model."""
    import keras

    forbidden = (train_only, freeze, unfreeze, set_trainable, build)
    for name, model in _fresh_models():
        expected = _expected_trainable(model)
        got, problem = _attempt(my_function, model, forbidden=forbidden, exercise=1)
        if problem:
            return verdict(False, "", problem)
        if not isinstance(got, keras.Model):
            return verdict(False, "", _("on {case} your function returned a {kind}; return the Keras model.").format(
                case=name, kind=type(got).__name__))
        weighted = [layer for layer in got.layers if layer.weights]
        wrong_on = [layer.name for layer in weighted if layer.trainable and not _trains(layer)]
        wrong_off = [layer.name for layer in weighted if not layer.trainable and _trains(layer)]
        if wrong_on or wrong_off:
            return verdict(False, "", _("on {case}: ").format(case=name)
                           + (_("these layers train but should be frozen: {layers}. ").format(layers=wrong_on)
                              if wrong_on else "")
                           + (_("these layers are frozen but should train: {layers}. ").format(layers=wrong_off)
                              if wrong_off else "")
                           + _("show_hint(1) says how."))
        trainable = sum(int(np.prod(v.shape)) for v in got.trainable_weights)
        if trainable != expected:
            return verdict(False, "", _("on {case} every layer's flag is right, yet the model trains "
                                        "{trainable:,} parameters instead of {expected:,}: is the model "
                                        "itself still frozen? show_hint(1).").format(
                case=name, trainable=trainable, expected=expected))
    return verdict(True, _("only the BatchNorm scales and shifts and the head train, on three models that "
                           "started frozen in different ways."), "")
