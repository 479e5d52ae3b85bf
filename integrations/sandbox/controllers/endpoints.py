"""The endpoints controller (on when the scenario asks for it): each selector Service's
Endpoints lists its selected, scheduled pods, Ready ones as ``addresses`` and the rest as
``notReadyAddresses``; a Service's Endpoints go with it."""

from __future__ import annotations

from ..budgets import pod_ready
from ..patch import copy_json
from ..selectors import selector_object_matcher
from ..store import ApiError, Obj
from .base import EP, POD, SVC, Controller, Key


class EndpointsController(Controller):
    name = "endpoint-controller"
    primary = SVC
    watches = (POD,)

    def enabled(self) -> bool:
        return self.sim.b.endpoints

    def reconcile(self, key: Key) -> None:
        st = self.st
        ns, name = key
        svc = self.obj(key)
        current = st.find("endpoints", name, ns)
        if svc is None:
            if current is not None:
                try:
                    st.delete(self.r(EP), name, ns)
                except ApiError:
                    pass
            return
        selector = (svc.get("spec") or {}).get("selector")
        if not selector:
            return
        match = selector_object_matcher({"matchLabels": selector})
        ready: list[Obj] = []
        waiting: list[Obj] = []
        pods = [p for p in st.list("pods", ns) if not p["metadata"].get("deletionTimestamp")
                and (p.get("spec") or {}).get("nodeName") and match(p)]
        for p in sorted(pods, key=lambda p: p["metadata"]["name"]):
            addr = {"ip": (p.get("status") or {}).get("podIP") or "10.244.0.1",
                    "nodeName": p["spec"]["nodeName"],
                    "targetRef": {"kind": "Pod", "namespace": ns, "name": p["metadata"]["name"],
                                  "uid": p["metadata"]["uid"]}}
            (ready if pod_ready(p) else waiting).append(addr)
        ports = [{k: v for k, v in (("name", sp.get("name")), ("port", sp.get("targetPort", sp.get("port"))),
                                    ("protocol", sp.get("protocol", "TCP"))) if v is not None}
                 for sp in (svc.get("spec") or {}).get("ports") or [] if isinstance(sp, dict)]
        subset: Obj = {"ports": ports}
        if ready:
            subset["addresses"] = ready
        if waiting:
            subset["notReadyAddresses"] = waiting
        subsets = [subset] if ready or waiting else []
        if current is None:
            try:
                st.create(self.r(EP), {"metadata": {"name": name, "namespace": ns,
                                                    "labels": dict(svc["metadata"].get("labels") or {})},
                                       "subsets": subsets})
            except ApiError:
                return
        elif (current.get("subsets") or []) != subsets:
            new = copy_json(current)
            new["subsets"] = subsets
            st.put(self.r(EP), new)
