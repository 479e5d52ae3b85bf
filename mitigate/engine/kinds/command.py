"""``command`` steps: a local program run from an argv list (never a shell), shown exactly,
confirmed, its exit code and output journaled (redacted), with an optional undo command;
protection and drills as for cluster actions. Shared with ``http`` in :mod:`mitigate.engine.outbound`."""

from __future__ import annotations

from mitigate.engine import outbound
from mitigate.engine.kind import StepContext, StepKind
from mitigate.engine.types import StepPlan


class Command(StepKind):
    name = "command"
    undoable = True

    def run(self, ctx: StepContext) -> None:
        outbound.run(ctx)

    def plan(self, ctx: StepContext, out: StepPlan) -> None:
        outbound.describe(ctx, out)

    def recheck(self, ctx: StepContext) -> None:
        outbound.recheck(ctx)

    def rollback(self, ctx: StepContext) -> str | None:
        return outbound.rollback_step(ctx)


KIND = Command()
