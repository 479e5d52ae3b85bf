"""kill -9 at random moments: every record whose append returned survives, the chain holds.

A forked child process appends in a loop and reports each seq on a pipe only
after ``append`` returned (that is the durability promise); forking instead of
starting a new interpreter keeps 60 trials within a few seconds. The parent SIGKILLs it after a
random 5-40 ms, then checks the journal. A SIGKILL can cut a ``write`` short
where the line crosses a page of the file (Linux checks for a fatal signal
between pages), so a trial may end with a torn tail on its own: it must be the
start of the next, never-reported record. Every fifth trial the parent also
leaves a half-written line behind. Every torn tail must be reported, set aside
by the next writer, and never silently dropped.
"""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

from mitigate.journal import Journal, verify


def _child(root: Path, report_fd: int) -> None:
    """Runs in the forked process; never returns (SIGKILL ends it)."""
    journal = Journal.open(root, "crash")
    rng = random.Random(os.getpid())
    os.write(report_fd, b"ready\n")
    while True:
        record = journal.append("note", {"text": "x" * rng.randint(1, 300)})
        os.write(report_fd, b"%d\n" % record.seq)


def _spawn(root: Path) -> tuple[int, int]:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child is killed, coverage never sees it finish
        os.close(read_fd)
        try:
            _child(root, write_fd)
        finally:
            os._exit(1)
    os.close(write_fd)
    return pid, read_fd


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks)


TRIALS = 60


def test_sigkill_never_loses_a_reported_record(root: Path) -> None:
    Journal.create(root, "crash").close()
    rng = random.Random(20261121)
    reported_max, torn_trials, written = 0, 0, 0
    for trial in range(TRIALS):
        pid, fd = _spawn(root)
        assert os.read(fd, 6) == b"ready\n"
        time.sleep(rng.uniform(0.005, 0.040))  # the journal grows with each trial: reading it is O(n)
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
        reported = [int(line) for line in _read_all(fd).split(b"\n")[:-1]]  # complete lines only
        reader = Journal.open(root, "crash", readonly=True)
        seqs = [r.seq for r in reader.records()]
        assert seqs == list(range(1, len(seqs) + 1))
        assert reported == list(range(written + 1, written + 1 + len(reported)))  # continues the chain
        assert seqs[-1] >= max(reported, default=0)  # every reported record is on disk
        reported_max, written = max(reported, default=reported_max), seqs[-1]
        report = verify(reader.dir)
        assert report.ok, report.problems
        torn = reader.torn_tail is not None
        if torn:  # the kill cut the next record's write: that append never returned
            assert str(reader.torn_tail).startswith(f'{{"seq":{seqs[-1] + 1},'), reader.torn_tail
            assert max(reported, default=0) <= seqs[-1]
        if trial % 5 == 4:
            with (reader.dir / "journal.jsonl").open("ab") as handle:
                handle.write(b'{"seq":' + str(seqs[-1] + 1).encode() + b',"ts":"20')
            torn = True
            forced = Journal.open(root, "crash", readonly=True)
            assert forced.torn_tail is not None and verify(forced.dir).torn_tail
            assert [r.seq for r in forced.records()] == seqs
        torn_trials += torn
    assert reported_max > TRIALS  # the children really were appending when killed
    assert TRIALS % 5 == 0  # so the last trial forced a torn tail that no writer has set aside yet
    assert len(list(root.glob("crash/journal.jsonl.torn-*"))) == torn_trials - 1
    with Journal.open(root, "crash") as writer:
        assert writer.torn_tail is not None
        assert writer.append("note", {"text": "after"}).seq == written + 1
    assert len(list(root.glob("crash/journal.jsonl.torn-*"))) == torn_trials
    final = verify(root / "crash")
    assert final.ok and final.torn_tail and len(final.notes) == torn_trials
