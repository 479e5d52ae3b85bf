"""Hand-made journals for the postmortem tests, written as real hash-chained lines.

``drill_events()`` is a recorded-looking apiserver-oom drill with a fixed
clock: backdated milestones (one with a zone-abbreviation mismatch), notes,
status changes, checks, a batched action with a failure, a notification,
and planted secrets that must never reach a draft.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mitigate.journal.record import encode
from mitigate.timefmt import format_ts

ACTOR = "alice@oncall-1"
T0 = datetime(2024, 2, 13, 0, 58, 0, tzinfo=UTC)

TOKEN = "ghp_AbCdEf0123456789AbCdEf0123456789AbCd"
WEBHOOK = "https://hooks.slack.com/services/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4"
SECRET_DATA = "c3VwZXItc2VjcmV0LXBhc3N3b3Jk"  # base64 of "super-secret-password"

Event = tuple[datetime, str, dict[str, Any]]


def write_journal(root: Path, incident_id: str, events: list[Event], *, actor: str = ACTOR) -> Path:
    """Write ``events`` (time, type, data) as ``root/incident_id/journal.jsonl``."""
    folder = root / incident_id
    folder.mkdir(parents=True, exist_ok=True)
    prev, lines = "", []
    for seq, (moment, type_, data) in enumerate(events, start=1):
        _, line = encode(seq, format_ts(moment), float(seq), actor, type_, data, prev)
        prev = __import__("hashlib").sha256(line[:-1]).hexdigest()
        lines.append(line)
    path = folder / "journal.jsonl"
    path.write_bytes(b"".join(lines))
    return path


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def opened(runbook_path: str = "", **extra: Any) -> dict[str, Any]:
    return {"title": "Kapsule API server OOM drill", "severity": "SEV1", "commander": "alice",
            "runbook": "apiserver-oom", "runbook_version": "3", "runbook_path": runbook_path,
            "inputs": {"context": "drill-par"}, "contexts": ["drill-par"], "drill": True,
            "scenario": "apiserver-oom", **extra}


def declared(text: str, tz: str, zone: str, offset: str, *, mismatch: bool = False, note: str = "") -> dict[str, Any]:
    return {"text": text, "tz": tz, "zone": zone, "utc_offset": offset, "mismatch": mismatch, "note": note}


def drill_events(runbook_path: str = "") -> list[Event]:
    nodes = [f"node-{i:02d}" for i in range(1, 5)]
    return [
        (at(0), "incident.opened", opened(runbook_path)),
        (at(0.5), "incident.status", {"status": "investigating"}),
        (at(0.6), "incident.roles", {"scribe": "bob", "comms": "carol"}),
        (at(1), "milestone", {"name": "impact-start", "at": "2024-02-13T00:04:00Z",
                              "declared": declared("01:04 CET", "CET", "Europe/Paris", "+01:00")}),
        (at(1.2), "milestone", {"name": "detected", "at": "2024-02-13T00:21:00Z",
                                "declared": declared("01:21 CEST", "CEST", "Europe/Paris", "+01:00",
                                                     mismatch=True,
                                                     note="CEST is +02:00 but Europe/Paris was on CET (+01:00) "
                                                          "on 2024-02-13; used +01:00")}),
        (at(2), "milestone", {"name": "acknowledged"}),
        (at(3), "note", {"text": f"Paged | escalated: API p99 > 30s; token={TOKEN} <script>alert(1)</script>"}),
        (at(3.9), "step.started", {"step": "confirm-oom", "attempt": 1, "kind": "check"}),
        (at(4), "check.result", {"step": "confirm-oom", "ok": True, "count": 3,
                                 "names": ["kube-apiserver-0", "kube-apiserver-1", "kube-apiserver-2"],
                                 "message": "3 restarts with reason OOMKilled",
                                 "rows": [{"Pod": f"kube-apiserver-{i}", "Restarts": 4, "Last termination": "OOMKilled"}
                                          for i in range(3)]}),
        (at(4.1), "step.succeeded", {"step": "confirm-oom"}),
        (at(4.2), "step.started", {"step": "notready-nodes", "attempt": 1, "kind": "check"}),
        (at(4.3), "check.result", {"step": "notready-nodes", "ok": True, "count": 72, "listed": 600, "kind": "Node",
                                   "names": [f"node-{i:03d}" for i in range(0, 576, 8)],
                                   "rows": [{"Node": f"node-{i:03d}", "Ready": "Unknown"} for i in range(0, 576, 8)]}),
        (at(4.4), "step.succeeded", {"step": "notready-nodes"}),
        (at(5), "manual.done", {"step": "pause-autohealing"}),
        (at(6), "incident.status", {"status": "identified"}),
        (at(6.5), "step.started", {"step": "raise-apiserver-memory", "attempt": 1, "kind": "action"}),
        (at(6.6), "step.previewed", {"step": "raise-apiserver-memory", "context": "drill-par", "diff": (
            "--- Deployment/kube-system/kube-apiserver (before)\n+++ Deployment/kube-system/kube-apiserver (after)\n"
            "@@ -20,7 +20,7 @@\n       - name: kube-apiserver\n         resources:\n           limits:\n"
            "-            memory: 4Gi\n+            memory: 8Gi\n           requests:\n             cpu: '1'\n")}),
        (at(6.7), "step.confirmed", {"step": "raise-apiserver-memory", "context": "drill-par", "kind": "action",
                                     "typed": True}),
        (at(7), "step.intent", {"step": "raise-apiserver-memory", "attempt": 1, "context": "drill-par",
                                "verb": "setResources",
                                "params": {"namespace": "kube-system", "name": "kube-apiserver"},
                                "targets": ["kube-system/deployment/kube-apiserver"],
                                "kubectl": ["kubectl --context drill-par -n kube-system set resources "
                                            "deployment/kube-apiserver -c kube-apiserver --limits=memory=8Gi"],
                                "description": "Raise kube-apiserver memory limit to 8Gi"}),
        (at(7.1), "step.outcome", {"step": "raise-apiserver-memory", "attempt": 1, "context": "drill-par",
                                   "ok": True,
                                   "results": [{"target": "kube-system/deployment/kube-apiserver", "ok": True,
                                                "message": "patched", "backup": "backups/0001-kube-apiserver.json"}],
                                   "undo": [{"verb": "setResources", "context": "drill-par"}],
                                   "api_errors_absorbed": 2}),
        (at(7.2), "step.succeeded", {"step": "raise-apiserver-memory"}),
        (at(8), "notify.sent", {"step": "tell-customers", "channel": "slack", "status": "identified", "ok": True,
                                "message": f"Posted to {WEBHOOK}", "remote_id": "1707786000.000100",
                                "text": "API degraded on drill-par: memory raised, nodes recovering"}),
        (at(8.5), "step.intent", {"step": "silence-storm", "attempt": 1, "batch": 1, "context": "", "verb": "silence",
                                  "alertmanager": "default", "params": {"endsAt": "2024-02-13T03:06:30Z"}}),
        (at(8.6), "step.outcome", {"step": "silence-storm", "attempt": 1, "batch": 1, "context": "", "ok": True,
                                   "alertmanager": "default", "silence_id": "4d1c-77aa",
                                   "results": [{"target": "silence/4d1c-77aa", "ok": True, "message": "created"}]}),
        (at(9), "step.intent", {"step": "cordon-notready", "attempt": 1, "batch": 1, "context": "drill-par",
                                "verb": "cordon", "params": {"names": nodes}, "targets": nodes,
                                "kubectl": ["kubectl --context drill-par cordon " + " ".join(nodes)],
                                "description": "Cordon 4 NotReady nodes"}),
        (at(9.5), "step.outcome", {"step": "cordon-notready", "attempt": 1, "batch": 1, "context": "drill-par",
                                   "ok": False,
                                   "results": [{"target": n, "ok": n != "node-03",
                                                "message": "cordoned" if n != "node-03" else "409 Conflict | retry",
                                                "backup": None} for n in nodes],
                                   "undo": [{"verb": "uncordon", "context": "drill-par"}],
                                   "api_errors_absorbed": 0}),
        (at(9.6), "step.failed", {"step": "cordon-notready", "error": "1 of 4 targets failed"}),
        (at(10), "step.intent", {"step": "delete-stale-secret", "attempt": 1, "context": "drill-par",
                                 "verb": "delete",
                                 "params": {"manifest": {"kind": "Secret", "data": {"password": SECRET_DATA}}},
                                 "targets": ["kube-system/secret/stale"],
                                 "kubectl": ["kubectl --context drill-par -n kube-system delete secret stale"],
                                 "description": "Delete a stale bootstrap Secret"}),
        (at(12), "milestone", {"name": "mitigated", "text": "Nodes Ready again: #ready; 95%"}),
        (at(13), "incident.status", {"status": "monitoring"}),
        (at(14), "note", {"text": "Late entry: auto-healing had replaced 2 nodes before we paused it",
                          "at": "2024-02-13T00:30:00Z",
                          "declared": declared("00:30 UTC", "UTC", "UTC", "+00:00")}),
        (at(40), "incident.roles", {"commander": "dana"}),
        (at(75), "milestone", {"name": "resolved"}),
        (at(75.5), "incident.status", {"status": "resolved"}),
        (at(75.7), "rollback.started", {"steps": ["cordon-notready"]}),
        (at(75.8), "step.intent", {"step": "cordon-notready", "attempt": 1, "batch": 1, "context": "drill-par",
                                   "verb": "uncordon", "rollback": True, "targets": nodes[:2] + nodes[3:],
                                   "kubectl": ["kubectl --context drill-par uncordon node-01 node-02 node-04"]}),
        (at(75.85), "step.outcome", {"step": "cordon-notready", "attempt": 1, "batch": 1, "context": "drill-par",
                                     "ok": True, "rollback": True,
                                     "results": [{"target": n, "ok": True, "message": "uncordoned"}
                                                 for n in nodes[:2] + nodes[3:]]}),
        (at(75.9), "rollback.step", {"step": "cordon-notready", "ok": True}),
        (at(75.95), "rollback.finished", {"ok": True, "rolled_back": ["cordon-notready"]}),
        (at(76), "incident.closed", {}),
    ]
