"""The step engine (docs/ARCHITECTURE.md, The engine): a UI-agnostic session over the ports.

The TUI, the headless runner (``mitigate run``) and drills all drive
:class:`Session`; everything it does is a journal event and its state is folded
from the journal, so a crashed session resumes from the journal alone.
"""

from __future__ import annotations

from mitigate.engine.confirmers import AutoApprove, PlanOnly
from mitigate.engine.kind import StepContext, StepKind
from mitigate.engine.registry import DEFAULT as DEFAULT_KINDS
from mitigate.engine.registry import Registry
from mitigate.engine.scorecard import Scorecard, scorecard
from mitigate.engine.session import Session
from mitigate.engine.state import SessionState, StepStatus, fold
from mitigate.engine.types import BatchProgress, IncidentMeta, Ports, StepPlan, StepState

__all__ = [
    "DEFAULT_KINDS",
    "AutoApprove",
    "BatchProgress",
    "IncidentMeta",
    "PlanOnly",
    "Ports",
    "Registry",
    "Scorecard",
    "Session",
    "SessionState",
    "StepContext",
    "StepKind",
    "StepPlan",
    "StepState",
    "StepStatus",
    "fold",
    "scorecard",
]
