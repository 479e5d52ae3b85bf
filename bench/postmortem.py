"""Render time of a postmortem for a 10,000-event journal (docs/ARCHITECTURE.md, Performance budgets: under 0.5 s).

Writes a realistic replace-notready-nodes incident on 5,000 nodes (milestones,
notes, 100 batches of 50 with cordon/drain/delete intents and outcomes carrying
per-node results and backups, progress, the health-gate polls of the wait step
between batches, notifications) as a real hash-chained journal, then times, over
interleaved rounds: json-parsing the file (the reference), reading it through the journal
(hash checks included), building the model, and the full ``mitigate
postmortem`` path to Markdown and to HTML. Figures print as ratios to the
reference measured in the same round (median and spread over the rounds). Those
run in one process, so the one-off costs (imports, loading the runbook's hints,
compiling the template) are paid before timing starts; the command itself, run
cold as a new process, is timed last, next to the bare start-up of ``mitigate``.

    python bench/postmortem.py [--events 10000] [--rounds 7] [--cli-rounds 3]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mitigate.journal import Journal
from mitigate.journal.record import encode
from mitigate.postmortem import build_postmortem, default_template, draft, render
from mitigate.timefmt import format_ts

T0 = datetime(2024, 2, 13, 0, 58, tzinfo=UTC)
CTX = "prod-par"
REFERENCE = "json.loads of every line (reference)"
MARKDOWN = "mitigate postmortem, Markdown (read+build+render)"
HTML = "mitigate postmortem, HTML (read+build+render)"


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


def rounds(phases: dict[str, Callable[[], object]], count: int) -> dict[str, list[float]]:
    """Seconds of each phase per round. The phases run one after another within a round, and
    rounds repeat, so a burst of load on the shared machine hits one round, not one phase."""
    times: dict[str, list[float]] = {name: [] for name in phases}
    for _ in range(count):
        for name, fn in phases.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def cli_rounds(root: Path, count: int) -> dict[str, list[float]]:
    """Wall seconds of ``mitigate --version`` and of ``mitigate postmortem`` as new processes."""
    commands = {"startup": ["--version"],
                "postmortem": ["--journal-dir", str(root), "postmortem", "bench", "-o", str(root / "draft.md")]}
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(count):
        for name, argv in commands.items():
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "mitigate", *argv], check=True, capture_output=True)
            times[name].append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--cli-rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path = write(root, "bench", args.events)
        data = path.read_bytes()

        def records() -> list[Any]:
            with Journal.open(root, "bench", readonly=True) as journal:
                return journal.records()

        recs = records()
        times = rounds({
            REFERENCE: lambda: [json.loads(x) for x in data.splitlines()],
            "journal read (hash-checked)": records,
            "build model": lambda: build_postmortem(recs, None, incident_id="bench"),
            MARKDOWN: lambda: render(draft(root, "bench"), default_template("md")),
            HTML: lambda: render(draft(root, "bench"), default_template("html")),
        }, args.rounds)
        size = len(render(draft(root, "bench"), default_template("md")))
        cli = cli_rounds(root, args.cli_rounds)
    ref = times[REFERENCE]
    print(f"postmortem of a {len(recs):,}-event journal ({len(data) / 1e6:.1f} MB; Markdown draft "
          f"{size / 1e3:.0f} kB); {args.rounds} interleaved rounds")
    print(f"  {'phase':<52} {'best':>8}  {'ratio to reference in the same round':>12}")
    for name, seconds in times.items():
        ratios = sorted(t / r for t, r in zip(seconds, ref, strict=True))
        print(f"  {name:<52} {min(seconds) * 1000:6.0f} ms  median {statistics.median(ratios):5.2f}x "
              f"(spread {ratios[0]:.2f}-{ratios[-1]:.2f}x)")
    startup, whole = statistics.median(cli["startup"]), statistics.median(cli["postmortem"])
    print(f"  as a command, cold (a new process each time; median of {args.cli_rounds}):")
    print(f"    {'mitigate --version (interpreter and CLI start-up)':<50} {startup * 1000:6.0f} ms")
    print(f"    {'mitigate postmortem bench -o FILE (Markdown)':<50} {whole * 1000:6.0f} ms  (of which imports, "
          "runbook hints and template compilation are paid once per process)")
    worst = max(min(times[MARKDOWN]), min(times[HTML]))
    print(f"  target: under 500 ms -> {'met' if worst < 0.5 else 'NOT met'} ({worst * 1000:.0f} ms, best round; "
          f"the reference's best is {min(ref) * 1000:.0f} ms on this machine now)")


if __name__ == "__main__":
    main()
