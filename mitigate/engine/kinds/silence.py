"""Silence steps: an Alertmanager silence for the incident window, as an action with an undo.

The order is the one cluster actions follow (mitigate.engine.kinds.action): render and check the
matchers, confirm (``ConfirmRequest`` kind ``silence``, the ``amtool`` equivalent in its command
lines), journal a write-ahead ``step.intent``, create, then ``step.outcome`` with the silence id
and its undo (expire). Every create carries a marker in its comment (incident, step, attempt).

Never a second silence blindly: a crash between intent and outcome, or a create that may have
reached Alertmanager without an answer, leaves the intent open and the step ``unknown``;
:meth:`Silence.recheck` then asks Alertmanager for a live silence carrying that intent's marker and
records what it finds, without creating anything. Rollback expires the silence, confirmed and
journaled like every undo.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from mitigate.engine.kind import StepContext, StepKind
from mitigate.engine.types import StepPlan, request_data
from mitigate.errors import MitigateError
from mitigate.events import WHOLE, Event, StepStatus, outcome_base
from mitigate.ports import (
    ActionRequest,
    ConfirmRequest,
    SilenceMatcher,
    SilenceRequest,
    SilenceResult,
    SilencerPort,
)
from mitigate.runbook.model import Step, matches_empty, parse_duration, parse_matcher
from mitigate.runbook.templating import render
from mitigate.timefmt import format_rfc3339

VERB = "silence"
UNDO_VERB = "expireSilence"
NO_SILENCER = ("no Alertmanager is configured for this session (add `alertmanager:` to the integrations "
               "config)")


@dataclass(frozen=True)
class Rendered:
    """A silence step's parameters after templating, checked."""

    alertmanager: str | None
    matchers: tuple[SilenceMatcher, ...]
    duration: str
    seconds: float
    comment: str


def render_spec(step: Step, ctx: Mapping[str, Any]) -> Rendered:
    """Render ``silence:`` and check what only shows once rendered. MitigateError naming the step."""
    spec = step.silence
    assert spec is not None
    where = f"step {step.id}: silence"
    name = None
    if spec.alertmanager is not None:
        name = str(render(spec.alertmanager, ctx)).strip() or None
    matchers = []
    for index, raw in enumerate(spec.matchers):
        text = render(raw, ctx)
        if not isinstance(text, str):
            raise MitigateError(f"{where}.matchers[{index}] must render to text such as name=value, "
                                f"got {type(text).__name__} {text!r}")
        try:
            label, op, value = parse_matcher(text)
        except ValueError as exc:
            raise MitigateError(f"{where}.matchers[{index}]: {exc}") from None
        matchers.append(SilenceMatcher(label, value, is_regex="~" in op, is_equal=op in ("=", "=~")))
    if all(matches_empty(m.operator, m.value) for m in matchers):
        raise MitigateError(f"{where}: every matcher also matches alerts without that label "
                            f"({', '.join(m.text() for m in matchers)}), so this would silence everything")
    duration = str(render(spec.duration, ctx)).strip()
    try:
        seconds = parse_duration(duration)
    except ValueError as exc:
        raise MitigateError(f"{where}.duration: {exc}") from None
    if seconds <= 0:
        raise MitigateError(f"{where}.duration must be longer than 0s, got {duration!r}")
    comment = str(render(spec.comment, ctx)).strip()
    if not comment:
        raise MitigateError(f"{where}.comment rendered to empty text: say why alerts are silenced")
    return Rendered(name, tuple(matchers), duration, seconds, comment)


def marker(ctx: StepContext, attempt: int) -> str:
    """Put in the silence's comment; recheck finds the silence of one intent by it."""
    return f"[mitigate {ctx.incident_id} step {ctx.step.id} attempt {attempt}]"


def _matcher_arg(m: SilenceMatcher) -> str:
    escaped = m.value.replace("\\", "\\\\").replace('"', '\\"')
    return shlex.quote(f'{m.name}{m.operator}"{escaped}"')


def amtool_add(url: str | None, request: SilenceRequest, duration: str) -> str:
    """The ``amtool silence add`` a responder would type for the same silence."""
    parts = ["amtool", "silence", "add"]
    if url:
        parts.append(shlex.quote(f"--alertmanager.url={url}"))
    parts += [shlex.quote(f"--duration={duration}"), shlex.quote(f"--author={request.created_by}"),
              shlex.quote(f"--comment={request.comment}"), *(_matcher_arg(m) for m in request.matchers)]
    return " ".join(parts)


def amtool_expire(url: str | None, silence_id: str) -> str:
    url_flag = f" {shlex.quote(f'--alertmanager.url={url}')}" if url else ""
    return f"amtool silence expire{url_flag} {shlex.quote(silence_id)}"


def _summary(request: SilenceRequest, duration: str) -> str:
    """What the confirmation shows below the command: the silence as Alertmanager will store it."""
    lines = [f"alertmanager: {request.alertmanager}", "matchers:"]
    lines += [f"  {m.text()}" for m in request.matchers]
    lines += [f"duration: {duration} (from {request.starts_at:%H:%M:%S} UTC if confirmed now, until "
              f"{request.ends_at:%H:%M:%S} UTC)", f"createdBy: {request.created_by}",
              f"comment: {request.comment}"]
    return "\n".join(lines)


def _silencer(ctx: StepContext) -> SilencerPort:
    silencer = ctx.ports.silencer
    if silencer is None:
        raise MitigateError(NO_SILENCER)
    if ctx.drill and not silencer.records_only:
        raise MitigateError("this incident is a drill and this session's silencer would reach a real "
                            "Alertmanager: drills only record silences")
    return silencer


def _request(ctx: StepContext, spec: Rendered, name: str, attempt: int) -> SilenceRequest:
    start = ctx.ports.clock.now()
    return SilenceRequest(alertmanager=name, matchers=spec.matchers, starts_at=start,
                          ends_at=start + timedelta(seconds=spec.seconds),
                          comment=f"{spec.comment} {marker(ctx, attempt)}", created_by=ctx.actor)


def _iso(request: SilenceRequest) -> tuple[str, str]:
    return format_rfc3339(request.starts_at), format_rfc3339(request.ends_at)


def _undo(step: Step, name: str, silence_id: str) -> dict[str, Any]:
    return request_data(ActionRequest(context="", verb=UNDO_VERB, step_id=step.id,
                                      params={"alertmanager": name, "silence_id": silence_id}))


def _outcome(intent: Mapping[str, Any], name: str, ids: list[str], ok: bool, message: str,
             **extra: Any) -> dict[str, Any]:
    data = outcome_base(intent)
    target = f"silence/{ids[0]}" if ids else f"alertmanager/{name}"
    return {**data, "ok": ok, "alertmanager": name, "silence_id": ids[0] if ids else None,
            "marker": intent.get("marker", ""),
            "results": [{"target": target, "ok": ok, "message": message, "backup": None}],
            "undo": [], "api_errors_absorbed": 0, **extra}


class Silence(StepKind):
    name = "silence"
    undoable = True

    def run(self, ctx: StepContext) -> None:
        """Confirm, then intent, create, outcome. A definite failure fails the step (retry makes a new
        attempt); an uncertain one leaves it ``unknown`` for :meth:`recheck`."""
        step, attempt = ctx.step, ctx.attempt
        silencer = _silencer(ctx)
        spec = render_spec(step, ctx.values)
        name, url = silencer.resolve(spec.alertmanager)
        shown = _request(ctx, spec, name, attempt)
        command = amtool_add(url, shown, spec.duration)
        description = (f"silence {', '.join(m.text() for m in spec.matchers)} on alertmanager {name} "
                       f"for {spec.duration}")
        approved, _ = ctx.confirm(ConfirmRequest(
            step_id=step.id, title=step.title or f"silence alerts on {name}", description=description,
            kubectl=(command,), context="", scope=f"alertmanager {name}: {len(spec.matchers)} matcher(s)",
            target_count=1, destructive=False, protected=False, diff=_summary(shown, spec.duration), kind="silence"))
        if not approved:
            return  # the step stays previewed; step.declined says why
        request = _request(ctx, spec, name, attempt)  # the window starts now, not at the prompt
        starts, ends = _iso(request)
        intent = {"step": step.id, "attempt": attempt, "batch": 1, "context": "", "verb": VERB,
                  "alertmanager": name, "marker": marker(ctx, attempt),
                  "params": {"alertmanager": name, "matchers": [m.text() for m in request.matchers],
                             "startsAt": starts, "endsAt": ends, "comment": request.comment,
                             "createdBy": request.created_by},
                  "items": [WHOLE], "targets": [f"alertmanager/{name}"],
                  "kubectl": [amtool_add(url, request, spec.duration)], "description": description}
        ctx.record(Event.STEP_INTENT, intent)
        try:
            result = silencer.create(request)
        except Exception as exc:  # noqa: BLE001 - an adapter bug: whether it was sent is not known
            result = SilenceResult(False, message=f"{type(exc).__name__}: {exc}", uncertain=True)
        if result.uncertain:
            ctx.record(Event.STEP_UNKNOWN, {"step": step.id, "error": (
                f"{result.message}: the silence may exist; recheck asks {name} for it (nothing is re-sent)")})
            return
        ids = [result.silence_id] if result.ok and result.silence_id else []
        outcome = _outcome(intent, name, ids, bool(ids), result.message)
        if ids:
            outcome["undo"] = [_undo(step, name, ids[0])]
        ctx.record(Event.STEP_OUTCOME, outcome)
        if ids:
            ctx.record(Event.STEP_SUCCEEDED, {"step": step.id, "result": {
                "ok": True, "value": ids[0], "silence_id": ids[0], "alertmanager": name, "endsAt": ends,
                "message": result.message}})
        else:
            ctx.record(Event.STEP_FAILED, {"step": step.id, "error": result.message or "the silence was not created"})

    def plan(self, ctx: StepContext, out: StepPlan) -> None:
        """What would be silenced, where, and the amtool equivalent. Sends nothing."""
        spec = render_spec(ctx.step, ctx.values)
        silencer = ctx.ports.silencer
        name, url = silencer.resolve(spec.alertmanager) if silencer is not None else (
            spec.alertmanager or "default", None)
        request = _request(ctx, spec, name, ctx.attempt)
        out.description = (f"silence {', '.join(m.text() for m in spec.matchers)} on alertmanager {name} "
                           f"for {spec.duration}")
        out.kubectl.append(amtool_add(url, request, spec.duration))
        out.scope = f"alertmanager {name}"
        out.targets.append(f"alertmanager/{name}")
        out.notes.append("rollback expires the silence")
        if silencer is None:
            out.notes.append(NO_SILENCER)

    def recheck(self, ctx: StepContext) -> None:
        """Resolve the open intents of an ``unknown`` silence step by asking Alertmanager; never create."""
        step = ctx.step
        silencer = _silencer(ctx)
        rec = ctx.snapshot()
        found: list[str] = []
        for intent in list(rec.open_intents.values()):
            name = str(intent.get("alertmanager") or intent.get("params", {}).get("alertmanager") or "")
            live = silencer.find(name, str(intent.get("marker", "")))
            if intent.get("rollback"):
                sid = str(intent.get("params", {}).get("silence_id", ""))
                expired = sid not in live
                ctx.record(Event.STEP_OUTCOME, _outcome(
                    intent, name, [sid], expired, "expired" if expired else "still active", recheck=True))
                if expired:
                    ctx.record(Event.ROLLBACK_STEP, {"step": step.id, "ok": True,
                                                      "message": f"rechecked: silence {sid} is expired"})
                continue
            outcome = _outcome(intent, name, live, bool(live), (
                f"found {len(live)} silence(s) carrying {intent.get('marker')}" if live else
                "no live silence carries this step's marker: it was not created"), recheck=True)
            outcome["undo"] = [_undo(step, name, sid) for sid in live]
            ctx.record(Event.STEP_OUTCOME, outcome)
            found += live
        rec = ctx.snapshot()  # after the outcomes (and rollback.step) just journaled
        if rec.status == StepStatus.ROLLED_BACK:
            return
        if found:
            ctx.record(Event.STEP_SUCCEEDED, {"step": step.id, "result": {
                "ok": True, "value": found[0], "silence_id": found[0], "silence_ids": found, "rechecked": True}})
        elif rec.done:
            ctx.record(Event.STEP_SUCCEEDED, {"step": step.id, "result": {"ok": True, "rechecked": True}})
        else:
            ctx.record(Event.STEP_FAILED, {"step": step.id, "error": (
                "rechecked: no silence was created; nothing was re-sent: retry to create it")})

    def rollback(self, ctx: StepContext) -> str | None:
        """Expire the step's silence(s), confirmed and journaled; None when done, else why it stopped."""
        step = ctx.step
        rec = ctx.snapshot()
        undos = [d for group in reversed(rec.undo) for d in group if d.get("verb") == UNDO_VERB]
        if not undos:
            return "no silence was recorded for this step"
        silencer = _silencer(ctx)
        targets = [(str(d["params"]["alertmanager"]), str(d["params"]["silence_id"])) for d in undos]
        urls = {name: silencer.resolve(name)[1] for name, _ in targets}
        lines = tuple(amtool_expire(urls[name], sid) for name, sid in targets)
        markers = {str(o["silence_id"]): str(o.get("marker") or "") for o in rec.outcomes if o.get("silence_id")}
        ok, reason = ctx.confirm(ConfirmRequest(
            step_id=step.id, title=f"roll back {step.title or step.id}",
            description="; ".join(f"expire silence {sid} on alertmanager {name}" for name, sid in targets),
            kubectl=lines, context="", scope=", ".join(sorted({f"alertmanager {n}" for n, _ in targets})),
            target_count=len(targets), destructive=False, protected=False, kind="rollback"))
        if not ok:
            return f"declined: {reason}"
        for index, ((name, sid), line) in enumerate(zip(targets, lines, strict=True), 1):
            if ctx.cancelled:
                return "cancelled"
            intent = {"step": step.id, "attempt": rec.attempts, "batch": index, "context": "", "rollback": True,
                      "verb": UNDO_VERB, "alertmanager": name, "params": {"alertmanager": name, "silence_id": sid},
                      "marker": markers.get(sid, ""),
                      "items": [WHOLE], "targets": [f"silence/{sid}"], "kubectl": [line],
                      "description": f"expire silence {sid} on alertmanager {name}"}
            ctx.record(Event.STEP_INTENT, intent)
            try:
                result = silencer.expire(name, sid)
            except Exception as exc:  # noqa: BLE001 - expiring is idempotent: record and stop, retry later
                result = SilenceResult(False, sid, f"{type(exc).__name__}: {exc}")
            ctx.record(Event.STEP_OUTCOME, _outcome(intent, name, [sid], result.ok, result.message))
            if not result.ok:
                return result.message or f"silence {sid} was not expired"
        return None


KIND = Silence()
