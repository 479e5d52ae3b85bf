"""The keyed chain (issue 12, point 8): a record appended or changed outside mitigate, with its
hashes recomputed, passed ``verify`` and made rollback act on it. With the installation's key,
``verify`` refuses it and tells "intact and written by this installation" from "consistent but
unkeyed"; a writer will not open such a journal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from mitigate.cli import main
from mitigate.journal import Journal, JournalCorrupt, verify
from mitigate.journal.keys import JournalKey, file_key, key_provider, set_key_provider
from mitigate.journal.record import canonical, sha256_hex


@pytest.fixture
def keyed(tmp_path: Path) -> Iterator[JournalKey]:
    previous = key_provider()
    key = file_key(tmp_path, "test")
    set_key_provider(lambda root: key)
    yield key
    set_key_provider(previous)


def forge_append(path: Path, type_: str, data: dict[str, object], *, mac: str | None = None) -> None:
    """What an attacker with write access can do: a well-formed record, hashes recomputed."""
    file = path / "journal.jsonl"
    lines = file.read_bytes().splitlines()
    last = json.loads(lines[-1])
    body = {"seq": last["seq"] + 1, "ts": last["ts"], "mono": last["mono"] + 1, "actor": last["actor"],
            "type": type_, "data": data, "prev": sha256_hex(lines[-1])}
    body["hash"] = sha256_hex(canonical(body))
    if mac is not None:
        body["mac"] = mac
    with file.open("ab") as handle:
        handle.write(json.dumps(body, separators=(",", ":")).encode() + b"\n")


def make_journal(root: Path) -> Path:
    journal = Journal.create(root, "inc-1")
    journal.append("incident.opened", {"title": "t"})
    journal.append("step.outcome", {"step": "del", "ok": True, "undo": []})
    journal.close()
    return root / "inc-1"


def test_records_carry_a_mac_and_verify_as_written_here(tmp_path: Path, keyed: JournalKey) -> None:
    path = make_journal(tmp_path)
    lines = [json.loads(x) for x in (path / "journal.jsonl").read_text().splitlines()]
    assert all(keyed.verifies(x["hash"], x["mac"]) for x in lines)
    report = verify(path)
    assert report.ok and report.keyed
    assert report.authenticity.startswith("intact and written by this installation")
    assert report.head == lines[-1]["hash"]


@pytest.mark.parametrize("mac", [None, "0" * 64], ids=["no mac", "made-up mac"])
def test_a_forged_record_with_recomputed_hashes_fails_verify_and_open(
        tmp_path: Path, keyed: JournalKey, mac: str | None) -> None:
    path = make_journal(tmp_path)
    forge_append(path, "step.outcome", {"step": "del", "ok": True,
                                        "undo": [{"verb": "delete", "params": {"name": "unrelated"}}]}, mac=mac)
    report = verify(path)
    assert not report.ok
    assert any("line 3" in p and "journal key" in p for p in report.problems), report.problems
    with pytest.raises(JournalCorrupt):
        Journal.open(tmp_path, "inc-1")
    set_key_provider(None)  # without the key the chain alone is consistent: that is what it was before
    assert verify(path).ok


def test_unkeyed_and_foreign_journals_are_consistent_but_not_vouched_for(tmp_path: Path, keyed: JournalKey) -> None:
    previous = key_provider()
    set_key_provider(None)
    make_journal(tmp_path)  # written without a key (before keys, or as a library)
    set_key_provider(previous)
    report = verify(tmp_path / "inc-1")
    assert report.ok and not report.keyed
    assert report.authenticity.startswith("consistent but unkeyed")

    other = JournalKey(b"k" * 32, "another installation")
    set_key_provider(lambda root: other)
    make_journal(tmp_path / "elsewhere")
    set_key_provider(lambda root: keyed)
    report = verify(tmp_path / "elsewhere" / "inc-1")
    assert report.ok and not report.keyed
    assert "another installation" in report.authenticity


def test_journal_verify_cli_says_who_wrote_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "incidents"
    journal = Journal.create(root, "inc-cli")  # through the library, without a key provider: unkeyed
    journal.append("note", {"text": "x"})
    journal.close()
    assert main(["--journal-dir", str(root), "journal", "add", "inc-cli", "signed here"]) == 0
    capsys.readouterr()
    assert main(["--journal-dir", str(root), "journal", "verify", "inc-cli"]) == 0
    out = capsys.readouterr().out
    assert "authenticity: intact; the first 1 record(s) are unkeyed" in out, out
    assert "head: " in out
    assert (root / ".journal-key").stat().st_mode & 0o777 == 0o600
