"""End-to-end proof of the runbook library: every drill run headless with auto-approve ends with
its scenario's health checks passing, and the journal holds every action with its kubectl."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from integrations.sandbox import Sandbox
from integrations.sandbox import defaults as sandbox_defaults
from mitigate.cli.drill import DrillResult, run_in_sandbox
from mitigate.journal import Journal
from mitigate.paths import runbooks_dir
from mitigate.runbook.loader import load_runbook

from .helpers import DRILLS, drill

REPO = Path(__file__).resolve().parents[2]


def _assert_drill(result: DrillResult, root: Path, name: str) -> None:
    assert result.finished, "\n".join(result.lines)
    assert result.health_ok, result.health_message
    assert result.seconds_to_mitigated is not None
    book = load_runbook(runbooks_dir() / f"{name}.yaml")
    journal = Journal.open(root, result.incident_id, readonly=True)
    try:
        records = journal.records()
    finally:
        journal.close()
    statuses = {r.data["step"]: r.type for r in records
                if r.type in ("step.succeeded", "step.skipped", "manual.done", "decision")}
    assert len(statuses) == len(book.steps)
    actions = [s.id for s in book.steps if s.action is not None and statuses[s.id] == "step.succeeded"]
    assert actions, "every drill performs at least one action"
    for step_id in actions:
        intents = [r for r in records if r.type == "step.intent" and r.data["step"] == step_id]
        outcomes = [r for r in records if r.type == "step.outcome" and r.data["step"] == step_id]
        assert any(r.data["targets"] for r in intents), f"{step_id}: no write-ahead intent with targets"
        for r in intents:  # an empty intent is a context with nothing to do (revert in an untouched cluster)
            lines = r.data["kubectl"]
            assert len(lines) >= (1 if r.data["targets"] else 0), f"{step_id}: intent without kubectl"
            assert all(line.startswith("kubectl ") for line in lines), lines
        assert outcomes and all(r.data["ok"] for r in outcomes), f"{step_id}: {outcomes[-1].data if outcomes else None}"
    assert any(r.type == "milestone" and r.data["name"] == "mitigated" for r in records)


@pytest.mark.parametrize("name", [d for d in DRILLS if d != "revert-unscoped-changes"])
def test_headless_drill_mitigates_the_incident(name: str, tmp_path: Path) -> None:
    with Sandbox.start(drill(name)) as sb:
        assert not sb.health(sb.contexts[0]).ok, "the scenario must start broken"
        result = run_in_sandbox(sb, name, root=tmp_path, echo=False)
    _assert_drill(result, tmp_path, name)


def _snapshot(sb: Sandbox) -> dict[tuple[str, str, str, str], str]:
    """Every object in every context except the operator's window (its namespace), node Lease
    heartbeats and Events, as exact JSON."""
    out = {}
    for ctx in sb.contexts:
        st = sb.cluster(ctx)
        with st.lock:
            for rkey, bucket in st.objects.items():
                for (ns, name), obj in bucket.items():
                    if ns == "platform-apps" or (rkey == ("", "namespaces") and name == "platform-apps"):
                        continue
                    if ns == "kube-node-lease" or rkey == ("", "events"):
                        continue  # kubelet heartbeats and the controllers' Event records
                    out[(ctx, "/".join(rkey), ns, name)] = json.dumps(obj, sort_keys=True)
    return out


def _settled(sb: Sandbox) -> dict[tuple[str, str, str, str], str]:
    """A snapshot once the simulated controllers have finished reconciling the seeded objects."""
    deadline = time.monotonic() + 15
    last = _snapshot(sb)
    while True:
        time.sleep(0.3)
        now = _snapshot(sb)
        if now == last:
            return now
        assert time.monotonic() < deadline, "the sandbox never settled"
        last = now


def test_revert_unscoped_changes_leaves_everything_else_byte_for_byte(tmp_path: Path) -> None:
    name = "revert-unscoped-changes"
    with Sandbox.start(drill(name)) as sb:
        workload = [c for c in sb.contexts if c != "mk8s-mgmt"]
        assert len(workload) == 40
        touched = [c for c in workload if sb.cluster(c).list("deployments", "platform-apps")]
        assert len(touched) == 12
        before = _settled(sb)
        result = run_in_sandbox(sb, name, root=tmp_path, echo=False)
        after = _snapshot(sb)
        assert all(not sb.cluster(c).list("deployments", "platform-apps") for c in workload)
        deadline = time.monotonic() + 10  # garbage-collected pods go after their grace period
        while any(sb.cluster(c).list("pods", "platform-apps") for c in workload):
            assert time.monotonic() < deadline, "the operator's pods were not garbage-collected"
            time.sleep(0.1)
    _assert_drill(result, tmp_path, name)
    mgmt = ("mk8s-mgmt", "apps/deployments", "platform-system", "onboarding-operator")
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    # the operator was scaled to 0 (with its ReplicaSet and pods); in the 40 clusters only the
    # Deployments it changed moved (and, as their pod template changed back, their rollout)
    assert mgmt in changed
    reverted = set(CHANGED_BY_OPERATOR)
    outside = [k for k in changed if k[0] != "mk8s-mgmt" and not (
        k[0] in reverted and k[2] == "shop" and k[3].startswith("shop-api"))]
    assert not outside, outside[:10]
    for ctx in CHANGED_BY_OPERATOR:
        key = (ctx, "apps/deployments", "shop", "shop-api")
        assert key in changed
        assert _written_by_people(json.loads(after[key])) == _as_stored(SHOP_API_BEFORE_THE_OPERATOR)
        managers = [m["manager"] for m in json.loads(after[key])["metadata"]["managedFields"]]
        assert "onboarding-operator" not in managers and "kubectl-client-side-apply" in managers
    legit = ("mk8s-01", "apps/deployments", "platform-agent", "platform-agent")
    assert legit in before and before[legit] == after[legit]


CHANGED_BY_OPERATOR = ["mk8s-05", "mk8s-13", "mk8s-24", "mk8s-35"]
# shop-api as the customer deployed it in March, before the operator added its label,
# annotation, env var and imagePullSecrets reference (the drill holds no copy of this state)
SHOP_API_BEFORE_THE_OPERATOR = {
    "labels": {"app": "shop-api"}, "annotations": {"shop.example/owner": "checkout-team"},
    "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "shop-api"}},
             "template": {"metadata": {"labels": {"app": "shop-api"}}, "spec": {"containers": [
                 {"name": "api", "image": "registry.shop.example/api:4.2.1",
                  "env": [{"name": "DB_HOST", "value": "db.shop.svc"}]}]}}}}


def _as_stored(people: dict[str, Any]) -> dict[str, Any]:
    """What people wrote, with the fields the API server defaults (strategy, policies...) filled in."""
    obj = copy.deepcopy({"metadata": {}, "spec": people["spec"]})
    sandbox_defaults.apply(("apps", "deployments"), obj, lambda: "")
    return dict(people, spec=obj["spec"])


def _written_by_people(obj: dict[str, object]) -> dict[str, object]:
    meta = obj["metadata"]
    assert isinstance(meta, dict)
    notes = {k: v for k, v in (meta.get("annotations") or {}).items() if k != "deployment.kubernetes.io/revision"}
    return {"labels": meta.get("labels"), "annotations": notes, "spec": obj["spec"]}


def test_cli_headless_drill_as_a_subprocess(tmp_path: Path) -> None:
    env = dict(os.environ, MITIGATE_JOURNAL_DIR=str(tmp_path))
    proc = subprocess.run([sys.executable, "-m", "mitigate", "drill", "spread-colocated-proxies", "--headless",
                           "--auto-approve"], cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Scenario health: MITIGATED" in proc.stdout
    assert "steps failed        0" in proc.stdout
    assert "Traceback" not in proc.stderr
    assert len([p for p in tmp_path.iterdir() if p.is_dir()]) == 1  # one incident (and the journal key)
    # a drill ends when its verdict is in: it is closed, with the verdict journaled, and leaves the open list
    listed = subprocess.run([sys.executable, "-m", "mitigate", "incidents", "--open"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0 and "no open incidents" in listed.stdout
    journal = next(p for p in tmp_path.iterdir() if p.is_dir()) / "journal.jsonl"
    types = [json.loads(line)["type"] for line in journal.read_text().splitlines()]
    assert types[-2:] == ["drill.verdict", "incident.closed"]


def test_headless_drill_without_auto_approve_is_a_usage_error(tmp_path: Path) -> None:
    from mitigate.cli import main

    assert main(["--journal-dir", str(tmp_path), "drill", "spread-colocated-proxies", "--headless"]) == 2


def test_a_headless_drill_has_its_metrics_from_runbook_milestones_and_ends_closed(tmp_path: Path) -> None:
    from mitigate.journal import Journal
    from mitigate.journal.incidents import list_incidents
    from mitigate.postmortem import build_postmortem

    with Sandbox.start(drill("apiserver-oom")) as sb:
        result = run_in_sandbox(sb, "apiserver-oom", root=tmp_path, echo=False)
    records = Journal.open(tmp_path, result.incident_id, readonly=True).records()
    marks = {r.data["name"]: r.data for r in records if r.type == "milestone"}
    # the scenario knows when its impact began; the runbook's steps mark the rest as they succeed
    assert marks["impact-start"]["source"] == "drill"
    assert (marks["detected"]["source"], marks["detected"]["step"]) == ("runbook", "apiserver-restarts")
    assert (marks["acknowledged"]["source"], marks["acknowledged"]["step"]) == ("runbook", "status-identified")
    assert marks["resolved"]["source"] == "runbook"
    pm = build_postmortem(records, incident_id=result.incident_id)
    metrics = {m.key: m for m in pm.metrics}
    assert all(metrics[k].status == "ok" and metrics[k].seconds is not None for k in ("ttd", "tta", "ttm", "ttr"))
    assert metrics["ttd"].seconds <= metrics["ttm"].seconds <= metrics["ttr"].seconds  # type: ignore[operator]
    assert "(marked by the runbook)" in " ".join(pm.detection.facts)
    # the status followed the status update and the milestones, and the drill closed itself
    statuses = [(r.data["status"], r.data.get("source")) for r in records if r.type == "incident.status"]
    assert ("identified", "status-update") in statuses and statuses[-1][0] == "resolved"
    summary = next(s for s in list_incidents(tmp_path) if s.id == result.incident_id)
    assert summary.closed and summary.status == "resolved"
