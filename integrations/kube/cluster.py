"""KubeCluster: the ClusterPort over the official kubernetes client.

One Transport (token bucket, retries, circuit breaker) and one discovery
cache per context, created on first use; several contexts per session.
"""

from __future__ import annotations

import os
import shlex
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mitigate.ports import (
    AccessAnswer,
    AccessCheck,
    ActionRequest,
    ClusterError,
    ContextInfo,
    Overrides,
    PreparedAction,
    Query,
)

from .actions import VERBS, Ctx
from .kubeconfig import Kubeconfig, kubeconfig_files
from .resources import Resolver
from .transport import ApiError, Transport


class KubeCluster:
    """Implements mitigate.ports.ClusterPort."""

    def __init__(self, config: Kubeconfig, contexts: Sequence[str] | None = None, *, qps: float = 20,
                 burst: int = 40, concurrency: int = 8) -> None:
        self.config = config
        self.qps, self.burst, self.concurrency = qps, burst, concurrency
        self._names = [config.resolve(c) for c in contexts] if contexts else config.names
        self._ctx: dict[str, Ctx] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_kubeconfig(cls, path: str | os.PathLike[str] | Path | None, contexts: list[str] | None = None,
                        protected_patterns: list[str] | None = None, qps: float = 20, burst: int = 40,
                        concurrency: int = 8, overrides: Overrides | None = None, terminal: bool | None = None,
                        terminal_owner: str = "") -> KubeCluster:
        """Read the kubeconfig the kubectl way (path, else $KUBECONFIG, else ~/.kube/config), with
        ``--cluster``/``--user``/``--as`` applied; ``terminal`` says whether an exec plugin may
        prompt (default: stdin is a terminal, as kubectl decides)."""
        config = Kubeconfig(kubeconfig_files(path), protected_patterns, overrides, terminal=terminal,
                            terminal_owner=terminal_owner)
        return cls(config, contexts, qps=qps, burst=burst, concurrency=concurrency)

    # ------------------------------------------------------------------ ClusterPort

    def contexts(self) -> list[ContextInfo]:
        return [self.config.info(n) for n in self._names]

    @property
    def current_context(self) -> str:
        return self.config.resolve(None)

    def query(self, context: str, query: Query) -> list[dict[str, Any]]:
        ctx = self.ctx(context)
        res = ctx.resolver.resolve(query.api_version, query.kind)
        ns = (query.namespace or None) if res.namespaced else None  # a read: "" lists every namespace
        if query.name:
            obj = ctx.transport.get_or_none(res.path(ns or ctx.namespace, query.name))
            return [obj] if obj else []
        items = list(ctx.transport.list_pages(res.base(ns), label_selector=query.label_selector,
                                              field_selector=query.field_selector))
        for item in items:
            item.setdefault("apiVersion", res.api_version)
            item.setdefault("kind", res.kind)
        return items

    def prepare(self, request: ActionRequest) -> PreparedAction:
        cls = VERBS.get(request.verb)
        if cls is None:
            raise ClusterError(f"unknown action {request.verb!r} (known: {', '.join(sorted(VERBS))})")
        action: PreparedAction = cls(self.ctx(request.context), request)
        if self.config.overrides:  # every printed kubectl line acts as the same user the adapter does
            flags = " ".join(shlex.quote(f) for f in self.config.overrides.kubectl_flags())
            plain = action.kubectl
            action.kubectl = lambda: [line.replace("kubectl ", f"kubectl {flags} ", 1) for line in plain()]  # type: ignore[method-assign]
        return action

    def access(self, context: str, checks: Sequence[AccessCheck]) -> list[AccessAnswer]:
        """SelfSubjectAccessReview per check (as the impersonated user when impersonating). A review
        that cannot be made answers ``allowed=None``: uncertain, never assumed either way."""
        ctx = self.ctx(context)
        out: list[AccessAnswer] = []
        for check in checks:
            attrs: dict[str, Any] = {"verb": check.verb, "resource": check.resource, "group": check.group}
            try:
                if not check.resource and check.kind:
                    res = ctx.resolver.resolve(check.api_version, check.kind)
                    attrs.update(resource=res.plural, group=res.group)
                    check = AccessCheck(check.verb, res.plural, res.group, check.subresource, check.namespace,
                                        check.name)
                attrs.update({k: v for k, v in (("subresource", check.subresource), ("namespace", check.namespace),
                                                ("name", check.name)) if v})
                body = ctx.transport.request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                                             body={"apiVersion": "authorization.k8s.io/v1",
                                                   "kind": "SelfSubjectAccessReview",
                                                   "spec": {"resourceAttributes": attrs}},
                                             precondition=True)  # a review is safe to repeat
            except (ApiError, ClusterError) as exc:
                out.append(AccessAnswer(check, None, f"the access review failed: {exc}"))
                continue
            status = (body or {}).get("status") or {} if isinstance(body, dict) else {}
            allowed = status.get("allowed")
            out.append(AccessAnswer(check, bool(allowed) if isinstance(allowed, bool) else None,
                                    str(status.get("reason") or status.get("evaluationError") or "")))
        return out

    # ------------------------------------------------------------------ helpers

    def ctx(self, name: str | None) -> Ctx:
        """The per-context handle, built on first use."""
        resolved = self.config.resolve(name)
        with self._lock:
            if resolved not in self._ctx:
                info = self.config.info(resolved)
                transport = Transport(self.config.api_client(resolved), resolved, qps=self.qps, burst=self.burst)
                transport.who = f"user {info.user} ({info.auth})" if info.user else ""
                transport.cluster_name = info.cluster
                plugin = self.config.plugin(resolved)
                if plugin is not None:  # a 401: run the plugin again, or read a refreshed id-token
                    transport.on_unauthorized = plugin.invalidate
                self._ctx[resolved] = Ctx(resolved, info.namespace, transport, Resolver(transport),
                                          self.concurrency)
            return self._ctx[resolved]

    def check(self, context: str) -> str:
        """Reach the server once; a one-line ClusterError says why not (unreachable, 401, 403)."""
        try:
            version = self.ctx(context).transport.get("/version") or {}
        except ApiError as exc:
            raise ClusterError(f"context {context!r}: {exc.status} {exc.message}") from None
        return str(version.get("gitVersion", ""))

    def absorbed_total(self) -> int:
        """Transient errors retried away on every context since this cluster was built."""
        return sum(ctx.transport.absorbed_total for ctx in list(self._ctx.values()))

    def close(self) -> None:
        with self._lock:
            for ctx in self._ctx.values():
                ctx.transport.api.close()  # type: ignore[no-untyped-call]
            self._ctx.clear()
