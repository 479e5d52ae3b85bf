"""Helpers for the engine tests (plain functions and constants; fixtures live in conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mitigate.engine import IncidentMeta, Ports, Session
from mitigate.journal import Journal
from mitigate.runbook.loader import load_runbook_text
from tests.engine.fakes import FakeClock, FakeCluster, FakeConfirmer, FakeNotifier, node


@dataclass
class Harness:
    root: Path
    cluster: FakeCluster
    clock: FakeClock = field(default_factory=FakeClock)
    confirmer: FakeConfirmer = field(default_factory=FakeConfirmer)
    notifier: FakeNotifier = field(default_factory=FakeNotifier)
    journal: Journal | None = None

    def ports(self) -> Ports:
        return Ports(cluster=self.cluster, confirmer=self.confirmer, notifier=self.notifier, clock=self.clock)

    def start(self, text: str, *, meta: IncidentMeta | None = None, **inputs: Any) -> Session:
        runbook = load_runbook_text(text, "test.yaml")
        self.journal = Journal.create(self.root, "inc-1", clock=self.clock)
        return Session.start(runbook, inputs, self.journal, self.ports(), meta=meta or IncidentMeta(title="drill"))

    def resume(self, text: str) -> Session:
        assert self.journal is not None
        self.journal.close()
        self.journal = Journal.open(self.root, "inc-1", clock=self.clock)
        return Session.resume(self.journal, self.ports(), runbook=load_runbook_text(text, "test.yaml"))

    def types(self) -> list[str]:
        assert self.journal is not None
        return [r.type for r in self.journal.records()]


def cluster_of(n: int, contexts: tuple[str, ...] = ("lab",), notready: Callable[[int], bool] = lambda i: i % 2 == 0,
               ) -> FakeCluster:
    return FakeCluster({c: {f"n{i}": node(f"n{i}", ready=not notready(i)) for i in range(n)} for c in contexts})
