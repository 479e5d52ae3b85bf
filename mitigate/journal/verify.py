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

from mitigate.journal.keys import JournalKey, current_key
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
    signed: int = 0  # records whose mac verifies under the key scanned with
    unsigned: int = 0  # records without a mac
    foreign: int = 0  # records with a mac the key does not verify (another installation's, or forged)


def scan(data: bytes, *, full: bool = False, key: JournalKey | None = None) -> Scan:
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
        if key is not None:
            _check_mac(result, rec, number, key)
    result.last_line = prev_line
    return result


def _check_mac(result: Scan, rec: Record, number: int, key: JournalKey) -> None:
    """Once a record verifies under this installation's key, every later one must too: a record
    without a valid mac after it was added or changed outside mitigate, hashes recomputed."""
    if rec.mac and key.verifies(rec.hash, rec.mac):
        result.signed += 1
        return
    if rec.mac:
        result.foreign += 1
    else:
        result.unsigned += 1
    if result.signed:
        why = "its mac does not verify under" if rec.mac else "it carries no mac, after records signed by"
        result.problems.append(f"line {number}: {why} this installation's journal key "
                               "(added or changed outside mitigate, with recomputed hashes)")


@dataclass
class VerifyReport:
    ok: bool
    records: int
    problems: list[str]
    torn_tail: bool
    notes: list[str] = field(default_factory=list)  # torn tails found now or set aside earlier
    authenticity: str = ""  # "intact and written by this installation", "consistent but unkeyed", ...
    keyed: bool = False  # every record verifies under this installation's key
    head: str = ""  # the last record's hash: a journal cut short later has another head


def authenticity(result: Scan, key: JournalKey | None) -> tuple[str, bool]:
    """How far this installation can vouch for a consistent journal, in words."""
    n = len(result.records)
    if result.problems:
        return "NOT intact", False
    if n == 0:
        return "empty", False
    if key is None:
        return "consistent; no journal key on this installation to check who wrote it", False
    if result.signed == n:
        return f"intact and written by this installation (journal key {key.id}, {key.source})", True
    if result.signed:
        return (f"intact; the first {n - result.signed} record(s) are unkeyed (written before this "
                f"installation's key or elsewhere), the rest written by this installation (key {key.id})"), False
    if result.foreign:
        return ("consistent, but signed with another installation's key (or re-signed): "
                "this installation cannot vouch for who wrote it"), False
    return "consistent but unkeyed: the chain is intact, but nothing shows which installation wrote it", False


def journal_file(path: Path) -> Path:
    """Accept an incident directory or the journal file itself."""
    return path / JOURNAL_FILE if path.is_dir() else path


def verify(path: Path, key: JournalKey | None | bool = True) -> VerifyReport:
    """Check a journal's hash chain, sequence numbers, tail and (with a key) its macs.

    ``key=True`` (the default) uses this installation's key for the journal root, if any.
    """
    file = journal_file(Path(path))
    if key is True:
        key = current_key(file.parent.parent)
    chosen = key if isinstance(key, JournalKey) else None
    result = scan(file.read_bytes(), full=True, key=chosen)
    notes: list[str] = []
    if result.torn is not None:
        notes.append(f"torn last line ({len(result.torn)} bytes after line {len(result.records)}): "
                     "a write interrupted by a crash; it is set aside when the journal is next opened "
                     "for writing")
    for aside in sorted(file.parent.glob(TORN_PREFIX + "*")):
        notes.append(f"torn line set aside earlier in {aside.name} ({aside.stat().st_size} bytes)")
    words, keyed = authenticity(result, chosen)
    return VerifyReport(ok=not result.problems, records=len(result.records), problems=result.problems,
                        torn_tail=bool(notes), notes=notes, authenticity=words, keyed=keyed,
                        head=result.records[-1].hash if result.records else "")
