"""The crash-safe incident journal (docs/ARCHITECTURE.md, The journal).

One directory per incident holding ``journal.jsonl`` (append-only, SHA-256
chained, fsynced per record), ``backups/`` and a ``lock`` for the single
writer. Redaction and backdated-time resolution live here too because every
writer of the journal needs them; the postmortem and the TUI reuse them.
"""

from __future__ import annotations

from mitigate.journal.incidents import (
    IncidentSummary,
    existing_incident_dir,
    incident_dir,
    list_incidents,
    new_incident_id,
)
from mitigate.journal.record import Record
from mitigate.journal.redact import redact
from mitigate.journal.store import Journal, JournalCorrupt, JournalFailed, JournalLocked
from mitigate.journal.timeparse import Declared, resolve_declared
from mitigate.journal.verify import VerifyReport, verify

__all__ = [
    "Declared",
    "IncidentSummary",
    "Journal",
    "JournalCorrupt",
    "JournalFailed",
    "JournalLocked",
    "Record",
    "VerifyReport",
    "existing_incident_dir",
    "incident_dir",
    "list_incidents",
    "new_incident_id",
    "redact",
    "resolve_declared",
    "verify",
]
