"""Reading a journal file back: the chain check and torn-tail detection.

``scan`` is shared by ``Journal.open`` (which needs the last line's hash and
seq to continue the chain) and ``verify`` (which reports). A torn tail is the
last line left unfinished by a crash (no newline, or not JSON at all): it is
reported and set aside, never counted as a record and never silently dropped.
A bad line anywhere else is a verification failure naming its line number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mitigate.journal.record import BadLine, Record, decode, sha256_hex

JOURNAL_FILE = "journal.jsonl"
TORN_PREFIX = JOURNAL_FILE + ".torn-"


@dataclass
class Scan:
    records: list[Record] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # "line N: ..."
    torn: bytes | None = None  # the torn last line, if any
    good_len: int = 0  # bytes of the file before the torn tail
    last_line: bytes | None = None  # the last complete good line (for ``prev``)


def scan(data: bytes, *, full: bool = False) -> Scan:
    """Parse a whole journal file's bytes.

    Every line's bytes are covered by the next line's ``prev`` (a SHA-256 of the raw
    line), so recomputing each record's own ``hash`` is only needed for the last line
    and for a line whose successor's ``prev`` does not match: that gives the same
    verdict as checking every hash, at a fraction of the cost. ``full`` (used by
    ``verify``) checks every hash anyway.
    """
    result = Scan()
    end = data.rfind(b"\n") + 1
    if end < len(data):
        result.torn = data[end:]
    lines = data[:end].split(b"\n")[:-1] if end else []
    if result.torn is None and lines:
        try:
            decode(lines[-1])
        except BadLine as exc:
            if "JSON" in str(exc):  # an unreadable last line is a crash artefact, not a tamper
                result.torn = lines[-1] + b"\n"
                end -= len(result.torn)
                lines.pop()
    result.good_len = end
    prev_line: bytes | None = None
    expected_seq = 1
    for number, line in enumerate(lines, start=1):
        try:
            rec = decode(line, check_hash=full or number == len(lines))
        except BadLine as exc:
            result.problems.append(f"line {number}: {exc}")
            prev_line, expected_seq = line, expected_seq + 1
            continue
        expected_prev = "" if prev_line is None else sha256_hex(prev_line)
        if rec.prev != expected_prev and not full and prev_line is not None:
            try:  # say which line was changed, as the full check would
                decode(prev_line)
            except BadLine as exc:
                result.problems.append(f"line {number - 1}: {exc}")
        if rec.prev != expected_prev:
            result.problems.append(
                f"line {number}: prev does not match line {number - 1} "
                "(a line before it was changed, removed or reordered)"
                if number > 1 else f"line {number}: the first record must have an empty prev")
        if rec.seq != expected_seq:
            result.problems.append(f"line {number}: seq {rec.seq}, expected {expected_seq}")
        result.records.append(rec)
        prev_line, expected_seq = line, rec.seq + 1
    result.last_line = prev_line
    return result


@dataclass
class VerifyReport:
    ok: bool
    records: int
    problems: list[str]
    torn_tail: bool
    notes: list[str] = field(default_factory=list)  # torn tails found now or set aside earlier


def journal_file(path: Path) -> Path:
    """Accept an incident directory or the journal file itself."""
    return path / JOURNAL_FILE if path.is_dir() else path


def verify(path: Path) -> VerifyReport:
    """Check a journal's hash chain, sequence numbers and tail."""
    file = journal_file(Path(path))
    result = scan(file.read_bytes(), full=True)
    notes: list[str] = []
    if result.torn is not None:
        notes.append(f"torn last line ({len(result.torn)} bytes after line {len(result.records)}): "
                     "a write interrupted by a crash; it is set aside when the journal is next opened "
                     "for writing")
    for aside in sorted(file.parent.glob(TORN_PREFIX + "*")):
        notes.append(f"torn line set aside earlier in {aside.name} ({aside.stat().st_size} bytes)")
    return VerifyReport(ok=not result.problems, records=len(result.records), problems=result.problems,
                        torn_tail=bool(notes), notes=notes)
