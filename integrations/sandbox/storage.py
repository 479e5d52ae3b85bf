"""Storage strategies: what one kind's storage does beyond the generic store.

The store (:class:`.store.ClusterState`) creates, replaces and deletes every kind the same
way: names and namespaces, resource versions, managed fields, finalizers, the owner cascade,
watch events. What differs per kind is its :class:`Strategy` (the API server's REST
strategies and storage hooks), named by the kind's entry in :data:`.resources.BUILTIN`; a kind
without one gets :data:`DEFAULT_STRATEGY`, which adds nothing. A new behaviour of one kind's
storage is a method here and the entry's ``strategy=``, never a branch in the store.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from mitigate.timefmt import format_seconds

from . import defaults

if TYPE_CHECKING:
    from .store import ClusterState

Obj = dict[str, Any]
Key = tuple[str, str]

CRD_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"

_NOW: list[Any] = [0, ""]


def now_iso() -> str:
    """RFC 3339 UTC with second precision, formatted once per second (seeding calls it 100,000 times)."""
    sec = int(time.time())
    if _NOW[0] != sec:
        _NOW[1] = format_seconds(sec)
        _NOW[0] = sec
    return str(_NOW[1])


class Strategy:
    """One kind's storage hooks; every default does nothing."""

    def prepare_create(self, state: ClusterState, obj: Obj) -> None:
        """A new object, defaulted and validated, about to be stored (a dry run too)."""

    def after_create(self, state: ClusterState, obj: Obj, *, seeding: bool) -> None:
        """The object was stored (created, or seeded from a scenario before serving)."""

    def prepare_update(self, state: ClusterState, old: Obj, new: Obj) -> None:
        """A replacement (PUT, patch, or a controller's write) about to be validated."""

    def implicit(self, key: Key) -> bool:
        """An object the controllers make by themselves: a scenario that spells it out replaces it."""
        return False

    def grace_period(self, obj: Obj, asked: int | None) -> int | None:
        """Seconds a delete waits before the object goes; None: at once (unless finalizers hold it)."""
        return None

    def before_delete(self, state: ClusterState, obj: Obj) -> None:
        """A delete (not a dry run) is about to remove or mark the object."""


DEFAULT_STRATEGY = Strategy()


class _Namespaces(Strategy):
    def after_create(self, state: ClusterState, obj: Obj, *, seeding: bool) -> None:
        """What the controllers put in every namespace: the ``default`` ServiceAccount, and in
        ``default`` the ``kubernetes`` Service (the API server's own ClusterIP, 10.96.0.1)."""
        ns = obj["metadata"]["name"]
        wanted: list[tuple[str, Obj]] = [("serviceaccounts", {"metadata": {"name": "default", "namespace": ns}})]
        if ns == "default":
            wanted.append(("services", {"metadata": {"name": "kubernetes", "namespace": ns, "labels": {
                "component": "apiserver", "provider": "kubernetes"}}, "spec": {
                "type": "ClusterIP", "clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1"], "sessionAffinity": "None",
                "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "internalTrafficPolicy": "Cluster",
                "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]},
                "status": {"loadBalancer": {}}}))
        for plural, child in wanted:
            r = state.resource(plural)
            if (ns, child["metadata"]["name"]) in state.bucket(r):
                continue
            if seeding:
                state.seed(r, child)
            else:
                state.create(r, child)

    def before_delete(self, state: ClusterState, obj: Obj) -> None:
        """Everything in the namespace goes with it."""
        name = obj["metadata"]["name"]
        for other in list(state.registry.by_key.values()):
            if other.namespaced:
                for k in [k for k in state.bucket(other) if k[0] == name]:
                    state.remove_now(other, k)


class _Pods(Strategy):
    def grace_period(self, obj: Obj, asked: int | None) -> int | None:
        """The asked period, else the pod's ``terminationGracePeriodSeconds`` (30 by default)."""
        if asked is not None:
            return asked
        return int((obj.get("spec") or {}).get("terminationGracePeriodSeconds", 30))


class _Services(Strategy):
    def prepare_update(self, state: ClusterState, old: Obj, new: Obj) -> None:
        """The ClusterIP is allocated once and kept by replacements that leave it out."""
        spec = new.get("spec")
        if isinstance(spec, dict) and not spec.get("clusterIP"):
            for f in ("clusterIP", "clusterIPs"):
                if f in (old.get("spec") or {}):
                    spec[f] = old["spec"][f]

    def implicit(self, key: Key) -> bool:
        return key == ("default", "kubernetes")


class _ServiceAccounts(Strategy):
    def implicit(self, key: Key) -> bool:
        return key[1] == "default"


class _Jobs(Strategy):
    def prepare_create(self, state: ClusterState, obj: Obj) -> None:
        """The Job strategy's generated selector (the uid is known by now)."""
        defaults.job_selector(obj)


class _CustomResourceDefinitions(Strategy):
    def prepare_create(self, state: ClusterState, obj: Obj) -> None:
        """The cleanup finalizer, and the status an accepted definition has at once."""
        meta = obj["metadata"]
        fins = list(meta.get("finalizers") or [])
        if CRD_FINALIZER not in fins:
            fins.append(CRD_FINALIZER)
        meta["finalizers"] = fins
        names = (obj.get("spec") or {}).get("names") or {}
        obj["status"] = {"acceptedNames": names, "storedVersions": [
            v.get("name") for v in (obj.get("spec") or {}).get("versions") or [] if isinstance(v, dict)],
            "conditions": [{"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                            "lastTransitionTime": now_iso(), "message": "the initial names have been accepted"},
                           {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
                            "lastTransitionTime": now_iso(), "message": "no conflicts found"}]}

    def after_create(self, state: ClusterState, obj: Obj, *, seeding: bool) -> None:
        """Its resource is served from now on (discovery, routing, the store)."""
        state.registry.add_custom(obj)


NAMESPACES = _Namespaces()
PODS = _Pods()
SERVICES = _Services()
SERVICE_ACCOUNTS = _ServiceAccounts()
CRDS = _CustomResourceDefinitions()
JOBS = _Jobs()


def deletion_timestamp(grace: int | None) -> str:
    """When a delete that waits ``grace`` seconds ends (a pod's), or now (finalizers only)."""
    if grace is None:
        return now_iso()
    return format_seconds(int(time.time()) + grace)
