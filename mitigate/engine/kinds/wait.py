"""Wait steps: poll a read-only query until ``until`` holds, the timeout passes or the responder cancels.

Each change in what ``until`` observes is journaled (``wait.poll``: the value now, what it needs,
the time left), so the walker shows the last observed value while the wait runs."""

from __future__ import annotations

from mitigate.engine.checks import describe_query, run_wait
from mitigate.engine.kind import StepContext, StepKind, poll_recorder, record_check
from mitigate.engine.types import StepPlan
from mitigate.runbook.templating import render


class Wait(StepKind):
    name = "wait"
    read_only = True

    def run(self, ctx: StepContext) -> None:
        spec = ctx.step.wait
        assert spec is not None
        kube = spec.check is not None and spec.check.kube is not None
        watch = poll_recorder(ctx, spec.until, str(render(spec.timeout, ctx.values)))
        record_check(ctx, run_wait(spec, ctx.values, cluster=ctx.ports.cluster, probes=ctx.ports.probes,
                                   contexts=ctx.contexts() if kube else [], clock=ctx.ports.clock,
                                   cancel=ctx.cancel, on_poll=watch))

    def plan(self, ctx: StepContext, out: StepPlan) -> None:
        spec = ctx.step.wait
        assert spec is not None
        what = describe_query(spec.check, ctx.values) if spec.check is not None else "expression"
        out.description = f"wait until {spec.until} ({what}, every {spec.interval}, timeout {spec.timeout})"
        if spec.check is not None and spec.check.kube is not None:
            out.contexts = ctx.contexts()


KIND = Wait()
