"""Manual steps: something the responder does by hand, then ticks (``Session.complete_manual``)."""

from __future__ import annotations

from mitigate.engine.kind import StepContext, StepKind
from mitigate.engine.types import StepPlan


class Manual(StepKind):
    name = "manual"
    completed_by_responder = True

    def plan(self, ctx: StepContext, out: StepPlan) -> None:
        out.description = (ctx.step.manual or "").strip()


KIND = Manual()
