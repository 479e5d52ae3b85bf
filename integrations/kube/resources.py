"""apiVersion + kind -> REST paths, through the server's discovery documents.

Discovery is read once per group/version and cached for the session, so CRDs
(Cluster API Machines, FlowSchemas) resolve exactly as kubectl resolves them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from mitigate.ports import CircuitOpen, ClusterError
from mitigate.runbook.actions import name_problem

from .transport import ApiError, Transport, seg


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    verbs: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def kubectl_type(self) -> str:
        """The resource argument kubectl resolves unambiguously (``deployments.v1.apps``)."""
        return f"{self.plural}.{self.version}.{self.group}" if self.group else self.plural

    def base(self, namespace: str | None) -> str:
        """The collection URL: every object of this kind in ``namespace`` (None: all namespaces)."""
        root = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace is not None:
            check_name(namespace, f"{self.kind} namespace", "namespace")
            return f"{root}/namespaces/{seg(namespace)}/{self.plural}"
        return f"{root}/{self.plural}"

    def path(self, namespace: str | None, name: str, sub: str = "") -> str:
        """One object's URL. Refuses what would make it a collection URL (an empty name) or
        another object's (``..``, ``/``): every single-object request is built here."""
        check_name(name, self.kind)
        if self.namespaced and not namespace:
            raise ClusterError(f"{self.kind} {name!r} is namespaced: a namespace is required")
        return f"{self.base(namespace)}/{seg(name)}" + (f"/{sub}" if sub else "")

    def target(self, namespace: str | None, name: str) -> str:
        return f"{self.kind}/{namespace}/{name}" if self.namespaced and namespace else f"{self.kind}/{name}"


def check_name(name: object, kind: str, what: str = "name") -> None:
    """ClusterError unless ``name`` can address exactly one object."""
    if not isinstance(name, str):
        raise ClusterError(f"refusing {kind} {what} {name!r}: not a string")
    problem = name_problem(name, what)
    if problem:
        raise ClusterError(f"refusing {kind}: {problem}")


class Resolver:
    """Cached discovery for one cluster."""

    def __init__(self, transport: Transport) -> None:
        self.t = transport
        self._gv: dict[str, list[Resource]] = {}
        self._lock = threading.Lock()

    def group_version(self, api_version: str) -> list[Resource]:
        with self._lock:
            if api_version in self._gv:
                return self._gv[api_version]
        group, _, version = api_version.rpartition("/")
        path = f"/apis/{group}/{version}" if group else f"/api/{version}"
        try:
            doc = self.t.get(path)
        except ApiError as exc:
            if exc.status == 404:
                raise ClusterError(f"{self.t.context}: the server does not serve {api_version}") from None
            raise
        found = [Resource(group, version, str(r["kind"]), str(r["name"]), bool(r.get("namespaced")),
                          tuple(r.get("verbs") or ()))
                 for r in (doc or {}).get("resources", []) if "/" not in str(r.get("name", ""))]
        with self._lock:
            self._gv[api_version] = found
        return found

    def resolve(self, api_version: str, kind: str) -> Resource:
        for res in self.group_version(api_version):
            if res.kind == kind:
                return res
        raise ClusterError(f"{self.t.context}: unknown kind {kind!r} in {api_version}")

    def listable(self) -> list[Resource]:
        """Every listable resource at each group's preferred version (revertChanges searches them)."""
        out: list[Resource] = []
        core = self.t.get("/api") or {}
        versions: list[str] = [str(v) for v in core.get("versions", [])]
        groups: dict[str, Any] = self.t.get("/apis") or {}
        for g in groups.get("groups", []):
            pref = (g.get("preferredVersion") or {}).get("groupVersion")
            if pref:
                versions.append(str(pref))
        for gv in versions:
            try:
                out.extend(r for r in self.group_version(gv) if "list" in r.verbs)
            except CircuitOpen:
                raise
            except ClusterError:
                continue  # an aggregated API that is down must not block the search of the others
        return out
