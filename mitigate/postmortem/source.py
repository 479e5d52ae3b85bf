"""Where the builder's inputs come from: the incident journal and the runbook's hints.

Kept apart from the pure model so that tests and the TUI can build a draft
from records they already hold. A runbook that moved or no longer validates
is not fatal: the draft is rendered without hints and says why.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path

from mitigate.errors import MitigateError
from mitigate.events import Event
from mitigate.journal import Journal, verify
from mitigate.paths import runbooks_dir
from mitigate.postmortem.build import build_postmortem
from mitigate.postmortem.model import Postmortem
from mitigate.runbook.model import PostmortemHints


def load_hints(runbook_path: str, runbook_name: str) -> tuple[PostmortemHints | None, str | None]:
    """The runbook's postmortem hints, or ``None`` and the reason they are missing.

    The path recorded when the incident was opened wins; if that file is gone,
    a bundled runbook of the same name is used.
    """
    from mitigate.runbook.loader import load_runbook

    candidates = [Path(runbook_path)] if runbook_path else []
    if runbook_name:
        candidates.append(runbooks_dir() / f"{runbook_name}.yaml")
    if not candidates:
        return None, "the journal names no runbook"
    for path in candidates:
        if path.is_file():
            try:
                return load_runbook(path).postmortem, None
            except MitigateError as exc:
                return None, f"runbook {path} is not valid ({str(exc).splitlines()[0]})"
    return None, "runbook file not found: " + " or ".join(str(p) for p in candidates)


def draft(root: Path, incident_id: str, *, now: datetime | None = None) -> Postmortem:
    """The postmortem of a stored incident: its journal, read without the writer's lock, plus hints."""
    journal = Journal.open(root, incident_id, readonly=True)
    try:
        records = journal.records()
        problems = [f"the journal fails verification: {p}" for p in journal.problems[:5]]
        if journal.torn_tail is not None:
            problems.append("the journal's last line is torn (a crash mid-write); it is left out of this draft")
    finally:
        journal.close()
    opened = next((r.data for r in records if r.type == Event.INCIDENT_OPENED), {})
    hints, problem = load_hints(str(opened.get("runbook_path") or ""), str(opened.get("runbook") or ""))
    pm = build_postmortem(records, hints, now=now, incident_id=incident_id, runbook_problem=problem,
                          problems=problems)
    return dataclasses.replace(pm, journal_verdict=verdict(journal.dir))


def verdict(path: Path) -> str:
    """What ``mitigate journal verify`` says of an incident's journal, in one line."""
    try:
        report = verify(path)
    except OSError as exc:
        return f"could not be read ({exc.strerror or exc})"
    if report.ok:
        return f"intact: {report.records} records, hash chain verified"
    return f"FAILED: {len(report.problems)} problem(s) in {report.records} readable records; first: {report.problems[0]}"
