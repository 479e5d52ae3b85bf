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

from mitigate.journal.record import encode, format_ts

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
        (at(1), "milestone", {"name": "impact-start", "at": "2024-02-13T00:04:00Z",
                              "declared": declared("01:04 CET", "CET", "Europe/Paris", "+01:00")}),
        (at(1.2), "milestone", {"name": "detected", "at": "2024-02-13T00:21:00Z",
                                "declared": declared("01:21 CEST", "CEST", "Europe/Paris", "+01:00",
                                                     mismatch=True,
                                                     note="CEST is +02:00 but Europe/Paris was on CET (+01:00) "
                                                          "on 2024-02-13; used +01:00")}),
        (at(2), "milestone", {"name": "acknowledged"}),
        (at(3), "note", {"text": f"Paged | escalated: API p99 > 30s; token={TOKEN} <script>alert(1)</script>"}),
        (at(4), "check.result", {"step": "confirm-oom", "ok": True, "count": 3,
                                 "names": ["kube-apiserver-0", "kube-apiserver-1", "kube-apiserver-2"],
                                 "message": "3 restarts with reason OOMKilled"}),
        (at(5), "manual.done", {"step": "pause-autohealing"}),
        (at(6), "incident.status", {"status": "identified"}),
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
                                "message": f"Posted to {WEBHOOK}", "remote_id": "1707786000.000100"}),
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
        (at(75), "milestone", {"name": "resolved"}),
        (at(75.5), "incident.status", {"status": "resolved"}),
        (at(76), "incident.closed", {}),
    ]
