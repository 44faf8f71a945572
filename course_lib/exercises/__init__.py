"""Automatic checks for the chapters' exercises, one module per chapter.

Each check returns True and says so when the answer is right; otherwise it
prints a hint and returns False (it never raises, so a learner's unfinished
exercise does not stop the notebook). The hidden solutions assert the check.
"""


def verdict(ok, praise, hint):
    """Print ``Correct: praise`` or ``Not yet: hint``; return ``ok``."""
    print(("Correct: " + praise) if ok else ("Not yet: " + hint))
    return ok
