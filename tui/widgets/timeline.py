"""The live timeline: journal records as they are appended, plus UI-side errors.

Newest at the bottom, like the journal itself; the window stays at the end unless
the responder scrolls back (wheel). Entries are kept as text and wrapped for the
pane's width when painted, so nothing is rendered for lines out of view and a
resize re-wraps instead of cutting lines off.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.strip import Strip

from mitigate.events import Event
from tui.text import safe
from tui.widgets.pane import LinePane, to_strips

_STYLES = {Event.NOTIFY_FAILED: "bold yellow", Event.STEP_FAILED: "bold red", Event.STEP_SUCCEEDED: "green",
           Event.MILESTONE: "bold cyan", Event.NOTE: "italic", Event.BATCH_CANCELLED: "yellow", "error": "bold red",
           Event.INCIDENT_STATUS: "cyan"}
MAX_ENTRIES = 2000  # the journal holds every record; the pane keeps the recent ones


def declared(data: dict[str, Any]) -> str:
    """A backdated entry keeps its typed time and zone beside UTC; a flagged zone says why."""
    decl = data.get("declared")
    if not isinstance(decl, dict):
        return f" (at {data['at']})" if data.get("at") else ""
    text = f" (at {decl.get('text')} {decl.get('tz')} = {str(data.get('at', ''))[:16].replace('T', ' ')} UTC)"
    return text + (f" ⚠ {decl.get('note')}" if decl.get("mismatch") else "")


def describe(rtype: str, data: dict[str, Any], *, drill: bool = False) -> str:
    """A short human line for one journal record (in a drill, status updates are only recorded)."""
    step = data.get("step")
    if rtype == Event.NOTIFY_SENT:
        return f"{step} status update to {data.get('channel')} " + ("recorded (drill)" if drill else "sent")
    if rtype == Event.NOTIFY_FAILED:
        return f"{step} ⚠ status update to {data.get('channel')} NOT delivered: {data.get('message') or ''}"
    if rtype == Event.STEP_SUCCEEDED and data.get("error"):
        return f"{step} done with a warning: {data.get('error')}"
    if rtype == Event.ROLLBACK_STEP:
        return f"{step} rollback: " + ("undone" if data.get("ok") else f"not undone: {data.get('message') or ''}")
    if rtype == Event.NOTE:
        return f"note: {data.get('text', '')}" + declared(data)
    if rtype == Event.MILESTONE:
        return f"milestone {data.get('name')}" + declared(data)
    if rtype == Event.INCIDENT_STATUS:
        return f"status → {data.get('status')}"
    if rtype == Event.STEP_SKIPPED:
        return f"{step} skipped: {data.get('reason', '')}"
    if rtype == Event.STEP_FAILED:
        return f"{step} failed: {data.get('error', '')}"
    if rtype == Event.STEP_DECLINED:
        return f"{step} declined: {data.get('reason', '')}"
    if rtype == Event.BATCH_PROGRESS:
        return (f"{step} batch {data.get('batch')}/{data.get('batches')}: "
                f"{data.get('done')}/{data.get('total')} done, {data.get('failures', 0)} failed")
    if rtype == Event.BATCH_CANCELLED:
        return f"{step} cancelled at {data.get('done')}/{data.get('total')}"
    if rtype == Event.CHECK_RESULT:
        return f"{step} check: {'ok' if data.get('ok') else 'NOT ok'} ({data.get('count')})"
    if rtype == Event.INCIDENT_OPENED:
        return f"opened: {data.get('title', '')}"
    if rtype == Event.CONTEXT_IDENTITY:
        raw = data.get("as")
        who = raw if isinstance(raw, dict) else {}
        acting = f" as {who.get('user')}" if who.get("user") else ""
        said = "; ".join(str(s) for s in data.get("said") or [])
        return (f"{'resumed on' if data.get('resumed') else 'acting on'} {data.get('context')}: user "
                f"{data.get('user')} ({data.get('auth')}){acting}" + (f" ⚠ {said}" if said else ""))
    return f"{rtype} {step}" if step else rtype


class Timeline(LinePane):
    """Append-only, newest at the bottom."""

    FOLLOW_END = True

    def __init__(self, *, id: str | None = None, drill: bool = False) -> None:  # noqa: A002 (Textual's name)
        super().__init__(id=id)
        self.drill = drill
        # each entry with its lines wrapped at _width (None until painted at that width)
        self._entries: deque[list[Any]] = deque(maxlen=MAX_ENTRIES)
        self._width = 0

    def write(self, line: Text) -> None:
        self._entries.append([line, None])
        self.changed()

    def add_record(self, ts: str, rtype: str, data: dict[str, Any]) -> None:
        line = Text()
        line.append(ts[11:19] + " ", style="dim")
        style = "bold yellow" if rtype == Event.STEP_SUCCEEDED and data.get("error") else _STYLES.get(rtype, "")
        line.append(safe(describe(rtype, data, drill=self.drill), multiline=False), style=style)
        self.write(line)

    def add_records(self, records: Sequence[Any]) -> None:
        for rec in records:
            self.add_record(str(getattr(rec, "ts", "")), getattr(rec, "type", ""), getattr(rec, "data", None) or {})

    def add_error(self, ts: str, message: str) -> None:
        self.add_record(ts, "error", {})
        self.write(Text("  " + safe(message), style="red"))

    def build(self, width: int) -> list[Strip]:
        """Each entry is wrapped once per width: an append wraps one entry, not the whole log."""
        rewrap = width != self._width
        if rewrap:
            self._width = width
            for entry in self._entries:
                entry[1] = None
        strips: list[Strip] = []
        added = 0
        for entry in self._entries:
            if entry[1] is None:
                wrapped = to_strips(self, [entry[0]], width)
                entry[1] = wrapped
                added += len(wrapped)
            strips += entry[1]
        if self._top and not rewrap:  # scrolled back: new entries do not move what is being read
            self._top += added
        return strips

    @property
    def text(self) -> str:
        """Every entry as plain text, oldest first (what a responder could scroll through)."""
        return "\n".join(e[0].plain for e in self._entries)
