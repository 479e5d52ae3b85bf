"""The live timeline: journal records as they are appended, plus UI-side errors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual.widgets import RichLog

_STYLES = {"step.failed": "bold red", "step.succeeded": "green", "milestone": "bold cyan",
           "note": "italic", "batch.cancelled": "yellow", "error": "bold red", "incident.status": "cyan"}


def declared(data: dict[str, Any]) -> str:
    """A backdated entry keeps its typed time and zone beside UTC; a flagged zone says why."""
    decl = data.get("declared")
    if not isinstance(decl, dict):
        return f" (at {data['at']})" if data.get("at") else ""
    text = f" (at {decl.get('text')} {decl.get('tz')} = {str(data.get('at', ''))[:16].replace('T', ' ')} UTC)"
    return text + (f" ⚠ {decl.get('note')}" if decl.get("mismatch") else "")


def describe(rtype: str, data: dict[str, Any]) -> str:
    """A short human line for one journal record."""
    step = data.get("step")
    if rtype == "note":
        return f"note: {data.get('text', '')}" + declared(data)
    if rtype == "milestone":
        return f"milestone {data.get('name')}" + declared(data)
    if rtype == "incident.status":
        return f"status → {data.get('status')}"
    if rtype == "step.skipped":
        return f"{step} skipped: {data.get('reason', '')}"
    if rtype == "step.failed":
        return f"{step} failed: {data.get('error', '')}"
    if rtype == "step.declined":
        return f"{step} declined: {data.get('reason', '')}"
    if rtype == "batch.progress":
        return (f"{step} batch {data.get('batch')}/{data.get('batches')}: "
                f"{data.get('done')}/{data.get('total')} done, {data.get('failures', 0)} failed")
    if rtype == "batch.cancelled":
        return f"{step} cancelled at {data.get('done')}/{data.get('total')}"
    if rtype == "check.result":
        return f"{step} check: {'ok' if data.get('ok') else 'NOT ok'} ({data.get('count')})"
    if rtype == "incident.opened":
        return f"opened: {data.get('title', '')}"
    return f"{rtype} {step}" if step else rtype


class Timeline(RichLog):
    """Append-only, newest at the bottom, like the journal itself."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(wrap=True, markup=False, highlight=False, max_lines=2000, **kwargs)

    def add_record(self, ts: str, rtype: str, data: dict[str, Any]) -> None:
        line = Text()
        line.append(ts[11:19] + " ", style="dim")
        line.append(describe(rtype, data), style=_STYLES.get(rtype, ""))
        self.write(line)

    def add_records(self, records: Sequence[Any]) -> None:
        for rec in records:
            self.add_record(str(getattr(rec, "ts", "")), getattr(rec, "type", ""), getattr(rec, "data", None) or {})

    def add_error(self, ts: str, message: str) -> None:
        self.add_record(ts, "error", {})
        self.write(Text("  " + message, style="red"))
