"""Incident directories: readable sortable ids, lookup, and the cheap listing.

An incident id reads like ``2026-11-21T2336Z-apiserver-oom-3f2a``: the UTC
minute it was opened (so ids sort by time), a slug of the title, and a short
random suffix so two incidents opened in the same minute never collide.
``list_incidents`` reads only the first line and scans backwards from the end
for the latest status, so listing stays fast however long the journals grow.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mitigate.errors import MitigateError
from mitigate.events import Event
from mitigate.journal.verify import JOURNAL_FILE
from mitigate.timefmt import parse_ts

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_STATUS_TYPES = (b'"type":"incident.status"', b'"type":"incident.closed"')


def slugify(text: str, limit: int = 32) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].rstrip("-") or "incident"


def new_incident_id(title: str | None = None, now: datetime | None = None) -> str:
    """``<UTC minute>-<slug>-<4 hex>``, e.g. ``2026-11-21T2336Z-apiserver-oom-3f2a``."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H%MZ}-{slugify(title or 'incident')}-{secrets.token_hex(2)}"


def check_id(incident_id: str) -> str:
    if not _ID.match(incident_id) or ".." in incident_id:
        raise MitigateError(f"invalid incident id {incident_id!r}: letters, digits, '.', '_' and '-' only")
    return incident_id


def incident_dir(root: Path, incident_id: str) -> Path:
    """The directory of an incident (which may not exist yet)."""
    return Path(root) / check_id(incident_id)


def existing_incident_dir(root: Path, incident_id: str) -> Path:
    """The directory of an existing incident, or a one-line error that says where it looked."""
    path = incident_dir(root, incident_id)
    if not (path / JOURNAL_FILE).is_file():
        raise MitigateError(f"no incident {incident_id!r} in {root} (see 'mitigate incidents')")
    return path


@dataclass(frozen=True)
class IncidentSummary:
    id: str
    dir: Path
    title: str
    status: str  # latest incident.status, "investigating" before any, "unreadable" if broken
    closed: bool
    opened: datetime | None
    runbook: str
    severity: str
    drill: bool


def _first_record(file: Path) -> dict[str, Any] | None:
    with file.open("rb") as handle:
        line = handle.readline()
    if not line.endswith(b"\n"):
        return None
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


def _latest_status(file: Path, block: int = 65536) -> tuple[str | None, bool]:
    """Scan backwards for the newest ``incident.status`` (and whether it was closed after)."""
    closed = False
    with file.open("rb") as handle:
        position = handle.seek(0, os.SEEK_END)
        carry = b""
        while position > 0:
            step = min(block, position)
            position -= step
            handle.seek(position)
            chunk = handle.read(step) + carry
            lines = chunk.split(b"\n")
            carry = lines.pop(0) if position > 0 else b""
            for line in reversed(lines):
                if not any(marker in line for marker in _STATUS_TYPES):
                    continue
                try:
                    obj = json.loads(line)
                except ValueError:
                    continue
                if obj.get("type") == Event.INCIDENT_CLOSED:
                    closed = True
                elif obj.get("type") == Event.INCIDENT_STATUS:
                    return str(obj.get("data", {}).get("status", "")), closed
    return None, closed


def summarize(path: Path) -> IncidentSummary:
    file = path / JOURNAL_FILE
    first = _first_record(file)
    if first is None or first.get("type") != Event.INCIDENT_OPENED:
        return IncidentSummary(path.name, path, "(no incident.opened record)" if first else "(unreadable)",
                               "unreadable" if first is None else "unknown", False, None, "", "", False)
    raw = first.get("data")
    data: dict[str, Any] = raw if isinstance(raw, dict) else {}
    try:
        opened: datetime | None = parse_ts(str(first.get("ts")))
    except ValueError:
        opened = None
    status, closed = _latest_status(file)
    return IncidentSummary(path.name, path, str(data.get("title") or ""), status or "investigating", closed,
                           opened, str(data.get("runbook") or ""), str(data.get("severity") or ""),
                           bool(data.get("drill")))


def list_incidents(root: Path) -> list[IncidentSummary]:
    """Every incident under ``root``, newest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = [summarize(child) for child in root.iterdir()
             if (child / JOURNAL_FILE).is_file() and _ID.match(child.name)]
    floor = datetime.min.replace(tzinfo=UTC)
    return sorted(found, key=lambda s: (s.opened or floor, s.id), reverse=True)
