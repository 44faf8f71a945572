"""The first command: what `make.py course` starts, and what it says, on each kind of machine."""

import importlib.util

import pytest

from course_lib.tools import launch
from course_lib.tools.lab import ROOT


def _make():
    spec = importlib.util.spec_from_file_location("make", ROOT / "make.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_as_root_the_course_still_opens_and_says_why():
    command, notes = launch.plan(memory_mb=16_000, is_root=True)
    assert command[:3] == ["jupyter", "lab", "chapters/00_welcome.ipynb"]
    assert "--allow-root" in command
    assert any("root" in note for note in notes)
    command, notes = launch.plan(memory_mb=16_000, is_root=False)
    assert "--allow-root" not in command and not notes


@pytest.mark.parametrize("memory_mb, policy, expected", [
    (2_000, None, True),      # Binder-sized: one chapter's memory at a time
    (8_000, None, True),      # a walk through every chapter holds about 7.5 GB without it
    (16_000, None, False),    # plenty: every chapter stays as the learner left it
    (16_000, True, True),     # the learner's own choice wins
    (2_000, False, False),
])
def test_the_kernel_policy_follows_the_memory(memory_mb, policy, expected):
    command, notes = launch.plan(memory_mb, is_root=False, policy=policy)
    assert (f"--config={launch.CONFIG}" in command) == expected
    assert any("restarts the other notebooks' kernels" in n for n in notes) == expected


def test_notebook_7_and_jupyter_options_pass_through():
    command, _ = launch.plan(16_000, False, notebook=True, extra=["--port", "8899"])
    assert command[:2] == ["jupyter", "notebook"] and command[-2:] == ["--port", "8899"]


@pytest.mark.parametrize("version, system, machine, problem", [
    ((3, 11), "Linux", "x86_64", None),
    ((3, 13), "Darwin", "arm64", None),
    ((3, 10), "Linux", "x86_64", "Python 3.11, 3.12 or 3.13"),
    ((3, 14), "Windows", "AMD64", "Python 3.11, 3.12 or 3.13"),
    ((3, 12), "Darwin", "x86_64", "Intel Macs"),
])
def test_make_says_what_to_do_on_unsupported_machines(version, system, machine, problem):
    found = _make().python_problem(version, system, machine)
    assert (found is None) if problem is None else (problem in found)
