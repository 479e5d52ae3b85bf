"""Sandbox figures, each next to a reference measured in the same run on the same machine.

1. Load: ``Sandbox.start`` of a 5,000-node / 50,000-pod scenario (seeding, TLS, servers up),
   next to ``json.loads`` of the same objects as one JSON document (the cost of merely
   parsing that much state). Budget: under 3 s.
2. GETs/s over one keep-alive HTTPS connection (httpx), next to a bare aiohttp handler that
   returns a fixed node body over TLS (the HTTP stack's own ceiling).
3. Listing 5,000 nodes: the JSON list over HTTPS, next to ``json.dumps`` of those nodes;
   plus real ``kubectl get nodes`` (server-side Table) and ``kubectl get nodes -o json``.

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


def _gets(client: httpx.Client, path: str, n: int) -> float:
    client.get(path).raise_for_status()
    t = time.perf_counter()
    for _ in range(n):
        client.get(path)
    return n / (time.perf_counter() - t)


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

        kubectl = kubectl_binary()
        if kubectl is None:
            print("kubectl 1.20 not found (run .ci/run or set MITIGATE_KUBECTL): kubectl figures skipped")
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
                print(f"{label}: {took:.2f} s for {rows} nodes")
    finally:
        sb.stop()


if __name__ == "__main__":
    main()
