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
    # consistent, but its first record is unkeyed: not vouched for, a code of its own unless accepted
    assert main(["--journal-dir", str(root), "journal", "verify", "inc-cli"]) == 3
    captured = capsys.readouterr()
    assert "authenticity: intact; the first 1 record(s) are unkeyed" in captured.out, captured.out
    assert "head: " in captured.out and "--allow-unkeyed" in captured.err
    assert main(["--journal-dir", str(root), "journal", "verify", "--allow-unkeyed", "inc-cli"]) == 0
    assert (root / ".journal-key").stat().st_mode & 0o777 == 0o600


def test_journal_verify_exit_codes_tell_keyed_unkeyed_and_tampered(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "incidents"
    with Journal.create(root, "inc-u") as unkeyed:  # the library, no key provider: unkeyed
        unkeyed.append("note", {"text": "written as a library"})
    previous = key_provider()
    set_key_provider(lambda r: file_key(r, "test"))
    try:
        with Journal.create(root, "inc-k") as keyed:
            keyed.append("note", {"text": "written by this installation"})
    finally:
        set_key_provider(previous)
    verify_cmd = ["--journal-dir", str(root), "journal", "verify"]
    assert main([*verify_cmd, "inc-k"]) == 0
    assert "intact and written by this installation" in capsys.readouterr().out
    assert main([*verify_cmd, "inc-u"]) == 3
    assert "consistent but unkeyed" in capsys.readouterr().out
    assert main([*verify_cmd, "--allow-unkeyed", "inc-u"]) == 0
    path = root / "inc-k" / "journal.jsonl"
    path.write_text(path.read_text().replace("written by this", "written by that"))
    assert main([*verify_cmd, "inc-k"]) == 1
    assert main([*verify_cmd, "--allow-unkeyed", "inc-k"]) == 1  # tampered is never accepted
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["journal", "verify", "--help"])
    assert "3 consistent but not vouched for" in " ".join(capsys.readouterr().out.split())
