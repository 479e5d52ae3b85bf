"""Events recorded by the simulated controllers and kubelets, as the real ones record them.

core/v1 Events (what ``kubectl events`` and ``kubectl describe`` read) with ``involvedObject``,
``reason``, ``message``, ``type``, ``source.component``/``host``, ``reportingComponent``, ``count``,
``firstTimestamp``/``lastTimestamp`` and ``eventTime``. A repeat of the same event (same object,
reason and message) is counted on the existing Event, as client-go's event correlator does.
Seeding records nothing: Events come from what happens after the cluster starts.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

from .patch import copy_json
from .store import ApiError, ClusterState, Obj, now_iso

MAX_EVENTS = 20_000  # per cluster; the oldest go first (the API server's TTL does the same in an hour)


@dataclass
class EventRecorder:
    st: ClusterState
    _seen: dict[tuple[str, str, str], str] = field(default_factory=dict)  # (uid, reason, message) -> name
    _order: list[tuple[str, str]] = field(default_factory=list)

    def record(self, obj: Obj, reason: str, message: str, *, warning: bool = False, component: str = "",
               host: str = "") -> None:
        meta = obj.get("metadata") or {}
        uid = str(meta.get("uid", ""))
        ns = str(meta.get("namespace") or "default")
        key = (uid, reason, message)
        st = self.st
        ev_r = st.registry.by_key[("", "events")]
        name = self._seen.get(key)
        existing = st.find(ev_r, name, ns) if name else None
        now = now_iso()
        if existing is not None:
            new = copy_json(existing)
            new["count"] = int(existing.get("count") or 1) + 1
            new["lastTimestamp"] = now
            st.put(ev_r, new)
            return
        digest = hashlib.sha256(f"{uid}{reason}{message}{time.time_ns()}".encode()).hexdigest()[:16]
        name = f"{meta.get('name', 'object')}.{digest}"
        source: Obj = {"component": component}
        if host:
            source["host"] = host
        body: Obj = {"apiVersion": "v1", "kind": "Event",
                "metadata": {"name": name, "namespace": ns},
                "involvedObject": {"apiVersion": obj.get("apiVersion", ""), "kind": obj.get("kind", ""),
                                   "name": meta.get("name", ""), "namespace": meta.get("namespace"),
                                   "uid": uid, "resourceVersion": meta.get("resourceVersion", "")},
                "reason": reason, "message": message, "type": "Warning" if warning else "Normal",
                "source": source, "reportingComponent": component, "reportingInstance": host or component,
                "count": 1, "firstTimestamp": now, "lastTimestamp": now}
        if not meta.get("namespace"):
            body["involvedObject"].pop("namespace")
        try:
            st.create(ev_r, body)
        except ApiError:
            return
        self._seen[key] = name
        self._order.append((ns, name))
        if len(self._order) > MAX_EVENTS:
            old_ns, old = self._order.pop(0)
            if st.find(ev_r, old, old_ns) is not None:
                st.delete(ev_r, old, old_ns)

    # shorthands with the components the real controllers report as

    def pod(self, pod: Obj, reason: str, message: str, *, warning: bool = False, component: str = "kubelet") -> None:
        host = str((pod.get("spec") or {}).get("nodeName") or "") if component == "kubelet" else ""
        self.record(pod, reason, message, warning=warning, component=component, host=host)

    def node(self, node: Obj, reason: str, message: str, *, warning: bool = False,
             component: str = "node-controller") -> None:
        self.record(node, reason, message, warning=warning, component=component)

    def controller(self, obj: Obj, reason: str, message: str, component: str, *, warning: bool = False) -> None:
        self.record(obj, reason, message, warning=warning, component=component)
