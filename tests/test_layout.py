"""The test tree's layout: helpers live in plain modules, conftest modules hold fixtures only.

A test that imports from a conftest module ties itself to pytest's plugin loading (the module
may be imported twice, under two names) and hides helpers where nobody looks for them.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_no_test_module_imports_from_a_conftest() -> None:
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if any(n == "conftest" or n.endswith(".conftest") for n in names):
                offenders.append(f"{path.relative_to(TESTS.parent)}:{node.lineno}")
    assert not offenders, "import helpers from a helpers module, not a conftest: " + ", ".join(offenders)
