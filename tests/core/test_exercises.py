"""What every exercise check shares: attempts never raise, and delegation is caught however it is made."""

import numpy as np

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
