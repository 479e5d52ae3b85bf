"""One journal vocabulary: docs/CONTRACTS.md lists every event, and nothing else writes around it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from mitigate.engine import DEFAULT_KINDS, IncidentMeta, Ports, Session, StepContext, StepKind
from mitigate.events import PAYLOADS, Event, payload_problems
from mitigate.journal import Journal
from mitigate.runbook.loader import load_runbook_text
from tests.engine.fakes import FakeClock, FakeConfirmer

ROOT = Path(__file__).resolve().parents[2]


def _documented() -> list[str]:
    text = (ROOT / "docs" / "CONTRACTS.md").read_text()
    section = text.split("\n## Journal events", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([a-z_.]+)` \|", section, flags=re.M)


def test_contracts_lists_every_event_once_and_no_other() -> None:
    documented = _documented()
    assert sorted(documented) == sorted(e.value for e in Event)
    assert len(documented) == len(set(documented))


def test_contracts_names_every_payload_field_of_each_event() -> None:
    """A field added to a payload (``wait.poll``'s ``current``, ``gate``'s ``observed``) is documented too."""
    from typing import get_type_hints

    text = (ROOT / "docs" / "CONTRACTS.md").read_text()
    section = text.split("\n## Journal events", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `([a-z_.]+)` \|(.*)$", section, flags=re.M))
    missing = {event.value: [k for k in get_type_hints(model) if not re.search(rf"\b{re.escape(k)}\b", rows[event])]
               for event, model in PAYLOADS.items()}
    assert {e: keys for e, keys in missing.items() if keys} == {}


def test_every_event_has_a_payload() -> None:
    assert set(PAYLOADS) == set(Event)


def test_payload_problems_name_what_is_wrong() -> None:
    assert payload_problems("step.failed", {"step": "a", "error": "x"}) == []
    assert payload_problems("step.failed", {"step": "a"}) == ["step.failed: missing 'error'"]
    assert payload_problems("step.failed", {"step": "a", "error": "x", "eror": 1}) == [
        "step.failed: undeclared 'eror'"]
    assert payload_problems("step.retry", {}) == ["unknown event type 'step.retry'"]


class WritesOffVocabulary(StepKind):
    name = "manual"

    def run(self, ctx: StepContext) -> None:
        ctx.record("step.retry", {})  # type: ignore[arg-type]  # what mypy refuses, the session refuses too


def test_the_session_refuses_a_type_outside_the_vocabulary(tmp_path: Path) -> None:
    runbook = load_runbook_text("""
apiVersion: mitigate/v1
kind: Runbook
metadata: {name: t, title: T, source: tests}
steps:
  - {id: a, manual: do it}
""", "t.yaml")
    journal = Journal.create(tmp_path, "inc", clock=FakeClock())
    session = Session.start(runbook, {}, journal, Ports(cluster=None, confirmer=FakeConfirmer()),
                            meta=IncidentMeta(), kinds=DEFAULT_KINDS.with_kind(WritesOffVocabulary()))
    with pytest.raises(ValueError, match="step.retry"):
        session.run("a")
    assert "step.retry" not in [r.type for r in journal.records()]


WRITERS = {"append", "_append", "record"}  # Journal.append, Session._append, StepContext.record
RECORD_TYPE = re.compile(r"^[a-z]+(\.[a-z_]+)+$")
EVENT_TEXT = re.compile(r"^(incident|step|check|manual|batch|notify|rollback|drill)\.[a-z_]+$")


def test_no_bare_event_type_strings_outside_the_vocabulary() -> None:
    """Writers and readers name events as ``Event.X``: a string such as "step.failed" in the core
    or the TUI would drift from the vocabulary unseen."""
    found = []
    for tree in ("mitigate", "tui", "integrations"):
        for path in sorted((ROOT / tree).rglob("*.py")):
            if path == ROOT / "mitigate" / "events.py":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and EVENT_TEXT.match(node.value):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
                elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                      and node.func.attr in WRITERS and node.args and isinstance(node.args[0], ast.Constant)
                      and isinstance(node.args[0].value, str) and RECORD_TYPE.match(node.args[0].value)):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.func.attr}({node.args[0].value!r})")
    assert found == []
