"""Decision steps: the responder picks one option (``Session.decide``); later ``when``s branch on it."""

from __future__ import annotations

from mitigate.engine.kind import StepContext, StepKind
from mitigate.engine.types import StepPlan


class Decision(StepKind):
    name = "decision"
    completed_by_responder = True

    def plan(self, ctx: StepContext, out: StepPlan) -> None:
        spec = ctx.step.decision
        assert spec is not None
        out.description = f"decision: {spec.prompt} ({', '.join(o.id for o in spec.options)})"


KIND = Decision()
