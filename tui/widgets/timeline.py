"""The live timeline: journal records folded into rows as they are appended, plus UI-side errors.

One row per run of a step, rewritten as the run goes (``tui.timeline_rows`` folds the records);
newest at the bottom, like the journal itself; the window stays at the end unless
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
from tui.timeline_rows import FAILED, ICONS, INFO, OK, RUNNING, SKIPPED, UNDONE, WARN, Row, TimelineRows
from tui.widgets.pane import LinePane, to_strips

STATE_STYLES = {RUNNING: "bold yellow", OK: "green", FAILED: "bold red", WARN: "bold yellow", SKIPPED: "magenta",
                UNDONE: "magenta", INFO: ""}
KIND_STYLES: dict[str, str] = {Event.MILESTONE: "bold cyan", Event.NOTE: "italic", Event.INCIDENT_STATUS: "cyan",
               Event.DRILL_VERDICT: "bold"}
MAX_ENTRIES = 2000  # the journal holds every record; the pane keeps the recent rows


class Timeline(LinePane):
    """Append-only, newest at the bottom."""

    FOLLOW_END = True

    def __init__(self, *, id: str | None = None, drill: bool = False) -> None:  # noqa: A002 (Textual's name)
        super().__init__(id=id)
        self.drill = drill
        self.rows = TimelineRows(drill=drill)
        # each entry with its lines wrapped at _width (None until painted at that width)
        self._entries: deque[list[Any]] = deque(maxlen=MAX_ENTRIES)
        self._by_key: dict[tuple[str, ...], list[Any]] = {}  # a step run's row, rewritten as it goes
        self._width = 0

    def write(self, line: Text) -> None:
        self._entries.append([line, None])
        self.changed()

    @staticmethod
    def line(row: Row) -> Text:
        line = Text()
        line.append(row.time + " ", style="dim")
        icon = ICONS.get(row.state, "")
        style = KIND_STYLES.get(row.kind, "") if row.state == INFO else STATE_STYLES.get(row.state, "")
        line.append(safe(f"{icon} {row.text}" if icon else row.text, multiline=False), style=style)
        return line

    def add_record(self, ts: str, rtype: str, data: dict[str, Any]) -> None:
        self.add_records([_Record(ts, rtype, data)])

    def add_records(self, records: Sequence[Any], *, keep: int | None = None) -> None:
        """Fold ``records``; each row changed by them is drawn once (a batch rewrites its step's row
        many times in a burst). ``keep``: only the last rows are kept (the backfill on opening)."""
        # a row rewritten in the burst keeps its place, with its last words
        changed = self.rows.fold_many((str(getattr(rec, "ts", "")), getattr(rec, "type", ""),
                                       getattr(rec, "data", None) or {}) for rec in records)
        if not changed:
            return
        for key, row in changed.items():
            entry = self._by_key.get(key)
            if entry is not None:
                entry[0], entry[1] = self.line(row), None
            else:
                entry = self._by_key[key] = [self.line(row), None]
                self._entries.append(entry)
        if keep is not None:
            while len(self._entries) > keep:
                self._entries.popleft()
        if len(self._by_key) > 2 * MAX_ENTRIES:  # rows that left the pane are not rewritten
            alive = {id(e) for e in self._entries}
            self._by_key = {k: e for k, e in self._by_key.items() if id(e) in alive}
        self.changed()

    def add_error(self, ts: str, message: str) -> None:
        self.write(Text.assemble((ts[11:19] + " ", "dim"), ("✘ error", "bold red")))
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


class _Record:
    def __init__(self, ts: str, rtype: str, data: dict[str, Any]) -> None:
        self.ts, self.type, self.data = ts, rtype, data
