"""Action steps: render, scope, preview, confirm, then write-ahead intent, execute, outcome.

The order inside one batch is the safety argument of the whole tool: the
intent is fsynced to the journal before the cluster is touched and the
outcome after, so a crash in between leaves an ``unknown`` step that
:meth:`Silence.recheck` resolves by asking the cluster, never by executing again.

Batches: the target list is chunked; completed targets (from the journal) are
never redone, so retry after a failure or a cancel continues where it stopped.
Fan-out: one bound per context, confirmed one context at a time (a modal per
context), then executed on a bounded thread pool.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from mitigate.engine import foreach
from mitigate.engine.backups import file_sha256, load_undo, save_undo
from mitigate.engine.checks import run_wait
from mitigate.engine.kind import StepContext, StepKind, poll_recorder
from mitigate.engine.preflight import preflight
from mitigate.engine.types import BatchProgress, StepPlan, request_data, request_from
from mitigate.errors import MitigateError
from mitigate.events import WHOLE, Event, outcome_base
from mitigate.ports import (
    ActionOutcome,
    ActionRequest,
    ClusterPort,
    ConfirmRequest,
    PartialOutcome,
    PreparedAction,
    Preview,
)
from mitigate.runbook.actions import (
    check_inverse,
    check_scoped,
    check_undo_targets,
    is_destructive,
    parse_params,
    target_names,
)
from mitigate.runbook.model import Step, parse_duration
from mitigate.runbook.templating import evaluate, render

TARGETS_CAP = 1000
# step.previewed holds what the responder saw, bounded: a 5,000-node step's kubectl lines were
# 275 kB in one record. Each batch's intent still holds that batch's lines in full.
KUBECTL_CAP = 100
DIFF_CAP = 64_000


def _shown(kubectl: list[str], diff: str) -> dict[str, Any]:
    """The kubectl lines and diff for a ``step.previewed`` record, capped, with the full counts."""
    out: dict[str, Any] = {"kubectl": kubectl[:KUBECTL_CAP], "diff": diff[:DIFF_CAP]}
    if len(kubectl) > KUBECTL_CAP:
        out["kubectlTotal"] = len(kubectl)
    if len(diff) > DIFF_CAP:
        out["diff"] += f"\n… {len(diff) - DIFF_CAP:,} more characters not journaled"
    return out


@dataclass
class Bound:
    """One action step bound to one context: rendered params and the batches still to do."""

    step: Step
    context: str
    verb: str
    params: dict[str, Any]
    param: str
    items: list[str]  # every target unit ([WHOLE] when the action has no target list)
    batches: list[list[str]] = field(default_factory=list)  # units not yet applied, chunked
    raw: Mapping[str, Any] = field(default_factory=dict)  # the step's unrendered params
    ctx: Mapping[str, Any] = field(default_factory=dict)  # the render context for this context

    def rerender(self, stats: Mapping[str, Any]) -> None:
        """Render the params again for one batch, so templates can use ``batch.batch`` etc."""
        params = render(self.raw, {**self.ctx, "batch": dict(stats)})
        if isinstance(params, dict):
            params[self.param] = self.params.get(self.param)
            self.params = params

    def request(self, units: list[str] | None, backup_dir: str | None) -> ActionRequest:
        params = dict(self.params)
        if units is not None and units != [WHOLE]:
            params[self.param] = units
        return ActionRequest(context=self.context, verb=self.verb, params=params, step_id=self.step.id,
                             cluster_scope=self.step.scope == "cluster", backup_dir=backup_dir)

    @property
    def remaining(self) -> list[str]:
        return [u for b in self.batches for u in b]


def bind(ctx: StepContext, values: Mapping[str, Any], context: str) -> Bound:
    """Render the step's params for ``context``, check scope, and cut the remaining units into batches."""
    step = ctx.step
    assert step.action is not None
    verb, raw = next(iter(step.action.items()))
    cctx = {**values, "context": context}
    batch = step.batch
    # Params are rendered again per batch (Bound.rerender); this first rendering, for the
    # preview and the plan, sees the first batch.
    first = {"batch": 1, "batches": 1, "done": 0, "total": 0, "failures": 0}
    params = render(raw, {**cctx, "batch": first})
    if not isinstance(params, dict):
        raise MitigateError(f"step {step.id}: action {verb} parameters must render to a mapping")
    param = batch.param if batch else "names"
    if batch is not None and batch.over is not None:
        over: Any = render(batch.over, cctx)
    else:
        over = params.get(param)
    if batch is not None and not isinstance(over, list):
        raise MitigateError(f"step {step.id}: batch needs a target list (batch.over, or the action's {param})")
    # names, namespace/name, or the objects of a check (each carrying its namespace)
    items = target_names(over) if isinstance(over, list) else [WHOLE]
    if isinstance(over, list):
        params[param] = items
    if items:  # an empty target list means nothing to do, never "everything"
        check_scoped(verb, params, step.scope == "cluster")
        parse_params(verb, params)
    done = ctx.done_units(context)
    remaining = [u for u in items if u not in done]
    size = _batch_size(step, cctx, len(remaining))
    bound = Bound(step, context, verb, params, param, items, raw=raw, ctx=cctx)
    bound.batches = [remaining[i:i + size] for i in range(0, len(remaining), size)]
    return bound


def _batch_size(step: Step, values: Mapping[str, Any], count: int) -> int:
    """Units per batch: the step's ``batch.size``, or all ``count`` of them in one."""
    size = int(render(step.batch.size, values)) if step.batch is not None else max(count, 1)
    if size < 1:
        raise MitigateError(f"step {step.id}: batch size must be at least 1 (got {size})")
    return size


def _batch_note(step: Step, values: Mapping[str, Any]) -> str:
    """The plan's words for a batched step's pause, halt condition and health gate."""
    b = step.batch
    assert b is not None
    return (f"pause {render(b.pause, values)}" + (f", halt when {b.haltWhen}" if b.haltWhen else "")
            + (f", health gate: {b.gate.until}" if b.gate else ""))


def _nothing_left(total: int, empty: bool) -> dict[str, Any]:
    """The summary of a context with nothing (left) to apply: no units at all, or all applied."""
    return {"ok": True, "done": total, "total": total, "failures": 0,
            "message": "nothing to do" if empty else "already applied"}


def _conclude(ctx: StepContext, contexts: list[str], results: dict[str, dict[str, Any]],
              declined: dict[str, str], ran: bool) -> None:
    """End the step by its contexts' summaries: succeeded when every context did and none was
    declined; failed naming each context that did not. Nothing journaled when nothing ran and
    a context was declined (the step stays previewed, ``step.declined`` says why)."""
    if declined and not ran:
        return
    step = ctx.step
    data = {"contexts": results, "declined": declined}
    failed = {c: r for c, r in results.items() if not r["ok"]}
    if not failed and not declined:
        ctx.record(Event.STEP_SUCCEEDED, {"step": step.id, "result": data})
        return
    parts = [f"{c}: {r['message']}" if len(contexts) > 1 else str(r["message"]) for c, r in failed.items()]
    parts += [f"{c}: declined ({why})" for c, why in declined.items()]
    ctx.record(Event.STEP_FAILED, {"step": step.id, "error": "; ".join(parts), "result": data})


@dataclass
class _Tally:
    """One context's way through its batches (a batched action's or forEach's items): what the
    journal says is done, the failures so far, and what both loops record between batches."""

    ctx: StepContext
    context: str
    units: set[str]
    total: int
    batches: int
    failures: int = 0

    def done(self) -> int:
        return len(self.ctx.done_units(self.context) & self.units)

    def summary(self, ok: bool, message: str) -> dict[str, Any]:
        return {"ok": ok, "done": self.done(), "total": self.total, "failures": self.failures, "message": message}

    def cancelled(self, message: str) -> dict[str, Any]:
        self.ctx.record(Event.BATCH_CANCELLED, {"step": self.ctx.step.id, "context": self.context,
                                                "done": self.done(), "total": self.total})
        return self.summary(False, message)

    def cancelled_after(self, number: int) -> dict[str, Any]:
        return self.cancelled(f"cancelled after {number} of {self.batches} batch(es)")

    def progress(self, number: int) -> dict[str, Any]:
        """Batch ``number`` is through: journal it (batched steps), tell the screen; its stats."""
        ctx, step = self.ctx, self.ctx.step
        stats = {"batch": number, "batches": self.batches, "done": self.done(), "total": self.total,
                 "failures": self.failures}
        if step.batch is not None:
            ctx.record(Event.BATCH_PROGRESS, {"step": step.id, "context": self.context, **stats})
        if ctx.progress is not None:
            ctx.progress(BatchProgress(step.id, self.context, number, self.batches, stats["done"], self.total,
                                       self.failures))
        return stats

    def halted(self, stats: Mapping[str, Any]) -> dict[str, Any] | None:
        """The summary when the step's ``haltWhen`` holds after this batch, else None."""
        spec = self.ctx.step.batch
        if spec is None or spec.haltWhen is None:
            return None
        if not evaluate(spec.haltWhen, {**self.ctx.values, "context": self.context, **stats}):
            return None
        return self.summary(False, f"halted after batch {stats['batch']}/{self.batches}: {spec.haltWhen} "
                                   f"(failures={self.failures}, done={stats['done']}/{self.total})")

    def between(self, stats: Mapping[str, Any]) -> dict[str, Any] | None:
        """Between two batches: the pause, then the health gate. The summary when the step stops."""
        ctx, spec, number = self.ctx, self.ctx.step.batch, int(stats["batch"])
        assert spec is not None
        clock = ctx.ports.clock
        if not clock.sleep(parse_duration(str(render(spec.pause, ctx.values))), ctx.cancel):
            return self.cancelled_after(number)
        if spec.gate is not None:
            values = {**ctx.values, "context": self.context, "batch": dict(stats)}
            watch = poll_recorder(ctx, spec.gate.until, str(render(spec.gate.timeout, values)),
                                  context=self.context, batch=number)
            gate = run_wait(spec.gate, values, cluster=ctx.cluster, probes=ctx.ports.probes,
                            contexts=[self.context], clock=clock, cancel=ctx.cancel, on_poll=watch)
            if not gate.ok:
                if ctx.cancelled:
                    return self.cancelled_after(number)
                return self.summary(False, f"health gate closed after batch {number}/{self.batches}: {gate.message}")
        return None


def _destructive(step: Step, prepared: PreparedAction, bound: Bound) -> bool:
    if step.destructive is not None:
        return step.destructive
    return bool(prepared.destructive) or is_destructive(bound.verb, bound.params)


def _scope(bound: Bound) -> str:
    return check_scoped(bound.verb, bound.params, bound.step.scope == "cluster")


def _context_request(ctx: StepContext, bound: Bound, cluster: ClusterPort, *,
                     skip_empty: bool = False) -> ConfirmRequest | None:
    """Preview (dry run of the first batch) of everything left in this context: what to confirm.
    None when ``skip_empty`` and the action finds nothing to change here (no target list and no target)."""
    step = bound.step
    full = cluster.prepare(bound.request(bound.remaining, ctx.backups_dir))
    if skip_empty and bound.remaining == [WHOLE] and not full.targets:
        return None
    first = (cluster.prepare(bound.request(bound.batches[0], ctx.backups_dir))
             if len(bound.batches) > 1 else full)
    preview = first.preview()
    kubectl = full.kubectl()
    ctx.record(Event.STEP_PREVIEWED, {
        "step": step.id, "context": bound.context, **_shown(kubectl, preview.diff),
        "targets": list(full.targets)[:TARGETS_CAP], "description": full.describe(),
        "warnings": preview.warnings, "batches": len(bound.batches)})
    rbac = preflight(cluster, bound.context, full.permissions())
    ctx.record(Event.STEP_PREFLIGHT, rbac.data(step.id))
    rbac.refuse(f"{bound.verb} of step {step.id}")
    units = bound.remaining
    description = full.describe() + "".join(f"\n{note}" for note in rbac.notes if rbac.denied or rbac.uncertain)
    request = ConfirmRequest(
        step_id=step.id, title=step.title or step.id, description=description, kubectl=tuple(kubectl),
        context=bound.context, scope=_scope(bound),
        target_count=len(units) if units != [WHOLE] else len(full.targets),
        destructive=_destructive(step, full, bound), protected=ctx.protected(bound.context),
        diff=preview.diff, kind="action", cluster_scope=step.scope == "cluster",
        preflight=tuple(rbac.notes), uncertain=bool(rbac.uncertain))
    return request


FAN_OUT_LINES = 10  # contexts named one by one in a fan-out's confirmation; the rest are counted


def _fan_out_request(step: Step, requests: list[ConfirmRequest], *, of: int, skipped: list[str]) -> ConfirmRequest:
    """One confirmation for an action over many contexts: "12 of 40 clusters, 57 objects".

    Typed when any context is protected (and the step destructive), the step is cluster-wide or a
    preflight could not be answered: the word to type is the protected context's name when exactly
    one is protected, else "<n> clusters" (the number of clusters that change)."""
    protected = [r.context for r in requests if r.protected]
    objects = sum(r.target_count for r in requests)
    word = protected[0] if len(protected) == 1 else f"{len(requests)} clusters"
    common = {r.description.replace(r.context, "each cluster") for r in requests}
    if len(common) == 1:  # the same action everywhere: said once, then each cluster's share
        lines = [f"in each cluster: {common.pop().splitlines()[0]}"] + [
            f"{r.context}{' (PROTECTED)' if r.protected else ''}: {r.target_count} object(s)" for r in requests]
    else:
        lines = [f"{r.context}{' (PROTECTED)' if r.protected else ''}: {r.description}" for r in requests]
    if len(lines) > FAN_OUT_LINES + 1:
        lines = [*lines[:FAN_OUT_LINES + 1], f"… and {len(lines) - FAN_OUT_LINES - 1} more cluster(s)"]
    head = f"{len(requests)} of {of} clusters, {objects} objects"
    if skipped:
        head += f"; {len(skipped)} with nothing to change, skipped"
    scopes = list(dict.fromkeys(r.scope for r in requests))
    return ConfirmRequest(
        step_id=step.id, title=step.title or step.id, description="\n".join([head, *lines]),
        kubectl=tuple(line for r in requests for line in r.kubectl), context=word,
        scope="; ".join(scopes[:3]) + (f" (+{len(scopes) - 3} more)" if len(scopes) > 3 else ""),
        target_count=objects, destructive=any(r.destructive for r in requests), protected=bool(protected),
        diff="".join(f"# {r.context}\n{r.diff}" for r in requests if r.diff), kind="action",
        cluster_scope=any(r.cluster_scope for r in requests),
        preflight=tuple(f"{r.context}: {note}" for r in requests for note in r.preflight),
        uncertain=any(r.uncertain for r in requests), contexts=tuple(r.context for r in requests),
        protected_contexts=tuple(protected), skipped=tuple(skipped))


def _confirm_all(ctx: StepContext, requests: list[ConfirmRequest], *, of: int,
                 skipped: list[str]) -> tuple[bool, str]:
    """Ask once: one context's request as it is (saying what was skipped), many contexts' as one
    fan-out confirmation."""
    if len(requests) == 1:
        one = requests[0]
        if of > 1:
            one = replace(one, skipped=tuple(skipped), description=(
                f"1 of {of} clusters, {one.target_count} objects; {len(skipped)} with nothing to change, "
                f"skipped\n{one.description}"))
        return ctx.confirm(one)
    return ctx.confirm(_fan_out_request(ctx.step, requests, of=of, skipped=skipped))


def _skipped(ctx: StepContext, context: str, summary: dict[str, Any]) -> dict[str, Any]:
    """A context of a fan-out with nothing to change: journaled, not asked about."""
    ctx.record(Event.STEP_CONTEXT_SKIPPED, {"step": ctx.step.id, "context": context,
                                            "reason": str(summary["message"])})
    return summary


def _execute(ctx: StepContext, prepared: PreparedAction, intent: dict[str, Any]) -> dict[str, Any]:
    """Write-ahead intent, execute, outcome. Returns the outcome data."""
    ctx.record(Event.STEP_INTENT, intent)
    seen: list[dict[str, Any]] = []

    def on_target(result: Any) -> None:
        seen.append({"target": result.target, "ok": result.ok, "message": result.message, "backup": result.backup})

    outcome_data = outcome_base(intent)

    def record(outcome: ActionOutcome) -> None:
        undo = [request_data(u) for u in outcome.undo]
        outcome_data.update(
            ok=outcome.ok,
            results=[{"target": r.target, "ok": r.ok, "message": r.message, "backup": r.backup,
                      **({"backup_sha256": file_sha256(r.backup)} if r.backup else {})}
                     for r in outcome.results],
            undo=undo, api_errors_absorbed=outcome.api_errors_absorbed)
        if undo and not intent.get("rollback"):
            # the journal is redacted: rollback reads the full undo from this copy, never from it
            outcome_data["undo_backup"] = save_undo(ctx.backups_dir, str(intent["step"]), undo)

    try:
        record(prepared.execute(on_target=on_target, cancel=ctx.cancel))
    except PartialOutcome as exc:  # e.g. the adapter's BatchHalted when its circuit opened
        record(exc.outcome)
        outcome_data.update(ok=False, error=str(exc) or type(exc).__name__)
    except Exception as exc:  # noqa: BLE001 - control came back: record what is known, then halt
        outcome_data.update(ok=False, results=seen, undo=[], api_errors_absorbed=0,
                            error=str(exc) or type(exc).__name__)
    ctx.record(Event.STEP_OUTCOME, outcome_data)
    return outcome_data


def _run_context(ctx: StepContext, bound: Bound) -> dict[str, Any]:
    """Every remaining batch of one context. Returns this context's summary."""
    step, cluster, spec = bound.step, ctx.cluster, bound.step.batch
    batches = len(bound.batches)
    tally = _Tally(ctx, bound.context, set(bound.items), len([u for u in bound.items if u != WHOLE]) or 1, batches)
    for index, units in enumerate(bound.batches, 1):
        if ctx.cancelled:
            return tally.cancelled_after(index - 1)
        try:
            if spec is not None:
                bound.rerender({"batch": index, "batches": batches, "done": tally.done(), "total": tally.total,
                                "failures": tally.failures})
            prepared = cluster.prepare(bound.request(units, ctx.backups_dir))
            intent = {"step": step.id, "attempt": ctx.attempt, "batch": index, "batches": batches,
                      "context": bound.context, "verb": bound.verb,
                      "params": dict(prepared.request.params), "items": units,
                      "targets": list(prepared.targets)[:TARGETS_CAP], "kubectl": prepared.kubectl(),
                      "description": prepared.describe()}
        except MitigateError as exc:  # a ClusterError too
            return tally.summary(False, f"batch {index}: {exc}")
        outcome = _execute(ctx, prepared, intent)
        tally.failures += sum(1 for r in outcome["results"] if not r["ok"]) or (0 if outcome["ok"] else 1)
        stats = tally.progress(index)
        if "error" in outcome:
            return tally.summary(False, f"batch {index}: {outcome['error']}")
        if spec is not None and spec.haltWhen is not None:
            if (stop := tally.halted(stats)) is not None:
                return stop
        elif not outcome["ok"]:
            bad = [r for r in outcome["results"] if not r["ok"]]
            detail = f"{bad[0]['target']}: {bad[0]['message']}" if bad else "failed"
            return tally.summary(False, f"batch {index}/{batches}: {len(bad) or 1} target(s) failed ({detail})")
        if spec is None or index == batches:
            continue
        if (stop := tally.between(stats)) is not None:
            return stop
    return tally.summary(True, f"{tally.done()}/{tally.total} done")


# --------------------------------------------------------------------------- rollback


def _undo_requests(ctx: StepContext) -> list[ActionRequest]:
    step, rec = ctx.step, ctx.snapshot()
    if isinstance(step.undo, dict):
        verb, raw = next(iter(step.undo.items()))
        out = []
        for context in sorted({c for c, _ in rec.done}):
            targets = sorted(u for u in rec.done_units(context) if u != WHOLE)
            params = render(raw, ctx.template(context=context, targets=targets))
            check_scoped(verb, params, step.scope == "cluster")
            out.append(ActionRequest(context=context, verb=verb, params=params, step_id=step.id,
                                     cluster_scope=step.scope == "cluster", backup_dir=ctx.backups_dir))
        return out
    verb = next(iter(step.action)) if step.action else ""
    out = []
    for index in reversed(range(len(rec.undo))):
        ref = rec.undo_refs[index] if index < len(rec.undo_refs) else None
        acted = rec.undo_targets[index] if index < len(rec.undo_targets) else []
        for data in load_undo(ctx.backups_dir, ref, f"undo of step {step.id}"):
            request = request_from(data)
            check_inverse(verb, request.verb)
            check_undo_targets(step.id, request.verb, request.context, request.params, acted)
            out.append(replace(request, step_id=step.id, backup_dir=ctx.backups_dir))
    return out


# --------------------------------------------------------------------------- forEach
#
# The verb once per item, its parameters rendered from the item (``item`` in every parameter).
# Same order as above: every remaining item is rendered, checked (scope, parameters) and prepared
# before anything changes; one confirmation per context lists every kubectl line with the dry-run
# diff of the first batch; then per item a write-ahead intent, the execution and the outcome
# (``batch`` = the item's place in the list, ``items`` = [its key]). ``batch`` groups items between
# pauses, ``haltWhen`` and health gates; items already applied are never redone.


@dataclass
class ItemAction:
    key: str
    position: int  # 1-based place of the item in the forEach list
    params: dict[str, Any]


@dataclass
class Each:
    step: Step
    context: str
    verb: str
    items: list[ItemAction]
    remaining: list[ItemAction] = field(default_factory=list)

    def request(self, item: ItemAction, backup_dir: str | None) -> ActionRequest:
        return ActionRequest(context=self.context, verb=self.verb, params=dict(item.params), step_id=self.step.id,
                             cluster_scope=self.step.scope == "cluster", backup_dir=backup_dir)


def _target_params(params: dict[str, Any]) -> dict[str, Any]:
    if isinstance(params.get("names"), (list, dict)):
        params["names"] = target_names(params["names"])
    if isinstance(params.get("name"), Mapping):
        params["name"] = target_names([params["name"]])[0]
    return params


def bind_each(ctx: StepContext, values: Mapping[str, Any], context: str) -> Each:
    """Render the verb's parameters for every item in ``context`` and check each."""
    step = ctx.step
    assert step.action is not None
    verb, raw = next(iter(step.action.items()))
    cctx = {**values, "context": context}
    items = []
    for position, (key, item) in enumerate(foreach.items(step, cctx), 1):
        params = render(raw, foreach.item_context(cctx, item))
        if not isinstance(params, dict):
            raise MitigateError(f"step {step.id}: action {verb} parameters must render to a mapping")
        params = _target_params(params)
        try:
            check_scoped(verb, params, step.scope == "cluster")
            parse_params(verb, params)
        except MitigateError as exc:
            raise MitigateError(f"step {step.id}, item {key}: {exc}") from None
        items.append(ItemAction(key, position, params))
    done = ctx.done_units(context)
    return Each(step, context, verb, items, [i for i in items if i.key not in done])


def _each_destructive(each: Each, prepared: list[PreparedAction]) -> bool:
    if each.step.destructive is not None:
        return each.step.destructive
    return any(p.destructive for p in prepared) or any(is_destructive(each.verb, i.params) for i in each.items)


def _each_request(ctx: StepContext, each: Each, size: int) -> ConfirmRequest:
    step = each.step
    prepared = [ctx.cluster.prepare(each.request(i, ctx.backups_dir)) for i in each.remaining]
    kubectl = [line for p in prepared for line in p.kubectl()]
    diffs: list[str] = []
    warnings: list[str] = []
    for p in prepared[:size]:
        preview = p.preview()
        diffs.append(preview.diff)
        warnings.extend(preview.warnings)
    diff = "".join(diffs)
    targets = [t for p in prepared for t in p.targets]
    ctx.record(Event.STEP_PREVIEWED, {
        "step": step.id, "context": each.context, **_shown(kubectl, diff), "targets": targets[:TARGETS_CAP],
        "description": f"{each.verb} once per item: {len(each.remaining)} item(s)", "warnings": warnings,
        "batches": -(-len(each.remaining) // size), "items": [i.key for i in each.remaining][:TARGETS_CAP]})
    scope = "; ".join(dict.fromkeys(check_scoped(each.verb, i.params, step.scope == "cluster")
                                    for i in each.remaining[:5]))
    if len(each.remaining) > 5:
        scope += f" (+{len(each.remaining) - 5} more items)"
    return ConfirmRequest(
        step_id=step.id, title=step.title or step.id,
        description=f"{each.verb} once per item: {len(each.remaining)} item(s) on {each.context}",
        kubectl=tuple(kubectl), context=each.context, scope=scope, target_count=len(targets),
        destructive=_each_destructive(each, prepared), protected=ctx.protected(each.context), diff=diff,
        kind="action", cluster_scope=step.scope == "cluster")


def _each_run_context(ctx: StepContext, each: Each) -> dict[str, Any]:
    step, cluster, spec = each.step, ctx.cluster, each.step.batch
    size = _batch_size(step, ctx.values, len(each.remaining))
    groups = [each.remaining[i:i + size] for i in range(0, len(each.remaining), size)]
    total = len(each.items)
    tally = _Tally(ctx, each.context, {i.key for i in each.items}, total, len(groups))
    for number, group in enumerate(groups, 1):
        for item in group:
            if ctx.cancelled:
                return tally.cancelled(f"cancelled before item {item.key}")
            try:
                prepared = cluster.prepare(each.request(item, ctx.backups_dir))
            except MitigateError as exc:
                return tally.summary(False, f"item {item.key}: {exc}")
            intent = {"step": step.id, "attempt": ctx.attempt, "batch": item.position, "batches": total,
                      "context": each.context, "verb": each.verb, "params": dict(prepared.request.params),
                      "items": [item.key], "targets": list(prepared.targets)[:TARGETS_CAP],
                      "kubectl": prepared.kubectl(), "description": prepared.describe()}
            outcome = _execute(ctx, prepared, intent)
            if not outcome["ok"]:
                tally.failures += 1
                bad = [r for r in outcome["results"] if not r["ok"]]
                detail = outcome.get("error") or (f"{bad[0]['target']}: {bad[0]['message']}" if bad else "failed")
                if spec is None or spec.haltWhen is None or "error" in outcome:
                    return tally.summary(False, f"item {item.key}: {detail}")
        stats = tally.progress(number)
        if spec is None or number == len(groups):
            continue
        if (stop := tally.halted(stats) or tally.between(stats)) is not None:
            return stop
    if tally.failures:
        return tally.summary(False, f"{tally.failures} item(s) failed")
    return tally.summary(True, f"{tally.done()}/{total} done")


_Unit = TypeVar("_Unit", Bound, Each)


def _confirm_once(ctx: StepContext, asked: list[tuple[_Unit, ConfirmRequest]], *, of: int, skipped: list[str],
                  declined: dict[str, str]) -> list[_Unit]:
    """Every context with something to change, confirmed once (a plain action's or forEach's): all
    of them approved, or none, each then in ``declined`` with the responder's reason."""
    if not asked:
        return []
    ok, reason = _confirm_all(ctx, [r for _, r in asked], of=of, skipped=skipped)
    if not ok:
        declined.update({unit.context: reason for unit, _ in asked})
        return []
    return [unit for unit, _ in asked]


def _run_each(ctx: StepContext) -> None:
    step = ctx.step
    contexts = ctx.contexts()
    if not contexts:
        raise MitigateError(f"step {step.id} has no kube context: set `context:` or an input named context")
    results: dict[str, dict[str, Any]] = {}
    declined: dict[str, str] = {}
    asked: list[tuple[Each, ConfirmRequest]] = []
    for each in [bind_each(ctx, ctx.values, c) for c in contexts]:
        if not each.remaining:
            results[each.context] = _nothing_left(len(each.items), not each.items)
            if len(contexts) > 1:
                _skipped(ctx, each.context, results[each.context])
            continue
        asked.append((each, _each_request(ctx, each, _batch_size(step, ctx.values, len(each.remaining)))))
    approved = _confirm_once(ctx, asked, of=len(contexts), skipped=list(results), declined=declined)
    for each in approved:
        try:
            results[each.context] = _each_run_context(ctx, each)
        except MitigateError as exc:
            results[each.context] = {"ok": False, "message": str(exc)}
    _conclude(ctx, contexts, results, declined, ran=bool(approved) or not asked)


def _plan_each(ctx: StepContext, out: StepPlan) -> None:
    """The kubectl of every item, rendered from it; the cluster is only read (prepare)."""
    step, values = ctx.step, ctx.values
    out.contexts = ctx.contexts()
    scopes: list[str] = []
    for context in out.contexts:
        each = bind_each(ctx, values, context)
        todo = each.remaining or each.items
        prepared = [ctx.cluster.prepare(each.request(i, None)) for i in todo]
        for p in prepared:
            out.kubectl.extend(p.kubectl())
            out.targets.extend(p.targets)
        out.destructive = out.destructive or _each_destructive(each, prepared)
        out.protected = out.protected or ctx.protected(context)
        scopes.extend(check_scoped(each.verb, i.params, step.scope == "cluster") for i in todo[:3])
        out.notes.append(f"{context}: {each.verb} once per item, {len(each.items)} item(s)"
                         + (f": {', '.join(i.key for i in each.items[:5])}" if each.items else "")
                         + (" ..." if len(each.items) > 5 else ""))
        if step.batch is not None:
            out.notes.append(f"{context}: batches of {render(step.batch.size, values)} item(s), "
                             + _batch_note(step, values))
    verb = next(iter(step.action or {"action": {}}))
    out.description = f"{verb} once per forEach item"
    out.scope = "; ".join(dict.fromkeys(scopes))


class Action(StepKind):
    name = "action"
    undoable = True

    def run(self, ctx: StepContext) -> None:
        if ctx.step.forEach is not None:
            _run_each(ctx)
            return
        step, cluster = ctx.step, ctx.cluster
        contexts = ctx.contexts()
        if not contexts:
            raise MitigateError(f"step {step.id} has no kube context: set `context:` or an input named context")
        bounds = [bind(ctx, ctx.values, c) for c in contexts]
        results: dict[str, dict[str, Any]] = {}
        declined: dict[str, str] = {}
        asked: list[tuple[Bound, ConfirmRequest]] = []
        fan_out = len(contexts) > 1  # contexts with nothing to change are skipped, journaled, not asked about
        for bound in bounds:
            request = _context_request(ctx, bound, cluster, skip_empty=fan_out) if bound.batches else None
            if request is None:
                results[bound.context] = (_nothing_left(len([u for u in bound.items if u != WHOLE]), not bound.items)
                                          if not bound.batches else _nothing_left(0, True) | {
                                              "message": "nothing to change"})
                if fan_out:
                    _skipped(ctx, bound.context, results[bound.context])
                continue
            asked.append((bound, request))
        approved = _confirm_once(ctx, asked, of=len(contexts), skipped=list(results), declined=declined)

        def one(bound: Bound) -> dict[str, Any]:
            try:
                return _run_context(ctx, bound)
            except MitigateError as exc:
                return {"ok": False, "message": str(exc)}

        if len(approved) == 1:
            results[approved[0].context] = one(approved[0])
        elif approved:
            with ThreadPoolExecutor(max_workers=min(step.concurrency, len(approved))) as pool:
                for bound, summary in zip(approved, pool.map(one, approved), strict=True):
                    results[bound.context] = summary
        _conclude(ctx, contexts, results, declined, ran=bool(approved))

    def plan(self, ctx: StepContext, out: StepPlan) -> None:
        """kubectl, scope and targets via ClusterPort.prepare only: nothing is changed."""
        if ctx.step.forEach is not None:
            _plan_each(ctx, out)
            return
        step, cluster, values = ctx.step, ctx.cluster, ctx.values
        out.contexts = ctx.contexts()
        scopes, descriptions = [], []
        for context in out.contexts:
            bound = bind(ctx, values, context)
            if not bound.items:
                descriptions.append(f"{context}: nothing to do (empty target list)")
                continue
            units = bound.remaining or bound.items
            prepared = cluster.prepare(bound.request(units, None))
            rbac = preflight(cluster, context, prepared.permissions())
            out.notes.extend(rbac.notes)
            out.denied.extend(f"{context}: {d}" for d in rbac.denied)
            descriptions.append(prepared.describe())
            out.kubectl.extend(prepared.kubectl())
            out.targets.extend(prepared.targets)
            out.destructive = out.destructive or _destructive(step, prepared, bound)
            out.protected = out.protected or ctx.protected(context)
            scopes.append(f"{context}: {_scope(bound)}" if len(out.contexts) > 1 else _scope(bound))
            if step.batch is not None:
                out.notes.append(f"{context}: {len(bound.batches)} batch(es) of {render(step.batch.size, values)}, "
                                 + _batch_note(step, values))
        out.description = "; ".join(descriptions)
        out.scope = "; ".join(scopes)
        if step.undo == "none":
            out.notes.append("cannot be undone (undo: none)")

    def preview(self, ctx: StepContext) -> Preview:
        """Dry run of the first remaining batch on the first context, journaled as ``step.previewed``."""
        step = ctx.step
        contexts = ctx.contexts()
        if not contexts:
            raise MitigateError(f"step {step.id} has no kube context")
        if step.forEach is not None:
            each = bind_each(ctx, ctx.values, contexts[0])
            if not each.remaining:
                return Preview(diff="", warnings=["nothing to do"])
            first = ctx.cluster.prepare(each.request(each.remaining[0], None))
            shown = first.preview()
            ctx.record(Event.STEP_PREVIEWED, {"step": step.id, "context": each.context,
                                          **_shown(first.kubectl(), shown.diff),
                                          "targets": list(first.targets)[:TARGETS_CAP],
                                          "description": f"first item ({each.remaining[0].key}): "
                                                         + first.describe()})
            return shown
        bound = bind(ctx, ctx.values, contexts[0])
        if not bound.batches:
            return Preview(diff="", warnings=["nothing to do"])
        prepared = ctx.cluster.prepare(bound.request(bound.batches[0], None))
        result = prepared.preview()
        rbac = preflight(ctx.cluster, bound.context, prepared.permissions())
        result.warnings.extend(note for note in rbac.notes if rbac.denied or rbac.uncertain)
        ctx.record(Event.STEP_PREVIEWED, {"step": step.id, "context": bound.context,
                                      **_shown(prepared.kubectl(), result.diff),
                                      "targets": list(prepared.targets)[:TARGETS_CAP],
                                      "description": prepared.describe()})
        return result

    def recheck(self, ctx: StepContext) -> None:
        step, cluster = ctx.step, ctx.cluster
        applied = not_applied = 0
        for intent in list(ctx.snapshot().open_intents.values()):
            request = ActionRequest(context=str(intent["context"]), verb=str(intent["verb"]),
                                    params=dict(intent["params"]), step_id=step.id,
                                    cluster_scope=step.scope == "cluster", backup_dir=ctx.backups_dir)
            results = cluster.prepare(request).recheck()
            applied += sum(1 for r in results if r.applied)
            not_applied += sum(1 for r in results if not r.applied)
            ctx.record(Event.STEP_OUTCOME, {
                **outcome_base(intent), "ok": bool(results) and all(r.applied for r in results), "recheck": True,
                "results": [{"target": r.target, "ok": bool(r.applied), "applied": r.applied,
                             "message": r.message or ("already applied" if r.applied else "not applied")}
                            for r in results],
                "undo": [], "api_errors_absorbed": 0})
        try:
            values = ctx.template()
            remaining = sum(len(bind_each(ctx, values, c).remaining if step.forEach is not None
                                else bind(ctx, values, c).remaining) for c in ctx.contexts(values))
        except MitigateError:
            remaining = -1
        if remaining == 0:
            ctx.record(Event.STEP_SUCCEEDED, {"step": step.id, "result": {"rechecked": True, "applied": applied}})
        else:
            ctx.record(Event.STEP_FAILED, {"step": step.id, "error": (
                f"rechecked: {applied} target(s) already applied, {not_applied} not applied; "
                "nothing was re-executed: retry to run the rest")})

    def check_rollback(self, ctx: StepContext) -> None:
        _undo_requests(ctx)  # reads and checks every undo (backups, inverses, objects); sends nothing

    def rollback(self, ctx: StepContext) -> str | None:
        """Undo one step; None when done, else why it stopped."""
        step, cluster = ctx.step, ctx.cluster
        requests = _undo_requests(ctx)
        if not requests:
            return "no undo was reported for this step"
        contexts = list(dict.fromkeys(r.context for r in requests))
        for context in contexts:
            prepared = [cluster.prepare(r) for r in requests if r.context == context]
            request = ConfirmRequest(
                step_id=step.id, title=f"roll back {step.title or step.id}",
                description="; ".join(p.describe() for p in prepared),
                kubectl=tuple(line for p in prepared for line in p.kubectl()), context=context,
                scope=", ".join(sorted({t for p in prepared for t in p.targets}))[:300] or context,
                target_count=sum(len(p.targets) for p in prepared),
                destructive=any(p.destructive for p in prepared), protected=ctx.protected(context),
                kind="rollback")
            ok, reason = ctx.confirm(request)
            if not ok:
                return f"declined: {reason}"
            for index, action in enumerate(prepared, 1):
                if ctx.cancelled:
                    return "cancelled"
                outcome = _execute(ctx, action, {
                    "step": step.id, "attempt": ctx.attempt, "batch": index, "context": context, "rollback": True,
                    "verb": action.request.verb, "params": dict(action.request.params), "items": [WHOLE],
                    "targets": list(action.targets)[:TARGETS_CAP], "kubectl": action.kubectl(),
                    "description": action.describe()})
                if not outcome["ok"]:
                    bad = [r for r in outcome["results"] if not r["ok"]]
                    return str(outcome.get("error") or (f"{bad[0]['target']}: {bad[0]['message']}" if bad else "failed"))
        return None


KIND = Action()
