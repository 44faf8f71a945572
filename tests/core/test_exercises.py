"""What every exercise check shares: attempts never raise, and delegation is caught however it is
made; a copy of the notebook's code is refused."""

import numpy as np
import pytest

from course_lib.core import exercises
from course_lib.core.evaluation import per_class_accuracy


def test_attempt_reports_errors_none_and_missing_functions():
    assert exercises.attempt(lambda a: a + 1, 1) == (2, None)
    assert "raised ZeroDivisionError" in exercises.attempt(lambda: 1 / 0)[1]
    assert "returned None" in exercises.attempt(lambda: None)[1]
    assert "define the function" in exercises.attempt(None)[1]


def test_delegation_is_caught_under_any_name():
    from course_lib.core import evaluation

    alias = evaluation.per_class_accuracy
    for delegating in (lambda t, p: alias(t, p),
                       lambda t, p: evaluation.per_class_accuracy(t, p),
                       lambda t, p: [float(v) for v in per_class_accuracy(t, p)]):
        value, problem = exercises.attempt(delegating, [0, 1], [0, 1], forbidden=(per_class_accuracy,))
        assert value is None and "per_class_accuracy" in problem
    value, problem = exercises.attempt(lambda t, p: np.mean(np.equal(t, p)), [0, 1], [0, 1],
                                       forbidden=(per_class_accuracy,))
    assert (value, problem) == (1.0, None)


def test_a_course_function_is_found_in_the_code_before_it_runs():
    """Under an alias, through modules, in a closure, in the learner's own helper: refused unrun."""
    import course_lib
    from course_lib.core import evaluation

    alias = evaluation.per_class_accuracy

    def helper(t, p):
        return course_lib.core.evaluation.per_class_accuracy(t, p)

    def closure():
        inner = per_class_accuracy
        return lambda t, p: 1 / 0 if t is None else inner(t, p)

    for delegating in (lambda t, p: 1 / 0 or alias(t, p), lambda t, p: helper(t, p), closure()):
        problem = exercises.shortcut(delegating, (per_class_accuracy,), instead="count with NumPy.")
        assert problem == ("your function uses the course's own per_class_accuracy; the exercise is to "
                           "write that part yourself: count with NumPy.")
    assert exercises.shortcut(lambda t, p: np.mean(np.equal(t, p)), (per_class_accuracy,)) is None


def test_a_call_hidden_from_the_code_is_caught_while_it_runs():
    from course_lib.core import evaluation

    def hidden(t, p):
        return getattr(evaluation, "per_class" + "_accuracy")(t, p)

    assert exercises.shortcut(hidden, (per_class_accuracy,)) is None
    value, problem = exercises.attempt(hidden, [0, 1], [0, 1], forbidden=(per_class_accuracy,))
    assert value is None and problem.startswith("your function calls the course's own per_class_accuracy")


def test_a_class_built_on_a_forbidden_class_is_refused():
    import keras

    from course_lib.methods.adaptation.gradient_reversal import GradientReversal

    class Mine(GradientReversal):
        pass

    class Own(keras.layers.Layer):
        def call(self, x):
            return x

    assert "GradientReversal" in exercises.shortcut(Mine, (GradientReversal,))
    assert exercises.shortcut(Own, (GradientReversal,)) is None


SHOWN = ('''
import keras

bn_layers = [layer for layer in plain.layers if isinstance(layer, keras.layers.BatchNormalization)]
for layer in bn_layers:
    layer.momentum = 0.0  # moving statistic := this batch's statistic
plain(data.x_adapt[:1000], training=True)
for layer in bn_layers:
    layer.momentum = 0.9
print("done")
''', '''
def gap(source, target):
    """The gap in points."""
    return 100 * (source - target)
''')


def copied_cell(model, x):
    """A learner's copy of the first shown cell: other names, no comments, its own return."""
    import keras

    found = [bn for bn in model.layers if isinstance(bn, keras.layers.BatchNormalization)]
    for bn in found:
        bn.momentum = 0.0
    model(x, training=True)
    for bn in found:
        bn.momentum = 0.9
    return model


def copied_function(a, b):
    # my own gap
    return 100 * (a - b)


def blended(model, x, alpha):
    """Not a copy: the momentum is the blend."""
    import keras

    found = [bn for bn in model.layers if isinstance(bn, keras.layers.BatchNormalization)]
    momenta = [bn.momentum for bn in found]
    for bn in found:
        bn.momentum = 1 - alpha
    model(x, training=True)
    for bn, momentum in zip(found, momenta):
        bn.momentum = momentum
    return model


@pytest.mark.parametrize("function, where", [(copied_cell, "bn_layers = [layer for layer in plain.layers"),
                                             (copied_function, "return 100 * (source - target)")])
def test_a_copy_of_the_notebooks_code_is_refused_whatever_its_names_and_comments(function, where):
    problem = exercises.shortcut(function, shown=SHOWN, instead="blend the statistics.")
    assert problem.startswith(f"your function copies the code the notebook shows at `{where}")
    assert problem.endswith("this exercise asks for what that code does not do: blend the statistics.")
    assert len(problem) < 300


def test_an_answer_that_differs_from_the_shown_code_is_not_a_copy():
    assert exercises.shortcut(blended, shown=SHOWN) is None
    assert exercises.shortcut(lambda a, b: 100 * (a - b) / a, shown=SHOWN) is None


def test_shown_code_is_the_notebooks_code_cells_but_not_its_exercise_cells():
    shown = exercises.shown_code("course_lib.chapters.ch05_self_training_and_source_free")
    assert any("layer.momentum = 0.0" in snippet for snippet in shown)
    assert any("class InformationMaximisation(keras.Model)" in snippet for snippet in shown)
    assert not any("exercises.check_" in snippet for snippet in shown)
    assert exercises.shown_code("course_lib.chapters.ch99_missing") == ()


def test_verdict_and_hint_print_and_return(capsys):
    assert exercises.verdict(True, "well done", "") is True
    assert exercises.verdict(False, "", "try again") is False
    exercises.hint("look closer")
    assert capsys.readouterr().out.splitlines() == ["Correct: well done", "Not yet: try again",
                                                    "Hint: look closer"]


def test_an_error_in_the_learners_code_is_quoted_in_one_short_line():
    """Issue 27: a Keras shape error is thousands of characters, with colour codes and the input array."""
    from course_lib.core.cnn import build_cnn

    model = build_cnn(filters=(4, 4), units=8)
    rgb = np.zeros((2, 28, 28, 3), "float32")
    _, problem = exercises.attempt(lambda: model(rgb))
    assert problem.startswith("your function raised ValueError: Input 0 ")
    assert "expected axis -1 of input shape to have value 1" in problem
    assert "\n" not in problem and "\x1b" not in problem and len(problem) < 300
    assert exercises.error_text(KeyError()) == "KeyError"


def test_a_helper_reached_through_a_module_of_the_learners_is_followed():
    """A learner's own module (a notebook's helper file) holding the delegation is looked into too."""
    import types

    helpers = types.ModuleType("my_helpers")
    exec("from course_lib.core.evaluation import per_class_accuracy\n"
         "def recall(t, p):\n    return per_class_accuracy(t, p)\n", helpers.__dict__)
    scope = {"helpers": helpers}
    exec("def answer(t, p):\n    return helpers.recall(t, p)\n", scope)
    assert "per_class_accuracy" in exercises.shortcut(scope["answer"], (per_class_accuracy,))


def test_an_import_inside_the_answer_is_followed_and_an_attribute_of_that_name_is_not_the_function():
    def imports_it(t, p):
        from course_lib.core import evaluation as ev

        return ev.per_class_accuracy(t, p)

    assert "per_class_accuracy" in exercises.shortcut(imports_it, (per_class_accuracy,))

    class Scores:
        per_class_accuracy = staticmethod(lambda t, p: np.equal(t, p))

    scope = {"per_class_accuracy": per_class_accuracy, "scores": Scores, "np": np}
    exec("def own(t, p):\n    return scores.per_class_accuracy(t, p)\n", scope)  # a notebook that imported it
    assert exercises.shortcut(scope["own"], (per_class_accuracy,)) is None
