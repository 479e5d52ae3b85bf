"""Apps in fixed states for snapshot tests and the README screenshot (deterministic clock and ids)."""

from __future__ import annotations

from pathlib import Path

from mitigate.ports import ConfirmRequest, ContextInfo
from mitigate.runbook.model import InputSpec
from tests.tui.fakes import FixedClock, demo_incident
from tui import TuiConfirmer, make_app
from tui.app import MitigateApp
from tui.protocols import Incident, IncidentEntry, RunbookEntry, StartRequest


def walker_app(*, protected: bool = False) -> MitigateApp:
    clock = FixedClock()
    confirmer = TuiConfirmer()
    incident, session = demo_incident(confirmer, protected=protected, clock=clock)
    session.steps[0].status = "succeeded"
    session.journal.append("check.result", {"step": "find-notready", "ok": True, "count": 3, "message": "",
                                            "rows": [{"name": "node-0", "ready": "False", "age": "3m"},
                                                     {"name": "node-1", "ready": "Unknown", "age": "4m"}]})
    return make_app(incident=incident, confirmer=confirmer, now=clock.now)


def confirm_request(*, protected: bool) -> ConfirmRequest:
    return ConfirmRequest(step_id="drain", title="Drain nodes in batches", description="drain 3 node(s)",
                          kubectl=("kubectl --context prod-par drain node-0 node-1 node-2 --ignore-daemonsets",),
                          context="prod-par" if protected else "drill-par", scope="names: node-0, node-1, node-2",
                          target_count=3, destructive=protected, protected=protected,
                          diff="--- node/node-0\n+++ node/node-0\n-unschedulable: false\n+unschedulable: true\n")


class StaticLauncher:
    """A Launcher over fixed lists: the home screen without a cluster or a journal root."""

    def runbooks(self) -> list[RunbookEntry]:
        return [
            RunbookEntry("apiserver-oom", "API server OOM under LIST storm", Path("a.yaml"),
                         symptoms=("apiserver restarts", "429 too many requests"), tags=("control-plane",)),
            RunbookEntry("replace-notready-nodes", "Replace NotReady nodes", Path("b.yaml"),
                         symptoms=("nodes NotReady",), tags=("nodes", "capacity")),
            RunbookEntry("delete-offending-crds", "Ingress down after CRD install", Path("c.yaml"),
                         symptoms=("ingress 503",), tags=("crd", "ingress")),
        ]

    def incidents(self) -> list[IncidentEntry]:
        return [IncidentEntry("INC-20260504-0001", "Nodes NotReady in par", "identified")]

    def contexts(self) -> list[ContextInfo]:
        return [ContextInfo("drill-par", "par"), ContextInfo("prod-par", "par", protected=True)]

    def inputs(self, runbook: RunbookEntry) -> dict[str, InputSpec]:
        return {"context": InputSpec(type="kube-context"),
                "batchSize": InputSpec(type="integer", default=10, minimum=1, maximum=100, prompt="nodes per batch")}

    def start(self, request: StartRequest, confirmer: object) -> Incident:
        raise AssertionError("not started in these tests")

    def resume(self, incident_id: str, confirmer: object) -> Incident:
        raise AssertionError("not resumed in these tests")


def home_app() -> MitigateApp:
    return make_app(launcher=StaticLauncher(), now=FixedClock().now)
