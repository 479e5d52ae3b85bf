"""The in-process sandbox: servers on loopback, a kubeconfig, and a clean stop.

``Sandbox.start`` runs an asyncio loop in a daemon thread serving one aiohttp site per
cluster (separate ports: each kubeconfig context is an ordinary server URL, which kubectl
and the python client handle unchanged) plus the simulation tick. Callers stay
synchronous: drills and tests just read ``kubeconfig`` and call ``stop()``.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import logging
import os
import secrets
import shutil
import tempfile
import threading
from collections import deque
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from mitigate.errors import MitigateError

from .faults import RequestLogEntry
from .health import HealthReport, health
from .rbac import Directory
from .scenario import Scenario, load_scenario
from .seeding import BuiltCluster, build_cluster
from .server import ClusterApp
from .store import ClusterState
from .tls import self_signed, server_context

TICK_SECONDS = 0.05
LOG_LIMIT = 200_000  # requests kept in request_log (a long `serve` must not grow without bound)
log = logging.getLogger(__name__)


class Sandbox:
    """A running sandbox (see docs/CONTRACTS.md "Sandbox")."""

    def __init__(self, scenario: Scenario, clusters: list[BuiltCluster], token: str) -> None:
        self.scenario, self._clusters, self.token = scenario, {c.spec.context: c for c in clusters}, token
        self.contexts = [c.spec.context for c in clusters]
        self._log: deque[RequestLogEntry] = deque(maxlen=LOG_LIMIT)
        self._log_lock = threading.Lock()
        self._urls: dict[str, str] = {}
        self._ingress_urls: dict[str, str] = {}
        self._apps: dict[str, ClusterApp] = {}
        self._runners: list[web.AppRunner] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="mitigate-sandbox", daemon=True)
        self._ticker: asyncio.Task[None] | None = None
        self._tmpdir: str | None = None
        self.kubeconfig = Path()
        self._stopped = False
        self._cert, self._key = self_signed()
        self.users = Directory(token, [u.model_dump() for u in scenario.users])

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def start(cls, scenario: Path | str | dict[str, Any] | Scenario, *, port: int = 0,
              kubeconfig: Path | None = None) -> Sandbox:
        sc = load_scenario(scenario)
        built = [build_cluster(sc, i, sc.multi) for i in range(len(sc.clusters))]
        sb = cls(sc, built, secrets.token_urlsafe(32))
        sb._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(sb._serve(port), sb._loop).result(timeout=30)
        except OSError as e:
            sb.stop()
            raise MitigateError(f"sandbox cannot listen on 127.0.0.1:{port}: {e.strerror or e}") from None
        except BaseException:
            sb.stop()
            raise
        sb.kubeconfig = sb._write_kubeconfig(kubeconfig)
        return sb

    async def _serve(self, port: int) -> None:
        ssl_ctx = server_context(self._cert, self._key, client_ca=self.users.ca_cert)
        for i, ctx in enumerate(self.contexts):
            bc = self._clusters[ctx]
            app = ClusterApp(bc.state, context=ctx, token=self.token, users=self.users, faults=bc.faults,
                             log_sink=self._append,
                             overload=functools.partial(bc.sim.overload_status, bc.faults.roll),
                             ingress=functools.partial(_ingress, bc) if bc.sim.b.ingress else None,
                             health=functools.partial(_as_pair, bc),
                             bookmark_seconds=bc.spec.behaviours.bookmark_seconds,
                             logs=getattr(bc.sim, "pod_logs", None))  # the simulation's container logs, if any
            runner = web.AppRunner(app.app(), access_log=None, handle_signals=False, shutdown_timeout=1.0)
            await runner.setup()
            self._runners.append(runner)
            site = web.TCPSite(runner, "127.0.0.1", port + i if port else 0, reuse_address=True,
                               ssl_context=ssl_ctx)
            await site.start()
            app.port = int(runner.addresses[0][1])
            self._apps[ctx] = app
            self._urls[ctx] = f"https://127.0.0.1:{app.port}"
            if bc.sim.b.ingress:
                await self._serve_ingress(ctx, bc)
        for bc in self._clusters.values():
            bc.sim.tick()
        self._ticker = asyncio.get_running_loop().create_task(self._tick_forever())

    async def _serve_ingress(self, ctx: str, bc: BuiltCluster) -> None:
        """The cluster's ingress as users reach it: plain HTTP on its own port (any path), 200 or 503.

        Separate from the API server on purpose: runbook HTTP probes target it like a public
        endpoint, without the API server's self-signed certificate or token.
        """
        async def probe(_: web.Request) -> web.Response:
            ok, msg = _ingress(bc)
            return web.Response(status=200 if ok else 503, text=msg + "\n")

        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", probe)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        self._runners.append(runner)
        await web.TCPSite(runner, "127.0.0.1", 0, reuse_address=True).start()
        self._ingress_urls[ctx] = f"http://127.0.0.1:{runner.addresses[0][1]}"

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            for bc in self._clusters.values():
                try:
                    bc.sim.tick()
                except Exception:  # a simulation bug must not kill the server thread
                    log.exception("sandbox simulation tick failed")

    def stop(self) -> None:
        """Close watches, servers and the loop; remove a kubeconfig we created. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if self._thread.is_alive():
            try:
                asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=10)
            finally:
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._thread.join(timeout=10)
        if not self._loop.is_running():
            self._loop.close()
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)

    async def _shutdown(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        for app in self._apps.values():
            app.stop_watches()
        await asyncio.sleep(0)
        for runner in self._runners:
            await runner.cleanup()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ contract

    def url(self, context: str) -> str:
        self._known(context)
        return self._urls[context]

    def ingress_url(self, context: str) -> str | None:
        """Plain-HTTP URL of the cluster's ingress probe (None without the ingress behaviour)."""
        return self._ingress_urls.get(self._known(context))

    def cluster(self, context: str | None = None) -> ClusterState:
        return self._clusters[self._known(context or self.contexts[0])].state

    def health(self, context: str | None = None) -> HealthReport:
        return health(self._clusters[self._known(context or self.contexts[0])])

    @property
    def request_log(self) -> list[RequestLogEntry]:
        with self._log_lock:
            return list(self._log)

    def clear_request_log(self) -> None:
        with self._log_lock:
            self._log.clear()

    def tick(self) -> None:
        """Run one simulation step now (tests that must not wait for the background tick)."""
        for bc in self._clusters.values():
            bc.sim.tick()

    def _append(self, entry: RequestLogEntry) -> None:
        with self._log_lock:
            self._log.append(entry)

    def _known(self, context: str) -> str:
        if context not in self._clusters:
            raise MitigateError(f"unknown sandbox context {context!r} (have: {', '.join(self.contexts)})")
        return context

    def _write_kubeconfig(self, path: Path | None) -> Path:
        if path is None:
            self._tmpdir = tempfile.mkdtemp(prefix="mitigate-sandbox-")
            path = Path(self._tmpdir) / "kubeconfig"
        user = "sandbox-user"
        ca = base64.b64encode(self._cert).decode()
        doc: dict[str, Any] = {"apiVersion": "v1", "kind": "Config", "preferences": {},
               "current-context": self.contexts[0],
               "clusters": [{"name": c, "cluster": {"server": self._urls[c], "certificate-authority-data": ca}}
                            for c in self.contexts],
               "users": [{"name": user, "user": {"token": self.token}}],
               "contexts": [{"name": c, "context": {"cluster": c, "user": user, "namespace": "default"}}
                            for c in self.contexts]}
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.users.entries:  # the scenario's users: one context per cluster and user, "<context>@<user>"
            doc["users"] += self.users.kubeconfig_users(path.parent)
            doc["contexts"] += [{"name": f"{c}@{e.name}", "context": {"cluster": c, "user": e.name,
                                                                       "namespace": "default"}}
                                for e in self.users.entries for c in self.contexts]
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(KUBECONFIG_MARK + "\n")  # `sandbox serve` overwrites only files that start with it
            yaml.safe_dump(doc, fh, sort_keys=False)
        return path


KUBECONFIG_MARK = "# written by mitigate's sandbox: it may overwrite this file"


def wrote_kubeconfig(path: Path) -> bool:
    """Does ``path`` hold a kubeconfig the sandbox wrote (its first line is the mark)?"""
    try:
        with Path(path).open(encoding="utf-8", errors="replace") as fh:
            return fh.readline().rstrip("\n") == KUBECONFIG_MARK
    except OSError:
        return False


def _as_pair(bc: BuiltCluster) -> tuple[bool, str]:
    h = health(bc)
    return h.ok, h.message


def _ingress(bc: BuiltCluster) -> tuple[bool, str]:
    ingress = bc.sim.b.ingress
    return ingress.check(bc.state) if ingress else (True, "ok")
