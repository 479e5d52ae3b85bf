"""The step detail pane: the highlighted step's text, its question or message, its evidence.

What each kind shows, top to bottom, after the title and status line:
manual and every kind: the rendered description and instructions (Markdown);
check and wait: the kubectl equivalent (``c`` copies it), the condition, the result table;
decision: the question and its options (the choice marked);
notify: channels, the rendered message, then per channel sent / recorded (drill) / not delivered;
gate: the conditions and which were not true;
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
        def condition() -> RenderableType:
            body = Text(brief.condition)
            if brief.timeout:
                body.append(f"\ntimeout {brief.timeout} · polled every {brief.interval}", style="dim")
            if ev.gate is not None:
                closed = ev.gate.get("failed") or []
                body.append("\ngate open" if not closed else f"\nnot true: {'; '.join(map(str, closed))}",
                            style="green" if not closed else "bold red")
            return Group(section("wait until" if brief.timeout else "gate", accent), body)
        parts.append((("condition", sid, id(ev.gate)), condition))
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
