"""The journal fails closed after a failed write (issue 12, point 8).

Before: after a short write (disk full) the live session kept appending after the partial line,
so the chain broke and the incident could no longer be opened.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest

from mitigate.journal import Journal, JournalFailed, verify
from mitigate.journal import store as store_module


def _short_writes(monkeypatch: pytest.MonkeyPatch, *, raise_enospc: bool = False) -> list[int]:
    """Make the next journal write short (half the bytes land) or fail with ENOSPC."""
    real = os.write
    calls: list[int] = []

    def write(fd: int, data: Any) -> int:
        calls.append(len(data))
        if raise_enospc:
            real(fd, bytes(data)[: len(data) // 3])
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, bytes(data)[: len(data) // 2])

    monkeypatch.setattr(store_module.os, "write", write)
    return calls


@pytest.mark.parametrize("enospc", [False, True], ids=["short write", "ENOSPC"])
def test_a_failed_write_stops_the_writer_and_the_journal_verifies_up_to_the_last_ack(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, enospc: bool) -> None:
    journal = Journal.create(tmp_path, "inc-1")
    for n in range(3):
        journal.append("note", {"text": f"acknowledged {n}"})
    with monkeypatch.context() as m:
        _short_writes(m, raise_enospc=enospc)
        with pytest.raises(JournalFailed, match=r"stopped accepting records.*record #3"):
            journal.append("note", {"text": "lost to a full disk"})
    # the disk has room again, but this writer does not write after a failure it reported
    size = (tmp_path / "inc-1" / "journal.jsonl").stat().st_size
    with pytest.raises(JournalFailed, match="stopped accepting records"):
        journal.append("note", {"text": "appended after the partial line"})
    assert (tmp_path / "inc-1" / "journal.jsonl").stat().st_size == size
    assert journal.failed is not None and "mitigate resume inc-1" in journal.failed
    journal.close()

    report = verify(tmp_path / "inc-1")
    assert report.ok, report.problems
    assert report.records == 3
    reopened = Journal.open(tmp_path, "inc-1")  # the incident opens again and goes on
    reopened.append("note", {"text": "after the disk was freed"})
    assert [r.data["text"] for r in reopened.records()][-2:] == ["acknowledged 2", "after the disk was freed"]
    reopened.close()
    assert verify(tmp_path / "inc-1").ok


def test_a_partial_line_the_disk_will_not_cut_is_a_torn_tail_set_aside(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    journal = Journal.create(tmp_path, "inc-2")
    journal.append("note", {"text": "acknowledged"})

    def no_truncate(fd: int, size: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    with monkeypatch.context() as m:
        _short_writes(m)
        m.setattr(store_module.os, "ftruncate", no_truncate)
        with pytest.raises(JournalFailed, match="torn tail"):
            journal.append("note", {"text": "half of me"})
    journal.close()
    report = verify(tmp_path / "inc-2")
    assert report.ok and report.records == 1 and report.torn_tail
    reopened = Journal.open(tmp_path, "inc-2")
    assert reopened.torn_path is not None
    reopened.append("note", {"text": "goes on"})
    reopened.close()
    assert verify(tmp_path / "inc-2").ok
