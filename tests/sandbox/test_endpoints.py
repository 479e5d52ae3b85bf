"""Health checks, /metrics and pods/log, read with kubectl 1.35 and plain HTTP."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from integrations.sandbox import Sandbox
from tests.kubectl import kubectl_path, run_kubectl

from .helpers import SCENARIOS


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Any:
    sb = Sandbox.start(SCENARIOS / "small.yaml")
    yield sb, tmp_path_factory.mktemp("home")
    sb.stop()


def test_health_endpoints_as_the_default_roles_open_them(box: Any) -> None:
    sb, home = box
    out = run_kubectl(sb.kubeconfig, "get", "--raw", "/readyz?verbose", home=home).stdout
    assert out.splitlines()[0] == "[+]ping ok" and "[+]etcd ok" in out and out.endswith("readyz check passed\n")
    assert run_kubectl(sb.kubeconfig, "get", "--raw", "/livez", home=home).stdout == "ok"
    with httpx.Client(base_url=sb.url("sandbox"), verify=False) as anon:  # no token: system:anonymous
        assert anon.get("/healthz").text == "ok" and anon.get("/readyz", params={"verbose": "1"}).status_code == 200
        # system:public-info-viewer has /readyz, not /readyz/* nor /metrics (system:monitoring's)
        for path in ("/readyz/etcd", "/metrics"):
            r = anon.get(path)
            assert r.status_code == 403 and r.json()["message"] == f'forbidden: User "system:anonymous" cannot get ' \
                f'path "{path}"' and r.json()["details"] == {}
        assert anon.get("/api").status_code == 403  # system:discovery is for authenticated users only
    assert run_kubectl(sb.kubeconfig, "get", "--raw", "/readyz/etcd", home=home).stdout == "ok"
    assert run_kubectl(sb.kubeconfig, "get", "--raw", "/readyz/nope", home=home, check=False).returncode != 0


def test_metrics_count_requests_as_the_apiserver_labels_them(box: Any) -> None:
    sb, home = box
    run_kubectl(sb.kubeconfig, "-n", "shop", "get", "pods", home=home)
    run_kubectl(sb.kubeconfig, "-n", "shop", "get", "deploy", "web", home=home)
    text = run_kubectl(sb.kubeconfig, "get", "--raw", "/metrics", home=home).stdout
    lines = text.splitlines()
    assert "# TYPE apiserver_request_total counter" in lines
    assert any(ln.startswith('apiserver_request_total{code="200",component="apiserver",dry_run="",group="",'
                             'resource="pods",scope="namespace",subresource="",verb="LIST",version="v1"}')
               for ln in lines), text
    assert any(ln.startswith('apiserver_request_total{code="200",component="apiserver",dry_run="",group="apps",'
                             'resource="deployments",scope="resource",subresource="",verb="GET"') for ln in lines)
    assert any(ln.startswith("apiserver_flowcontrol_dispatched_requests_total{") for ln in lines)
    nodes = next(ln for ln in lines if ln.startswith('apiserver_storage_objects{resource="nodes"}'))
    assert nodes.split()[-1] == str(sb.cluster().count("nodes"))


def test_pod_logs_tail_follow_previous(box: Any) -> None:
    sb, home = box
    lines = [f"line {i}" for i in range(5)]
    pod = next(p for p in sb.cluster().list("pods", "shop"))
    name, container = pod["metadata"]["name"], pod["spec"]["containers"][0]["name"]

    def source(p: dict[str, Any], c: str, previous: bool) -> list[str] | None:
        assert c == container
        return ["old crash"] if previous else list(lines)

    sb._apps["sandbox"].logs = source  # what the simulation plugs in through sim.pod_logs
    out = run_kubectl(sb.kubeconfig, "-n", "shop", "logs", name, "--tail=2", home=home).stdout
    assert out == "line 3\nline 4\n"
    assert run_kubectl(sb.kubeconfig, "-n", "shop", "logs", name, "--previous", home=home).stdout == "old crash\n"
    bad = run_kubectl(sb.kubeconfig, "-n", "shop", "logs", name, "-c", "nope", home=home, check=False)
    assert "container nope is not valid for pod " + name in bad.stderr
    proc = subprocess.Popen([kubectl_path(), f"--cache-dir={Path(home) / 'kc'}", "-n", "shop", "logs", "-f", name],
                            env={"HOME": str(home), "KUBECONFIG": str(sb.kubeconfig), "PATH": "/usr/bin:/bin"},
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert [proc.stdout.readline() for _ in range(5)][-1] == "line 4\n"
        lines.append("line 5 (new)")
        t0 = time.monotonic()
        assert proc.stdout.readline() == "line 5 (new)\n" and time.monotonic() - t0 < 5
    finally:
        proc.kill()
        proc.wait()
