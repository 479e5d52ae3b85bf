"""``mitigate sandbox snapshot``: capture a live cluster's objects into a scenario, so a team can
rehearse on a twin of its own cluster.

Every listable kind the sandbox can serve (its built-in kinds, plus every kind a captured
CustomResourceDefinition defines) is listed through the kube adapter (the kubeconfig's
credentials, its rate limits and retries), cluster-scoped kinds always, namespaced ones in the
given namespaces (all when none is given). Objects keep their metadata (uid, so owner references
hold; labels, annotations, ``managedFields``, creation time), spec and status; ``resourceVersion``
and ``selfLink`` are dropped (the twin numbers its own). Secrets keep their keys with every value
emptied: no secret data ever reaches the file. Events, Leases in ``kube-node-lease``, Endpoints
and EndpointSlices are left out: the twin's controllers make their own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .resources import Registry
from .seeding import SYSTEM_NAMESPACES

SKIP = {("", "events"), ("events.k8s.io", "events"), ("", "endpoints"), ("discovery.k8s.io", "endpointslices"),
        ("", "componentstatuses"), ("", "bindings")}
Obj = dict[str, Any]


def _clean(obj: Obj, api_version: str, kind: str) -> Obj:
    out = dict(obj, apiVersion=api_version, kind=kind)
    meta = dict(out.get("metadata") or {})
    for k in ("resourceVersion", "selfLink", "generation"):
        meta.pop(k, None)
    out["metadata"] = meta
    if kind == "Secret" and api_version == "v1":
        keys = list(out.get("data") or {}) + list(out.get("stringData") or {})
        out.pop("stringData", None)
        out["data"] = dict.fromkeys(keys, "")
    return out


def snapshot(kubeconfig: Path | None, context: str | None, namespaces: list[str]) -> Obj:
    """A scenario (as a dict) holding the context's objects."""
    from integrations.kube import KubeCluster

    cluster = KubeCluster.from_kubeconfig(kubeconfig)
    ctx = cluster.ctx(context)
    t = ctx.transport
    builtin = Registry.builtin()
    served: list[tuple[str, str, str, str, bool]] = []  # group, version, plural, kind, namespaced
    groups = [("", "v1")] + [(g["name"], g["preferredVersion"]["version"])
                             for g in (t.get("/apis") or {}).get("groups") or []]
    for group, version in groups:
        doc = t.get(f"/api/{version}" if not group else f"/apis/{group}/{version}") or {}
        for res in doc.get("resources") or []:
            if "/" in res["name"] or "list" not in (res.get("verbs") or []) or (group, res["name"]) in SKIP:
                continue
            served.append((group, version, res["name"], res["kind"], bool(res.get("namespaced"))))
    crds = [o for o in t.list_pages("/apis/apiextensions.k8s.io/v1/customresourcedefinitions")] \
        if any(g == "apiextensions.k8s.io" for g, *_ in served) else []
    custom = {(str((c.get("spec") or {}).get("group")), str(((c.get("spec") or {}).get("names") or {}).get("plural")))
              for c in crds}
    objects: list[Obj] = []
    for group, version, plural, kind, namespaced in served:
        if (group, plural) not in builtin.by_key and (group, plural) not in custom:
            continue  # a kind the twin could not serve
        api_version = f"{group}/{version}" if group else version
        spaces: list[str | None] = list(namespaces) if namespaced and namespaces else [None]
        for ns in spaces:
            base = (f"/api/{version}" if not group else f"/apis/{group}/{version}") + (
                f"/namespaces/{ns}" if ns else "") + f"/{plural}"
            for item in t.list_pages(base):
                meta = item.get("metadata") or {}
                if kind == "Namespace" and (meta.get("name") in SYSTEM_NAMESPACES or (
                        namespaces and meta.get("name") not in namespaces)):
                    continue
                if kind == "Lease" and meta.get("namespace") == "kube-node-lease":
                    continue
                objects.append(_clean(item, api_version, kind))
    order = {"CustomResourceDefinition": 0, "Namespace": 1}
    objects.sort(key=lambda o: (order.get(o["kind"], 2), o["apiVersion"], o["kind"],
                                o["metadata"].get("namespace") or "", o["metadata"]["name"]))
    name = ctx.name
    return {"name": f"snapshot-{name}",
            "description": f"Objects of context {name}" + (f" (namespaces {', '.join(namespaces)})" if namespaces
                                                           else "") + ", captured by mitigate sandbox snapshot. "
                           "Secret values are emptied. Add health checks and a drill block to rehearse on it.",
            "context": name, "behaviours": {"endpoints": True}, "objects": objects}
