"""The action catalogue, verb -> prepared-action class (names per docs/CONTRACTS.md)."""

from __future__ import annotations

from .apf import RelaxThrottle, RemoveThrottle, Throttle
from .base import Action, BatchHalted, Ctx
from .lifecycle import Apply, Create, Delete, DeleteMachine, Drain, Evict, RestoreCustomResources
from .objects import (
    Annotate,
    Cordon,
    DisableDaemonSet,
    Label,
    Patch,
    RolloutRestart,
    RolloutUndo,
    Scale,
    SetResources,
    Uncordon,
)
from .revert import RevertChanges

VERBS: dict[str, type[Action]] = {cls.verb: cls for cls in (
    Patch, SetResources, Scale, Cordon, Uncordon, Drain, Evict, Delete, Apply, Create, RolloutRestart,
    RolloutUndo, DisableDaemonSet, Label, Annotate, Throttle, RelaxThrottle, RemoveThrottle, DeleteMachine, RevertChanges,
    RestoreCustomResources)}

__all__ = ["VERBS", "Action", "BatchHalted", "Ctx"]
