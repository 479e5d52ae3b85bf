"""``mitigate incident open|status|close|reopen|roles|import``: an incident's life without a runbook.

A postmortem author or an incident commander can open an incident, set its status,
record who holds which role, and close it, all from the shell; each is one journal
record with its time, so the postmortem can say when the status changed and when a
role was handed over. ``import`` reads the timeline table of an existing Markdown
postmortem into a new incident, so past incidents get their metrics computed the same
way as new ones.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mitigate.cli.options import add_incident_action, add_when
from mitigate.errors import MitigateError
from mitigate.events import STATUSES, Event
from mitigate.journal import Journal, resolve_declared
from mitigate.journal.lifecycle import (
    ROLES,
    check_severity,
    check_status,
    fold_lifecycle,
)
from mitigate.paths import journal_root


def register(subparsers: Any) -> None:
    incident = subparsers.add_parser("incident", help="open, update, hand over, close or import an incident")
    sub = incident.add_subparsers(dest="incident_command", metavar="ACTION", required=True,
                                  parser_class=type(incident))

    opened = sub.add_parser("open", help="open a new incident (no runbook needed); prints its ID")
    opened.add_argument("--title", required=True, help="what is happening, in a few words")
    opened.add_argument("--severity", help="SEV1 (worst) .. SEV5, or 1..5")
    opened.add_argument("--commander", metavar="NAME", help="the incident commander")
    add_when(opened, "when it was declared", default="now")
    opened.set_defaults(handler=_open)

    status = add_incident_action(sub, "status", "set the incident status explicitly", _status)
    status.add_argument("status", choices=STATUSES)
    add_incident_action(sub, "close", "close the incident (it leaves 'incidents --open')", _close)
    add_incident_action(sub, "reopen", "reopen a closed incident", _reopen)
    roles = add_incident_action(sub, "roles", "record who holds the incident roles (handovers are journaled)",
                                _roles)
    for role in ROLES:
        roles.add_argument(f"--{role}", metavar="NAME")

    imported = sub.add_parser("import", help="a new incident from the timeline table of a Markdown postmortem")
    imported.add_argument("file", metavar="FILE", help="a Markdown file with a timeline table")
    imported.add_argument("--title", help="the incident's title (default: the file's first heading)")
    imported.add_argument("--severity", help="SEV1 .. SEV5")
    imported.add_argument("--tz", help="the zone of times that carry none (default: from the table's header)")
    imported.add_argument("--date", help="the date of rows that give only a time: YYYY-MM-DD")
    imported.set_defaults(handler=_import)


def _writer(args: argparse.Namespace) -> Journal:
    try:
        return Journal.open(journal_root(args.journal_dir), args.id)
    except OSError as exc:
        raise MitigateError(f"{exc.filename or 'journal'}: {exc.strerror or exc}") from None


def _open(args: argparse.Namespace) -> int:
    if args.tz and not args.at:
        raise MitigateError("incident open: --tz is only meaningful with --at")
    if args.at and not args.tz:
        raise MitigateError("incident open: --at needs --tz (the zone the time was read in), e.g. --tz UTC")
    title = args.title.strip()
    if not title:
        raise MitigateError("incident open: --title must not be empty")
    severity = check_severity(args.severity) if args.severity else ""
    data: dict[str, Any] = {"title": title, "severity": severity, "commander": args.commander or "",
                            "runbook": "", "drill": False}
    declared = resolve_declared(args.at, args.tz) if args.at else None
    if declared is not None:
        data["at"], data["declared"] = declared.at, declared.to_data()
    try:
        journal = Journal.create(journal_root(args.journal_dir), title=title)
    except OSError as exc:
        raise MitigateError(f"{exc.filename or 'journal'}: {exc.strerror or exc}") from None
    with journal:
        journal.append(Event.INCIDENT_OPENED, data)
        journal.append(Event.INCIDENT_STATUS, {"status": "investigating", "source": "milestone"})
    if declared is not None and declared.mismatch:
        print(f"mitigate: warning: {declared.note}", file=sys.stderr)
    print(journal.id)
    return 0


def _status(args: argparse.Namespace) -> int:
    with _writer(args) as journal:
        life = fold_lifecycle(journal.records())
        if life.closed:
            raise MitigateError(f"incident {journal.id} is closed; 'mitigate incident reopen {journal.id}' first")
        rec = journal.append(Event.INCIDENT_STATUS, {"status": check_status(args.status), "source": "person"})
    print(f"#{rec.seq} status {args.status}")
    return 0


def _close(args: argparse.Namespace) -> int:
    with _writer(args) as journal:
        life = fold_lifecycle(journal.records())
        if life.closed:
            print(f"incident {journal.id} is already closed")
            return 0
        rec = journal.append(Event.INCIDENT_CLOSED, {"status": life.status})
    print(f"#{rec.seq} closed {journal.id} (status {life.status})")
    if life.status != "resolved":
        print(f"mitigate: warning: closed while {life.status}, not resolved", file=sys.stderr)
    return 0


def _reopen(args: argparse.Namespace) -> int:
    with _writer(args) as journal:
        if not fold_lifecycle(journal.records()).closed:
            print(f"incident {journal.id} is open")
            return 0
        rec = journal.append(Event.INCIDENT_REOPENED, {})
    print(f"#{rec.seq} reopened {journal.id}")
    return 0


def _roles(args: argparse.Namespace) -> int:
    given = {role: getattr(args, role).strip() for role in ROLES if getattr(args, role) is not None}
    if not given or not all(given.values()):
        raise MitigateError("incident roles: give at least one of --commander, --scribe, --comms with a name")
    with _writer(args) as journal:
        before = fold_lifecycle(journal.records()).roles
        handover = {role: before[role] for role, name in given.items() if before.get(role) not in (None, name)}
        data: dict[str, Any] = dict(given)
        if handover:
            data["handover_from"] = handover
        rec = journal.append(Event.INCIDENT_ROLES, data)
    changes = ", ".join(f"{role} {handover[role]} -> {name}" if role in handover else f"{role} {name}"
                        for role, name in given.items())
    print(f"#{rec.seq} roles: {changes}")
    return 0


def _import(args: argparse.Namespace) -> int:
    from mitigate.journal.importer import import_timeline

    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MitigateError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    timeline = import_timeline(text, source=str(path), tz=args.tz, date=args.date)
    title = (args.title or timeline.title or path.stem).strip()
    severity = check_severity(args.severity) if args.severity else ""
    try:
        journal = Journal.create(journal_root(args.journal_dir), title=title)
    except OSError as exc:
        raise MitigateError(f"{exc.filename or 'journal'}: {exc.strerror or exc}") from None
    with journal:
        journal.append(Event.INCIDENT_OPENED, {"title": title, "severity": severity, "commander": "", "runbook": "",
                                           "drill": False, "imported_from": path.name})
        journal.append(Event.INCIDENT_STATUS, {"status": "investigating", "source": "milestone"})
        from mitigate.journal.lifecycle import record_milestone

        for row in timeline.rows:
            data: dict[str, Any] = {"text": row.text, "at": row.declared.at, "declared": row.declared.to_data(),
                                    "line": row.line}
            if row.milestone:
                _, warnings = record_milestone(journal, row.milestone, data, source="import")
                for warning in warnings:
                    print(f"mitigate: warning: line {row.line}: {warning}", file=sys.stderr)
            else:
                journal.append(Event.NOTE, data)
            if row.declared.mismatch:
                print(f"mitigate: warning: line {row.line}: {row.declared.note}", file=sys.stderr)
    found = [row.milestone for row in timeline.rows if row.milestone]
    print(journal.id)
    print(f"imported {len(timeline.rows)} rows from {path.name}; milestones: {', '.join(found) or 'none'}",
          file=sys.stderr)
    return 0
