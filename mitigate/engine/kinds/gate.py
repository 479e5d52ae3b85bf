"""Gate steps: every ``require`` expression must hold, or the runbook halts with the gate's message.

The ``gate`` record says what each requirement saw (``observed``: current value and what it needs)."""

from __future__ import annotations

from typing import Any

from mitigate.engine.checks import observe
from mitigate.engine.kind import StepContext, StepKind
from mitigate.engine.types import StepPlan
from mitigate.events import Event
from mitigate.runbook.templating import evaluate


def _closed(ctx: StepContext) -> list[str]:
    spec = ctx.step.gate
    assert spec is not None
    return [expr for expr in spec.require if not evaluate(expr, ctx.values)]


def _observed(ctx: StepContext, closed: list[str]) -> list[dict[str, Any]]:
    """Each requirement with what it sees now (``ready >= 9``: current 7, need >= 9)."""
    spec = ctx.step.gate
    assert spec is not None
    return [{"expr": expr, "ok": expr not in closed, **observe(expr, ctx.values)} for expr in spec.require]


class Gate(StepKind):
    name = "gate"
    read_only = True

    def run(self, ctx: StepContext) -> None:
        spec, step_id = ctx.step.gate, ctx.step.id
        assert spec is not None
        closed = _closed(ctx)
        ctx.record(Event.GATE, {"step": step_id, "open": not closed, "failed": closed,
                                "observed": _observed(ctx, closed)})
        if closed:
            ctx.record(Event.STEP_FAILED, {"step": step_id, "error": f"{spec.message.strip()} "
                                       f"(not true: {'; '.join(closed)})"})
        else:
            ctx.record(Event.STEP_SUCCEEDED, {"step": step_id})

    def plan(self, ctx: StepContext, out: StepPlan) -> None:
        assert ctx.step.gate is not None
        out.description = "gate: " + " and ".join(ctx.step.gate.require)

    def rehearse(self, ctx: StepContext, out: StepPlan) -> None:
        assert ctx.step.gate is not None
        out.notes.append(f"gate closed now: {ctx.step.gate.message.strip()}" if _closed(ctx) else "gate open now")


KIND = Gate()
