"""``http`` steps: a call to a cloud or vendor API, previewed as its curl line (credentials
masked), confirmed, journaled, with an optional undo call; protection and drills as for cluster
actions. The mechanics are shared with ``command`` steps in :mod:`mitigate.engine.outbound`."""

from __future__ import annotations

from mitigate.engine import outbound
from mitigate.engine.kind import StepContext, StepKind
from mitigate.engine.types import StepPlan


class Http(StepKind):
    name = "http"
    undoable = True

    def run(self, ctx: StepContext) -> None:
        outbound.run(ctx)

    def plan(self, ctx: StepContext, out: StepPlan) -> None:
        outbound.describe(ctx, out)

    def recheck(self, ctx: StepContext) -> None:
        outbound.recheck(ctx)

    def rollback(self, ctx: StepContext) -> str | None:
        return outbound.rollback_step(ctx)


KIND = Http()
