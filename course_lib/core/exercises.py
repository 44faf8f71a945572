"""What every exercise check shares.

A check tests the learner's own work on fresh inputs it makes itself; it never raises on a
wrong answer (an unfinished exercise must not stop Run All), never prints the answer, and
says what is wrong in a hint. A check refuses two shortcuts (``shortcut``), each with a hint
that names it and says what to write instead:

- an answer that hands the work to the course's own implementation (a ``forbidden`` function
  or class): found in the code the answer refers to, before it runs, and in the calls it
  makes while it runs, however the course function was reached;
- an answer that is a code cell the chapter's notebook shows, copied (``shown_code``): equal
  to it once comments, whitespace, docstrings and every variable's name are set aside.
"""

import ast
import contextlib
import dis
import functools
import inspect
import re
import sys
import textwrap
import types
from pathlib import Path

from course_lib.core.language import _

#: Longest error text a hint quotes (Keras's own messages run to thousands of characters).
ERROR_CHARACTERS = 200


def verdict(ok, praise, hint):
    """Print ``Correct: praise`` or ``Not yet: hint`` (in the current language); return ``ok``."""
    print(_("Correct: {praise}").format(praise=praise) if ok else _("Not yet: {hint}").format(hint=hint))
    return bool(ok)


def hint(text):
    """Print a hint for an exercise (for learners who want one before trying)."""
    print(_("Hint: {hint}").format(hint=text))


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
    reached (imported under another name, wrapped in a lambda, called from a helper). A class
    among ``functions`` stands for its own methods.
    """
    codes = {function.__code__: function.__qualname__ for function in _functions(functions)}
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


def attempt(function, *args, forbidden=(), shown=(), instead=""):
    """Call the learner's ``function(*args)`` safely, unless it takes a shortcut.

    Args:
        function: the learner's function (or class: then ``*args`` make an instance).
        forbidden: the course's own functions and classes the answer must not use.
        shown: the code the chapter shows (``shown_code``): a copy of it is refused.
        instead: what to write instead, ending the refusal's hint (one short sentence).

    Returns:
        ``(value, problem)``: ``problem`` is None, or a sentence for the learner: it takes a
        shortcut, raised, returned None, or called one of the ``forbidden`` course functions.
    """
    if function is None or not callable(function):
        return None, _("define the function first (it is None).")
    problem = shortcut(function, forbidden, shown, instead)
    if problem:
        return None, problem
    with watching(*forbidden) as called:
        try:
            value = function(*args)
        except Exception as error:  # the learner's code: report, never raise
            return None, _("your function raised {error}").format(error=error_text(error))
    if called:
        return None, _refusal(_("calls the course's own {names}").format(names=", ".join(sorted(called))), instead)
    if value is None:
        return None, _("your function returned None; return the value.")
    return value, None


def _refusal(what, instead):
    if instead:
        return _("your function {what}; the exercise is to write that part yourself: {instead}").format(
            what=what, instead=instead)
    return _("your function {what}; the exercise is to write that part yourself.").format(what=what)


def shortcut(function, forbidden=(), shown=(), instead=""):
    """The shortcut the learner's ``function`` takes, as a hint, or None.

    Args:
        function: the learner's function or class.
        forbidden: the course's functions and classes it must not refer to (under any name,
            through any module, or from a helper the learner wrote).
        shown: code snippets (``shown_code``) it must not be a copy of.
        instead: what to write instead (ends the hint).
    """
    used = sorted({_name(thing) for thing in _referred(function) if _is_forbidden(thing, forbidden)})
    if used:
        return _refusal(_("uses the course's own {names}").format(names=", ".join(used)), instead)
    copied = _copied(function, shown)
    if copied and instead:
        return _("your function copies the code the notebook shows at `{code}`; this exercise asks "
                 "for what that code does not do: {instead}").format(code=copied, instead=instead)
    if copied:
        return _("your function copies the code the notebook shows at `{code}`; this exercise asks "
                 "for what that code does not do.").format(code=copied)
    return None


# --- the course's own functions, found in the code a learner's function refers to ---------

def _functions(forbidden):
    """The Python functions behind ``forbidden``: functions as they are, a class's own methods."""
    for thing in forbidden:
        if isinstance(thing, type):
            yield from (v for v in vars(thing).values() if isinstance(v, types.FunctionType))
        else:
            yield getattr(thing, "__func__", thing)


def _name(thing):
    return getattr(thing, "__qualname__", getattr(thing, "__name__", repr(thing)))


def _is_forbidden(thing, forbidden):
    for banned in forbidden:
        if thing is banned or getattr(thing, "__func__", None) is banned:
            return True
        if isinstance(banned, type) and isinstance(thing, type) and issubclass(thing, banned):
            return True
    return False


def _codes(code):
    """``code`` and every code object nested in it (inner functions, lambdas, comprehensions)."""
    yield code
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            yield from _codes(constant)


#: How deep ``_referred`` follows attributes (``course_lib.methods.batchnorm.adabn`` is 3).
ATTRIBUTE_DEPTH = 4


def _referred(function, seen=None):
    """Every object ``function``'s code can reach by name: its globals and closure values, their
    attributes it names (``module.attribute``, several levels deep), and the same for the
    learner's own helpers and a class's methods and bases."""
    seen = set() if seen is None else seen
    if id(function) in seen:
        return
    seen.add(id(function))
    if isinstance(function, type):
        yield from function.__mro__[1:]
        for value in vars(function).values():
            value = getattr(value, "__func__", value)
            if isinstance(value, types.FunctionType):
                yield from _referred(value, seen)
        return
    function = getattr(function, "__func__", function)
    code = getattr(function, "__code__", None)
    if code is None:
        return
    scope = getattr(function, "__globals__", {})
    globals_, attributes, imported = _names(code)
    values = [scope[name] for name in globals_ if name in scope]
    values += [sys.modules[name] for name in imported if name in sys.modules]
    values += [cell.cell_contents for cell in (function.__closure__ or ()) if _filled(cell)]
    reached = {id(v) for v in values}
    for _depth in range(ATTRIBUTE_DEPTH):
        found = []
        for value in values:
            yield value
            if _is_learners(value):
                yield from _referred(value, seen)
            if isinstance(value, (types.ModuleType, type)):
                found += [_attribute(value, name) for name in attributes]
        values = [v for v in found if v is not None and id(v) not in reached and not reached.add(id(v))]


def _names(code):
    """``(globals, attributes, modules)`` the code of ``code`` (and of the code nested in it) names:
    the global names it loads, the attributes it reads, and the modules it imports."""
    globals_, attributes, imported = set(), set(), set()
    for instruction in (i for c in _codes(code) for i in dis.get_instructions(c)):
        if instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
            globals_.add(instruction.argval)
        elif instruction.opname in ("LOAD_ATTR", "LOAD_METHOD", "IMPORT_FROM"):
            attributes.add(instruction.argval)
        elif instruction.opname == "IMPORT_NAME":
            parts = instruction.argval.split(".")
            imported.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return globals_, attributes, imported


def _attribute(value, name):
    """``value.name``, or None when it has none (a lazy module may raise anything on the way)."""
    try:
        return getattr(value, name, None)
    except Exception:  # noqa: BLE001 (a module's lazy loader failing is no answer's fault)
        return None


def _filled(cell):
    try:
        cell.cell_contents
    except ValueError:
        return False
    return True


def _is_learners(value):
    """A function the learner wrote: not the course's, nor an installed package's or Python's."""
    if not isinstance(value, types.FunctionType):
        return False
    file = value.__code__.co_filename
    return not (value.__module__ or "").startswith("course_lib") and not file.startswith(
        (sys.prefix, sys.base_prefix)) and "site-packages" not in file


# --- copies of the notebook's cells -------------------------------------------------------

#: The fewest statements a run inside a longer answer must have to count as a copied block.
COPIED_RUN = 3


def _chapter_file(package):
    """``course_lib.chapters.ch05_self_training_and_source_free`` -> ``chapters/04_self_....py``."""
    return Path(__file__).resolve().parents[2] / "chapters" / f"{package.rsplit('.', 1)[-1][2:]}.py"


@functools.lru_cache(maxsize=None)
def shown_code(package):
    """The code a chapter's notebook shows: its code cells (its markdown holds no code block:
    ``tests/test_code_blocks.py``).

    Args:
        package: the chapter's package, e.g. ``"course_lib.chapters.ch01_feature_extraction"``;
            its notebook is read from ``chapters/01_feature_extraction.py`` (py:percent).

    Returns:
        a tuple of source snippets, without the exercise cells (those calling a check: the
        learner's answers live there); empty when the notebook is not beside the package (an
        installed course without its chapters), so only the forbidden functions are refused.
    """
    path = _chapter_file(package)
    if not path.is_file():
        return ()
    snippets = []
    for cell in re.split(r"^# %%.*$", path.read_text(encoding="utf-8"), flags=re.M)[1:]:
        lines = cell.strip("\n").splitlines()
        if all(line.startswith("#") or not line.strip() for line in lines):  # a markdown cell
            continue
        if "exercises.check_" not in cell:
            snippets.append("\n".join(line for line in lines if not line.lstrip().startswith(("%", "!"))))
    return tuple(snippets)


class _Canonical(ast.NodeTransformer):
    """Renames every variable, argument and function to ``v0, v1, ...`` in order of first use,
    names a called function by its last name only (``ops.mean`` and ``keras.ops.mean`` alike),
    makes every call argument that only names data (``x``, ``data.x_adapt[:1000]``) the same,
    and drops docstrings: what is left is the code's shape, attributes and constants."""

    def __init__(self):
        self.names = {}

    def _rename(self, name):
        return self.names.setdefault(name, f"v{len(self.names)}")

    def visit_Name(self, node):
        return ast.copy_location(ast.Name(id=self._rename(node.id), ctx=node.ctx), node)

    def visit_arg(self, node):
        return ast.copy_location(ast.arg(arg=self._rename(node.arg)), node)

    def visit_Call(self, node):
        data = (ast.Name, ast.Attribute, ast.Subscript)
        if isinstance(node.func, ast.Attribute) and isinstance(node.func.value, (ast.Name, ast.Attribute)):
            node.func = ast.Name(id="." + node.func.attr, ctx=ast.Load())
        else:
            node.func = self.visit(node.func)
        node.args = [ast.Name(id="_", ctx=ast.Load()) if isinstance(a, data) else self.visit(a)
                     for a in node.args]
        for keyword in node.keywords:
            keyword.value = (ast.Name(id="_", ctx=ast.Load()) if isinstance(keyword.value, data)
                             else self.visit(keyword.value))
        return node

    def visit_FunctionDef(self, node):
        node.name = self._rename(node.name)
        node.body = _without_docstring(node.body) or [ast.Pass()]
        node.returns, node.decorator_list = None, []
        self.generic_visit(node)
        return node


def _without_docstring(body):
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        return body[1:]
    return body


def _shape(statements):
    """The canonical form of a run of statements (a string, equal for equal code)."""
    canonical = _Canonical()
    return "|".join(ast.dump(canonical.visit(ast.parse(ast.unparse(s)).body[0])) for s in statements)


def _is_stub(statements):
    """A body that only returns a name or a constant: an exercise's empty answer, not a cell."""
    return len(statements) == 1 and isinstance(statements[0], (ast.Return, ast.Pass)) and (
        getattr(statements[0], "value", None) is None
        or isinstance(statements[0].value, (ast.Name, ast.Constant, ast.Dict, ast.List)))


def _units(tree):
    """The runs of statements a snippet shows: its top-level code (imports aside) and every
    function's body; classes as the tuple of their methods' bodies."""
    top = [s for s in tree.body if not isinstance(s, (ast.Import, ast.ImportFrom))]
    yield [s for s in top if not isinstance(s, (ast.FunctionDef, ast.ClassDef))]
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            yield _without_docstring(node.body)


@functools.lru_cache(maxsize=None)
def _shown_shapes(shown):
    """(whole units, runs of ``COPIED_RUN`` statements) of the shown snippets: dicts from their
    shapes to their first lines."""
    whole, runs = {}, {}
    for snippet in shown:
        try:
            tree = ast.parse(snippet)
        except SyntaxError:
            continue
        for unit in _units(tree):
            if unit and not _is_stub(unit):
                whole.setdefault(_shape(unit), _first_line(unit[0]))
            for start in range(len(unit) - COPIED_RUN + 1):
                runs.setdefault(_shape(unit[start:start + COPIED_RUN]), _first_line(unit[start]))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                whole.setdefault(_class_shape(node), f"class {node.name}")
    return whole, runs


def _first_line(statement, characters=50):
    line = ast.unparse(statement).splitlines()[0]
    return line if len(line) <= characters else line[:characters].rstrip() + " ..."


def _class_shape(node):
    methods = sorted(_shape(_without_docstring(n.body)) for n in node.body if isinstance(n, ast.FunctionDef))
    return "class:" + "||".join(methods)


def _learners_tree(function):
    """The learner's function (or class) as an AST node, or None when its source is not at hand."""
    try:
        source = textwrap.dedent(inspect.getsource(function))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, IndentationError):
        if isinstance(function, type):  # a notebook's class: rebuild it from its methods' sources
            methods = [_learners_tree(v) for v in vars(function).values() if isinstance(v, types.FunctionType)]
            if methods and all(methods):
                return ast.ClassDef(name=function.__name__, bases=[], keywords=[], body=methods,
                                    decorator_list=[])
        return None
    node = tree.body[0] if tree.body else None
    return node if isinstance(node, (ast.FunctionDef, ast.ClassDef)) else None


def _copied(function, shown):
    """The first line of the shown code ``function`` copies, or None."""
    if not shown:
        return None
    node = _learners_tree(function)
    if node is None:
        return None
    whole, runs = _shown_shapes(tuple(shown))
    if isinstance(node, ast.ClassDef):
        return whole.get(_class_shape(node))
    body = _without_docstring(node.body)
    body = [s for s in body if not isinstance(s, (ast.Import, ast.ImportFrom))]
    candidates = [body]
    if body and isinstance(body[-1], ast.Return) and isinstance(body[-1].value, (ast.Name, type(None))):
        candidates.append(body[:-1])
    for candidate in candidates:
        if candidate and not _is_stub(candidate) and _shape(candidate) in whole:
            return whole[_shape(candidate)]
    for start in range(len(body) - COPIED_RUN + 1):
        found = runs.get(_shape(body[start:start + COPIED_RUN]))
        if found:
            return found
    return None
