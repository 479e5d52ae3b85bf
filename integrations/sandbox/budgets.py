"""PodDisruptionBudget arithmetic shared by eviction (server) and PDB status (simulation)."""

from __future__ import annotations

from typing import Any

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


def budget(pdb: Obj, expected: int) -> tuple[int, int]:
    """(minAvailable, maxUnavailable) resolved against ``expected`` pods."""
    spec = pdb.get("spec") or {}
    if "maxUnavailable" in spec:
        return 0, _intstr(spec["maxUnavailable"], expected, True)
    return _intstr(spec.get("minAvailable", 1), expected, True), 0


def disruptions_allowed(pdb: Obj, expected: int, healthy: int) -> int:
    spec = pdb.get("spec") or {}
    min_avail, max_unavail = budget(pdb, expected)
    if "maxUnavailable" in spec:
        return healthy - (expected - max_unavail)
    return healthy - min_avail
