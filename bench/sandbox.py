"""Sandbox figures, each next to a reference measured in the same run on the same machine.

1. Load: ``Sandbox.start`` of a 5,000-node / 50,000-pod scenario (seeding, TLS, servers up),
   next to ``json.loads`` of the same objects as one JSON document (the cost of merely
   parsing that much state). Budget: under 3 s.
2. GETs/s over one keep-alive HTTPS connection (httpx), next to a bare aiohttp handler that
   returns a fixed node body over TLS (the HTTP stack's own ceiling).
3. Listing 5,000 nodes: the JSON list over HTTPS, next to ``json.dumps`` of those nodes;
   plus real ``kubectl get nodes`` (kubectl 1.35, server-side Table) and ``-o json``.
4. Creates with protobuf bodies (what kubectl 1.32+ sends for built-in kinds), next to the
   same Deployments sent as JSON; plus ``kubectl create deployment`` (a protobuf body).

Usage: python bench/sandbox.py [--nodes 5000] [--pods 50000] [--gets 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web

from integrations.sandbox import Sandbox
from integrations.sandbox.store import ClusterState, Writer
from integrations.sandbox.tls import self_signed, server_context

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.kubectl import kubectl_binary  # noqa: E402  (kubectl 1.35, fetched once into the user cache)


def _client(sb: Sandbox, ctx: str, cert: bytes | None = None) -> httpx.Client:
    import base64

    import yaml

    if cert is None:
        cfg = yaml.safe_load(sb.kubeconfig.read_text())
        cert = base64.b64decode(cfg["clusters"][0]["cluster"]["certificate-authority-data"])
    verify = ssl.create_default_context(cadata=cert.decode())
    return httpx.Client(base_url=sb.url(ctx), verify=verify, headers={"Authorization": f"Bearer {sb.token}"},
                        timeout=120)


def _reference_server(body: bytes) -> tuple[str, bytes, Any]:
    """A bare aiohttp handler over TLS, in its own loop thread: the stack's ceiling."""
    cert, key = self_signed()
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()

    async def handler(_: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    async def up() -> tuple[web.AppRunner, int]:
        app = web.Application()
        app.router.add_get("/{tail:.*}", handler)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context(cert, key))
        await site.start()
        return runner, int(runner.addresses[0][1])

    runner, port = asyncio.run_coroutine_threadsafe(up(), loop).result()

    def stop() -> None:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result()
        loop.call_soon_threadsafe(loop.stop)

    return f"https://127.0.0.1:{port}", cert, stop


def _varint(n: int) -> bytes:
    out = b""
    while True:
        b, n = n & 0x7F, n >> 7
        if not n:
            return out + bytes([b])
        out += bytes([b | 0x80])


def _fld(num: int, value: bytes | str | int) -> bytes:
    if isinstance(value, int):
        return _varint(num << 3) + _varint(value)
    data = value.encode() if isinstance(value, str) else value
    return _varint(num << 3 | 2) + _varint(len(data)) + data


def _deployment_proto(name: str) -> bytes:
    """A Deployment as kubectl's protobuf encoder writes it (k8s\\0 + runtime.Unknown)."""
    labels = _fld(1, "app") + _fld(2, name)
    meta = _fld(1, name) + _fld(11, labels) + _fld(8, b"")
    container = _fld(1, "main") + _fld(2, "nginx:1.27") + _fld(6, _fld(3, 8080)) + _fld(8, b"")
    template = _fld(1, _fld(11, labels) + _fld(8, b"")) + _fld(2, _fld(2, container))
    spec = _fld(1, 2) + _fld(2, _fld(1, labels)) + _fld(3, template) + _fld(4, b"")
    raw = _fld(1, meta) + _fld(2, spec) + _fld(3, b"")
    return b"k8s\x00" + _fld(1, _fld(1, "apps/v1") + _fld(2, "Deployment")) + _fld(2, raw)


def _deployment_json(name: str) -> bytes:
    labels = {"app": name}
    return json.dumps({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "labels": labels},
                       "spec": {"replicas": 2, "selector": {"matchLabels": labels}, "template": {
                           "metadata": {"labels": labels}, "spec": {"containers": [{
                               "name": "main", "image": "nginx:1.27", "ports": [{"containerPort": 8080}]}]}}}}).encode()


def _creates(client: httpx.Client, n: int, proto: bool) -> float:
    path = "/apis/apps/v1/namespaces/default/deployments?dryRun=All"
    ctype = "application/vnd.kubernetes.protobuf" if proto else "application/json"
    body = _deployment_proto if proto else _deployment_json
    t = time.perf_counter()
    for i in range(n):
        r = client.post(path, content=body(f"bench-{i}"), headers={"Content-Type": ctype})
        assert r.status_code == 201, r.text
    return n / (time.perf_counter() - t)


def _gets(client: httpx.Client, path: str, n: int) -> float:
    client.get(path).raise_for_status()
    t = time.perf_counter()
    for _ in range(n):
        client.get(path)
    return n / (time.perf_counter() - t)


def _admitted_creates(n: int) -> tuple[float, float]:
    """ConfigMap creates per second in the store: through the whole admission chain (a webhook
    configuration to match, for pods only), and with the chain's plugins removed."""
    rates = []
    for plugins in (True, False):
        st = ClusterState("bench")
        st.create("namespaces", {"metadata": {"name": "default"}})
        st.admission.enable_webhooks([])
        st.create("validatingwebhookconfigurations", {"metadata": {"name": "pods"}, "webhooks": [{
            "name": "pods.example", "sideEffects": "None", "admissionReviewVersions": ["v1"],
            "clientConfig": {"url": "https://policy.example/validate"},
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}]}]})
        if not plugins:
            st.admission.mutating, st.admission.storage, st.admission.validating = [], [], []
        w = Writer(manager="bench", user={"username": "bench", "groups": ["system:masters"]})
        t = time.perf_counter()
        for i in range(n):
            st.create("configmaps", {"metadata": {"name": f"cm-{i}", "namespace": "default"}, "data": {"k": "v"}}, w)
        rates.append(n / (time.perf_counter() - t))
    return rates[0], rates[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=5000)
    ap.add_argument("--pods", type=int, default=50000)
    ap.add_argument("--gets", type=int, default=2000)
    args = ap.parse_args()
    scenario = {"generators": [{"nodes": {"count": args.nodes, "notReady": "3%"}},
                               {"pods": {"count": args.pods}}]}

    t = time.perf_counter()
    sb = Sandbox.start(scenario)
    load = time.perf_counter() - t
    try:
        st = sb.cluster()
        doc = json.dumps({"nodes": st.list("nodes"), "pods": st.list("pods")})
        t = time.perf_counter()
        json.loads(doc)
        parse = time.perf_counter() - t
        print(f"load {args.nodes} nodes / {args.pods} pods: {load:.2f} s (budget 3 s); "
              f"json.loads of the same objects {parse:.2f} s; ratio {load / parse:.2f}x")

        node_path = "/api/v1/nodes/node-0001"
        with _client(sb, "sandbox") as c:
            sandbox_rate = _gets(c, node_path, args.gets)
            body = c.get(node_path).content
            t = time.perf_counter()
            listed = c.get("/api/v1/nodes")
            list_time = time.perf_counter() - t
            assert len(listed.json()["items"]) == args.nodes
        url, cert, stop = _reference_server(body)
        try:
            with httpx.Client(base_url=url, verify=ssl.create_default_context(cadata=cert.decode())) as ref:
                ref_rate = _gets(ref, node_path, args.gets)
        finally:
            stop()
        print(f"GET one node, keep-alive: {sandbox_rate:.0f}/s; bare aiohttp over TLS {ref_rate:.0f}/s; "
              f"ratio {sandbox_rate / ref_rate:.2f}")
        nodes = st.list("nodes")
        t = time.perf_counter()
        json.dumps({"items": nodes})
        dumps = time.perf_counter() - t
        print(f"list {args.nodes} nodes (JSON over HTTPS): {list_time:.3f} s; json.dumps of the nodes "
              f"{dumps:.3f} s; ratio {list_time / dumps:.2f}x")

        with _client(sb, "sandbox") as c:
            n = max(50, args.gets // 4)
            json_rate, proto_rate = _creates(c, n, proto=False), _creates(c, n, proto=True)
        print(f"create a Deployment (dry run): protobuf bodies {proto_rate:.0f}/s; JSON bodies {json_rate:.0f}/s; "
              f"ratio {proto_rate / json_rate:.2f}")

        chained, bare = _admitted_creates(max(500, args.gets))
        print(f"store creates through the admission chain (webhooks on, one configuration to match): "
              f"{chained:.0f}/s; with validation only {bare:.0f}/s; ratio {chained / bare:.2f}")

        kubectl = kubectl_binary()
        if kubectl is None:
            print("kubectl 1.35 unavailable (.ci/fetch-kubectl, or set MITIGATE_KUBECTL): kubectl figures skipped")
            return
        with tempfile.TemporaryDirectory() as home:
            env = {"HOME": home, "PATH": "/usr/bin:/bin", "KUBECONFIG": str(sb.kubeconfig)}
            subprocess.run([kubectl, "get", "--raw", "/version"], env=env, check=True, capture_output=True)
            for label, extra in (("kubectl get nodes", []), ("kubectl get nodes -o json", ["-o", "json"])):
                t = time.perf_counter()
                out = subprocess.run([kubectl, "get", "nodes", *extra], env=env, check=True, capture_output=True,
                                     text=True).stdout
                took = time.perf_counter() - t
                rows = out.count("\n") - 1 if not extra else len(json.loads(out)["items"])
                print(f"{label}: {took:.2f} s for {rows} nodes (the JSON list above: {list_time:.2f} s)")
            t = time.perf_counter()
            subprocess.run([kubectl, "create", "deployment", "bench-kubectl", "--image=nginx", "--dry-run=server"],
                           env=env, check=True, capture_output=True)
            print(f"kubectl create deployment --dry-run=server (protobuf body): {time.perf_counter() - t:.2f} s")
    finally:
        sb.stop()


if __name__ == "__main__":
    main()
