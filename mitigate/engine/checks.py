"""Read-only checks and waits: query, filter with ``where``, judge with ``expect``.

Checks never mutate, so ``--plan`` runs them for real to compute the values
later action templates need. A ``where`` expression is compiled once and then
called per item (5,000 nodes), not re-parsed.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from mitigate.errors import MitigateError
from mitigate.ports import Clock, ClusterPort, ProbePort, Query
from mitigate.runbook.model import CheckSpec, WaitSpec, parse_duration
from mitigate.runbook.templating import compile_expression, evaluate, render

NAMES_CAP = 10_000
ROWS_CAP = 200


@dataclass
class CheckOutcome:
    ok: bool
    items: list[dict[str, Any]] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    value: Any = None
    rows: list[dict[str, Any]] = field(default_factory=list)
    message: str = ""
    contexts: dict[str, dict[str, Any]] = field(default_factory=dict)
    polls: int = 1
    listed: int | None = None  # objects listed before ``where`` kept some (the "of N" of impact figures)
    kind: str = ""  # the kind listed (Node, Pod...)

    @property
    def count(self) -> int:
        return len(self.items) if self.items or not self.rows else len(self.rows)

    def scope(self) -> dict[str, Any]:
        """The names ``expect``/``until`` expressions see."""
        return {"items": self.items, "names": self.names, "count": self.count, "value": self.value,
                "rows": self.rows}

    def journal_data(self, step_id: str) -> dict[str, Any]:
        data = {"step": step_id, "ok": self.ok, "count": self.count, "names": self.names[:NAMES_CAP],
                "value": self.value, "rows": self.rows[:ROWS_CAP], "message": self.message,
                "contexts": self.contexts, "polls": self.polls}
        if self.listed is not None:
            data["listed"], data["kind"] = self.listed, self.kind
        return data


def _name(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return str(meta.get("name", "")) if isinstance(meta, Mapping) else ""


def _kube(spec: CheckSpec, ctx: Mapping[str, Any], cluster: ClusterPort, contexts: list[str],
          concurrency: int) -> CheckOutcome:
    assert spec.kube is not None
    q = render(spec.kube.model_dump(), ctx)
    query = Query(api_version=str(q["apiVersion"]), kind=str(q["kind"]), namespace=q.get("namespace") or None,
                  name=q.get("name") or None, label_selector=q.get("labelSelector") or None,
                  field_selector=q.get("fieldSelector") or None)
    where: Callable[[Mapping[str, Any]], Any] | None = (
        compile_expression(spec.where) if spec.where else None)

    listed: dict[str, int] = {}  # per context: one key per thread

    def one(context: str) -> list[dict[str, Any]]:
        objs = cluster.query(context, query)
        listed[context] = len(objs)
        if where is None:
            return objs
        scope = dict(ctx)
        scope["context"] = context
        kept = []
        for obj in objs:
            scope["item"] = obj
            if where(scope):
                kept.append(obj)
        return kept

    if len(contexts) == 1:
        per = {contexts[0]: one(contexts[0])}
    else:
        with ThreadPoolExecutor(max_workers=min(concurrency, len(contexts))) as pool:
            per = dict(zip(contexts, pool.map(one, contexts), strict=True))
    items = [obj for objs in per.values() for obj in objs]
    names = [_name(obj) for obj in items]
    by_context = {c: {"count": len(objs), "names": [_name(o) for o in objs][:NAMES_CAP]} for c, objs in per.items()}
    return CheckOutcome(ok=True, items=items, names=names, rows=_rows(spec, ctx, per),
                        contexts=by_context if len(contexts) > 1 else {},
                        listed=sum(listed.values()) if where is not None else None, kind=query.kind)


def _rows(spec: CheckSpec, ctx: Mapping[str, Any], per: Mapping[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The table the responder sees: the runbook's ``columns`` per item (first ROWS_CAP items),
    else name and namespace; a context column when the check fans out. A cell whose template
    fails for one object (a field it lacks) shows ``?`` rather than failing the check."""
    rows: list[dict[str, Any]] = []
    scope = dict(ctx)
    for context, objs in per.items():
        scope["context"] = context
        for obj in objs:
            if len(rows) >= ROWS_CAP:
                return rows
            row: dict[str, Any] = {"context": context} if len(per) > 1 else {}
            if spec.columns:
                scope["item"] = obj
                for title, template in spec.columns.items():
                    try:
                        row[title] = render(template, scope)
                    except MitigateError:
                        row[title] = "?"
            else:
                meta = obj.get("metadata") or {}
                row["name"] = meta.get("name", "")
                if meta.get("namespace"):
                    row["namespace"] = meta["namespace"]
            rows.append(row)
    return rows


def describe_query(spec: CheckSpec, values: Mapping[str, Any] | None = None) -> str:
    """One line for a plan: what the check asks (its selectors, query or URL rendered with
    ``values`` when they can be already), and its ``where``."""

    def shown(text: str | None) -> str | None:
        if text is None or values is None:
            return text
        try:
            return str(render(text, values))
        except MitigateError:
            return text  # needs what earlier steps find: shown as written

    if spec.kube is not None:
        q = spec.kube
        what = f"list {q.apiVersion}/{q.kind}"
        parts = [f"{label} {value}" for label, value in (
            ("namespace", shown(q.namespace)), ("name", shown(q.name)), ("-l", shown(q.labelSelector)),
            ("--field-selector", shown(q.fieldSelector))) if value]
        what += (" " + " ".join(parts)) if parts else ""
    elif spec.prometheus is not None:
        what = f"prometheus {shown(spec.prometheus.query)}"
    elif spec.http is not None:
        what = f"http {spec.http.method} {shown(spec.http.url)}"
    else:
        what = "expression"
    return what + (f" where {spec.where}" if spec.where else "")


def run_query(spec: CheckSpec, ctx: Mapping[str, Any], *, cluster: ClusterPort | None, probes: ProbePort | None,
              contexts: list[str], concurrency: int = 4) -> CheckOutcome:
    """Run the check's query (no expectation yet)."""
    if spec.kube is not None:
        if cluster is None:
            raise MitigateError("this check needs a cluster connection (none configured)")
        if not contexts:
            raise MitigateError("this check needs a kube context: set `context:` or an input named context")
        return _kube(spec, ctx, cluster, contexts, concurrency)
    if probes is None:
        raise MitigateError("this check needs the Prometheus/HTTP integrations (none configured)")
    if spec.prometheus is not None:
        result = probes.probe("prometheus", render(spec.prometheus.model_dump(exclude_none=True), ctx))
    else:
        assert spec.http is not None
        result = probes.probe("http", render(spec.http.model_dump(), ctx))
    return CheckOutcome(ok=result.ok, value=result.value, rows=list(result.rows), message=result.message)


def judge(spec: CheckSpec, ctx: Mapping[str, Any], outcome: CheckOutcome) -> CheckOutcome:
    """Apply ``expect``: a failed expectation is a failed check with a message that says why."""
    if spec.expect is None:
        return outcome
    scope = {**ctx, **outcome.scope()}
    if evaluate(spec.expect, scope):
        outcome.ok = True
        return outcome
    outcome.ok = False
    shown = f"count={outcome.count}" + (f", value={outcome.value!r}" if outcome.value is not None else "")
    detail = f"; {outcome.message}" if outcome.message else ""
    outcome.message = f"expectation not met: {spec.expect} ({shown}){detail}"
    return outcome


def run_check(spec: CheckSpec, ctx: Mapping[str, Any], *, cluster: ClusterPort | None,
              probes: ProbePort | None, contexts: list[str], concurrency: int = 4) -> CheckOutcome:
    outcome = run_query(spec, ctx, cluster=cluster, probes=probes, contexts=contexts, concurrency=concurrency)
    if not outcome.ok and spec.expect is None:
        return outcome
    return judge(spec, ctx, outcome)


OBSERVED_CHARS = 120  # an observed value is a figure or a short word, cut beyond this
_COMPARISON = re.compile(r"(>=|<=|==|!=|>|<|\bnot in\b|\bin\b)")


def _shown(value: Any) -> str:
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return text if len(text) <= OBSERVED_CHARS else text[:OBSERVED_CHARS - 1] + "…"


def _top_level(expr: str) -> list[tuple[int, int, str]]:
    """The comparison operators of ``expr`` outside brackets and quotes: (start, end, operator)."""
    found, depth, quote, i = [], 0, "", 0
    while i < len(expr):
        ch = expr[i]
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0:
            m = _COMPARISON.match(expr, i)
            if m:
                found.append((m.start(), m.end(), m.group(1)))
                i = m.end()
                continue
        i += 1
    return found


def observe(expr: str, scope: Mapping[str, Any]) -> dict[str, Any]:
    """What ``expr`` (an ``until``/``require`` expression) sees now, for the responder.

    A single comparison (``ready >= 9``) gives both sides: ``{"current": "7", "need": ">= 9"}``;
    anything else (``and``/``or``, a call) gives its value: ``{"current": "False"}``. A side
    that cannot be evaluated is left out. Never raises: it only explains.
    """
    try:
        ops = _top_level(expr)
        if len(ops) == 1 and not re.search(r"\b(and|or)\b", expr):
            start, end, op = ops[0]
            left, right = expr[:start].strip(), expr[end:].strip()
            return {"current": _shown(evaluate(left, scope)), "need": f"{op} {_shown(evaluate(right, scope))}"}
        return {"current": _shown(evaluate(expr, scope))}
    except Exception:  # noqa: BLE001 - an expression that needs a step not run yet: nothing to show
        return {}


PollWatcher = Callable[[CheckOutcome, dict[str, Any], float], None]
"""Told after each poll of a wait: the outcome, what ``until`` observed, and the seconds left."""


def run_wait(spec: WaitSpec, ctx: Mapping[str, Any], *, cluster: ClusterPort | None, probes: ProbePort | None,
             contexts: list[str], clock: Clock, cancel: threading.Event | None,
             on_poll: PollWatcher | None = None) -> CheckOutcome:
    """Poll until ``until`` holds, the timeout passes or ``cancel`` is set (``on_poll`` is told each poll)."""
    timeout = parse_duration(str(render(spec.timeout, ctx)))
    interval = parse_duration(str(render(spec.interval, ctx)))
    deadline = clock.monotonic() + timeout
    polls = 0
    while True:
        polls += 1
        outcome = (run_query(spec.check, ctx, cluster=cluster, probes=probes, contexts=contexts)
                   if spec.check is not None else CheckOutcome(ok=True))
        outcome.polls = polls
        scope = {**ctx, **outcome.scope()}
        holds = bool(evaluate(spec.until, scope))
        if on_poll is not None:
            outcome.ok = holds
            on_poll(outcome, observe(spec.until, scope), max(0.0, deadline - clock.monotonic()))
        if holds:
            outcome.ok, outcome.message = True, f"{spec.until} (after {polls} poll(s))"
            return outcome
        if clock.monotonic() >= deadline:
            outcome.ok = False
            outcome.message = f"timed out after {render(spec.timeout, ctx)}: {spec.until} still false (count={outcome.count})"
            return outcome
        if not clock.sleep(min(interval, max(0.0, deadline - clock.monotonic())), cancel):
            outcome.ok, outcome.message = False, f"cancelled while waiting for {spec.until}"
            return outcome
