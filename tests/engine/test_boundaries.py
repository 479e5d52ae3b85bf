"""The session is a facade: nothing outside it reaches for its private members.

Step kinds get a StepContext (import-linter keeps them from importing the session); this test
keeps everyone else honest too, the TUI, the CLI, the integrations, benches and tests.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SESSION = ROOT / "mitigate" / "engine" / "session.py"
TREES = ("mitigate", "tui", "integrations", "tests", "bench")


def _private(node: ast.AST) -> set[str]:
    """The private members the classes under ``node`` define: methods and ``self._x`` attributes."""
    names: set[str] = set()
    for cls in (n for n in ast.walk(node) if isinstance(n, ast.ClassDef)):
        for item in ast.walk(cls):
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names.add(item.name)
            elif (isinstance(item, ast.Attribute) and isinstance(item.ctx, ast.Store)
                  and isinstance(item.value, ast.Name) and item.value.id == "self"):
                names.add(item.attr)
    return {n for n in names if n.startswith("_") and not n.endswith("__")}


def session_private() -> set[str]:
    tree = ast.parse(SESSION.read_text())
    (session,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Session"]
    return _private(session)


def private_uses(source: str, private: set[str]) -> list[tuple[int, str]]:
    """``x._name`` where ``_name`` is a private member of the session, ``x`` is not ``self`` or
    ``cls``, and no class of this module defines a member of that name (``journal._lock()``
    inside the journal's own module is the journal's business)."""
    tree = ast.parse(source)
    foreign = private - _private(tree)
    return [(node.lineno, ast.unparse(node)) for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and node.attr in foreign
            and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))]


def test_the_session_has_the_private_members_this_test_guards() -> None:
    private = session_private()
    assert {"_append", "_lock", "_state", "_items", "_running"} <= private
    assert private_uses("def f(session):\n    session._append('note', {})\n", private) == [
        (2, "session._append")]
    assert private_uses("class Own:\n    def _lock(self): ...\n\ndef f(o):\n    o._lock()\n", private) == []


def test_no_module_outside_the_session_calls_a_private_session_member() -> None:
    private = session_private()
    found = []
    for tree in TREES:
        for path in sorted((ROOT / tree).rglob("*.py")):
            if path == SESSION or ".venv" in path.parts:
                continue
            found += [f"{path.relative_to(ROOT)}:{line}: {text}"
                      for line, text in private_uses(path.read_text(), private)]
    assert found == []
