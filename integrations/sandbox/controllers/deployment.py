"""Deployments and Cluster API MachineDeployments: one child per template hash, stamped with
revision annotations (what ``kubectl rollout undo`` reads)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..patch import copy_json
from ..store import ApiError, Obj, now_iso
from .base import (
    DEPLOY,
    HASH_LABEL,
    MD,
    MS,
    POD,
    REVISION,
    RS,
    Controller,
    Key,
    RKey,
    available_of,
    intstr,
    owner_ref,
    replicas_of,
    revision_of,
    template_hash,
)

if TYPE_CHECKING:
    from ..sim import Simulation

MD_HASH_LABEL = "machine-template-hash"


class _Rollouts(Controller):
    """What both rollout controllers share: the child for the current template, the status
    written with the revision annotation."""

    child: RKey = RS
    hash_label = HASH_LABEL

    def current_child(self, owner: Obj, owned: list[Obj], h: str) -> Obj | None:
        found = next((o for o in owned if (o["metadata"].get("labels") or {}).get(self.hash_label) == h), None)
        if found is None:  # a child another hash function named (a snapshot of a real cluster): same template
            found = next((o for o in owned if template_hash((o.get("spec") or {}).get("template") or {}) == h), None)
        return found

    def new_child_body(self, owner: Obj, key: Key, h: str, top: int, spec: Obj) -> Obj:
        ospec = owner.get("spec") or {}
        tmpl = copy_json(ospec.get("template") or {})
        tmpl.setdefault("metadata", {}).setdefault("labels", {})[self.hash_label] = h
        sel = copy_json(ospec.get("selector") or {})
        sel.setdefault("matchLabels", {})[self.hash_label] = h
        return {"metadata": {"name": f"{key[1]}-{h}", "namespace": key[0], "labels": tmpl["metadata"]["labels"],
                             "annotations": {REVISION: str(top + 1)}, "ownerReferences": [owner_ref(owner)]},
                "spec": dict(spec, selector=sel, template=tmpl)}

    def bump(self, child: Obj, top: int) -> Obj:
        """An old template is current again (rollout undo): its child gets the next revision."""
        bumped = copy_json(child)
        bumped["metadata"].setdefault("annotations", {})[REVISION] = str(top + 1)
        return self.st.put(self.r(self.child), bumped)

    def set_status(self, obj: Obj, status: Obj, revision: str) -> None:
        if (obj.get("status") or {}) != status or (obj["metadata"].get("annotations") or {}).get(REVISION) != revision:
            new = copy_json(obj)
            new["status"] = status
            new["metadata"].setdefault("annotations", {})[REVISION] = revision
            self.st.put(self.r(), new)


class DeploymentController(_Rollouts):
    """The deployment controller: one ReplicaSet per template, rolled per ``strategy``
    (RollingUpdate honouring maxSurge/maxUnavailable against *available* pods, or Recreate),
    frozen by ``spec.paused``, with availability after ``minReadySeconds`` and
    ``Progressing=False/ProgressDeadlineExceeded`` once a rollout has made no progress for
    ``progressDeadlineSeconds``."""

    name = "deployment-controller"
    primary = DEPLOY
    owns = (RS,)

    def __init__(self, sim: Simulation) -> None:
        super().__init__(sim)
        self._progress: dict[Key, tuple[Any, float]] = {}  # deployment -> (progress seen, since)

    def reconcile(self, key: Key) -> None:
        d = self.live(key)
        if d is None:
            self._progress.pop(key, None)
            return
        spec = d.get("spec") or {}
        replicas = int(spec.get("replicas", 1))
        h = template_hash(spec.get("template") or {})
        paused = bool(spec.get("paused"))
        owned = sorted(self.owned(d, RS), key=lambda o: o["metadata"].get("creationTimestamp", ""))
        top = max((revision_of(o) for o in owned), default=0)
        new_rs = self.current_child(d, owned, h)
        strategy = spec.get("strategy") or {}
        rolling = strategy.get("type", "RollingUpdate") != "Recreate"
        ru = strategy.get("rollingUpdate") or {}
        surge = intstr(ru.get("maxSurge", "25%"), replicas, round_up=True) if rolling else 0
        unavail = intstr(ru.get("maxUnavailable", "25%"), replicas, round_up=False) if rolling else replicas
        if rolling and surge == 0 and unavail == 0:
            unavail = 1
        min_ready = int(spec.get("minReadySeconds") or 0)
        if new_rs is None and not paused:
            start = 0 if any(replicas_of(o) for o in owned) else replicas
            try:
                new_rs = self.st.create(self.r(RS), self.new_child_body(
                    d, key, h, top, {"replicas": start, "minReadySeconds": min_ready}))
            except ApiError:
                return
            top += 1
            if start:
                self._scaled(d, new_rs, 0, start)
            owned.append(new_rs)
        elif new_rs is not None and revision_of(new_rs) != top and not paused:
            new_rs = self.bump(new_rs, top)
            top += 1
        old = [o for o in owned if new_rs is None or o["metadata"]["uid"] != new_rs["metadata"]["uid"]]
        for o in owned:  # minReadySeconds follows the Deployment
            if int((o.get("spec") or {}).get("minReadySeconds") or 0) != min_ready:
                self._scale_rs(d, o, replicas_of(o), min_ready=min_ready)
        if paused:
            total = sum(replicas_of(o) for o in owned)
            target = new_rs if new_rs is not None else max(owned, key=replicas_of, default=None)
            if target is not None and total != replicas:  # a paused Deployment still scales
                new_rs = self._scale_rs(d, target, max(replicas_of(target) + replicas - total, 0))
        elif new_rs is not None and not rolling:
            for o in old:
                if replicas_of(o):
                    self._scale_rs(d, o, 0)
            if not any(p for o in old for p in self.owned(o, POD)):
                new_rs = self._scale_rs(d, new_rs, replicas)
        elif new_rs is not None:
            nr, total = replicas_of(new_rs), sum(replicas_of(o) for o in owned)
            want = nr
            if nr > replicas:
                want = replicas
            elif nr < replicas and total < replicas + surge:
                want = nr + min(replicas + surge - total, replicas - nr)
            if want != nr:
                new_rs = self._scale_rs(d, new_rs, want)
            if any(replicas_of(o) for o in old):
                self._scale_down_old(d, new_rs, old, replicas, unavail)
        self._status(key, d, new_rs, self.owned(d, RS), replicas, unavail, paused, top)

    def _scale_down_old(self, d: Obj, new_rs: Obj, old: list[Obj], replicas: int, unavail: int) -> None:
        """reconcileOldReplicaSets: first drop old pods that are not available, then available ones
        down to ``replicas - maxUnavailable`` available in all."""
        min_available = replicas - unavail
        all_pods = replicas_of(new_rs) + sum(replicas_of(o) for o in old)
        new_unavailable = replicas_of(new_rs) - available_of(new_rs)
        budget = all_pods - min_available - new_unavailable
        if budget <= 0:
            return
        for o in old:
            unhealthy = replicas_of(o) - available_of(o)
            if budget <= 0 or unhealthy <= 0:
                continue
            down = min(unhealthy, budget)
            budget -= down
            self._scale_rs(d, o, replicas_of(o) - down)
        old = [self.st.find("replicasets", o["metadata"]["name"], o["metadata"].get("namespace")) or o for o in old]
        available = available_of(new_rs) + sum(min(available_of(o), replicas_of(o)) for o in old)
        left = available - min_available
        for o in old:
            if left <= 0:
                break
            down = min(replicas_of(o), left)
            if down:
                left -= down
                self._scale_rs(d, o, replicas_of(o) - down)

    def _scale_rs(self, d: Obj, rs: Obj, replicas: int, *, min_ready: int | None = None) -> Obj:
        new = copy_json(rs)
        before = replicas_of(rs)
        new["spec"]["replicas"] = replicas
        if min_ready is not None:
            new["spec"]["minReadySeconds"] = min_ready
        if new == rs:
            return rs
        stored = self.st.put(self.r(RS), new)
        if before != replicas:
            self._scaled(d, stored, before, replicas)
        return stored

    def _scaled(self, d: Obj, rs: Obj, before: int, after: int) -> None:
        self.event(d, "ScalingReplicaSet", f"Scaled {'up' if after > before else 'down'} replica set "
                   f"{rs['metadata']['name']} from {before} to {after}")

    def _status(self, key: Key, d: Obj, new_rs: Obj | None, owned: list[Obj], replicas: int,
                unavail: int, paused: bool, top: int) -> None:
        spec = d.get("spec") or {}
        total = sum(int((o.get("status") or {}).get("replicas", 0)) for o in owned)
        ready = sum(int((o.get("status") or {}).get("readyReplicas", 0)) for o in owned)
        available = sum(int((o.get("status") or {}).get("availableReplicas", 0)) for o in owned)
        updated = int(((new_rs or {}).get("status") or {}).get("replicas", 0))
        new_avail = available_of(new_rs) if new_rs is not None else 0
        old_pods = total - updated
        prev = {c.get("type"): c for c in (d.get("status") or {}).get("conditions") or []}
        now, wall = now_iso(), time.time()

        def cond(typ: str, status: str, reason: str, message: str, *, moved: bool = False) -> Obj:
            p = prev.get(typ) or {}
            same = p.get("status") == status and p.get("reason") == reason
            return {"type": typ, "status": status,
                    "lastUpdateTime": p.get("lastUpdateTime", now) if same and not moved else now,
                    "lastTransitionTime": p.get("lastTransitionTime", now) if p.get("status") == status else now,
                    "reason": reason, "message": message}

        ok = available >= replicas - unavail
        conds = [cond("Available", "True" if ok else "False",
                      "MinimumReplicasAvailable" if ok else "MinimumReplicasUnavailable",
                      "Deployment has minimum availability." if ok else "Deployment does not have minimum "
                      "availability.")]
        name = (new_rs or {}).get("metadata", {}).get("name", key[1])
        signature = (updated, new_avail, old_pods, total)
        seen = self._progress.get(key)
        moved = seen is None or seen[0] != signature
        if moved:
            self._progress[key] = (signature, wall)
        last = self._progress[key][1]
        deadline = int(spec.get("progressDeadlineSeconds", 600))
        complete = new_rs is not None and updated == replicas and new_avail >= replicas and old_pods == 0
        if paused:
            conds.append(cond("Progressing", "Unknown", "DeploymentPaused", "Deployment is paused"))
        elif complete:
            conds.append(cond("Progressing", "True", "NewReplicaSetAvailable",
                              f'ReplicaSet "{name}" has successfully progressed.'))
        elif (prev.get("Progressing") or {}).get("reason") == "ProgressDeadlineExceeded" and not moved:
            conds.append(prev["Progressing"])
        elif wall - last > deadline:
            conds.append(cond("Progressing", "False", "ProgressDeadlineExceeded",
                              f'ReplicaSet "{name}" has timed out progressing.'))
        else:
            conds.append(cond("Progressing", "True", "NewReplicaSetCreated" if seen is None and updated == 0 else
                              "ReplicaSetUpdated", f'ReplicaSet "{name}" is progressing.', moved=moved))
            self.after(max(last + deadline - wall, 0) + 0.1, key)
        status: Obj = {"observedGeneration": d["metadata"].get("generation", 1), "replicas": total,
                       "updatedReplicas": updated, "readyReplicas": ready, "availableReplicas": available,
                       "conditions": conds}
        if max(total - available, replicas - available, 0):
            status["unavailableReplicas"] = max(replicas - available, 0) if total <= replicas else max(
                total - available, 0)
        status = {k: v for k, v in status.items() if v != 0 or k in ("observedGeneration", "replicas")}
        if (d.get("status") or {}).get("collisionCount"):
            status["collisionCount"] = d["status"]["collisionCount"]
        self.set_status(d, status, str(top))


class MachineDeploymentController(_Rollouts):
    """Cluster API: one MachineSet per machine template, the current one scaled to the
    MachineDeployment's replicas and stamped with the next revision, the others at 0."""

    name = "machinedeployment-controller"
    primary = MD
    owns = (MS,)
    child = MS
    hash_label = MD_HASH_LABEL

    def sync(self, md: Obj, key: Key) -> None:
        spec = md.get("spec") or {}
        h = template_hash(spec.get("template") or {})
        owned = self.owned(md, MS)
        top = max((revision_of(o) for o in owned), default=0)
        current = next((o for o in owned if (o["metadata"].get("labels") or {}).get(self.hash_label) == h), None)
        replicas = int(spec.get("replicas", 1))
        ms_r = self.r(MS)
        if current is None:
            try:
                current = self.st.create(ms_r, self.new_child_body(
                    md, key, h, top, {"replicas": replicas, "clusterName": spec.get("clusterName")}))
            except ApiError:
                return
            top += 1
        else:
            if revision_of(current) != top:
                current = self.bump(current, top)
                top += 1
            if replicas_of(current) != replicas:
                want = copy_json(current)
                want["spec"]["replicas"] = replicas
                current = self.st.put(ms_r, want)
        for o in owned:
            if o["metadata"]["uid"] != current["metadata"]["uid"] and (o.get("spec") or {}).get("replicas", 0):
                old = copy_json(o)
                old["spec"]["replicas"] = 0
                self.st.put(ms_r, old)
        owned = self.owned(md, MS)
        total = sum(int((o.get("status") or {}).get("replicas", 0)) for o in owned)
        ready = sum(int((o.get("status") or {}).get("readyReplicas", 0)) for o in owned)
        status = {"observedGeneration": md["metadata"].get("generation", 1), "replicas": total, "readyReplicas": ready,
                  "updatedReplicas": int((current.get("status") or {}).get("replicas", 0)),
                  "availableReplicas": ready, "phase": "Running" if ready >= total else "ScalingUp"}
        self.set_status(md, status, str(top))
