"""The walker's model and the step briefs, without Textual: plain records in, evidence out."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mitigate.runbook.loader import load_runbook_text
from tests.tui.engine_rig import RUNBOOK
from tui.brief import brief, kubectl_get, rendered
from tui.model import WARNING, WalkerModel, delivery_warning
from tui.protocols import RunbookEntry
from tui.screens.home import relevance, search_runbooks, subsequence


@dataclass
class Rec:
    type: str
    data: dict[str, Any] = field(default_factory=dict)
    mono: float = 0.0


def test_a_failed_delivery_makes_a_succeeded_notify_a_warning() -> None:
    model = WalkerModel()
    model.fold([Rec("step.started", {"step": "tell"}),
                Rec("notify.sent", {"step": "tell", "channel": "slack", "ok": True}),
                Rec("notify.failed", {"step": "tell", "channel": "status", "ok": False, "message": "HTTP 500"}),
                Rec("step.succeeded", {"step": "tell", "error": "not delivered to status"})], live=True)
    assert model.status_of("tell", "succeeded") == WARNING
    assert delivery_warning(model.evidence["tell"]) == "not delivered to status"
    model.fold([Rec("step.started", {"step": "tell"}),  # a retry that reaches everyone
                Rec("notify.sent", {"step": "tell", "channel": "status", "ok": True}),
                Rec("step.succeeded", {"step": "tell"})], live=True)
    assert model.status_of("tell", "succeeded") == "succeeded"


def test_evidence_is_kept_per_step_and_the_batch_panel_gets_the_batch_records() -> None:
    model = WalkerModel()
    model.batch_step = "cordon"
    out = model.fold([Rec("check.result", {"step": "find", "ok": True, "count": 3}),
                      Rec("step.intent", {"step": "cordon", "batch": 1, "batches": 2, "kubectl": ["k cordon a"]}, 5.0),
                      Rec("step.outcome", {"step": "cordon", "batch": 1, "results": [{"target": "a", "ok": True}]}),
                      Rec("batch.progress", {"step": "cordon", "batch": 1, "batches": 2, "done": 1, "total": 2}),
                      Rec("decision", {"step": "which", "choice": "page"})], live=True)
    assert out.started == 5.0 and out.started_data is not None and out.started_data["batch"] == 1
    assert out.results == [{"target": "a", "ok": True}] and out.progress is not None
    assert model.evidence["find"].check == {"step": "find", "ok": True, "count": 3}
    assert model.evidence["cordon"].kubectl == ["k cordon a"]
    assert model.evidence["which"].choice == "page"
    assert out.evidence == {"find", "cordon", "which"} and out.steps_changed


def test_briefs_render_templates_and_a_check_has_its_kubectl_equivalent() -> None:
    book = load_runbook_text(RUNBOOK.replace("manual: Page the owning team in `#inc-par`",
                                             "manual: Page {{ inputs.context }} owners, {{ steps['find-notready'].count }}"),
                             "rb.yaml")
    ctx = {"inputs": {"context": "drill-par", "batchSize": 50}, "steps": {}}
    page = brief(book.step("page-owner"), ctx)
    assert "drill-par owners" in page.text and "{{" not in page.text and "‹steps['find-notready'].count›" in page.text
    find = brief(book.step("find-notready"), ctx, context="drill-par")
    assert find.kubectl == ("kubectl --context drill-par get node",)
    assert rendered("plain", ctx) == "plain"

    class Query:
        apiVersion, kind, name = "apps/v1", "Deployment", None
        namespace, labelSelector, fieldSelector = "{{ inputs.ns }}", "app=web", None

    assert kubectl_get(Query, {"inputs": {"ns": "shop"}}, "c1") == \
        "kubectl --context c1 get deployment.apps -n shop -l app=web"


def test_search_ranks_the_runbook_named_for_the_symptom_first() -> None:
    books = [RunbookEntry("api-throttle", "Throttle API traffic", Path("a"), summary="nodes go NotReady " * 20),
             RunbookEntry("replace-notready-nodes", "Replace NotReady nodes", Path("b"), tags=("nodes",)),
             RunbookEntry("crds", "Delete the CRDs", Path("c"), summary="ingress down")]
    assert [b.name for b in search_runbooks(books, "notready")][:1] == ["replace-notready-nodes"]
    assert relevance(books[2], "notready") == 0.0
    assert [b.name for b in search_runbooks(books, "not-ready nodes")][0] == "replace-notready-nodes"
    assert subsequence("ntrdy", "notready") > 0 and subsequence("ydr", "notready") == 0
