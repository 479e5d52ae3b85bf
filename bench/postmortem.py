"""Render time of a postmortem for a 10,000-event journal (DESIGN.md section 13: under 0.5 s).

Writes a realistic replace-notready-nodes incident on 5,000 nodes (milestones,
notes, 100 batches of 50 with cordon/drain/delete intents and outcomes carrying
per-node results and backups, progress, the health-gate polls of the wait step
between batches, notifications) as a real hash-chained journal, then times, best of
five: json-parsing the file (the reference), reading it through the journal
(hash checks included), building the model, and the full ``mitigate
postmortem`` path to Markdown and to HTML. Figures print as ratios to the
reference measured in the same run.

    python bench/postmortem.py [--events 10000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mitigate.journal import Journal
from mitigate.journal.record import encode, format_ts
from mitigate.postmortem import build_postmortem, default_template, draft, render

T0 = datetime(2024, 2, 13, 0, 58, tzinfo=UTC)
CTX = "prod-par"


def _events(total: int) -> list[tuple[str, dict[str, Any]]]:
    ev: list[tuple[str, dict[str, Any]]] = [
        ("incident.opened", {"title": "FR-PAR nodes NotReady after API server OOM", "severity": "SEV1",
                             "commander": "alice", "runbook": "replace-notready-nodes", "runbook_version": "1",
                             "runbook_path": "", "inputs": {"context": CTX, "batchSize": 50},
                             "contexts": [CTX], "drill": False, "scenario": ""}),
        ("incident.status", {"status": "investigating"}),
        ("milestone", {"name": "impact-start", "at": "2024-02-13T00:04:00Z",
                       "declared": {"text": "01:04 CET", "tz": "CET", "zone": "Europe/Paris",
                                    "utc_offset": "+01:00", "mismatch": False, "note": ""}}),
        ("milestone", {"name": "detected"}),
        ("milestone", {"name": "acknowledged"}),
    ]
    batches = 100  # 5,000 NotReady nodes in batches of 50, as at Scaleway
    polls = max(1, (total - len(ev) - 4) // batches - 12)  # health-gate polls of the wait step between batches
    batch = 0
    while len(ev) < total - 4:
        batch += 1
        nodes = [f"pool-{batch:04d}-node-{i:02d}" for i in range(50)]
        for step, verb in (("cordon", "cordon"), ("drain", "drain"), ("replace", "deleteMachine")):
            ev.append(("step.intent", {"step": step, "attempt": 1, "batch": batch, "context": CTX, "verb": verb,
                                       "params": {"names": nodes}, "targets": nodes,
                                       "kubectl": [f"kubectl --context {CTX} {verb} {' '.join(nodes)}"],
                                       "description": f"{verb} {len(nodes)} NotReady nodes (batch {batch})"}))
            ev.append(("step.outcome", {"step": step, "attempt": 1, "batch": batch, "context": CTX,
                                        "ok": batch % 7 != 0,
                                        "results": [{"target": n, "ok": batch % 7 != 0 or i != 3,
                                                     "message": "done" if batch % 7 != 0 or i != 3 else
                                                     "429 Too Many Requests: PDB blocks eviction",
                                                     "backup": f"backups/{batch:04d}-{n}.json"
                                                     if verb == "deleteMachine" else None}
                                                    for i, n in enumerate(nodes)],
                                        "undo": [{"verb": "uncordon", "context": CTX}] if verb == "cordon" else [],
                                        "api_errors_absorbed": batch % 3}))
            ev.append(("batch.progress", {"step": step, "batch": batch, "batches": 0, "done": batch * 50,
                                          "total": 0, "failures": 0}))
        for poll in range(polls):
            ev.append(("check.result", {"step": "ready-count", "ok": poll == polls - 1, "count": 5000 - batch * 10,
                                        "names": [], "value": 0.9 + poll / (100 * polls), "rows": [],
                                        "message": "Ready nodes / all nodes"}))
        if batch % 10 == 0:
            ev.append(("note", {"text": f"Batch {batch}: API p99 back under 1s; continuing"}))
            ev.append(("notify.sent", {"step": "update", "channel": "statuspage", "status": "identified",
                                       "ok": True, "message": f"{batch * 50} nodes replaced", "remote_id": "x"}))
    ev += [("milestone", {"name": "mitigated"}), ("incident.status", {"status": "monitoring"}),
           ("milestone", {"name": "resolved"}), ("incident.status", {"status": "resolved"})]
    return ev[:total]


def write(root: Path, incident_id: str, total: int) -> Path:
    folder = root / incident_id
    folder.mkdir(parents=True)
    prev, lines = "", []
    for seq, (type_, data) in enumerate(_events(total), start=1):
        _, line = encode(seq, format_ts(T0 + timedelta(seconds=2 * seq)), float(seq), "alice@oncall-1",
                         type_, data, prev)
        prev = hashlib.sha256(line[:-1]).hexdigest()
        lines.append(line)
    path = folder / "journal.jsonl"
    path.write_bytes(b"".join(lines))
    return path


def best(fn: Callable[[], object], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path = write(root, "bench", args.events)
        data = path.read_bytes()

        def records() -> list[Any]:
            with Journal.open(root, "bench", readonly=True) as journal:
                return journal.records()

        recs = records()
        figures = {
            "json.loads of every line (reference)": best(lambda: [json.loads(x) for x in data.splitlines()]),
            "journal read (hash-checked)": best(records),
            "build model": best(lambda: build_postmortem(recs, None, incident_id="bench")),
            "mitigate postmortem, Markdown (read+build+render)": best(
                lambda: render(draft(root, "bench"), default_template("md"))),
            "mitigate postmortem, HTML (read+build+render)": best(
                lambda: render(draft(root, "bench"), default_template("html"))),
        }
        size = len(render(draft(root, "bench"), default_template("md")))
    ref = figures["json.loads of every line (reference)"]
    print(f"postmortem of a {len(recs):,}-event journal ({len(data) / 1e6:.1f} MB; Markdown draft {size / 1e3:.0f} kB)")
    for name, seconds in figures.items():
        print(f"  {name:<52} {seconds * 1000:8.1f} ms  {seconds / ref:6.2f}x reference")
    worst = max(figures["mitigate postmortem, Markdown (read+build+render)"],
                figures["mitigate postmortem, HTML (read+build+render)"])
    print(f"  target: under 500 ms -> {'met' if worst < 0.5 else 'NOT met'} ({worst * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
