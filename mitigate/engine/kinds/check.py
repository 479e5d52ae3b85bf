"""Check steps: a read-only query judged by ``expect`` (see :mod:`mitigate.engine.checks`)."""

from __future__ import annotations

from mitigate.engine.checks import CheckOutcome, describe_query, run_check
from mitigate.engine.kind import StepContext, StepKind, record_check
from mitigate.engine.types import StepPlan


def _check(ctx: StepContext) -> CheckOutcome:
    spec = ctx.step.check
    assert spec is not None
    outcome = run_check(spec, ctx.values, cluster=ctx.ports.cluster, probes=ctx.ports.probes,
                        contexts=ctx.contexts() if spec.kube else [], concurrency=ctx.step.concurrency)
    record_check(ctx, outcome)
    return outcome


class Check(StepKind):
    name = "check"
    read_only = True

    def run(self, ctx: StepContext) -> None:
        _check(ctx)

    def plan(self, ctx: StepContext, out: StepPlan) -> None:
        spec = ctx.step.check
        assert spec is not None
        out.description = (f"check: {describe_query(spec, ctx.values)}"
                           + (f"; expect {spec.expect}" if spec.expect else ""))
        if spec.kube is not None:
            out.contexts = ctx.contexts()

    def rehearse(self, ctx: StepContext, out: StepPlan) -> None:
        """Checks really run in a plan (journaled): later steps' templates need their results."""
        outcome = _check(ctx)
        shown = ", ".join(outcome.names[:10]) + (" ..." if len(outcome.names) > 10 else "")
        out.notes.append(f"{'ok' if outcome.ok else 'FAILS'}: {outcome.count} found"
                         + (f": {shown}" if shown else "")
                         + (f" ({outcome.message})" if outcome.message else ""))


KIND = Check()
