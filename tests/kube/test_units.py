"""The adapter's pure parts: rate limiter arithmetic, backoff, breaker, rendering, kubeconfig errors."""

from __future__ import annotations

import random
import shlex
from pathlib import Path

import pytest
import yaml

from integrations.kube import CircuitBreaker, KubeCluster, RetryPolicy, TokenBucket, render
from mitigate.ports import ActionRequest, CircuitOpen, ClusterError


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.now += s


def test_token_bucket_never_exceeds_burst_plus_qps_times_window() -> None:
    ft = FakeTime()
    bucket = TokenBucket(10, 5, clock=ft.clock, sleep=ft.sleep)
    starts = []
    for _ in range(200):
        starts.append(bucket.acquire())
        assert starts[-1] == ft.now
    for i, t0 in enumerate(starts):
        for window in (0.5, 1.0, 3.0):
            n = sum(1 for t in starts[i:] if t < t0 + window)
            assert n <= 5 + 10 * window + 1e-9
    # sustained rate after the burst is exactly the configured QPS
    assert (len(starts) - 5) / (starts[-1] - starts[0]) == pytest.approx(10, rel=1e-6)


def test_token_bucket_holds_its_bound_when_sleeps_overrun() -> None:
    ft = FakeTime()
    overruns = iter([0.0, 0.4, 0.0, 0.0, 1.3, 0.05] * 100)

    def late_sleep(s: float) -> None:  # the OS wakes the caller late, sometimes very late
        ft.now += s + next(overruns)

    bucket = TokenBucket(10, 5, clock=ft.clock, sleep=late_sleep)
    starts = [bucket.acquire() for _ in range(200)]
    for i, t0 in enumerate(starts):
        for window in (0.1, 0.5, 1.0, 3.0):
            assert sum(1 for t in starts[i:] if t < t0 + window) <= 5 + 10 * window + 1e-9


def test_token_bucket_rejects_nonsense() -> None:
    with pytest.raises(ClusterError, match="qps > 0"):
        TokenBucket(0, 1)


def test_backoff_is_capped_full_jitter_and_honours_retry_after() -> None:
    policy = RetryPolicy(base=0.1, cap=1.0, rng=random.Random(1))
    delays = [policy.delay(a, None) for a in range(12) for _ in range(50)]
    assert all(0 <= d <= 1.0 for d in delays)
    assert max(delays) > 0.5 and min(delays) < 0.05  # jitter spreads over the whole range
    assert policy.delay(0, 3.0) >= 3.0
    assert policy.delay(0, 1e6) == policy.max_retry_after


def test_circuit_opens_after_consecutive_failures_and_success_resets() -> None:
    breaker = CircuitBreaker(threshold=3)
    breaker.record(False, "boom")
    breaker.record(False, "boom")
    breaker.record(True)
    breaker.record(False, "boom")
    breaker.record(False, "boom")
    breaker.check("c")
    breaker.record(False, "503 down")
    with pytest.raises(CircuitOpen, match="3 consecutive.*503 down"):
        breaker.check("c")
    breaker.reset()
    breaker.check("c")


def test_changed_fields_and_diff_ignore_server_noise() -> None:
    before = {"metadata": {"name": "n", "resourceVersion": "1", "managedFields": [{}], "labels": {"a": "1"}},
              "spec": {"unschedulable": None, "x": [1, 2]}, "status": {"c": 1}}
    after = {"metadata": {"name": "n", "resourceVersion": "2", "managedFields": [{}, {}], "labels": {"a": "2"}},
             "spec": {"unschedulable": True, "x": [1, 3]}, "status": {"c": 2}}
    assert render.object_changes(before, after) == ["metadata.labels.a", "spec.unschedulable", "spec.x[1]"]
    text = render.diff(before, after, "Node/n")
    assert "-    a: '1'" in text and "+    a: '2'" in text and "+  unschedulable: true" in text
    assert "resourceVersion" not in text and "managedFields" not in text


def test_restore_patch_puts_back_labels_and_spec() -> None:
    before = {"metadata": {"labels": {"a": "1"}}, "spec": {"replicas": 3, "paused": True}}
    after = {"metadata": {"labels": {"a": "2", "b": "x"}}, "spec": {"replicas": 0}}
    patch = render.restore_patch(after, before)
    assert patch == {"spec": {"replicas": 3, "paused": True}, "metadata": {"labels": {"a": "1", "b": None}}}


def test_kubectl_lines_are_shell_quoted() -> None:
    line = render.kubectl("ctx one", "label", "nodes", "n1", "team=a b", namespace="ns")
    assert shlex.split(line) == ["kubectl", "label", "nodes", "n1", "team=a b", "--context=ctx one", "--namespace=ns"]


def _kubeconfig(path: Path, contexts: dict[str, str], current: str | None) -> Path:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": current,
        "clusters": [{"name": f"c-{n}", "cluster": {"server": f"http://127.0.0.1:1/{n}"}} for n in contexts],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": n, "context": {"cluster": f"c-{n}", "user": "u", "namespace": ns}}
                     for n, ns in contexts.items()]}))
    return path


def test_kubeconfig_env_list_merges_files_and_marks_protected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = _kubeconfig(tmp_path / "a", {"staging": "web"}, "staging")
    b = _kubeconfig(tmp_path / "b", {"eu-prod-1": "default", "staging": "ignored"}, "eu-prod-1")
    monkeypatch.setenv("KUBECONFIG", f"{a}:{tmp_path / 'missing'}:{b}")
    kc = KubeCluster.from_kubeconfig(None)
    infos = {c.name: c for c in kc.contexts()}
    assert set(infos) == {"staging", "eu-prod-1"}
    assert infos["staging"].namespace == "web"  # first file wins, as in kubectl
    assert infos["eu-prod-1"].protected and not infos["staging"].protected
    assert kc.current_context == "staging"
    kc2 = KubeCluster.from_kubeconfig(None, protected_patterns=["stag*"])
    assert {c.name for c in kc2.contexts() if c.protected} == {"staging"}


def test_kubeconfig_errors_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(ClusterError, match=r"kubeconfig not found: .*nope"):
        KubeCluster.from_kubeconfig(tmp_path / "nope")
    path = _kubeconfig(tmp_path / "k", {"dev": "default", "qa": "default"}, "dev")
    with pytest.raises(ClusterError, match=r"unknown context 'prod' \(known: dev, qa\)"):
        KubeCluster.from_kubeconfig(path, contexts=["prod"])
    bad = tmp_path / "bad"
    bad.write_text("clusters: [\n")
    with pytest.raises(ClusterError, match=r"bad:\d+:\d+: kubeconfig is not valid YAML"):
        KubeCluster.from_kubeconfig(bad)


def test_unreachable_server_is_one_line(tmp_path: Path) -> None:
    path = _kubeconfig(tmp_path / "k", {"dev": "default"}, "dev")
    kc = KubeCluster.from_kubeconfig(path)
    kc.ctx("dev").transport.retry.attempts = 1
    with pytest.raises(ClusterError, match=r"^dev: connection refused by http://127.0.0.1:1/dev: nothing listens "
                                           r"there") as err:
        kc.check("dev")
    assert "\n" not in str(err.value)


def test_unscoped_mutation_refused_before_any_request(tmp_path: Path) -> None:
    path = _kubeconfig(tmp_path / "k", {"dev": "default"}, "dev")
    kc = KubeCluster.from_kubeconfig(path)
    for verb, params in (("cordon", {}), ("label", {"apiVersion": "v1", "kind": "Node", "labels": {"a": "b"}}),
                         ("delete", {"apiVersion": "v1", "kind": "Pod", "selector": ""}),
                         ("revertChanges", {"fieldManager": "op", "since": "2026-01-01T00:00:00Z"})):
        with pytest.raises(ClusterError, match=f"{verb}: refusing an unscoped mutation on dev"):
            kc.prepare(ActionRequest(context="dev", verb=verb, params=params))
    with pytest.raises(ClusterError, match="unknown action 'reboot'"):
        kc.prepare(ActionRequest(context="dev", verb="reboot", params={"names": ["a"]}))
