"""What every exercise check shares.

A check tests the learner's own work on fresh inputs it makes itself; it never raises on a
wrong answer (an unfinished exercise must not stop Run All), never prints the answer, and
says what is wrong in a hint. A check rejects an answer that hands the work back to the
course's own implementation of that very thing (``delegates``).
"""

import contextlib
import re
import sys

#: Longest error text a hint quotes (Keras's own messages run to thousands of characters).
ERROR_CHARACTERS = 200


def verdict(ok, praise, hint):
    """Print ``Correct: praise`` or ``Not yet: hint``; return ``ok``."""
    print(("Correct: " + praise) if ok else ("Not yet: " + hint))
    return bool(ok)


def hint(text):
    """Print a hint for an exercise (for learners who want one before trying)."""
    print("Hint: " + text)


def error_text(error):
    """``error`` as one short line for a hint: its type and the first line of its message, without
    terminal colour codes or Keras's "Exception encountered when calling ..." preamble, cut at
    ``ERROR_CHARACTERS`` (Keras goes on to print whole input arrays)."""
    lines = [line.strip() for line in re.sub(r"\x1b\[[0-9;]*m", "", str(error)).splitlines()]
    lines = [line for line in lines if line and not line.startswith("Exception encountered when calling")]
    first = lines[0] if lines else ""
    if len(first) > ERROR_CHARACTERS:
        first = first[:ERROR_CHARACTERS].rstrip() + " ..."
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


@contextlib.contextmanager
def watching(*functions):
    """Record calls to ``functions`` made inside the block: ``with watching(f) as called: ...``.

    ``called`` is a set of the names of the watched functions that ran, however they were
    reached (imported under another name, wrapped in a lambda, called from a helper).
    """
    codes = {function.__code__: function.__qualname__ for function in functions}
    called = set()
    previous = sys.getprofile()

    def profile(frame, event, arg):
        if event == "call" and frame.f_code in codes:
            called.add(codes[frame.f_code])

    sys.setprofile(profile)
    try:
        yield called
    finally:
        sys.setprofile(previous)


def attempt(function, *args, forbidden=()):
    """Call the learner's ``function(*args)`` safely.

    Returns:
        ``(value, problem)``: ``problem`` is None, or a sentence for the learner: it raised,
        returned None, or called one of the ``forbidden`` course functions.
    """
    if function is None or not callable(function):
        return None, "define the function first (it is None)."
    with watching(*forbidden) as called:
        try:
            value = function(*args)
        except Exception as error:  # the learner's code: report, never raise
            return None, f"your function raised {error_text(error)}"
    if called:
        return None, (f"your function calls the course's own {', '.join(sorted(called))}; "
                      "the exercise is to write that part yourself.")
    if value is None:
        return None, "your function returned None; return the value."
    return value, None
