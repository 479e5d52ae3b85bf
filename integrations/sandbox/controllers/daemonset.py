"""DaemonSets and StatefulSets: the DaemonSet controller, and the ControllerRevision history
both keep."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..budgets import pod_ready
from ..patch import copy_json
from ..store import ApiError, Obj
from .base import (
    CREV,
    CREV_HASH_LABEL,
    DS,
    NODE,
    POD,
    STS,
    Controller,
    Key,
    RKey,
    intstr,
    owner_ref,
    suffix,
    template_hash,
)

if TYPE_CHECKING:
    from ..sim import Simulation


class HistoryController(Controller):
    """ControllerRevision history of a DaemonSet or StatefulSet, kept as their controllers do
    (what ``kubectl rollout undo`` reads): one revision per distinct pod template, named
    ``<owner>-<hash>``, its ``data`` a strategic merge patch replacing ``spec.template``; the
    current template's revision is the highest (an older one equal to it is bumped, not copied).
    Works only when the workload's spec was written (its generation moved), so node, pod and
    status churn never pays for it. One instance per kind."""

    def __init__(self, sim: Simulation, kind: RKey) -> None:
        super().__init__(sim)
        self.primary = kind
        self.name = f"{kind[1][:-1]}-controller"
        self._seen: dict[Key, tuple[str, int]] = {}  # workload -> (uid, generation) seen

    def reconcile(self, key: Key) -> None:
        owner = self.live(key)
        if owner is None:
            self._seen.pop(key, None)
            return
        seen = (owner["metadata"]["uid"], int(owner["metadata"].get("generation", 1)))
        if self._seen.get(key) == seen:
            return  # spec unchanged since the last look (a status or metadata write)
        template = (owner.get("spec") or {}).get("template") or {}
        h = template_hash(template)
        owned = self.owned(owner, CREV)
        top = max((int(o.get("revision") or 0) for o in owned), default=0)
        current = next((o for o in owned if (o["metadata"].get("labels") or {}).get(CREV_HASH_LABEL) == h), None)
        crev_r = self.r(CREV)
        if current is None:
            labels = dict((template.get("metadata") or {}).get("labels") or {}, **{CREV_HASH_LABEL: h})
            body = {"metadata": {"name": f"{key[1]}-{h}", "namespace": key[0], "labels": labels,
                                 "ownerReferences": [owner_ref(owner)]},
                    "data": {"spec": {"template": dict(copy_json(template), **{"$patch": "replace"})}},
                    "revision": top + 1}
            try:
                current = self.st.create(crev_r, body)
            except ApiError:
                return
        elif int(current.get("revision") or 0) != top:
            bumped = copy_json(current)
            bumped["revision"] = top + 1
            current = self.st.put(crev_r, bumped)
        if self.primary == STS:
            name = current["metadata"]["name"]
            self.write_status(owner, dict(owner.get("status") or {}, currentRevision=name, updateRevision=name,
                                          observedGeneration=owner["metadata"].get("generation", 1)))
        self._seen[key] = seen


class DaemonSetController(Controller):
    """One pod per node matching the template's nodeSelector (cordoned and NotReady nodes
    included, as DaemonSet pods tolerate both). A changed template rolls node by node
    (``updateStrategy.rollingUpdate.maxUnavailable``, default 1): an old pod is deleted only
    while the unavailable count allows, its node gets the new pod once the old one is gone,
    and the next node waits until that pod is Ready; old pods that are not Ready go first.
    ``OnDelete`` replaces a pod only when someone deletes it."""

    name = "daemonset-controller"
    primary = DS
    owns = (POD,)
    watches = (NODE,)

    def keys_for(self, rkey: RKey, key: Key, obj: Obj | None) -> Iterable[Key]:
        return self.primary_keys()  # a node came, went or changed its labels: every DaemonSet

    def reconcile(self, key: Key) -> None:
        st = self.st
        ds = self.live(key)
        if ds is None:
            return
        spec = ds.get("spec") or {}
        tmpl = spec.get("template") or {}
        h = template_hash(tmpl)
        selector = (tmpl.get("spec") or {}).get("nodeSelector") or {}
        wanted = {n["metadata"]["name"] for n in st.objects.get(NODE, {}).values()
                  if all((n["metadata"].get("labels") or {}).get(k) == v for k, v in selector.items())}
        owned = self.owned(ds, POD)
        pods = [p for p in owned if not p["metadata"].get("deletionTimestamp")]
        have = {(p.get("spec") or {}).get("nodeName") for p in owned}  # a terminating pod holds its node
        pod_r = self.r(POD)
        for node in sorted(wanted - have):
            meta = copy_json(tmpl.get("metadata") or {})
            meta.setdefault("labels", {})[CREV_HASH_LABEL] = h
            pod = {"metadata": dict(meta, name=f"{key[1]}-{suffix()}", namespace=key[0],
                                    ownerReferences=[owner_ref(ds)]),
                   "spec": dict(copy_json(tmpl.get("spec") or {}), nodeName=node)}
            pod["status"] = self.sim.kubelet.status(pod, node)
            try:
                made = self.sim.scheduler.kubelet_sees(st.create(pod_r, pod), pod, node)
            except ApiError as e:
                self.event(ds, "FailedCreate", f"Error creating: {e.message}", warning=True)
                self.after(0.5, key)  # the controller retries (with backoff)
                break
            pods.append(made)
            self.event(ds, "SuccessfulCreate", f"Created pod: {made['metadata']['name']}")
            self.sim.scheduler.bound(made, scheduled=False)
        gone = [p for p in pods if (p.get("spec") or {}).get("nodeName") not in wanted]
        strategy = spec.get("updateStrategy") or {}
        old = [p for p in pods if p not in gone and (p["metadata"].get("labels") or {}).get(CREV_HASH_LABEL) != h]
        if old and strategy.get("type", "RollingUpdate") == "RollingUpdate":
            max_unavailable = intstr((strategy.get("rollingUpdate") or {}).get("maxUnavailable", 1),
                                     len(wanted), round_up=False) or 1
            unavailable = len(wanted) - sum(1 for p in pods if p not in gone and pod_ready(p))
            for p in sorted(old, key=lambda p: (pod_ready(p), (p.get("spec") or {}).get("nodeName") or "")):
                if pod_ready(p):
                    if unavailable >= max_unavailable:
                        break
                    unavailable += 1
                gone.append(p)
        for p in gone:
            try:
                st.delete(pod_r, p["metadata"]["name"], key[0])
            except ApiError:
                continue
            self.event(ds, "SuccessfulDelete", f"Deleted pod: {p['metadata']['name']}")
        pods = [p for p in pods if p not in gone]
        ready = sum(1 for p in pods if pod_ready(p))
        updated = sum(1 for p in pods if (p["metadata"].get("labels") or {}).get(CREV_HASH_LABEL) == h)
        status = {"desiredNumberScheduled": len(wanted), "currentNumberScheduled": len(pods),
                  "numberReady": ready, "numberAvailable": ready, "updatedNumberScheduled": updated,
                  "numberMisscheduled": 0, "observedGeneration": ds["metadata"].get("generation", 1)}
        if len(wanted) - ready:
            status["numberUnavailable"] = len(wanted) - ready
        self.write_status(ds, status)
