"""ARCHITECTURE.md's rules, checked on the source: every import goes down the layers and none makes a
cycle in course_lib (module-level or inside functions), Keras's fit called from core/training.py
only, a GradientTape only in a train_step."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "course_lib"
#: Where else a GradientTape may appear: an exercise check measuring the learner's layer's gradient.
TAPE_ELSEWHERE = {"course_lib/chapters/ch06_domain_adaptation/exercises.py"}
#: Where else a ``.fit(`` is called: the optional peer comparison runs the ADAPT library's own fit
#: on purpose; the others are scikit-learn's (a PCA, the proxy A-distance's linear classifier).
FIT_ELSEWHERE = {"course_lib/core/training.py", "course_lib/chapters/ch06_domain_adaptation/peer_adapt.py",
                 "course_lib/chapters/ch06_domain_adaptation/plots.py",
                 "course_lib/methods/adaptation/proxy_a_distance.py"}


def _modules():
    """{dotted module name: path} of every module of course_lib."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(name, path, modules):
    """The course_lib modules ``name`` imports anywhere in its file (not its own packages)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package
                for _ in range(node.level - 1):
                    anchor = anchor.rpartition(".")[0]
                base = f"{anchor}.{base}" if base else anchor
            candidates = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for candidate in candidates:
            while candidate and candidate not in modules:
                candidate = candidate.rpartition(".")[0]
            if candidate and candidate != name and not name.startswith(candidate + "."):
                targets.add(candidate)
    return targets


def test_course_lib_has_no_import_cycle():
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    state, cycles = {}, []

    def visit(node, trail):
        state[node] = "open"
        for other in sorted(graph[node]):
            if state.get(other) == "open":
                cycles.append(trail[trail.index(other):] + [other])
            elif other not in state:
                visit(other, trail + [other])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


#: The layers, lowest first (ARCHITECTURE.md): a module imports from its own layer or lower ones only.
#: ``core`` is what every chapter shares; the declarations, the experiment registry, its results
#: and publishing read only ``core``; ``methods`` use those; ``chapters`` compose methods; ``tools``
#: (and the package's own lazy entry points) sit above everything.
LAYERS = (("course_lib.core",), ("course_lib.syllabus", "course_lib.experiments", "course_lib.results",
                                 "course_lib.publishing"),
          ("course_lib.methods",), ("course_lib.chapters",), ("course_lib.tools", "course_lib"))


def _layer(name):
    for height, tops in enumerate(LAYERS):
        if any(name == top or name.startswith(top + ".") for top in tops):
            return height
    raise AssertionError(f"{name} is in no layer of LAYERS: add its package there")


def test_every_module_imports_downwards_only():
    modules = _modules()
    upwards = [f"{name} -> {other}" for name, path in sorted(modules.items())
               for other in sorted(_imports(name, path, modules)) if _layer(other) > _layer(name)]
    assert not upwards, "imports from a higher layer: " + "; ".join(upwards)


def _calls(path, attribute):
    """Lines calling ``<something>.<attribute>(...)``, each with the function it is in."""
    found = []

    def walk(node, function):
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else function
            if (isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute)
                    and child.func.attr == attribute):
                found.append((child.lineno, function))
            walk(child, inner)

    walk(ast.parse(path.read_text()), None)
    return found


def test_keras_fit_is_called_from_core_training_only():
    misplaced = [f"{path.relative_to(ROOT).as_posix()}: lines {[line for line, _ in _calls(path, 'fit')]}"
                 for path in PACKAGE.rglob("*.py")
                 if _calls(path, "fit") and path.relative_to(ROOT).as_posix() not in FIT_ELSEWHERE]
    assert not misplaced


def test_gradient_tapes_are_only_in_train_steps():
    misplaced = []
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(ROOT).as_posix()
        tapes = [(line, function) for line, function in _calls(path, "GradientTape") if function != "train_step"]
        if tapes and relative not in TAPE_ELSEWHERE:
            misplaced.append(f"{relative}: {tapes}")
    assert not misplaced
