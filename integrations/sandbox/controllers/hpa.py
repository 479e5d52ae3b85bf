"""The horizontal pod autoscaler: every ``hpaSyncSeconds`` (15 s, as kube-controller-manager's
default) it reads the resource metrics of the target's pods (what the scenario's container
rules say they use, ``usage``), computes the replica count as the real one does
(``ceil(pods x current/target)``, no change within the 10% tolerance, the highest proposal of
all metrics), limits a scale-up to max(2x, +4) per sync and a scale-down to the highest
recommendation of the stabilization window (300 s by default), clamps to min/max and writes the
target's ``spec.replicas``. Status carries ``currentMetrics`` (so ``kubectl get hpa`` prints
``cpu: 40%/50%``, not ``<unknown>``), ``desiredReplicas`` and the AbleToScale, ScalingActive and
ScalingLimited conditions with the real reasons; pods without metrics leave it
``FailedGetResourceMetric``. autoscaling/v1's ``targetCPUUtilizationPercentage`` is read too."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING

from ..selectors import selector_object_matcher
from ..store import Obj, now_iso
from .base import HPA, RC, Controller, Key, quantity

if TYPE_CHECKING:
    from ..sim import Simulation

TOLERANCE = 0.1
_WHAT = {"cpu": "cpu resource utilization (percentage of request)",
         "memory": "memory resource utilization (percentage of request)"}


def _format(resource: str, value: float) -> str:
    """A quantity as the metrics API prints it: CPU in millicores, memory in bytes (or Mi/Ki)."""
    if resource == "cpu":
        return f"{round(value * 1000)}m"
    b = round(value)
    for unit, size in (("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10)):
        if b and b % size == 0:
            return f"{b // size}{unit}"
    return str(b)


class MetricError(Exception):
    pass


_DEFAULT_RULES: dict[str, Obj] = {  # what the controller uses without a behavior (and what defaults fill in)
    "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15},
                             {"type": "Percent", "value": 100, "periodSeconds": 15}]},
    "scaleDown": {"stabilizationWindowSeconds": 300, "selectPolicy": "Max",
                  "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]},
}


def _rules(behavior: Obj, direction: str) -> Obj:
    given: Obj = behavior[direction] if isinstance(behavior.get(direction), dict) else {}
    return {k: given.get(k, v) for k, v in _DEFAULT_RULES[direction].items()}


def _scale_limit(current: int, events: list[tuple[float, int]], rules: Obj, now: float, sign: int) -> int:
    """calculateScaleUpLimitWithScalingRules / calculateScaleDownLimitWithBehaviors: each policy
    from the replicas at the start of its period; Max picks the policy allowing the biggest change,
    Min the smallest, Disabled none."""
    if rules.get("selectPolicy") == "Disabled":
        return current
    limits = []
    for p in rules.get("policies") or []:
        moved = sum(d for t, d in events if now - t <= float(p.get("periodSeconds", 15)) and d * sign > 0)
        start = current - moved
        value = int(p.get("value", 0))
        if p.get("type") == "Pods":
            limits.append(start + sign * value)
        elif sign > 0:
            limits.append(math.ceil(start * (1 + value / 100)))
        else:
            limits.append(int(start * (1 - value / 100)))
    if not limits:
        return current
    widest = max if sign > 0 else min
    narrowest = min if sign > 0 else max
    return (narrowest if rules.get("selectPolicy") == "Min" else widest)(limits)


class HPAController(Controller):
    name = "horizontal-pod-autoscaler"
    primary = HPA

    def __init__(self, sim: Simulation) -> None:
        super().__init__(sim)
        self._recommendations: dict[Key, list[tuple[float, int]]] = {}
        self._events: dict[Key, list[tuple[float, int]]] = {}  # rescales: (when, replicas added or removed)
        self._due: dict[Key, float] = {}

    def reconcile(self, key: Key) -> None:
        hpa = self.live(key)
        if hpa is None:
            self._recommendations.pop(key, None)
            self._due.pop(key, None)
            return
        now = time.monotonic()
        if self._due.get(key, 0.0) > now + 0.01:
            return  # a write between syncs: the next sync will look
        self._due[key] = now + self.sim.b.hpa_sync_seconds
        self.after(self.sim.b.hpa_sync_seconds, key)
        self._sync(key, hpa)

    def _sync(self, key: Key, hpa: Obj) -> None:
        spec = hpa.get("spec") or {}
        prev = hpa.get("status") or {}
        conds = {c.get("type"): c for c in prev.get("conditions") or [] if isinstance(c, dict)}
        new_conds: list[Obj] = []

        def cond(typ: str, status: str, reason: str, message: str) -> None:
            p = conds.get(typ) or {}
            t = p.get("lastTransitionTime") if p.get("status") == status and p.get("lastTransitionTime") else now_iso()
            new_conds.append({"type": typ, "status": status, "lastTransitionTime": t, "reason": reason,
                              "message": message})

        status: Obj = {k: v for k, v in prev.items() if k in ("lastScaleTime",)}
        ref = spec.get("scaleTargetRef") or {}
        r = self.st.registry.by_kind(str(ref.get("apiVersion", "")), str(ref.get("kind", "")))
        target = self.st.find(r, str(ref.get("name", "")), key[0]) if r is not None else None
        lo, hi = int(spec.get("minReplicas", 1)), int(spec.get("maxReplicas", 1))
        if r is None or target is None:
            cond("AbleToScale", "False", "FailedGetScale", f"the HPA controller was unable to get the target's "
                 f"current scale: {(r.plural + '.' + r.group) if r and r.group else ref.get('kind', '')} "
                 f"\"{ref.get('name', '')}\" not found")
            self.event(hpa, "FailedGetScale", new_conds[-1]["message"].split(": ", 1)[1], warning=True)
            self.write_status(hpa, dict(status, currentReplicas=0, desiredReplicas=0, conditions=new_conds))
            return
        current = int((target.get("spec") or {}).get("replicas", 1))
        status.update(currentReplicas=current, desiredReplicas=current,
                      observedGeneration=hpa["metadata"].get("generation", 1))
        if current == 0 and lo > 0:
            cond("AbleToScale", "True", "SucceededGetScale", "the HPA controller was able to get the target's "
                 "current scale")
            cond("ScalingActive", "False", "ScalingDisabled", "scaling is disabled since the replica count of the "
                 "target is zero")
            self.write_status(hpa, dict(status, conditions=new_conds))
            return
        try:
            proposal, current_metrics, reason = self._propose(key, target, r.key, spec, current)
        except MetricError as e:
            cond("AbleToScale", "True", "SucceededGetScale", "the HPA controller was able to get the target's "
                 "current scale")
            cond("ScalingActive", "False", "FailedGetResourceMetric", f"the HPA was unable to compute the replica "
                 f"count: {e}")
            self.event(hpa, "FailedGetResourceMetric", str(e), warning=True)
            self.write_status(hpa, dict(status, conditions=new_conds))
            return
        status["currentMetrics"] = current_metrics
        now = time.monotonic()
        behavior: Obj = spec["behavior"] if isinstance(spec.get("behavior"), dict) else {}
        up, down = _rules(behavior, "scaleUp"), _rules(behavior, "scaleDown")
        # stabilization: a scale-up takes the lowest, a scale-down the highest recommendation of its window
        recs = [(t, n) for t, n in self._recommendations.get(key, [])
                if now - t <= max(up["stabilizationWindowSeconds"], down["stabilizationWindowSeconds"])]
        up_rec = min([proposal] + [n for t, n in recs if now - t <= up["stabilizationWindowSeconds"]])
        down_rec = max([proposal] + [n for t, n in recs if now - t <= down["stabilizationWindowSeconds"]])
        self._recommendations[key] = [*recs, (now, proposal)]
        desired = stabilized = min(max(current, up_rec), down_rec)
        limited: tuple[str, str] = ("DesiredWithinRange", "the desired count is within the acceptable range")
        if desired > current:
            limit = max(_scale_limit(current, self._events.get(key, []), up, now, +1), current)
            if hi > limit:
                ceiling, why = limit, ("ScaleUpLimit", "the desired replica count is increasing faster than the "
                                       "maximum scale rate")
            else:
                ceiling, why = hi, ("TooManyReplicas", "the desired replica count is more than the maximum replica "
                                    "count")
            if desired > ceiling:
                desired, limited = ceiling, why
        elif desired < current:
            limit = min(_scale_limit(current, self._events.get(key, []), down, now, -1), current)
            if lo < limit:
                floor, why = limit, ("ScaleDownLimit", "the desired replica count is decreasing faster than the "
                                     "maximum scale rate")
            else:
                floor, why = lo, ("TooFewReplicas", "the desired replica count is less than the minimum replica "
                                  "count")
            if desired < floor:
                desired, limited = floor, why
        if current > hi:  # outside min/max whatever the metrics say
            desired, limited = hi, ("TooManyReplicas", "the desired replica count is more than the maximum replica "
                                    "count")
        elif current < lo:
            desired, limited = lo, ("TooFewReplicas", "the desired replica count is less than the minimum replica "
                                    "count")
        status["desiredReplicas"] = desired
        if desired != current:
            new = dict(target, spec=dict(target.get("spec") or {}, replicas=desired))
            self.st.put(r, new)
            events = [(t, d) for t, d in self._events.get(key, []) if now - t <= 1800]
            self._events[key] = [*events, (now, desired - current)]
            status["lastScaleTime"] = now_iso()
            because = ("Current number of replicas above Spec.MaxReplicas" if current > hi else
                       "Current number of replicas below Spec.MinReplicas" if current < lo else
                       f"{reason} above target" if desired > current else "All metrics below target")
            self.event(hpa, "SuccessfulRescale", f"New size: {desired}; reason: {because}")
            cond("AbleToScale", "True", "SucceededRescale", f"the HPA controller was able to update the target "
                 f"scale to {desired}")
        elif stabilized > proposal:
            cond("AbleToScale", "True", "ScaleDownStabilized", "recent recommendations were higher than current "
                 "one, applying the highest recent recommendation")
        elif stabilized < proposal:
            cond("AbleToScale", "True", "ScaleUpStabilized", "recent recommendations were lower than current "
                 "one, applying the lowest recent recommendation")
        else:
            cond("AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size")
        cond("ScalingActive", "True", "ValidMetricFound", f"the HPA was able to successfully calculate a replica "
             f"count from {reason}")
        cond("ScalingLimited", "False" if limited[0] == "DesiredWithinRange" else "True", *limited)
        status["conditions"] = new_conds
        self.write_status(hpa, status)

    def _metrics(self, spec: Obj) -> list[Obj]:
        metrics = [m for m in spec.get("metrics") or [] if isinstance(m, dict)]
        if not metrics and spec.get("targetCPUUtilizationPercentage") is not None:  # autoscaling/v1
            metrics = [{"type": "Resource", "resource": {"name": "cpu", "target": {
                "type": "Utilization", "averageUtilization": int(spec["targetCPUUtilizationPercentage"])}}}]
        if not metrics:
            metrics = [{"type": "Resource", "resource": {"name": "cpu", "target": {
                "type": "Utilization", "averageUtilization": 80}}}]
        return metrics

    def _propose(self, key: Key, target: Obj, rkey: tuple[str, str], spec: Obj,
                 current: int) -> tuple[int, list[Obj], str]:
        sel = (target.get("spec") or {}).get("selector")
        match = selector_object_matcher({"matchLabels": sel} if rkey == RC else sel)
        pods = [p for p in self.st.list("pods", key[0], match) if not p["metadata"].get("deletionTimestamp")
                and (p.get("status") or {}).get("phase") == "Running"]
        best, out, reason = 0, [], ""
        for m in self._metrics(spec):
            if m.get("type") != "Resource":
                raise MetricError(f"unable to get metric {m.get('type')}: the sandbox serves resource metrics only")
            res = m.get("resource") or {}
            name = str(res.get("name", "cpu"))
            tgt = res.get("target") or {}
            usage, request, counted = 0.0, 0.0, 0
            for p in pods:
                used = None
                for c in (p.get("spec") or {}).get("containers") or []:
                    rule = self.sim.kubelet.rule(p, c)
                    if rule is not None and name in rule.usage:
                        used = (used or 0.0) + quantity(rule.usage[name])
                    req = ((c.get("resources") or {}).get("requests") or {}).get(name)
                    if tgt.get("type", "Utilization") == "Utilization":
                        if req is None:
                            raise MetricError(f"failed to get {name} utilization: missing request for {name} in "
                                              f"container {c.get('name')} of Pod {p['metadata']['name']}")
                        request += quantity(req)
                if used is not None:
                    usage, counted = usage + used, counted + 1
            if not counted:
                raise MetricError(f"failed to get {name} utilization: unable to get metrics for resource {name}: "
                                  "no metrics returned from resource metrics API")
            average = usage / counted
            if tgt.get("type", "Utilization") == "Utilization":
                util = int(usage * 100 / request) if request else 0
                ratio = util / max(int(tgt.get("averageUtilization", 80)), 1)
                current_m = {"averageUtilization": util, "averageValue": _format(name, average)}
            else:
                ratio = average / max(quantity(tgt.get("averageValue", "0")), 1e-9)
                current_m = {"averageValue": _format(name, average)}
            n = current if abs(ratio - 1.0) <= TOLERANCE else math.ceil(ratio * counted)
            out.append({"type": "Resource", "resource": {"name": name, "current": current_m}})
            if n > best or not reason:
                best, reason = max(best, n), _WHAT.get(name, f"{name} resource")
        return best, out, reason
