"""The step detail pane: the highlighted step's text, its question or message, its evidence.

What each kind shows, top to bottom, after the title and status line:
manual and every kind: the rendered description and instructions (Markdown);
check and wait: the kubectl equivalent (``c`` copies it), the condition, the result table;
decision: the question and its options (the choice marked);
notify: channels, the rendered message, then per channel sent / recorded (drill) / not delivered;
wait: the condition, its timeout and the last observed value (what ``until`` saw, the time left);
gate: each requirement with its current value, and which were not true;
action: the kubectl lines, the preview diff, the outcome.
The evidence stays after the step ran, until the responder moves the highlight.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from tui.brief import Brief
from tui.model import WARNING, Evidence
from tui.text import clip, plain, safe
from tui.widgets.pane import RenderablePane

MAX_TABLE_ROWS = 100  # rows drawn in the check table; the journal holds them all
Part = tuple[object, Callable[[], RenderableType]]
STATUS_STYLES = {"succeeded": "green", "failed": "bold red", "unknown": "bold red", WARNING: "bold yellow",
                 "running": "bold yellow", "awaiting-confirmation": "yellow", "skipped": "magenta",
                 "rolled-back": "magenta", "previewed": "cyan"}


def section(title: str, colour: str) -> Text:
    return Text(f"\n{title}", style=f"bold {colour}")


def check_table(check: dict[str, Any]) -> Table:
    """The check's rows (the runbook's ``columns``), or its verdict when it has none."""
    table = Table(box=box.SIMPLE_HEAD, row_styles=["", "dim"], expand=False, pad_edge=False)
    rows: list[dict[str, Any]] = list(check.get("rows") or [])
    if not rows:
        for column in ("ok", "count", "value", "message"):
            table.add_column(column, overflow="fold")
        table.add_row(*(plain(check.get(k) if k != "message" else check.get(k) or "", multiline=False)
                        for k in ("ok", "count", "value", "message")))
        return table
    columns = list(dict.fromkeys(k for r in rows[:MAX_TABLE_ROWS] for k in r))
    for column in columns:
        table.add_column(plain(column, multiline=False), overflow="fold")  # the whole name, over two lines if it must
    for row in rows[:MAX_TABLE_ROWS]:  # cells are Text: a str cell would be parsed as Rich markup
        table.add_row(*(plain(row.get(c, ""), multiline=False) for c in columns))
    if len(rows) > MAX_TABLE_ROWS:
        table.caption = f"first {MAX_TABLE_ROWS} of {len(rows):,} rows; the journal holds all of them"
    return table


def observed(data: dict[str, Any]) -> str:
    """``{"current": "7", "need": ">= 9", "count": 7, "listed": 10, "kind": "Node"}`` ->
    ``now 7, need >= 9 (7 of 10 Node listed)``: what a wait or gate sees, in words."""
    current, need = data.get("current"), data.get("need")
    words = f"now {current}" if current is not None else f"now {data.get('count')} item(s)"
    if need:
        words += f", need {need}"
    if data.get("listed") is not None:
        words += f" ({data.get('count')} of {data.get('listed')} {data.get('kind') or 'object(s)'} listed)"
    return safe(words, multiline=False)


def observed_line(poll: dict[str, Any], *, running: bool) -> Text:
    """A wait's last observed value; while it runs, the time it had left then."""
    ok = bool(poll.get("ok"))
    mark = "✔ " if ok else ("⧗ " if running else "✘ last seen: ")
    line = Text(mark + observed(poll), style="green" if ok else "bold yellow")
    if running and not ok:
        left = float(poll.get("remaining") or 0)
        line.append(f"  · at poll {poll.get('poll')}: {int(left // 60)}m {int(left % 60):02d}s left of "
                    f"{safe(poll.get('timeout') or '?', multiline=False)}", style="dim")
    return line


def requirement_line(req: dict[str, Any]) -> Text:
    """One of a gate's requirements with what it saw: ``✘ ready >= 9: now 7, need >= 9``."""
    ok = bool(req.get("ok"))
    line = Text(("✔ " if ok else "✘ ") + safe(str(req.get("expr")), multiline=False),
                style="green" if ok else "bold red")
    if req.get("current") is not None:
        line.append(": " + observed(req), style="")
    return line


def status_line(title: str, status: str, error: str | None) -> Text:
    line = plain(title, "bold")
    line.append("  ")
    line.append(f"[{status}]", style=STATUS_STYLES.get(status, "dim"))
    if error:
        line.append(f"  {safe(error)}", style="yellow" if status == WARNING else "red")
    return line


def detail_parts(sid: str, title: str, status: str, error: str | None, brief: Brief, ev: Evidence,
                 theme: dict[str, str], *, drill: bool = False, next_step: str | None = None) -> list[Part]:
    """The step's detail as ``(key, make)`` parts: a part is built only when its key is new."""
    accent = theme.get("accent", "cyan")
    ok_colour, surface = theme.get("success", "green"), theme.get("surface", "grey15")

    def code(lines: list[str] | tuple[str, ...], hint: str) -> RenderableType:
        return Padding(Text(safe(clip("\n".join(lines), hint)), style=ok_colour), (0, 1), style=f"on {surface}",
                       expand=True)

    def markdown(text: str) -> RenderableType:
        from rich.markdown import Markdown  # not every walker shows a step with text at once

        return Markdown(safe(text))  # Markdown, not console markup; still no control codes

    parts: list[Part] = [(("title", sid, title, status, error), lambda: status_line(title, status, error))]
    if next_step and status in ("succeeded", "skipped", "rolled-back", WARNING):
        parts.append((("next", next_step), lambda: Text(f"next: {next_step}  (enter moves there)", style="dim")))
    if brief.text:
        parts.append((("text", sid, brief.text), lambda: Group(Text(""), markdown(brief.text))))
    if brief.question:
        def question() -> RenderableType:
            body = Text(brief.question + "\n", style="bold")
            for oid, label in brief.options:
                mark = "●" if ev.choice == oid else "○"
                body.append(f"  {mark} {label}", style="bold green" if ev.choice == oid else "")
                body.append(f"  ({oid})\n", style="dim")
            if ev.choice is None:
                body.append("enter chooses", style="dim")
            return Group(section("decision", accent), body)
        parts.append((("question", sid, ev.choice), question))
    if brief.channels:
        def message() -> RenderableType:
            head = Text(f"to {', '.join(brief.channels)}", style="bold")
            if brief.status:
                head.append(f"  · status {brief.status}", style="dim")
            items: list[RenderableType] = [section("status update", accent), head]
            if brief.message_title:
                items.append(Text(brief.message_title, style="bold"))
            items.append(markdown(brief.message))
            for d in ev.deliveries:
                if d.get("ok"):
                    items.append(Text(f"✔ {d.get('channel')}: " + ("recorded (drill)" if drill else "sent"),
                                      style="green"))
                else:
                    items.append(Text(f"⚠ {d.get('channel')}: not delivered: {d.get('message') or ''}".rstrip(),
                                      style="bold yellow"))
            return Group(*items)
        parts.append((("notify", sid, ev.version), message))
    if brief.condition:
        gate, poll = ev.gate, ev.poll

        def condition() -> RenderableType:
            body = Text(safe(brief.condition))
            if brief.timeout:
                body.append(f"\ntimeout {brief.timeout} · polled every {brief.interval}", style="dim")
            if poll is not None:
                body.append("\n")
                body.append_text(observed_line(poll, running=status == "running"))
            if gate is not None:
                for req in gate.get("observed") or []:
                    body.append("\n")
                    body.append_text(requirement_line(req))
                closed = gate.get("failed") or []
                body.append("\ngate open" if not closed else f"\nnot true: {safe('; '.join(map(str, closed)))}",
                            style="green" if not closed else "bold red")
            return Group(section("wait until" if brief.timeout else "gate", accent), body)
        parts.append((("condition", sid, id(gate), id(poll), status == "running"), condition))
    if ev.kubectl or brief.kubectl:
        lines = ev.kubectl or list(brief.kubectl)
        title_text = "kubectl equivalent  (c copies)" if ev.kubectl else "kubectl equivalent, read-only  (c copies)"
        parts.append((("kubectl", sid, tuple(lines)),
                      lambda: Group(section(title_text, accent), code(lines, "c copies all of it"))))
    if brief.pause or brief.gate:
        text = " · ".join(x for x in (f"pause {brief.pause} between batches" if brief.pause else "",
                                      f"health gate: {brief.gate}" if brief.gate else "") if x)
        parts.append((("batching", sid, text), lambda: Text(text, style="dim")))
    if ev.check is not None:
        check = ev.check

        def results() -> RenderableType:
            verdict = Text("✔ " if check.get("ok") else "✘ ", style="green" if check.get("ok") else "bold red")
            verdict.append(safe(f"{check.get('message') or ''}  ({check.get('count')} item(s))".strip()))
            return Group(section("check result", accent), verdict, check_table(check))
        parts.append((("check", sid, id(check)), results))
    if ev.diff:
        diff = ev.diff

        def changes() -> RenderableType:
            from rich.syntax import Syntax

            return Group(section("preview diff  (p refreshes)", accent),
                         Syntax(safe(clip(diff, "the journal holds all of it")), "diff", theme="ansi_dark", word_wrap=True))
        parts.append((("diff", sid, diff), changes))
    if ev.result is not None and brief.kind in ("action", "silence"):
        result = ev.result

        def outcome() -> RenderableType:
            data = result.get("result") if isinstance(result.get("result"), dict) else {}
            text = Text()
            for context, summary in (data or {}).items():
                if isinstance(summary, dict) and "total" in summary:
                    mark, style = ("✔", "green") if summary.get("ok") else ("✘", "bold red")
                    text.append(f"{mark} {context}: {summary.get('done')}/{summary.get('total')} target(s)"
                                f"  {summary.get('message') or ''}\n", style=style)
            if result.get("error"):
                text.append(str(result["error"]), style="red")
            return Group(section("outcome", accent), text) if text.plain else Text("")
        parts.append((("outcome", sid, id(result)), outcome))
    if ev.declined:
        declined = ev.declined
        parts.append((("declined", sid, declined),
                      lambda: Text(f"\nlast confirmation declined: {declined}", style="yellow")))
    return parts


class DetailPane(RenderablePane):
    """The step detail; redrawn only when what it shows changed."""

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 (Textual's name)
        super().__init__(id=id)
        self._shown: tuple[object, ...] = ()

    def show(self, sid: str, parts: list[Part]) -> None:
        keys = (sid, *(key for key, _ in parts))
        if keys == self._shown:  # the same step redrawn (a batch reports ten times a second): nothing to do
            return
        same_step = bool(self._shown) and self._shown[0] == sid
        self._shown = keys
        self.update(parts, keep_scroll=same_step)
