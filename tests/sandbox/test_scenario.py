"""Scenario loading: located errors, generators, drill-name resolution, and the CLI as a user runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from integrations.sandbox import Sandbox, load_scenario, parse_scenario
from integrations.sandbox.scenario import resolve
from mitigate.errors import LocatedError, LocatedErrors, MitigateError
from mitigate.paths import drills_dir

from .helpers import SCENARIOS


@pytest.mark.parametrize(("text", "where", "line", "col", "fragment"), [
    ("generators:\n  - nodes: {count: 3, notReady: twelve}\n", "generators[0].nodes.notReady", 2, 33,
     "percentage"),
    ("faults:\n  - verbs: [get]\n    rate: 2\n    status: 503\n", "faults[0].rate", 3, 11, "less than or equal"),
    ("faults:\n  - verbs: [get]\n", "faults[0]", 2, 5, "at least one of"),
    ("clusters:\n  - context: a\n  - context: a\n", "", 1, 1, "duplicate cluster context"),
    ("health:\n  - absent: {apiVersion: v1, kind: Node}\n    nodesReady: {}\n", "health[0]", 2, 5, "exactly one"),
    ("behaviours:\n  apiserverOverload: {memoryThreshold: lots}\n", "behaviours.apiserverOverload.memoryThreshold",
     2, 40, "quantity"),
])
def test_errors_are_located(text: str, where: str, line: int, col: int, fragment: str) -> None:
    with pytest.raises((LocatedError, LocatedErrors)) as e:
        parse_scenario(text, "drill.yaml")
    err = e.value.errors[0] if isinstance(e.value, LocatedErrors) else e.value
    assert (err.path, err.line, err.column, err.where) == ("drill.yaml", line, col, where), str(err)
    assert fragment in err.message


def test_bad_yaml_and_unknown_kinds_are_located(tmp_path: Path) -> None:
    with pytest.raises(LocatedError) as e:
        parse_scenario("objects: [\n", "x.yaml")
    assert e.value.line == 2 and "invalid YAML" in e.value.message
    bad = tmp_path / "bad.yaml"
    bad.write_text("objects:\n  - apiVersion: v1\n    kind: Node\n    metadata: {name: a}\n"
                   "  - apiVersion: example.com/v1\n    kind: Gadget\n    metadata: {name: g}\n")
    with pytest.raises(LocatedError) as e:
        Sandbox.start(bad)
    assert (e.value.line, e.value.column, e.value.where) == (6, 11, "objects[1].kind")
    assert str(e.value).startswith(f"{bad}:6:11: unknown kind Gadget")


def test_generator_fleet_percentages() -> None:
    sb = Sandbox.start({"generators": [{"nodes": {"count": 600, "notReady": "12%"}},
                                       {"pods": {"count": 1200, "namespace": "web", "notReady": 5}}],
                        "health": [{"nodesReady": {"minFraction": 0.95}}]})
    try:
        st = sb.cluster()
        nodes = st.list("nodes")
        not_ready = [n for n in nodes if not any(c["type"] == "Ready" and c["status"] == "True"
                                                 for c in n["status"]["conditions"])]
        assert len(nodes) == 600 and len(not_ready) == 72
        pods = st.list("pods", "web")
        assert len(pods) == 1200 and len({p["spec"]["nodeName"] for p in pods}) == 600
        assert sum(1 for p in pods if p["status"]["containerStatuses"][0]["ready"] is False) == 5
        report = sb.health()
        assert not report.ok and "0:nodesReady" in report.message
    finally:
        sb.stop()


def test_names_resolve_to_drills_and_unknown_names_fail_clearly() -> None:
    with pytest.raises(MitigateError) as e:
        load_scenario("no-such-drill")
    assert "no-such-drill" in str(e.value) and str(drills_dir()) in str(e.value)
    for drill in sorted(drills_dir().glob("*.yaml")):
        assert resolve(drill.stem) == drill  # validating each drill is the drill library's own test


def _serve(*args: str) -> subprocess.Popen[str]:
    """Start `serve` the way a shell starts a background job: with SIGINT ignored."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "mitigate", "sandbox", "serve", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))


def test_cli_serve_until_interrupted(tmp_path: Path) -> None:
    from kubernetes import client, config

    kubeconfig = tmp_path / "kc" / "config"
    proc = _serve(str(SCENARIOS / "small.yaml"), "--kubeconfig", str(kubeconfig))
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.strip() == f"kubeconfig: {kubeconfig}"
        ctx_line = proc.stdout.readline().split()
        assert ctx_line[:2] == ["context:", "sandbox"] and ctx_line[2].startswith("https://127.0.0.1:")
        api = config.new_client_from_config(str(kubeconfig))
        assert len(client.CoreV1Api(api).list_node().items) == 3
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0 and "sandbox stopped" in out and "Traceback" not in err


def test_cli_bad_scenario_is_one_located_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("generators:\n  - nodes: {count: -1}\n")
    proc = subprocess.run([sys.executable, "-m", "mitigate", "sandbox", "serve", str(bad)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"mitigate: {bad}:2:20: Input should be greater than or equal to 0 (at generators[0].nodes.count)"]
    usage = subprocess.run([sys.executable, "-m", "mitigate", "sandbox", "serve", "x", "--port", "99999"],
                           capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2 and "--port" in usage.stderr and "Traceback" not in usage.stderr


def test_unscoped_operator_fleet_pulls_fail_until_the_secret_exists() -> None:
    sb = Sandbox.start({"generators": [
        {"nodes": {"count": 2}},
        {"deployments": {"count": 3, "namespace": "tenant", "replicas": 2, "imagePullSecrets": ["registry-creds"],
                         "fieldManager": "onboarding-operator", "managedAt": "2026-05-08T13:22:00Z"}}]})
    try:
        st = sb.cluster()
        from .helpers import wait_for

        def reasons() -> set[str]:
            return {c["state"].get("waiting", {}).get("reason", "running") for p in st.list("pods", "tenant")
                    for c in p["status"].get("containerStatuses", [])}

        wait_for(lambda: len(st.list("pods", "tenant")) == 6 and reasons() == {"ImagePullBackOff"},
                 what="pods stuck pulling")
        d = st.get("deployments", "app-0", "tenant")
        assert [(m["manager"], m["time"]) for m in d["metadata"]["managedFields"]] == [
            ("onboarding-operator", "2026-05-08T13:22:00Z")]
        assert d["status"].get("readyReplicas", 0) == 0  # omitted when 0, as the API server does
        st.create("secrets", {"metadata": {"name": "registry-creds", "namespace": "tenant"}})
        wait_for(lambda: reasons() == {"running"}, what="pulls retried")
        wait_for(lambda: st.get("deployments", "app-2", "tenant")["status"].get("readyReplicas") == 2,
                 what="deployments ready")
    finally:
        sb.stop()


def test_duplicate_keys_refused_and_timestamps_stay_text() -> None:
    with pytest.raises(LocatedError) as e:
        parse_scenario("seed: 1\nseed: 2\n", "dup.yaml")
    assert e.value.line == 2 and "seed" in e.value.message
    sc = parse_scenario("generators:\n  - deployments: {count: 1, fieldManager: op, managedAt: 2026-05-08T13:22:00Z}\n")
    gen = sc.clusters[0].generators[0].deployments
    assert gen is not None and gen.managed_at == "2026-05-08T13:22:00Z"
