"""PodDisruptionBudget arithmetic, the one place both eviction (server) and the disruption
controller (PDB status) ask: who the budget covers, how many are healthy, how many may go."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .selectors import selector_object_matcher

Obj = dict[str, Any]


def pod_ready(p: Obj) -> bool:
    for c in (p.get("status") or {}).get("conditions") or []:
        if isinstance(c, dict) and c.get("type") == "Ready":
            return c.get("status") == "True"
    return False


def _intstr(v: Any, total: int, round_up: bool) -> int:
    if isinstance(v, str) and v.endswith("%"):
        pct = int(v[:-1] or 0) * total
        return -(-pct // 100) if round_up else pct // 100
    return int(v)


@dataclass(frozen=True)
class Budget:
    """A PodDisruptionBudget against the pods it selects right now."""

    expected: int  # pods the selector matches
    healthy: int  # of those, Ready and not being deleted
    desired: int  # the healthy pods the budget needs (minAvailable, or expected - maxUnavailable)

    @property
    def allowed(self) -> int:
        """Disruptions allowed (negative when already below the budget)."""
        return self.healthy - self.desired

    def status(self, generation: int) -> Obj:
        """The PDB status the disruption controller writes (kubectl's ALLOWED DISRUPTIONS)."""
        return {"currentHealthy": self.healthy, "desiredHealthy": self.desired, "expectedPods": self.expected,
                "disruptionsAllowed": max(self.allowed, 0), "observedGeneration": generation}


def covers(pdb: Obj, pod: Obj) -> bool:
    return bool(selector_object_matcher((pdb.get("spec") or {}).get("selector"))(pod))


def evaluate(pdb: Obj, pods: Iterable[Obj]) -> Budget:
    """The budget of ``pdb`` over ``pods`` (its namespace's): minAvailable rounds a percentage
    up, maxUnavailable too, both against the matched pods, as the disruption controller does."""
    match = selector_object_matcher((pdb.get("spec") or {}).get("selector"))
    members = [p for p in pods if match(p)]
    healthy = sum(1 for p in members if not p["metadata"].get("deletionTimestamp") and pod_ready(p))
    spec = pdb.get("spec") or {}
    expected = len(members)
    if "maxUnavailable" in spec:
        desired = expected - _intstr(spec["maxUnavailable"], expected, True)
    else:
        desired = _intstr(spec.get("minAvailable", 1), expected, True)
    return Budget(expected, healthy, max(desired, 0))
