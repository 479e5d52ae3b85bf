"""The incident journal: append-only, hash-chained, fsynced, one writer.

Durability: each record is one ``os.write`` of its full line on an
``O_APPEND`` descriptor followed by ``os.fsync`` before ``append`` returns, so
a record reported as written survives ``kill -9`` and power loss; the
directory is fsynced when the file is created. Nothing is re-read per append:
the writer keeps the last line's hash and seq in memory.

One writer per incident: an exclusive, non-blocking ``flock`` on ``lock``
beside the journal; the holder writes who it is (pid, user@host, since) into
that file so the second writer is told exactly who holds it. The kernel drops
the lock when the holder dies, so a crashed session never blocks its resume.
Readers never take the lock.
"""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from mitigate.clock import SystemClock
from mitigate.durable import write_synced
from mitigate.errors import MitigateError
from mitigate.journal.incidents import existing_incident_dir, incident_dir, new_incident_id
from mitigate.journal.keys import JournalKey, current_key
from mitigate.journal.record import Record, build, prepare_data, sha256_hex
from mitigate.journal.verify import JOURNAL_FILE, TORN_PREFIX, scan
from mitigate.ports import Clock
from mitigate.timefmt import format_ts, utc_now_text

LOCK_FILE = "lock"
BACKUPS = "backups"


class JournalLocked(MitigateError):
    """Another process is writing this incident's journal."""


class JournalCorrupt(MitigateError):
    """The journal's chain is broken; appending would hide it."""


class JournalFailed(MitigateError):
    """A write did not complete (disk full, I/O error): this writer accepts no more records.

    Failing closed keeps the file verifiable up to the last acknowledged record: a record
    appended after a partial line would be glued to it and break the chain for good.
    """


def default_actor() -> str:
    """``user@host`` of this process."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid{os.getuid()}"
    return f"{user}@{socket.gethostname()}"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Journal:
    """One incident's journal. Create with ``Journal.create`` or ``Journal.open``."""

    def __init__(self, path: Path, *, readonly: bool, actor: str | None, clock: Clock | None) -> None:
        self.dir = path
        self.id = path.name
        self.backups_dir = path / BACKUPS
        self.file = path / JOURNAL_FILE
        self.readonly = readonly
        self.actor = actor or default_actor()
        self.clock: Clock = clock or SystemClock()
        self.torn_tail: str | None = None  # text of a torn last line found on open (set aside if writer)
        self.torn_path: Path | None = None  # where it was set aside
        self.problems: list[str] = []
        self._records: list[Record] = []
        self._loaded: tuple[int, int, int, int] | None = None  # the file's identity when last read
        self._last_hash = ""
        self._seq = 0
        self._fd: int | None = None
        self._size = 0  # bytes of acknowledged records: where the file is cut back to after a failed write
        self.failed: str | None = None  # why this writer stopped accepting appends
        self._lock_fd: int | None = None
        self._mutex = threading.Lock()
        self._subscribers: list[Callable[[Record], None]] = []
        self.key: JournalKey | None = current_key(path.parent)  # signs appends; checks macs on open

    # ------------------------------------------------------------------ opening

    @classmethod
    def create(cls, root: Path, incident_id: str | None = None, *, actor: str | None = None,
               clock: Clock | None = None, title: str | None = None) -> Journal:
        """A new incident directory with an empty journal; the caller holds the writer lock."""
        clock = clock or SystemClock()
        path = incident_dir(Path(root), incident_id or new_incident_id(title, clock.now()))
        path.mkdir(parents=True, exist_ok=True)
        (path / BACKUPS).mkdir(exist_ok=True)
        journal = cls(path, readonly=False, actor=actor, clock=clock)
        journal._lock()
        try:
            fd = os.open(journal.file, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            journal.close()
            raise MitigateError(f"incident {path.name!r} already exists in {root}") from None
        journal._fd = fd
        os.fsync(fd)
        _fsync_dir(path)
        _fsync_dir(path.parent)
        return journal

    @classmethod
    def open(cls, root: Path, incident_id: str, *, readonly: bool = False, actor: str | None = None,
             clock: Clock | None = None) -> Journal:
        """An existing journal. Writers take the lock and set a torn tail aside first."""
        journal = cls(existing_incident_dir(Path(root), incident_id), readonly=readonly, actor=actor,
                      clock=clock)
        if readonly:
            journal._load()
            return journal
        journal._lock()
        try:
            journal._load()
            if journal.problems:
                raise JournalCorrupt(f"journal of {journal.id} fails verification ({journal.problems[0]}); "
                                     f"run 'mitigate journal verify {journal.id}'")
            journal._fd = os.open(journal.file, os.O_WRONLY | os.O_APPEND)
        except BaseException:
            journal.close()
            raise
        return journal

    def _load(self) -> None:
        with self.file.open("rb") as handle:
            stat = os.fstat(handle.fileno())
            data = handle.read()
        self._loaded = (stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
        result = scan(data, key=self.key)
        self._records, self.problems = result.records, result.problems
        self._seq = result.records[-1].seq if result.records else 0
        self._last_hash = sha256_hex(result.last_line) if result.last_line is not None else ""
        self._size = result.good_len
        if result.torn is not None:
            self.torn_tail = result.torn.decode("utf-8", errors="replace")
            if not self.readonly:
                self._set_aside(result.torn, result.good_len)

    def _set_aside(self, torn: bytes, good_len: int) -> None:
        """Move a torn last line to ``journal.jsonl.torn-<ts>`` and cut it from the journal."""
        stamp = format_ts(self.clock.now()).replace(":", "")
        aside = self.dir / f"{TORN_PREFIX}{stamp}"
        write_synced(aside, torn, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        fd = os.open(self.file, os.O_WRONLY)
        try:
            os.ftruncate(fd, good_len)
            os.fsync(fd)
        finally:
            os.close(fd)
        _fsync_dir(self.dir)
        self.torn_path = aside

    def _lock(self) -> None:
        fd = os.open(self.dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 4096).decode("utf-8", errors="replace")
            os.close(fd)
            raise JournalLocked(f"incident {self.id} is being written by {_describe_holder(holder)}; "
                                "only one writer at a time (readers need no lock)") from None
        os.ftruncate(fd, 0)
        info = {"pid": os.getpid(), "actor": self.actor, "since": format_ts(self.clock.now())}
        os.pwrite(fd, json.dumps(info).encode(), 0)
        self._lock_fd = fd

    # ------------------------------------------------------------------ writing

    def append(self, type: str, data: dict[str, Any], *, actor: str | None = None) -> Record:
        """Write one record durably (fsynced) and return it; subscribers are told afterwards."""
        if self._fd is None:
            raise MitigateError(f"journal of {self.id} is {'read-only' if self.readonly else 'closed'}")
        try:
            clean, compact, ordered = prepare_data(data)
        except (TypeError, ValueError) as exc:  # ValueError: NaN, or text UTF-8 cannot hold
            raise MitigateError(f"journal data must be plain JSON: {exc}") from None
        with self._mutex:
            if self.failed is not None:
                raise JournalFailed(self.failed)
            record, line = build(self._seq + 1, self._timestamp(), self.clock.monotonic(), actor or self.actor,
                                 type, clean, compact, ordered, self._last_hash, self.key)
            line_hash = sha256_hex(line[:-1])  # the next record's prev (hashed now, while the CPU is warm)
            try:
                written = os.write(self._fd, line)
                if written != len(line):  # a short write on a regular file means a full disk
                    raise OSError(f"short write ({written}/{len(line)} bytes); disk full?")
                os.fsync(self._fd)
            except OSError as exc:
                self._fail_closed(exc)
            self._seq, self._last_hash = record.seq, line_hash
            self._size += len(line)
            self._records.append(record)
            subscribers = self._subscribers[:] if self._subscribers else ()
        for callback in subscribers:
            callback(record)
        return record

    def _fail_closed(self, exc: OSError) -> NoReturn:
        """Stop accepting appends, cut the partial line off if the disk lets us, and say so."""
        reason = exc.strerror or str(exc)
        try:
            os.ftruncate(self._fd, self._size)  # type: ignore[arg-type]
            os.fsync(self._fd)  # type: ignore[arg-type]
            cut = "the partial line was cut off"
        except OSError:
            cut = "the partial line is left as a torn tail (set aside when the incident is next opened)"
        self.failed = (f"journal of {self.id} stopped accepting records: a write failed ({reason}); "
                       f"it verifies up to record #{self._seq}, the last one acknowledged; {cut}. "
                       f"Free the disk, then 'mitigate resume {self.id}'")
        raise JournalFailed(self.failed) from None

    @property
    def head(self) -> str:
        """The last record's hash: shown in notifications and the postmortem, so a journal cut
        short later (which the chain alone cannot show) has a different head than the one sent."""
        with self._mutex:
            return self._records[-1].hash if self._records else ""

    def _timestamp(self) -> str:
        """``ts`` for a record written now."""
        if type(self.clock) is SystemClock:
            return utc_now_text()  # the same text, without building a datetime
        return format_ts(self.clock.now())

    def subscribe(self, callback: Callable[[Record], None]) -> None:
        """Call ``callback(record)`` after each append (in the appending thread)."""
        self._subscribers.append(callback)

    # ------------------------------------------------------------------ reading

    @property
    def writable(self) -> bool:
        """This object holds the writer (not read-only, not closed)."""
        return self._fd is not None

    def records(self) -> list[Record]:
        """All records; a reader re-reads the file when it changed, to see a live writer's appends."""
        if self.readonly and self._changed():
            self._load()
        with self._mutex:
            return list(self._records)

    def _changed(self) -> bool:
        """Has the file changed since it was last read? An append always changes its size; an
        in-place edit of the same size changes its times (at the clock tick's granularity), and
        ``verify`` and every open read the whole file anyway."""
        try:
            stat = self.file.stat()
        except OSError:
            return True
        return self._loaded != (stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)

    def close(self) -> None:
        """Release the file and the writer lock (clearing the holder note first)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._lock_fd is not None:
            os.ftruncate(self._lock_fd, 0)
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _describe_holder(text: str) -> str:
    try:
        info = json.loads(text)
        return f"pid {info['pid']} ({info['actor']}, since {info['since']})"
    except (ValueError, KeyError, TypeError):
        return "another process (it has not written its name yet)"
