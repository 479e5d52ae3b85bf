"""Screens and widgets post messages up and use the App only for Textual's own API (docs/ARCHITECTURE.md,
"The TUI: attributes down, messages up"): every ``….app.<name>`` in ``tui/screens`` and ``tui/widgets``,
and every ``app.<action>`` in their key bindings, is a member of Textual's ``App``, never one that
``MitigateApp`` adds (its launcher, confirmer, session calls, walker, farewell...)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from textual.app import App

from tui.app import MitigateApp

ROOT = Path(__file__).resolve().parents[2]
TEXTUAL = set(dir(App())) | set(dir(App))


def _assigned(path: Path) -> set[str]:
    """The ``self.<name>`` a module's methods assign (read from its source: building a MitigateApp
    would start its start-up work)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, ast.AnnAssign) else []
        for target in targets:
            for t in target.elts if isinstance(target, ast.Tuple) else [target]:
                if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self":
                    names.add(t.attr)
    return names


OURS = (set(vars(MitigateApp)) | _assigned(ROOT / "tui" / "app.py")) - TEXTUAL


def uses_of_the_app(tree: ast.AST) -> list[tuple[int, str]]:
    """``(line, name)`` of every ``<anything>.app.<name>`` and ``"app.<action>(...)"`` binding."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) and node.value.attr == "app":
            found.append((node.lineno, node.attr))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found += [(node.lineno, f"action_{m}") for m in re.findall(r"(?<![\w.])app\.(\w+)", node.value)]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr" \
                and node.args and isinstance(node.args[0], ast.Attribute) and node.args[0].attr == "app":
            found.append((node.lineno, "getattr(app, …)"))  # a name the check cannot see
    return found


def test_screens_and_widgets_use_only_textuals_app_api() -> None:
    offending, seen = [], set()
    for path in sorted((ROOT / "tui").glob("*/*.py")):
        if path.parent.name not in ("screens", "widgets"):
            continue
        for line, name in uses_of_the_app(ast.parse(path.read_text(), str(path))):
            seen.add(name)
            if name not in TEXTUAL or name in OURS:
                offending.append(f"{path.relative_to(ROOT)}:{line}: app.{name}")
    assert offending == [], "post a message (tui/messages.py) for the app to handle instead"
    assert {"push_screen", "exit"} <= seen  # the check sees the calls it is about


def test_the_check_catches_a_call_into_mitigate_app() -> None:
    code = "class S:\n    def f(self):\n        self.app.session_call('x', print)\n        self.app.push_screen(1)\n"
    names = [name for _, name in uses_of_the_app(ast.parse(code))]
    assert names == ["session_call", "push_screen"]
    assert "session_call" in OURS and "quit_incident" in OURS and "launcher" in OURS and "push_screen" not in OURS
