"""The live timeline's rows: journal records folded as the postmortem's timeline folds them.

One row per run of a step, written when it starts and rewritten as its records arrive
(running, waiting for confirmation, the check's finding, targets done) until its outcome;
the engine's bookkeeping (intents, outcomes, previews, preflights, confirmations) never
has a row of its own: it is said in words in its step's row, or in one line (who acts on
a context, what the RBAC preflight found). Times are the record's, ``HH:MM:SS`` UTC; a
backdated note or milestone says when it happened, short, and how it was typed.

Pure Python, no Textual (``tests/tui/test_timeline_rows.py``): the Timeline widget draws
what :meth:`TimelineRows.fold` returns. The wording follows ``mitigate.postmortem.build``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mitigate.events import Event

RUNNING, OK, FAILED, WARN, SKIPPED, UNDONE, INFO = "running", "ok", "failed", "warn", "skipped", "undone", "info"
ICONS = {RUNNING: "▶", OK: "✔", FAILED: "✘", WARN: "⚠", SKIPPED: "↷", UNDONE: "↺", INFO: ""}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]")
_UTC_NAMES = frozenset({"utc", "z", "gmt", "+00:00", "etc/utc"})


@dataclass(frozen=True)
class Row:
    """One timeline row: when (``HH:MM:SS``), its state (an icon and a colour) and its words."""

    time: str
    state: str
    text: str
    kind: str = ""  # the record type that made the row (a style for the other rows)


_PENDING = Row("", RUNNING, "")  # fold_many's placeholder for a row built at the end of the burst


@dataclass
class _Run:
    """The records of one run of one step so far."""

    key: tuple[str, ...]
    step: str
    kind: str
    time: str
    details: dict[str, str] = field(default_factory=dict)  # ordered: what the row says besides its outcome
    verb: str = ""
    skipped: list[str] = field(default_factory=list)  # contexts of a fan-out with nothing to change
    ok: int = 0
    targets: int = 0

    def row(self, state: str, outcome: str) -> Row:
        kind = f" {self.kind}" if self.kind else ""
        words = "; ".join([*(d for d in self.details.values() if d), *([outcome] if outcome else [])])
        return Row(self.time, state, f"{self.step}{kind}: {words}" if words else f"{self.step}{kind}")


def hms(ts: str) -> str:
    """``2026-05-04T14:05:09.123Z`` -> ``14:05:09``."""
    return ts[11:19] if len(ts) >= 19 else ts


def _day(ts: str) -> str:
    """``2026-05-04T11:50:00Z`` -> ``4 May`` (another day than the row's: said, unambiguously)."""
    try:
        return datetime.fromisoformat(ts[:10]).strftime("%-d %b")
    except ValueError:
        return ts[:10]


def when(data: Mapping[str, Any], recorded: str) -> str:
    """How a backdated note or milestone says when it happened: `` · at 11:50:00 UTC (13:50 Europe/Paris)``."""
    at = str(data.get("at") or "")
    if not at:
        return ""
    shown = hms(at) if at[:10] == recorded[:10] else f"{_day(at)} {hms(at)}"
    text = f" · at {shown} UTC"
    decl = data.get("declared")
    if isinstance(decl, Mapping):
        zone = str(decl.get("tz") or decl.get("zone") or "")
        typed = _DATE.sub("", str(decl.get("text") or "")).strip()
        if zone and zone.lower() not in _UTC_NAMES and typed:
            text += f" ({typed} {zone})"
        if decl.get("mismatch"):
            text += f" ⚠ {decl.get('note') or 'the zone does not fit the date'}"
    return text


def _check(data: Mapping[str, Any]) -> str:
    state = "as expected" if data.get("ok") else "NOT as expected"
    share = (f"{data.get('count')} of {data.get('listed')} {data.get('kind') or 'object(s)'}" if data.get("listed")
             else f"{data.get('count')} item(s)")
    polls = data.get("polls")
    extra = f", {polls} polls" if isinstance(polls, int) and polls > 1 else ""
    message = str(data.get("message") or "")
    return f"{state}, {share}{extra}" + (f" ({message})" if message else "")


class TimelineRows:
    """Folds records into rows; :meth:`fold` says which row to add or rewrite for each record."""

    def __init__(self, *, drill: bool = False) -> None:
        self.drill = drill
        self._runs: dict[str, _Run] = {}  # step -> its open run
        self._count = 0
        self._lazy: dict[tuple[str, ...], _Run] | None = None  # in fold_many: runs whose row is built at the end

    def _key(self) -> tuple[str, ...]:
        self._count += 1
        return ("row", str(self._count))

    def fold(self, ts: str, rtype: str, data: Mapping[str, Any]) -> tuple[tuple[str, ...], Row] | None:
        """The row ``(key, row)`` this record adds (a new key) or rewrites (a key seen before), or None."""
        step = str(data.get("step") or "")
        run = self._runs.get(step) if step else None
        if rtype == Event.STEP_STARTED:
            attempt = data.get("attempt") or 1
            run = self._runs[step] = _Run(("step", step, str(attempt)), step, str(data.get("kind") or ""), hms(ts))
            if isinstance(attempt, int) and attempt > 1:
                run.details["attempt"] = f"attempt {attempt}"
            return run.key, run.row(RUNNING, "running")
        if run is not None:
            folded = self._in_run(run, rtype, data)
            if folded is not None:
                return folded
        row = self._own_row(ts, rtype, data, step)
        return None if row is None else (self._key(), row)

    # ------------------------------------------------------------------ a step's records

    def _in_run(self, run: _Run, rtype: str, data: Mapping[str, Any]) -> tuple[tuple[str, ...], Row] | None:
        """A record of the step's open run: its row rewritten (None: the record has a row of its own)."""
        if data.get("rollback"):  # an undo's records belong to the rollback's rows
            return None
        ends = {Event.STEP_SUCCEEDED: OK, Event.STEP_FAILED: FAILED, Event.STEP_SKIPPED: SKIPPED,
                Event.STEP_UNKNOWN: WARN}
        if rtype in ends:
            del self._runs[run.step]
            reason = str(data.get("error") or data.get("reason") or "")
            state = ends[Event(rtype)]
            if rtype == Event.STEP_SUCCEEDED:
                outcome = f"done with a warning: {reason}" if reason else "succeeded"
                state = WARN if reason else OK
            elif rtype == Event.STEP_FAILED:
                outcome = f"FAILED: {reason}"
            elif rtype == Event.STEP_SKIPPED:
                outcome = f"skipped: {reason}"
            else:
                outcome = "outcome unknown (interrupted): recheck it"
            run.details.pop("waiting", None)
            return run.key, run.row(state, outcome)
        if rtype == Event.STEP_DECLINED:
            del self._runs[run.step]
            run.details.pop("waiting", None)
            return run.key, run.row(SKIPPED, f"declined: {data.get('reason') or 'by the responder'} (nothing changed)")
        detail = self._detail(run, rtype, data)
        if detail is None:
            return None
        if self._lazy is not None:  # fold_many: the row is built once, after the burst
            self._lazy[run.key] = run
            return run.key, _PENDING
        return run.key, self._running_row(run)

    @staticmethod
    def _running_row(run: _Run) -> Row:
        return run.row(RUNNING, "" if "waiting" in run.details else "running")

    def fold_many(self, records: Iterable[tuple[str, str, Mapping[str, Any]]]) -> dict[tuple[str, ...], Row]:
        """Fold a burst: each row it touches, in first-touched order, with its last words (a batch's
        row is rewritten by hundreds of records in a burst, and built once)."""
        self._lazy = {}
        out: dict[tuple[str, ...], Row] = {}
        try:
            for ts, rtype, data in records:
                folded = self.fold(ts, rtype, data)
                if folded is not None:
                    out[folded[0]] = folded[1]
            for key, run in self._lazy.items():
                if out.get(key) is _PENDING:
                    out[key] = self._running_row(run)
        finally:
            self._lazy = None
        return out

    def _detail(self, run: _Run, rtype: str, data: Mapping[str, Any]) -> str | None:
        """Fold a bookkeeping record into ``run``'s words; None when the record is not the run's."""
        d = run.details
        if rtype == Event.CHECK_RESULT:
            d["check"] = _check(data)
        elif rtype == Event.STEP_AWAITING_CONFIRMATION:
            many = data.get("contexts")
            d["waiting"] = ("waiting for your confirmation" + (f" ({len(many)} clusters at once)" if many else "")
                            + (" (protected context)" if data.get("protected") else ""))
        elif rtype == Event.STEP_CONFIRMED:
            d.pop("waiting", None)
            d["confirmed"] = "confirmed with the context typed" if data.get("typed") else "confirmed"
        elif rtype == Event.STEP_PREFLIGHT:
            denied, uncertain = list(data.get("denied") or []), list(data.get("uncertain") or [])
            if denied:
                d["rbac"] = f"RBAC preflight: denied {', '.join(map(str, denied))}"
            elif uncertain:
                d["rbac"] = f"RBAC preflight: could not check {', '.join(map(str, uncertain))}"
        elif rtype == Event.STEP_PREVIEWED:
            d.setdefault("plan", str(data.get("description") or ""))
        elif rtype == Event.STEP_INTENT:
            run.verb = str(data.get("verb") or run.verb)
        elif rtype == Event.STEP_OUTCOME:
            results = [r for r in data.get("results") or [] if isinstance(r, Mapping)]
            run.ok += sum(1 for r in results if r.get("ok"))
            run.targets += len(results)
            d.pop("plan", None)
            if data.get("silence_id"):
                d["done"] = f"silence {data.get('silence_id')}"
            elif data.get("status") is not None and "status" in data:
                d["done"] = f"HTTP {data.get('status')}"
            elif data.get("exit_code") is not None:
                d["done"] = f"exit code {data.get('exit_code')}"
            elif run.targets:
                d["done"] = f"{run.verb or 'changed'} {run.ok}/{run.targets} target(s)"
        elif rtype == Event.BATCH_PROGRESS:
            failures = data.get("failures") or 0
            d["batch"] = (f"batch {data.get('batch')}/{data.get('batches')}, {data.get('done')}/{data.get('total')}"
                          " done" + (f", {failures} failed" if failures else ""))
        elif rtype == Event.BATCH_CANCELLED:
            d["batch"] = f"cancelled after {data.get('done')}/{data.get('total')}"
        elif rtype == Event.GATE:
            d["gate"] = "gate open" if data.get("open") else (
                "gate closed: " + ", ".join(str(f) for f in data.get("failed") or []))
        elif rtype == Event.STEP_CONTEXT_SKIPPED:
            run.skipped.append(str(data.get("context")))
            d["skipped"] = f"nothing to change in {len(run.skipped)} cluster(s), skipped: {', '.join(run.skipped[:5])}" + (
                " …" if len(run.skipped) > 5 else "")
        elif rtype == Event.WAIT_POLL:
            what = "health gate" if "batch" in data else "waiting"
            now = data.get("current", data.get("count"))
            d["poll"] = f"{what}: now {now}" + (f", need {data.get('need')}" if data.get("need") else "")
            if data.get("ok"):
                d.pop("poll")
        else:
            return None
        return rtype

    # ------------------------------------------------------------------ rows of their own

    def _own_row(self, ts: str, rtype: str, d: Mapping[str, Any], step: str) -> Row | None:
        t = hms(ts)
        if rtype == Event.STEP_SKIPPED:
            return Row(t, SKIPPED, f"{step} skipped: {d.get('reason', '')}", rtype)
        if rtype == Event.STEP_DECLINED:
            return Row(t, SKIPPED, f"{step} declined: {d.get('reason') or 'by the responder'} (nothing changed)", rtype)
        if rtype == Event.MANUAL_DONE:
            return Row(t, OK, f"{step} manual: done", rtype)
        if rtype == Event.DECISION:
            return Row(t, OK, f"{step} decision: chose {d.get('choice')}", rtype)
        if rtype == Event.STEP_PREVIEWED:
            return Row(t, INFO, f"{step} previewed (dry run): {d.get('description') or 'no change'}", rtype)
        if rtype == Event.STEP_UNKNOWN:
            return Row(t, WARN, f"{step}: outcome unknown (interrupted): recheck it", rtype)
        if rtype in (Event.STEP_SUCCEEDED, Event.STEP_FAILED):  # an end without a start (a recheck)
            error = str(d.get("error") or "")
            return Row(t, FAILED if rtype == Event.STEP_FAILED else (WARN if error else OK),
                       f"{step}: " + (f"FAILED: {error}" if rtype == Event.STEP_FAILED else
                                      f"done with a warning: {error}" if error else "succeeded"), rtype)
        if rtype == Event.CHECK_RESULT:
            return Row(t, OK if d.get("ok") else WARN, f"{step} check: {_check(d)}", rtype)
        if rtype in (Event.STEP_INTENT, Event.STEP_OUTCOME, Event.BATCH_PROGRESS, Event.STEP_AWAITING_CONFIRMATION,
                     Event.STEP_CONFIRMED, Event.GATE, Event.BATCH_CANCELLED, Event.WAIT_POLL,
                     Event.STEP_CONTEXT_SKIPPED):
            return None  # a step's bookkeeping outside a run (an undo, a recheck): its own rows say it
        if rtype == Event.STEP_PREFLIGHT:
            denied = list(d.get("denied") or [])
            return Row(t, FAILED, f"{step} RBAC preflight: denied {', '.join(map(str, denied))}", rtype) if denied \
                else None
        if rtype == Event.NOTIFY_SENT:
            verb = "recorded (drill)" if self.drill else "sent"
            return Row(t, OK, f"{step} status update to {d.get('channel')} {verb}", rtype)
        if rtype == Event.NOTIFY_FAILED:
            return Row(t, WARN, f"{step} status update to {d.get('channel')} NOT delivered: {d.get('message') or ''}",
                       rtype)
        return self._incident_row(t, ts, rtype, d, step)

    def _incident_row(self, t: str, ts: str, rtype: str, d: Mapping[str, Any], step: str) -> Row | None:
        if rtype == Event.INCIDENT_OPENED:
            return Row(t, INFO, f"opened: {d.get('title', '')}", rtype)
        if rtype == Event.INCIDENT_STATUS:
            return Row(t, INFO, f"status → {d.get('status')}", rtype)
        if rtype == Event.INCIDENT_ROLES:
            held = ", ".join(f"{role} {d.get(role)}" for role in ("commander", "scribe", "comms") if d.get(role))
            return Row(t, INFO, f"roles: {held}", rtype)
        if rtype == Event.INCIDENT_CLOSED:
            return Row(t, INFO, "incident closed", rtype)
        if rtype == Event.INCIDENT_REOPENED:
            return Row(t, INFO, "incident reopened", rtype)
        if rtype == Event.RUNBOOK_ATTACHED:
            return Row(t, INFO, f"runbook {d.get('runbook')} attached", rtype)
        if rtype == Event.CONTEXT_IDENTITY:
            who = f"{d.get('user') or 'unknown user'} ({d.get('auth') or 'no credentials'})"
            imp = d.get("as")
            if isinstance(imp, Mapping) and imp.get("user"):
                who += f", impersonating {imp.get('user')}"
            said = "; ".join(str(w) for w in [*(d.get("warnings") or []), *(d.get("said") or [])])
            verb = "resumed on" if d.get("resumed") else "acting on"
            return Row(t, WARN if d.get("warnings") else INFO, f"{verb} {d.get('context')} as {who}"
                       + (f" ⚠ {said}" if said else ""), rtype)
        if rtype == Event.RUNBOOK_PREFLIGHT:
            checked, denied = list(d.get("checked") or []), list(d.get("denied") or [])
            if denied:
                return Row(t, FAILED, f"RBAC preflight: denied {', '.join(map(str, denied))}", rtype)
            return Row(t, INFO, f"RBAC preflight: the runbook's {len(checked)} permission(s) are allowed", rtype)
        if rtype == Event.MILESTONE:
            by = " (from the runbook)" if d.get("source") == "runbook" else ""
            return Row(t, INFO, f"milestone {d.get('name')}{by}{when(d, ts)}", rtype)
        if rtype == Event.NOTE:
            return Row(t, INFO, f"note: {d.get('text', '')}{when(d, ts)}", rtype)
        if rtype == Event.ROLLBACK_STARTED:
            steps = ", ".join(str(s) for s in d.get("steps") or [])
            return Row(t, UNDONE, f"rollback started: {steps}" if steps else "rollback started", rtype)
        if rtype == Event.ROLLBACK_STEP:
            return (Row(t, UNDONE, f"{step} rollback: undone", rtype) if d.get("ok") else
                    Row(t, FAILED, f"{step} rollback: not undone: {d.get('message') or ''}", rtype))
        if rtype == Event.ROLLBACK_FINISHED:
            stopped = d.get("stopped_at")
            return Row(t, UNDONE if d.get("ok", True) else FAILED,
                       f"rollback stopped at {stopped}" if stopped else "rollback finished", rtype)
        if rtype == Event.DRILL_VERDICT:
            verdict = "MITIGATED" if d.get("mitigated") else "NOT MITIGATED"
            return Row(t, OK if d.get("mitigated") else FAILED, f"drill verdict: {verdict}", rtype)
        if rtype == "error":
            return Row(t, FAILED, "error", rtype)
        words = rtype.replace(".", " ").replace("_", " ")  # a record type this TUI does not know yet
        return Row(t, INFO, f"{words} {step}".strip(), rtype)
