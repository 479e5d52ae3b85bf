"""``http`` and ``command`` steps: changes outside Kubernetes, under the rules cluster actions follow.

Order (as for actions, mitigate.engine.actions): render, show the exact request (the ``curl``
line with credentials masked, or the argv with the resolved program), confirm, journal the
write-ahead ``step.intent``, send or run once, journal ``step.outcome`` (status or exit code,
the start of the body or output, redacted) with the undo the step declares. Each step acts
*for* a kube context (``context:`` or the runbook's context input): its protection applies, so
``--auto-approve`` refuses it on a protected context exactly like a cluster mutation.

A program runs from an argv list, never through a shell. A credential is named (``auth:
{secret: NAME}``), read by the port from the keyring and never rendered, shown or journaled.
An HTTP call that may have arrived without an answer leaves the step ``unknown``: nothing is
re-sent; recheck cannot ask a foreign API whether it happened, so it says so and the responder
decides (skip with a reason, or retry). In a drill the ports only record.

With ``forEach``, every item is rendered separately (``item`` in every field) and is one unit
with its own intent and outcome; ``batch`` groups units between pauses and health gates.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mitigate.engine import foreach
from mitigate.engine.backups import load_undo, save_undo
from mitigate.engine.checks import run_wait
from mitigate.engine.kind import StepContext, StepKind, poll_recorder
from mitigate.engine.state import WHOLE, StepStatus
from mitigate.engine.types import StepPlan
from mitigate.errors import MitigateError
from mitigate.events import Event, outcome_base
from mitigate.ports import (
    CommandCall,
    CommandPort,
    CommandReply,
    ConfirmRequest,
    HttpCall,
    HttpPort,
    HttpReply,
)
from mitigate.runbook.model import CommandRun, HttpRequestSpec, HttpSpec, Step, parse_duration
from mitigate.runbook.templating import evaluate, render

KINDS = ("http", "command")
BODY_KEPT = 4096


# --------------------------------------------------------------------------- rendering


@dataclass(frozen=True)
class Unit:
    """One rendered call of a step (the whole step, or one forEach item)."""

    key: str
    line: str  # the curl line or the argv as a shell-quoted line (what the responder reads)
    http: HttpCall | None = None
    command: CommandCall | None = None
    undo: dict[str, Any] | None = None  # rendered undo (http: HttpCall fields, command: CommandCall fields)
    undo_line: str = ""


def _text(value: Any, where: str) -> str:
    if isinstance(value, (dict, list)) or value is None:
        raise MitigateError(f"{where} must render to text, got {type(value).__name__} {value!r}")
    return str(value)


def _http_call(spec: HttpRequestSpec, ctx: Mapping[str, Any], where: str, timeout: float) -> HttpCall:
    url = _text(render(spec.url, ctx), f"{where}.url").strip()
    if not url.startswith(("http://", "https://")) or any(c.isspace() for c in url):
        raise MitigateError(f"{where}.url rendered to {url!r}, not an http(s) URL")
    headers = tuple((str(k), _text(render(v, ctx), f"{where}.headers.{k}")) for k, v in spec.headers.items())
    for name, _ in headers:
        if name.lower() in ("authorization", "proxy-authorization", "cookie"):
            raise MitigateError(f"{where}.headers: {name} would carry a credential: use auth: {{secret: NAME}}")
    body = render(spec.json_body, ctx) if spec.json_body is not None else None
    auth = spec.auth
    return HttpCall(method=spec.method, url=url, headers=headers, json=body,
                    auth_secret=auth.secret if auth else None, auth_scheme=auth.scheme if auth else None,
                    auth_header=auth.header if auth else "Authorization", timeout=timeout)


def curl(call: HttpCall) -> str:
    """The ``curl`` a responder could run for the same request; the credential is never in it."""
    parts = ["curl", "-sS", "-X", call.method, call.url]
    if call.auth_secret:
        value = f"<secret {call.auth_secret}>"
        parts += ["-H", f"{call.auth_header}: {call.auth_scheme} {value}" if call.auth_scheme
                  else f"{call.auth_header}: {value}"]
    for name, value in call.headers:
        parts += ["-H", f"{name}: {value}"]
    if call.json is not None:
        parts += ["-H", "Content-Type: application/json", "--data-raw",
                  json.dumps(call.json, separators=(",", ":"), sort_keys=True)]
    return " ".join(shlex.quote(p) for p in parts)


def _command_call(spec: CommandRun, ctx: Mapping[str, Any], where: str, timeout: float) -> CommandCall:
    argv = tuple(_text(render(a, ctx), f"{where}.argv[{i}]") for i, a in enumerate(spec.argv))
    if not argv[0].strip():
        raise MitigateError(f"{where}.argv[0] rendered to empty text: name the program to run")
    cwd = _text(render(spec.cwd, ctx), f"{where}.cwd") if spec.cwd is not None else None
    env = tuple((k, _text(render(v, ctx), f"{where}.env.{k}")) for k, v in spec.env.items())
    return CommandCall(argv=argv, cwd=cwd, env=env, timeout=timeout)


def argv_line(call: CommandCall, program: str | None = None) -> str:
    """The exact command as one shell-quoted line (with the resolved program when known)."""
    env = [f"{k}={v}" for k, v in call.env]
    prefix = ["env", *env] if env else []
    cd = f"cd {shlex.quote(call.cwd)} && " if call.cwd else ""
    return cd + shlex.join([*prefix, program or call.argv[0], *call.argv[1:]])


def _seconds(text: str, ctx: Mapping[str, Any], where: str) -> float:
    try:
        return parse_duration(str(render(text, ctx)))
    except ValueError as exc:
        raise MitigateError(f"{where}: {exc}") from None


def _units(sc: StepContext, ctx: Mapping[str, Any]) -> list[Unit]:
    """Every call of the step, rendered (one per forEach item). Raises MitigateError."""
    step = sc.step
    pairs = foreach.items(step, ctx) if step.forEach is not None else [(WHOLE, None)]
    out = []
    for key, item in pairs:
        ictx = foreach.item_context(ctx, item) if step.forEach is not None else ctx
        out.append(_unit(sc, step, ictx, key))
    return out


def _unit(sc: StepContext, step: Step, ctx: Mapping[str, Any], key: str) -> Unit:
    where = f"step {step.id}: {step.kind}" + (f" (item {key})" if key != WHOLE else "")
    if step.http is not None:
        spec: HttpSpec = step.http
        timeout = _seconds(spec.timeout, ctx, f"{where}.timeout")
        call = _http_call(spec, ctx, where, timeout)
        undo = None
        if spec.undo is not None:
            # rendered now, for the preview; rendered again after the call, with `response` in scope
            try:
                undo_call: HttpCall | None = _http_call(spec.undo, {**ctx, "response": {}}, f"{where}.undo", timeout)
            except MitigateError:
                undo_call = None  # it needs the response: shown once the call answered
            undo = _http_data(undo_call) if undo_call else None
        return Unit(key, curl(call), http=call, undo=undo,
                    undo_line=curl(undo_call) if spec.undo is not None and undo_call else
                    ("(rendered from the response)" if spec.undo is not None else ""))
    assert step.command is not None
    cmd = step.command
    timeout = _seconds(cmd.timeout, ctx, f"{where}.timeout")
    ccall = _command_call(cmd, ctx, where, timeout)
    port = sc.ports.commands
    program = port.resolve(ccall.argv[0]) if port is not None else None
    cundo = _command_call(cmd.undo, ctx, f"{where}.undo", timeout) if cmd.undo is not None else None
    return Unit(key, argv_line(ccall, program), command=ccall, undo=_command_data(cundo) if cundo else None,
                undo_line=argv_line(cundo) if cundo else "")


def _http_data(call: HttpCall) -> dict[str, Any]:
    # key names the journal's redaction reads as references, not secrets (a name is not a value)
    return {"method": call.method, "url": call.url, "headers": [list(h) for h in call.headers], "json": call.json,
            "secret_name": call.auth_secret, "scheme": call.auth_scheme, "header_name": call.auth_header,
            "timeout": call.timeout}


def _http_from(data: Mapping[str, Any]) -> HttpCall:
    return HttpCall(method=str(data["method"]), url=str(data["url"]),
                    headers=tuple((str(k), str(v)) for k, v in data.get("headers") or []), json=data.get("json"),
                    auth_secret=data.get("secret_name"), auth_scheme=data.get("scheme"),
                    auth_header=str(data.get("header_name") or "Authorization"),
                    timeout=float(data.get("timeout") or 30))


def _command_data(call: CommandCall) -> dict[str, Any]:
    return {"argv": list(call.argv), "cwd": call.cwd, "env": [list(e) for e in call.env], "timeout": call.timeout}


def _command_from(data: Mapping[str, Any]) -> CommandCall:
    return CommandCall(argv=tuple(str(a) for a in data["argv"]), cwd=data.get("cwd"),
                       env=tuple((str(k), str(v)) for k, v in data.get("env") or []),
                       timeout=float(data.get("timeout") or 300))


# --------------------------------------------------------------------------- ports and protection


def _context(sc: StepContext, step: Step, ctx: Mapping[str, Any]) -> str:
    contexts = sc.contexts(ctx)
    if not contexts:
        raise MitigateError(f"step {step.id}: a {step.kind} step acts for a kube context (set `context:` or "
                            "give the runbook a context input), so that context's protection applies")
    if len(contexts) > 1:
        raise MitigateError(f"step {step.id}: a {step.kind} step acts for one context, not a fan-out "
                            f"({', '.join(contexts)}): use forEach over the contexts")
    return contexts[0]


def _http_port(sc: StepContext) -> HttpPort:
    port = sc.ports.http
    if port is None:
        raise MitigateError("this session makes no HTTP calls (no http port wired)")
    if sc.drill and not port.records_only:
        raise MitigateError("this incident is a drill and its http port would reach a real API: drills only record")
    return port


def _command_port(sc: StepContext) -> CommandPort:
    port = sc.ports.commands
    if port is None:
        raise MitigateError("this session runs no local programs (no command port wired)")
    if sc.drill and not port.records_only:
        raise MitigateError("this incident is a drill and its command port would run real programs: "
                            "drills only record")
    return port


def _destructive(step: Step) -> bool:
    if step.destructive is not None:
        return step.destructive
    if step.http is not None:
        return step.http.method == "DELETE"
    return True  # a local program can do anything


# --------------------------------------------------------------------------- run


def run(sc: StepContext) -> None:
    """Confirm every remaining unit once, then intent, call, outcome per unit, in batches."""
    step, ctx, cancel = sc.step, sc.values, sc.cancel
    context = _context(sc, step, ctx)
    if step.http is not None:
        _http_port(sc)
    else:
        _command_port(sc)
    units = _units(sc, ctx)
    done = sc.done_units(context)
    remaining = [u for u in units if u.key not in done]
    if not remaining:
        sc.record(Event.STEP_SUCCEEDED, {"step": step.id, "result": {
            "ok": True, "message": "nothing to do" if not units else "already done"}})
        return
    scope = (f"{step.http.method} {_host(remaining[0].http.url)}" if step.http is not None and remaining[0].http
             else f"local program {remaining[0].command.argv[0]}" if remaining[0].command else "")
    undo_lines = [u.undo_line for u in remaining if u.undo_line]
    approved, _ = sc.confirm(ConfirmRequest(
        step_id=step.id, title=step.title or step.id,
        description=f"{step.kind}: {len(remaining)} call(s) for context {context}",
        kubectl=tuple(u.line for u in remaining), context=context, scope=scope, target_count=len(remaining),
        destructive=_destructive(step), protected=sc.protected(context),
        diff=("undo:\n" + "\n".join(undo_lines)) if undo_lines else "no undo declared",
        kind="http" if step.http is not None else "command"))
    if not approved:
        return  # the step stays previewed; step.declined says why
    index = {u.key: i for i, u in enumerate(units, 1)}
    size = int(render(step.batch.size, ctx)) if step.batch is not None else len(remaining)
    batches = [remaining[i:i + max(size, 1)] for i in range(0, len(remaining), max(size, 1))]
    failures = 0
    for number, group in enumerate(batches, 1):
        for unit in group:
            if cancel is not None and cancel.is_set():
                sc.record(Event.STEP_FAILED, {"step": step.id, "error": "cancelled"})
                return
            outcome = _once(sc, step, unit, context, sc.attempt, index[unit.key], ctx)
            if outcome is None:
                return  # unknown: recheck decides
            if not outcome["ok"]:
                failures += 1
                if step.batch is None or step.batch.haltWhen is None:
                    sc.record(Event.STEP_FAILED, {"step": step.id, "error": f"{unit.key if unit.key != WHOLE else step.kind}: "
                                                                             f"{outcome['results'][0]['message']}"})
                    return
        if step.batch is None or number == len(batches):
            continue
        stats = {"batch": number, "batches": len(batches), "failures": failures,
                 "done": len(sc.done_units(context) & set(index)), "total": len(units)}
        sc.record(Event.BATCH_PROGRESS, {"step": step.id, "context": context, **stats})
        if step.batch.haltWhen is not None and evaluate(step.batch.haltWhen, {**ctx, **stats}):
            sc.record(Event.STEP_FAILED, {"step": step.id, "error": f"halted after batch {number}/{len(batches)}: "
                                                                       f"{step.batch.haltWhen}"})
            return
        if not sc.ports.clock.sleep(_seconds(step.batch.pause, ctx, f"step {step.id}: batch.pause"), cancel):
            sc.record(Event.STEP_FAILED, {"step": step.id, "error": "cancelled"})
            return
        if step.batch.gate is not None:
            values = {**ctx, "context": context, "batch": stats}
            watch = poll_recorder(sc, step.batch.gate.until, str(render(step.batch.gate.timeout, values)),
                                  context=context, batch=number)
            gate = run_wait(step.batch.gate, values, cluster=sc.ports.cluster, probes=sc.ports.probes,
                            contexts=[context], clock=sc.ports.clock, cancel=cancel, on_poll=watch)
            if not gate.ok:
                sc.record(Event.STEP_FAILED, {"step": step.id, "error": (
                    f"health gate closed after batch {number}/{len(batches)}: {gate.message}")})
                return
    if failures:
        sc.record(Event.STEP_FAILED, {"step": step.id, "error": f"{failures} call(s) failed"})
        return
    sc.record(Event.STEP_SUCCEEDED, {"step": step.id, "result": {"ok": True, "done": len(units)}})


def _host(url: str) -> str:
    rest = url.split("://", 1)[-1]
    return rest.split("/", 1)[0]


def _once(sc: StepContext, step: Step, unit: Unit, context: str, attempt: int, number: int,
          ctx: Mapping[str, Any]) -> dict[str, Any] | None:
    """Intent, call, outcome for one unit. None when the outcome is unknown (step.unknown journaled)."""
    intent: dict[str, Any] = {"step": step.id, "attempt": attempt, "batch": number, "context": context,
              "verb": step.kind,
              "params": _http_data(unit.http) if unit.http else _command_data(unit.command) if unit.command else {},
              "items": [unit.key], "targets": [unit.key if unit.key != WHOLE else step.kind],
              "kubectl": [unit.line], "description": unit.line}
    sc.record(Event.STEP_INTENT, intent)
    base = outcome_base(intent)
    target = intent["targets"][0]
    if unit.http is not None:
        port = _http_port(sc)
        if port.records_only:
            reply = HttpReply(None, error="drill: recorded, not sent")
        else:
            try:
                reply = port.send(unit.http)
            except MitigateError as exc:  # e.g. the secret is missing: nothing was sent
                reply = HttpReply(None, error=str(exc))
            except Exception as exc:  # noqa: BLE001 - an adapter bug: whether it was sent is not known
                reply = HttpReply(None, error=f"{type(exc).__name__}: {exc}", uncertain=True)
        if reply.uncertain:
            sc.record(Event.STEP_UNKNOWN, {"step": step.id, "error": (
                f"{reply.error}: the request may have reached {_host(unit.http.url)}; nothing is re-sent "
                "(check the remote side, then skip with a reason or retry)")})
            return None
        assert step.http is not None
        drill = port.records_only
        ok = drill or (reply.status is not None and reply.status in step.http.expectStatus)
        message = reply.error or f"HTTP {reply.status}" + ("" if ok else f" (expected {step.http.expectStatus})")
        undo = _http_undo(step, unit, reply, ctx) if ok else []
        outcome = {**base, "ok": ok, "status": reply.status, "body": reply.body[:BODY_KEPT],
                   "results": [{"target": target, "ok": ok, "message": message, "backup": None}],
                   "undo": undo, "api_errors_absorbed": 0}
    else:
        assert unit.command is not None and step.command is not None
        cport = _command_port(sc)
        if cport.records_only:
            creply = CommandReply(None, error="drill: recorded, not run", program=unit.command.argv[0])
        else:
            try:
                creply = cport.run(unit.command)
            except Exception as exc:  # noqa: BLE001 - an adapter bug: record and halt
                creply = CommandReply(None, error=f"{type(exc).__name__}: {exc}")
        ok = cport.records_only or (creply.exit_code is not None and creply.exit_code in step.command.expectExit)
        message = creply.error or f"exit {creply.exit_code}" + ("" if ok else f" (expected {step.command.expectExit})")
        outcome = {**base, "ok": ok, "exit_code": creply.exit_code, "program": creply.program,
                   "output": creply.output,
                   "results": [{"target": target, "ok": ok, "message": message, "backup": None}],
                   "undo": [{"verb": "command", "context": context, "params": unit.undo}] if ok and unit.undo else [],
                   "api_errors_absorbed": 0}
    if outcome["undo"]:  # the full undo, unredacted, beside the journal (as actions keep theirs)
        outcome["undo_backup"] = save_undo(sc.backups_dir, step.id, outcome["undo"])
    sc.record(Event.STEP_OUTCOME, outcome)
    return outcome


def _http_undo(step: Step, unit: Unit, reply: HttpReply, ctx: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The declared undo rendered with the call's response in scope (``response.status``,
    ``response.json``), e.g. to delete the object the call created by its id."""
    assert step.http is not None
    if step.http.undo is None:
        return []
    try:
        body = json.loads(reply.body) if reply.body else None
    except ValueError:
        body = None
    response = {"status": reply.status, "json": body, "text": reply.body}
    call = _http_call(step.http.undo, {**ctx, "response": response}, f"step {step.id}: http.undo", unit.http.timeout
                      if unit.http else 30.0)
    return [{"verb": "http", "context": "", "params": _http_data(call)}]


# --------------------------------------------------------------------------- plan


def describe(sc: StepContext, out: StepPlan) -> None:
    """``plan()``: the rendered request(s) and their undo; sends and runs nothing."""
    step, ctx = sc.step, sc.values
    out.contexts = [_context(sc, step, ctx)]
    units = _units(sc, ctx)
    out.kubectl.extend(u.line for u in units)
    out.targets.extend(u.key for u in units if u.key != WHOLE)
    out.destructive = _destructive(step)
    out.protected = sc.protected(out.contexts[0])
    if step.http is not None:
        hosts = sorted({_host(u.http.url) for u in units if u.http})
        out.description = f"{step.http.method} " + (units[0].http.url if len(units) == 1 and units[0].http
                                                     else f"{len(units)} request(s) to {', '.join(hosts)}")
        out.scope = f"{step.http.method} {', '.join(hosts)}"
    elif step.command is not None:
        out.description = f"run {units[0].line}" if len(units) == 1 else f"run {len(units)} command(s)"
        out.scope = f"local program {step.command.argv[0]}"
    if step.forEach is not None:
        out.notes.append(f"once per item: {len(units)} item(s)")
    undo = [u.undo_line for u in units if u.undo_line]
    out.notes.append("undo: " + "; ".join(undo[:3]) if undo else "no undo declared")
    if out.protected:
        out.notes.append("protected context: --auto-approve refuses this step")


# --------------------------------------------------------------------------- recheck and rollback


def recheck(sc: StepContext) -> None:
    """An ``unknown`` http/command step: a foreign system cannot be asked, so nothing is re-sent and
    the open intents are recorded as not verifiable; the responder decides (skip or retry)."""
    step, rec = sc.step, sc.snapshot()
    for intent in list(rec.open_intents.values()):
        sc.record(Event.STEP_OUTCOME, {**outcome_base(intent), "ok": False, "recheck": True, "results": [
            {"target": (intent.get("targets") or [step.kind])[0], "ok": False, "applied": None,
             "message": "cannot be verified from here: check the remote system"}], "undo": [],
            "api_errors_absorbed": 0})
    if rec.status != StepStatus.ROLLED_BACK:
        sc.record(Event.STEP_FAILED, {"step": step.id, "error": (
            f"rechecked: whether the {step.kind} call took effect cannot be verified from here; nothing was "
            "re-sent: check the remote side, then skip with a reason or retry")})


def rollback_step(sc: StepContext) -> str | None:
    """Run the recorded undo calls, most recent first, confirmed once; None when done."""
    step, rec, cancel = sc.step, sc.snapshot(), sc.cancel
    undos: list[dict[str, Any]] = []
    for index in reversed(range(len(rec.undo))):
        ref = rec.undo_refs[index] if index < len(rec.undo_refs) else None
        group = load_undo(sc.backups_dir, ref, f"undo of step {step.id}") if ref else rec.undo[index]
        for data in group:
            if data.get("verb") != step.kind:  # a journaled undo is data: only this step's own kind runs
                raise MitigateError(f"refusing an undo {data.get('verb')!r} for a {step.kind} step")
            undos.append(data)
    if not undos:
        return f"this {step.kind} step declared no undo"
    context = next((str(o.get("context")) for o in rec.outcomes if o.get("context")), "")
    lines = [curl(_http_from(d["params"])) if d["verb"] == "http" else argv_line(_command_from(d["params"]))
             for d in undos]
    ok, reason = sc.confirm(ConfirmRequest(
        step_id=step.id, title=f"roll back {step.title or step.id}", description=f"{len(undos)} undo call(s)",
        kubectl=tuple(lines), context=context, scope=f"{step.kind} undo", target_count=len(undos),
        destructive=_destructive(step), protected=sc.protected(context) if context else False,
        kind="rollback"))
    if not ok:
        return f"declined: {reason}"
    for number, (undo, line) in enumerate(zip(undos, lines, strict=True), 1):
        if cancel is not None and cancel.is_set():
            return "cancelled"
        intent: dict[str, Any] = {"step": step.id, "attempt": rec.attempts, "batch": number, "context": context,
                                  "rollback": True,
                  "verb": undo["verb"], "params": undo["params"], "items": [WHOLE], "targets": [undo["verb"]],
                  "kubectl": [line], "description": line}
        sc.record(Event.STEP_INTENT, intent)
        base = outcome_base(intent)
        if undo["verb"] == "http":
            port = _http_port(sc)
            reply = HttpReply(None, error="drill: recorded, not sent") if port.records_only else \
                port.send(_http_from(undo["params"]))
            good = port.records_only or (reply.status is not None and 200 <= reply.status < 300)
            message = reply.error or f"HTTP {reply.status}"
        else:
            cport = _command_port(sc)
            creply = CommandReply(None, error="drill: recorded, not run") if cport.records_only else \
                cport.run(_command_from(undo["params"]))
            good = cport.records_only or creply.exit_code == 0
            message = creply.error or f"exit {creply.exit_code}"
        sc.record(Event.STEP_OUTCOME, {**base, "ok": good, "results": [
            {"target": undo["verb"], "ok": good, "message": message, "backup": None}], "undo": [],
            "api_errors_absorbed": 0})
        if not good:
            return f"undo {number}: {message}"
    return None


# --------------------------------------------------------------------------- the kinds


class OutboundKind(StepKind):
    """What ``http`` and ``command`` steps are as step kinds: everything above, by the step's
    own spec. Each kind module subclasses this and only names itself."""

    undoable = True

    def run(self, ctx: StepContext) -> None:
        run(ctx)

    def plan(self, ctx: StepContext, out: StepPlan) -> None:
        describe(ctx, out)

    def recheck(self, ctx: StepContext) -> None:
        recheck(ctx)

    def rollback(self, ctx: StepContext) -> str | None:
        return rollback_step(ctx)
