"""Every "the code that enforces it" reference on /lab/ names a file and a definition that exist
(a refactor that moves a function must not leave a learner reading a dead path)."""

import ast
import importlib
from pathlib import Path

import pytest

from lab.exercises import EXERCISES

ROOT = Path(__file__).resolve().parents[2]


def _defined(tree: ast.Module, dotted: str) -> bool:
    scope = tree.body
    for part in dotted.split("."):
        found = next(
            (
                node
                for node in scope
                if isinstance(node, ast.FunctionDef | ast.ClassDef | ast.AsyncFunctionDef)
                and node.name == part
            ),
            None,
        )
        if found is None:
            return False
        scope = found.body
    return True


@pytest.mark.parametrize(
    "reference", sorted({ref for exercise in EXERCISES for ref in exercise.code})
)
def test_the_code_a_lab_exercise_cites_exists(reference):
    cited = reference.split(" (")[0]  # "path (what to look for)"
    if "/" not in cited:  # a dotted name outside this repository, e.g. Django's own
        module, _, attribute = cited.rpartition(".")
        assert hasattr(importlib.import_module(module), attribute), f"{reference}: not found"
        return
    path, _, name = cited.partition("::")
    source = ROOT / path
    assert source.is_file(), f"{reference}: no such file"
    if name:
        assert _defined(ast.parse(source.read_text()), name), f"{reference}: no such definition"
