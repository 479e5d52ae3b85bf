"""An incident's life: its statuses, its milestones, and how one follows the other.

The vocabulary is closed: a milestone name that is not one of ``MILESTONES`` is refused
with a suggestion (``acknowleged`` -> ``acknowledged``), because a misspelt milestone
silently drops out of every metric. Milestones have a natural order (impact starts,
then it is detected, acknowledged, mitigated, resolved); entering one whose time
contradicts that order is accepted (people do learn things late) but warned about at
once, in words that say which two milestones disagree.

The status follows the milestones (``mitigated`` -> ``monitoring``, ``resolved`` ->
``resolved``) unless a person set it explicitly to something later: an automatic change
only ever moves the status forward, an explicit one may move it anywhere.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mitigate.errors import MitigateError
from mitigate.events import MILESTONE_STATUS, MILESTONES, ORDERED_MILESTONES, STATUSES, Event
from mitigate.journal.record import Record
from mitigate.timefmt import parse_rfc3339, utc_now_text

SEVERITIES = ("SEV1", "SEV2", "SEV3", "SEV4", "SEV5")
ROLES = ("commander", "scribe", "comms")


def check_status(status: str) -> str:
    if status not in STATUSES:
        raise MitigateError(f"unknown incident status {status!r} (one of {', '.join(STATUSES)})")
    return status


def check_milestone(name: str) -> str:
    """``name`` if it is a known milestone, else a one-line error with the closest match."""
    clean = name.strip().lower()
    if clean in MILESTONES:
        return clean
    close = difflib.get_close_matches(clean, MILESTONES, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    shown = name if len(name) <= 40 else name[:37] + "..."
    raise MitigateError(f"unknown milestone {shown!r}: {hint}known milestones: {', '.join(ORDERED_MILESTONES)}")


def check_severity(severity: str) -> str:
    clean = severity.strip().upper()
    if clean.isdigit():
        clean = f"SEV{clean}"
    if clean not in SEVERITIES:
        raise MitigateError(f"unknown severity {severity!r} (one of {', '.join(SEVERITIES)})")
    return clean


@dataclass
class Lifecycle:
    """The lifecycle facts of one incident, folded from its records (``fold_lifecycle``)."""

    status: str = "investigating"
    explicit: bool = False  # the current status was set by a person, not derived
    closed: bool = False
    milestones: dict[str, str] = field(default_factory=dict)  # name -> effective UTC time (first mark)
    roles: dict[str, str] = field(default_factory=dict)
    handovers: list[tuple[str, str, str, str]] = field(default_factory=list)  # (ts, role, from, to)

    def apply(self, kind: str, ts: str, data: Mapping[str, Any]) -> None:
        if kind == Event.INCIDENT_STATUS:
            self.status = str(data.get("status") or self.status)
            self.explicit = data.get("source") not in ("milestone", "status-update")
        elif kind == Event.INCIDENT_CLOSED:
            self.closed = True
        elif kind == Event.INCIDENT_REOPENED:
            self.closed = False
        elif kind == Event.MILESTONE:
            name = str(data.get("name") or "")
            self.milestones.setdefault(name, str(data.get("at") or ts))
        elif kind == Event.INCIDENT_OPENED:
            commander = data.get("commander")
            if commander:
                self.roles["commander"] = str(commander)
        elif kind == Event.INCIDENT_ROLES:
            for role in ROLES:
                holder = data.get(role)
                if holder:
                    before = self.roles.get(role)
                    if before and before != holder:
                        self.handovers.append((ts, role, before, str(holder)))
                    self.roles[role] = str(holder)


def fold_lifecycle(records: Iterable[Any]) -> Lifecycle:
    """Fold journal records (anything with ``type``, ``ts`` and ``data``)."""
    life = Lifecycle()
    for rec in records:
        life.apply(rec.type, rec.ts, rec.data)
    return life


def _parse(ts: str) -> datetime | None:
    try:
        return parse_rfc3339(ts)
    except ValueError:
        return None


def order_warnings(milestones: Mapping[str, str], name: str, at: str) -> list[str]:
    """Warnings when ``name`` at ``at`` contradicts the order of the milestones already marked."""
    if name not in ORDERED_MILESTONES:
        return []
    when = _parse(at)
    if when is None:
        return []
    rank = ORDERED_MILESTONES.index(name)
    warnings = []
    for other, other_at in milestones.items():
        if other not in ORDERED_MILESTONES or other == name:
            continue
        other_when = _parse(other_at)
        if other_when is None:
            continue
        other_rank = ORDERED_MILESTONES.index(other)
        if other_rank < rank and when < other_when:
            warnings.append(f"{name} ({at}) is before {other} ({other_at}), which normally comes first")
        elif other_rank > rank and when > other_when:
            warnings.append(f"{name} ({at}) is after {other} ({other_at}), which normally comes later")
    return warnings


def forward_status(current: str, target: str, *, closed: bool) -> str | None:
    """``target`` if a derived change (a milestone, a status update sent) may move the status there:
    only forward, so a status a person set to something later stays; never on a closed incident."""
    if closed or target not in STATUSES:
        return None
    if current in STATUSES and STATUSES.index(target) <= STATUSES.index(current):
        return None
    return target


def status_after(life: Lifecycle, milestone: str) -> str | None:
    """The status a milestone moves the incident to, or None to leave it as it is."""
    return forward_status(life.status, MILESTONE_STATUS.get(milestone, ""), closed=life.closed)


def record_milestone(journal: Any, name: str, data: Mapping[str, Any], *, source: str = "person",
                     append: Any = None) -> tuple[Record, list[str]]:
    """Append a milestone (and the status it implies) to a writable journal.

    ``data`` holds the rest of the record (``at``/``declared`` when backdated, ``text``,
    ``step``); ``source`` says who marked it: ``person``, ``runbook`` or ``import``. Order
    warnings are returned to show at once, and kept in the record (``warnings``) so the
    postmortem shows them too. ``append`` (default ``journal.append``) lets the engine
    fold what it writes into its own state.
    """
    name = check_milestone(name)
    write = append or journal.append
    life = fold_lifecycle(journal.records())
    at = str(data.get("at") or "")
    if not at:
        at = utc_now_text()
    warnings = order_warnings(life.milestones, name, at)
    record: Record = write(Event.MILESTONE, {"name": name, **data, "source": source,
                                 **({"warnings": warnings} if warnings else {})})
    status = status_after(life, name)
    if status is not None:
        write(Event.INCIDENT_STATUS, {"status": status, "source": "milestone", "milestone": name})
    return record, warnings
