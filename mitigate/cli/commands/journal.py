"""``mitigate journal show|verify|add`` and ``mitigate incidents``.

Reading commands never take the writer lock, so they work while a session is
running. ``journal add`` is the timeline import: it records what happened
before the tool was opened, with the declared local time and zone kept beside
the resolved UTC time and any mismatch flagged.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any, NoReturn

from mitigate.cli.options import add_incident_action, add_when
from mitigate.errors import MitigateError
from mitigate.events import Event
from mitigate.journal import (
    Journal,
    Record,
    existing_incident_dir,
    list_incidents,
    resolve_declared,
    verify,
)
from mitigate.journal.lifecycle import check_milestone, record_milestone
from mitigate.paths import journal_root

_WIDTH = 120
EXIT_UNVOUCHED = 3
"""``journal verify``: the chain is consistent, but not every record verifies under this
installation's key (unkeyed, partly keyed, or another installation's): not proof of who wrote it."""


def _friendly(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn file-system errors (permissions, full disk) into one-line user errors."""

    @wraps(handler)
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except OSError as exc:
            raise MitigateError(f"{exc.filename or 'journal'}: {exc.strerror or exc}") from None

    return run


class _IntermixedParser(argparse.ArgumentParser):
    """Lets TEXT follow the options (``add ID --at .. --tz .. TEXT``), which plain argparse refuses."""

    _inside = False

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        if self._inside:
            return super().parse_known_args(args, namespace)
        self._inside = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._inside = False

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        print(f"mitigate: {message}", file=sys.stderr)
        raise SystemExit(2)


def register(subparsers: Any) -> None:
    journal = subparsers.add_parser("journal", help="show, verify or add to an incident journal")
    sub = journal.add_subparsers(dest="journal_command", metavar="ACTION", required=True,
                                 parser_class=_IntermixedParser)

    show = add_incident_action(sub, "show", "print an incident's records", _show)
    show.add_argument("--json", action="store_true", help="machine-readable output")
    check = add_incident_action(
        sub, "verify", "check the hash chain and who wrote it; exit 0 intact and written by this installation, "
                       f"1 tampered, {EXIT_UNVOUCHED} consistent but not vouched for (unkeyed)", _verify)
    check.description = "Check an incident journal's hash chain, sequence numbers, tail and journal-key macs."
    check.epilog = (f"exit status: 0 intact and written by this installation (every record verifies under its "
                    f"journal key); 1 NOT intact (a line changed, removed, reordered, or a record added outside "
                    f"mitigate): tampered; {EXIT_UNVOUCHED} consistent but not vouched for: the chain is intact but "
                    f"some or all records are unkeyed (written before this installation had a key, by a library, "
                    f"or by another installation), so anyone could have written them; --allow-unkeyed accepts "
                    f"that (exit 0).")
    check.add_argument("--allow-unkeyed", action="store_true",
                       help=f"exit 0 (not {EXIT_UNVOUCHED}) for a consistent journal this installation cannot "
                            "vouch for (unkeyed or another installation's key)")
    add = add_incident_action(sub, "add", "add a (backdated) note or milestone to the timeline", _add)
    add_when(add, "when it happened")
    add.add_argument("--milestone", metavar="NAME", help="impact-start, detected, acknowledged, mitigated, "
                     "resolved, ...")
    add.add_argument("text", metavar="TEXT", nargs="?", help="what happened")

    incidents = subparsers.add_parser("incidents", help="list incidents, newest first")
    incidents.add_argument("--json", action="store_true", help="machine-readable output")
    which = incidents.add_mutually_exclusive_group()
    which.add_argument("--open", action="store_true", help="only incidents not closed")
    which.add_argument("--all", action="store_true", help="closed incidents too (the default)")
    incidents.set_defaults(handler=_incidents)


def _summary(rec: Record) -> str:
    data = dict(rec.data)
    parts: list[str] = []
    for key in ("name", "step", "status", "text", "title"):
        if key in data:
            value = data.pop(key)
            parts.append(str(value) if key in ("text", "title") else f"{key}={value}")
    declared = data.pop("declared", None)
    at = data.pop("at", None)
    if at:
        parts.append(f"at {at}")
    if isinstance(declared, dict):
        parts.append(f"(declared {declared.get('text')} {declared.get('tz')}, {declared.get('zone')} "
                     f"{declared.get('utc_offset')})")
    if data:
        parts.append(json.dumps(data, separators=(",", ":"), ensure_ascii=False))
    text = " ".join(parts)
    text = text if len(text) <= _WIDTH else text[: _WIDTH - 3] + "..."
    if isinstance(declared, dict) and declared.get("mismatch"):  # never cut off a warning
        text += f" [FLAGGED: {declared.get('note')}]"
    return text


@_friendly
def _show(args: argparse.Namespace) -> int:
    journal = Journal.open(journal_root(args.journal_dir), args.id, readonly=True)
    records = journal.records()
    if args.json:
        print(json.dumps({"id": journal.id, "records": [r.to_dict() for r in records],
                          "torn_tail": journal.torn_tail, "problems": journal.problems},
                         ensure_ascii=False, indent=1))
    else:
        print(f"incident {journal.id}: {len(records)} records")
        for rec in records:
            print(f"{rec.seq:>5}  {rec.ts}  {rec.actor}  {rec.type}  {_summary(rec)}")
        if journal.torn_tail is not None:
            print(f"torn last line ({len(journal.torn_tail.encode())} bytes): a write interrupted by a crash, "
                  "not a record; it is set aside when the journal is next opened for writing")
    for problem in journal.problems:
        print(f"mitigate: journal {journal.id}: {problem}", file=sys.stderr)
    return 1 if journal.problems else 0


@_friendly
def _verify(args: argparse.Namespace) -> int:
    path = existing_incident_dir(journal_root(args.journal_dir), args.id)
    report = verify(path)
    for note in report.notes:
        print(f"note: {note}")
    if report.ok:
        print(f"ok: {report.records} records, hash chain intact")
        print(f"authenticity: {report.authenticity}")
        if report.head:
            print(f"head: {report.head} (record #{report.records}; a journal cut short later has another head)")
        if report.keyed or args.allow_unkeyed:
            return 0
        print(f"mitigate: journal {args.id}: consistent, but not written (wholly) by this installation: exit "
              f"{EXIT_UNVOUCHED}; pass --allow-unkeyed to accept an unkeyed journal", file=sys.stderr)
        return EXIT_UNVOUCHED
    for problem in report.problems:
        print(f"mitigate: journal {args.id}: {problem}", file=sys.stderr)
    print(f"FAILED: {len(report.problems)} problem(s) in {report.records} readable records")
    return 1


@_friendly
def _add(args: argparse.Namespace) -> int:
    if args.milestone is None and not args.text:
        raise MitigateError("journal add: give TEXT (a note) or --milestone NAME")
    if args.milestone is not None:
        args.milestone = check_milestone(args.milestone)
    if args.tz and not args.at:
        raise MitigateError("journal add: --tz is only meaningful with --at")
    data: dict[str, Any] = {}
    if args.text:
        data["text"] = args.text
    declared = None
    if args.at:
        if not args.tz:
            raise MitigateError("journal add: --at needs --tz (the zone the time was read in), e.g. --tz UTC")
        declared = resolve_declared(args.at, args.tz)
        data["at"] = declared.at
        data["declared"] = declared.to_data()
    with Journal.open(journal_root(args.journal_dir), args.id) as journal:
        if journal.torn_path is not None:
            print(f"note: a torn last line was set aside in {journal.torn_path.name}", file=sys.stderr)
        warnings: list[str] = []
        if args.milestone:
            rec, warnings = record_milestone(journal, args.milestone, data)
        else:
            rec = journal.append(Event.NOTE, data)
    where = f" at {declared.at} ({declared.text} {declared.zone} {declared.utc_offset})" if declared else ""
    print(f"added #{rec.seq} {rec.type}{' ' + args.milestone if args.milestone else ''}{where}")
    if declared is not None and declared.mismatch:
        print(f"mitigate: warning: {declared.note}", file=sys.stderr)
    for warning in warnings:
        print(f"mitigate: warning: out of order: {warning}", file=sys.stderr)
    return 0


def _age(opened: datetime | None, now: datetime) -> str:
    if opened is None:
        return "-"
    seconds = max(0, int((now - opened).total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{days}d{hours:02d}h"
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m"


@_friendly
def _incidents(args: argparse.Namespace) -> int:
    root = journal_root(args.journal_dir)
    found = list_incidents(root)
    if args.open:
        found = [s for s in found if not s.closed]
    if args.json:
        print(json.dumps([{"id": s.id, "title": s.title, "status": s.status, "closed": s.closed,
                           "opened": s.opened.strftime("%Y-%m-%dT%H:%M:%SZ") if s.opened else None,
                           "runbook": s.runbook, "severity": s.severity, "drill": s.drill} for s in found],
                         ensure_ascii=False, indent=1))
        return 0
    if not found:
        print(f"no {'open ' if args.open else ''}incidents in {root}")
        return 0
    now = datetime.now(UTC)
    rows = [(s.id, s.status + (" (closed)" if s.closed else ""), s.severity or "-",
             s.opened.strftime("%Y-%m-%d %H:%M UTC") if s.opened else "-", _age(s.opened, now),
             s.runbook or "-", ("[drill] " if s.drill else "") + s.title) for s in found]
    header = ("ID", "STATUS", "SEV", "OPENED", "AGE", "RUNBOOK", "TITLE")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])) + "  " + row[-1])
    return 0
