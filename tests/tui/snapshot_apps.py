"""Apps in fixed states for snapshot tests and the README screenshot (real engine, fixed clock and id)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from mitigate.ports import ConfirmRequest, ContextInfo
from mitigate.runbook.model import InputSpec
from tests.tui.engine_rig import RUNBOOK, engine_incident
from tui import make_app
from tui.app import MitigateApp
from tui.protocols import Incident, IncidentEntry, RunbookEntry, StartRequest

# the cordon pauses 30 s between batches, then waits for a health gate
PAUSED_RUNBOOK = RUNBOOK.replace(
    'batch: {size: "{{ inputs.batchSize }}"}',
    'batch: {size: "{{ inputs.batchSize }}", pause: 30s, gate: {until: "steps[\'find-notready\'].count > 0"}}', 1)


def walker_app(*, protected: bool = False, runbook: str = RUNBOOK) -> tuple[MitigateApp, Any]:
    """The walker after the check ran (its table filled), the cordon step next and highlighted."""
    rig = engine_incident(Path(tempfile.mkdtemp(prefix="mitigate-snap-")), protected=protected, runbook=runbook)
    rig.session.run("find-notready")
    rig.session.complete_manual("page-owner")
    return make_app(incident=rig.incident, confirmer=rig.confirmer, now=rig.clock.now), rig


def confirm_request(*, protected: bool) -> ConfirmRequest:
    context = "prod-par" if protected else "drill-par"
    return ConfirmRequest(step_id="delete-nodes", title="Delete the NotReady nodes", description="delete 3 node(s)",
                          kubectl=(f"kubectl --context {context} delete node node-0 node-1 node-2",),
                          context=context, scope="names: node-0, node-1, node-2", target_count=3,
                          destructive=True, protected=protected,
                          diff="--- node/node-0\n+++ /dev/null\n-kind: Node\n-metadata: {name: node-0}\n")


def long_confirm_request() -> ConfirmRequest:
    """A protected delete whose diff is 51 lines of YAML (a Deployment's manifest)."""
    diff = "--- deployment/ingress-nginx\n+++ /dev/null\n" + "".join(
        f"-  line-{n:02d}: {'value ' * 4}\n" for n in range(51))
    base = confirm_request(protected=True)
    return ConfirmRequest(step_id=base.step_id, title="Delete the ingress Deployment",
                          description="delete deployment ingress-nginx in namespace ingress",
                          kubectl=("kubectl --context prod-par -n ingress delete deployment ingress-nginx",),
                          context=base.context, scope="namespace ingress · names: ingress-nginx", target_count=1,
                          destructive=True, protected=True, diff=diff)


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
        return [IncidentEntry("2026-05-04T1405Z-nodes-notready-par", "Nodes NotReady in par", "identified")]

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
    from tests.engine.fakes import FakeClock

    return make_app(launcher=StaticLauncher(), now=FakeClock().now)
