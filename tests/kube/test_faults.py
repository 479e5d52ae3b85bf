"""A 1,000-node cordon batch under injected faults: every node's outcome recorded, no mutation
lost or duplicated, and the request rate the sandbox saw stays within the token bucket."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from integrations.kube import BatchHalted, KubeCluster
from mitigate.ports import ActionOutcome, ActionRequest
from tests.kube.helpers import CTX, sandbox

QPS, BURST, NODES = 200.0, 20, 1000
FAULTS = [  # about 30% of node reads and patches fail one way or another, plus latency
    {"verbs": ["patch", "get", "list"], "resources": ["nodes"], "rate": 0.12, "status": 503},
    {"verbs": ["patch", "get", "list"], "resources": ["nodes"], "rate": 0.10, "status": 429, "retryAfter": 0},
    {"verbs": ["patch", "get", "list"], "resources": ["nodes"], "rate": 0.08, "drop": True},
    {"verbs": ["patch"], "resources": ["nodes"], "rate": 0.2, "latencyMs": 15},
]


def max_in_window(stamps: list[float], window: float) -> int:
    best, j = 0, 0
    for i, t in enumerate(stamps):
        while stamps[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


@pytest.fixture
def faulty() -> Any:
    box = sandbox.Sandbox.start({"name": "cordon-faults", "context": CTX, "seed": 7,
                                 "generators": [{"nodes": {"count": NODES, "namePrefix": "node-",
                                                           "unschedulable": 50}}],
                                 "faults": FAULTS})
    try:
        yield box
    finally:
        box.stop()


@pytest.mark.timeout(120)
def test_cordon_batch_under_faults(faulty: Any) -> None:
    kc = KubeCluster.from_kubeconfig(faulty.kubeconfig, qps=QPS, burst=BURST, concurrency=8)
    names = sorted(o["metadata"]["name"] for o in faulty.cluster(CTX).list("nodes"))
    assert len(names) == NODES
    already = {n for n in names if faulty.cluster(CTX).get("nodes", n).get("spec", {}).get("unschedulable")}
    sends: list[float] = []
    kc.ctx(CTX).transport.on_send = sends.append
    action = kc.prepare(ActionRequest(CTX, "cordon", {"names": names}))
    seen: list[str] = []
    try:
        outcome: ActionOutcome = action.execute(on_target=lambda r: seen.append(r.target))
    except BatchHalted as halted:  # halting cleanly is allowed; every node must still be accounted for
        outcome = halted.outcome
    # every node's outcome recorded exactly once
    assert sorted(seen) == sorted(f"Node/{n}" for n in names)
    assert Counter(r.target for r in outcome.results) == Counter(f"Node/{n}" for n in names)
    state = {n: bool(faulty.cluster(CTX).get("nodes", n).get("spec", {}).get("unschedulable")) for n in names}
    for r in outcome.results:
        name = r.target.split("/", 1)[1]
        if r.ok:
            assert state[name], f"{name} reported cordoned but is not"
        elif not r.message.startswith("unknown"):
            assert not state[name], f"{name} reported failed but was changed: {r.message}"
    # No lost mutation: exactly the nodes reported cordoned were patched. A node whose retries were
    # all used up (with 30% faults, 0.3^attempts per node adds up over 1,000 nodes) is a recorded
    # failure with the node unchanged, which is a clean outcome, not a lost one.
    # No duplicate: one successful patch per node.
    log = [e for e in faulty.request_log if e.context == CTX]
    applied = Counter(e.name for e in log if e.verb == "patch" and e.mutating and 200 <= e.status < 300)
    assert all(count == 1 for count in applied.values()), applied.most_common(3)
    reported_ok = {r.target.split("/", 1)[1] for r in outcome.results if r.ok}
    assert set(applied) == reported_ok - already
    failed = set(names) - reported_ok
    assert len(failed) <= NODES // 100, f"too many nodes failed for retried transient faults: {len(failed)}"
    assert all(state[n] for n in reported_ok) and not any(state[n] for n in failed - already)
    assert outcome.api_errors_absorbed > 100  # the faults really fired and were retried away
    assert outcome.undo[0].params["names"] == sorted(reported_ok - already)
    # the client never sent faster than the bucket allows: burst + qps * window, retries included
    for window in (0.1, 1.0, 5.0):
        assert max_in_window(sorted(sends), window) <= BURST + QPS * window + 1e-6, window
    assert len(sends) == len([e for e in log if e.verb != "probe"])  # the audit saw every request
    # and so did the sandbox, give or take how long a busy server holds a request before answering
    stamps = sorted(e.ts for e in log)
    slack = 0.1
    seen_max = {w: max_in_window(stamps, w) for w in (1.0, 2.0, 5.0)}
    print("max requests per window:", seen_max, "bound:", {w: BURST + QPS * w for w in seen_max})
    for window, count in seen_max.items():
        assert count <= BURST + QPS * (window + slack), window
    assert (len(stamps) - BURST) / (stamps[-1] - stamps[0]) <= QPS
