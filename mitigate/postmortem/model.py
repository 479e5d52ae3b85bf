"""The postmortem draft as plain data: what templates render.

Everything here is built from the journal (and the runbook's postmortem
hints) by :func:`mitigate.postmortem.build.build_postmortem`. Templates get
these dataclasses and nothing else, so a team template depends only on the
names documented in ``templates/README.md``. Text the tool cannot know is
never invented: it is a *prompt* (a plain string) that the template marks
for the author.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Declared:
    """How a backdated entry's time was given by the responder ("14:05 CET")."""

    text: str
    tz: str
    zone: str
    utc_offset: str
    mismatch: bool
    note: str


@dataclass(frozen=True)
class TimelineEntry:
    """One event, placed at the time it *happened* (backdated or recorded)."""

    at: datetime
    recorded_at: datetime
    seq: int
    kind: str
    """``milestone``, ``status``, ``note``, ``step``, ``action``, ``notify``, ``batch``, ``rollback``, ``incident``."""
    text: str
    actor: str
    key: bool
    """Key events (milestones, status changes, open/close) also go into the Mermaid diagram."""
    declared: Declared | None = None
    backdated: bool = False
    seqs: tuple[int, ...] = ()
    """Every journal record this row stands for (a step's records fold into one row)."""
    source: str = ""
    """For milestones: who marked it (``person``, ``runbook``, ``drill``, ``import``)."""

    @property
    def cite(self) -> str:
        """``#12`` or ``#12-#15``: the journal sequence numbers this row rests on."""
        seqs = self.seqs or (self.seq,)
        return f"#{seqs[0]}" if len(seqs) == 1 else f"#{min(seqs)}-#{max(seqs)}"

    @property
    def day(self) -> str:
        """The UTC date (``2024-02-13``): timeline sections group by it."""
        return self.at.date().isoformat()


@dataclass(frozen=True)
class Metric:
    """A duration between two milestones, with its definition written out."""

    key: str
    name: str
    definition: str
    start: str
    end: str
    seconds: float | None
    status: str
    """``ok``, ``not-recorded`` (a milestone is missing) or ``flagged`` (end before start)."""
    display: str


@dataclass(frozen=True)
class ActionItem:
    title: str
    horizon: str
    owner: str | None
    priority: str | None
    due: str | None
    status: str


@dataclass(frozen=True)
class ActionGroup:
    horizon: str
    title: str
    items: list[ActionItem]


@dataclass(frozen=True)
class TargetResult:
    target: str
    ok: bool
    message: str


@dataclass(frozen=True)
class ExecutedAction:
    """A mutation the tool made: its write-ahead intent joined to its outcome."""

    at: datetime
    step: str
    attempt: int
    batch: int | None
    context: str
    verb: str
    description: str
    kubectl: list[str]
    targets: list[str]
    """The first targets (at most 20); ``target_count`` has them all."""
    target_count: int
    outcome: str
    """``succeeded``, ``failed``, ``partial`` or ``unknown`` (no outcome recorded)."""
    ok_count: int
    failed: list[TargetResult]
    """The first failures (at most 20); ``failed_count`` has them all."""
    failed_count: int
    backups: list[str]
    """The first backup files (at most 50); ``backup_count`` has them all."""
    backup_count: int
    undo: list[str]
    seq: int = 0
    """The journal record of the write-ahead intent."""
    rollback: bool = False
    """An undo made by a rollback, not a forward change: never counted as a mitigation."""


@dataclass(frozen=True)
class CheckEvidence:
    """What a check saw: its first rows, as the responder saw them, and its counts."""

    step: str
    seq: int
    at: datetime
    ok: bool
    count: int
    listed: int | None
    """Objects listed before the check's ``where`` filter (``72 of 600``), when it had one."""
    kind: str
    columns: list[str]
    rows: list[list[str]]
    """The first rows (at most 10); ``count`` has them all."""
    message: str
    polls: int

    @property
    def share(self) -> str:
        """``72 of 600 Node (12%)`` when the check filtered a listing, else ``""``."""
        if not self.listed:
            return ""
        return f"{self.count} of {self.listed} {self.kind or 'objects'} ({self.count * 100 // self.listed}%)"


@dataclass(frozen=True)
class Change:
    """A field a forward action changed, read from the diff the responder confirmed."""

    step: str
    seq: int
    target: str
    field: str
    before: str
    after: str


@dataclass(frozen=True)
class Communication:
    """A status update: what was sent (or recorded, in a drill), where, when."""

    at: datetime
    seq: int
    step: str
    channel: str
    status: str
    text: str
    delivered: bool
    note: str


@dataclass(frozen=True)
class Responder:
    name: str
    role: str
    since: datetime
    seq: int


@dataclass(frozen=True)
class Handover:
    at: datetime
    seq: int
    role: str
    before: str
    after: str


@dataclass(frozen=True)
class SilenceRef:
    step: str
    seq: int
    silence_id: str
    alertmanager: str
    ends_at: str
    expired: bool


@dataclass(frozen=True)
class Section:
    """A prose section: facts from the journal plus prompts for what only people know."""

    title: str
    facts: list[str]
    prompts: list[str]


@dataclass(frozen=True)
class RunbookRef:
    name: str
    version: str
    path: str
    source: str
    hints_loaded: bool
    problem: str | None


@dataclass(frozen=True)
class Postmortem:
    id: str
    title: str
    severity: str
    commander: str
    status: str
    drill: bool
    scenario: str
    contexts: list[str]
    opened_at: datetime | None
    closed_at: datetime | None
    first_event: datetime | None
    last_event: datetime | None
    generated_at: datetime
    authors: list[str]
    runbook: RunbookRef
    summary: Section
    impact: Section
    detection: Section
    trigger: Section
    root_cause: Section
    contributing: Section
    mitigation: Section
    permanent_fix: Section
    went_well: Section
    went_badly: Section
    lucky: Section
    lessons: Section
    timeline: list[TimelineEntry]
    metrics: list[Metric]
    action_groups: list[ActionGroup]
    actions: list[ExecutedAction]
    milestones: dict[str, datetime]
    problems: list[str] = field(default_factory=list)
    """Things the draft's reader must know about its inputs (unreadable times, missing runbook...)."""
    record_count: int = 0
    evidence: list[CheckEvidence] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    communications: list[Communication] = field(default_factory=list)
    responders: list[Responder] = field(default_factory=list)
    handovers: list[Handover] = field(default_factory=list)
    silences: list[SilenceRef] = field(default_factory=list)
    duration: Metric | None = None
    """From impact start (or the opening) to resolution (or the close, or the last event)."""
    bookkeeping: dict[str, int] = field(default_factory=dict)
    """Records that only the appendix counts (record type -> count)."""
    journal_head: str = ""
    """The hash of the journal's last record: a later truncation shows as a different head."""
    journal_verdict: str = ""
    """What ``mitigate journal verify`` says of the journal the draft was made from."""
