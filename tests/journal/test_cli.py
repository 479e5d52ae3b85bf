"""The journal CLI as a user runs it: a subprocess against a real journal directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from mitigate.journal import Journal

from .helpers import child_env

Cli = Callable[..., subprocess.CompletedProcess[str]]
ID = "2026-11-21T2336Z-apiserver-oom-3f2a"


def _incident(root: Path, incident_id: str = ID, title: str = "API server OOM") -> None:
    with Journal.create(root, incident_id) as j:
        j.append("incident.opened", {"title": title, "severity": "SEV1", "runbook": "apiserver-oom",
                                     "drill": True})


def test_add_backdated_milestone_show_and_verify(root: Path, cli: Cli) -> None:
    _incident(root)
    added = cli("journal", "add", ID, "--at", "2024-07-10 10:01", "--tz", "EST", "--milestone", "impact-start",
                "errors began, token=abc123secret")
    assert added.returncode == 0, added.stderr
    assert "added #2 milestone impact-start at 2024-07-10T15:01:00.000000Z" in added.stdout
    assert added.stderr.startswith("mitigate: warning: EST does not fit 2024-07-10")
    assert cli("journal", "add", ID, "plain note").returncode == 0

    shown = cli("journal", "show", ID)
    assert shown.returncode == 0 and "3 records" in shown.stdout
    assert "[FLAGGED: EST does not fit" in shown.stdout and "abc123secret" not in shown.stdout
    data = json.loads(cli("journal", "show", ID, "--json").stdout)
    milestone = data["records"][1]
    assert milestone["type"] == "milestone" and milestone["data"]["name"] == "impact-start"
    assert milestone["data"]["at"] == "2024-07-10T15:01:00.000000Z"
    assert milestone["data"]["declared"]["mismatch"] is True and milestone["data"]["declared"]["tz"] == "EST"
    assert data["records"][2]["data"] == {"text": "plain note"}

    # the first record was written through the library, unkeyed: consistent, not vouched for (exit 3)
    checked = cli("journal", "verify", ID)
    assert checked.returncode == 3 and "ok: 3 records, hash chain intact" in checked.stdout
    assert "--allow-unkeyed" in checked.stderr
    accepted = cli("journal", "verify", ID, "--allow-unkeyed")
    assert accepted.returncode == 0 and "ok: 3 records, hash chain intact" in accepted.stdout


def test_tampered_record_fails_verify_naming_the_line(root: Path, cli: Cli) -> None:
    _incident(root)
    for text in ("one", "two", "three"):
        cli("journal", "add", ID, text)
    path = root / ID / "journal.jsonl"
    path.write_text(path.read_text().replace('"two"', '"2wo"'))
    result = cli("journal", "verify", ID)
    assert result.returncode == 1
    assert "mitigate: journal " + ID + ": line 3: hash does not match" in result.stderr
    assert "FAILED" in result.stdout
    shown = cli("journal", "show", ID)
    assert shown.returncode == 1 and "line 3" in shown.stderr
    refused = cli("journal", "add", ID, "more")
    assert refused.returncode == 1 and "fails verification (line 3" in refused.stderr


def test_torn_tail_is_reported_by_show_and_verify(root: Path, cli: Cli) -> None:
    _incident(root)
    with (root / ID / "journal.jsonl").open("a") as handle:
        handle.write('{"seq":2,"ts":"2026')
    for command in (("show",), ("verify", "--allow-unkeyed")):
        result = cli("journal", *command, ID)
        assert result.returncode == 0 and "torn last line" in result.stdout
    added = cli("journal", "add", ID, "after the crash")
    assert added.returncode == 0 and "added #2 note" in added.stdout and "set aside" in added.stderr
    assert "set aside earlier" in cli("journal", "verify", ID, "--allow-unkeyed").stdout


def test_bad_ids_and_bad_input_are_one_line_errors(root: Path, cli: Cli) -> None:
    _incident(root)
    cases = [
        (("journal", "show", "no-such-incident"), "mitigate: no incident 'no-such-incident' in "),
        (("journal", "verify", "../../etc"), "mitigate: invalid incident id '../../etc'"),
        (("journal", "add", ID, "--at", "2024-03-13 10:01", "x"), "--at needs --tz"),
        (("journal", "add", ID, "--at", "2024-03-13 10:01", "--tz", "Nowhere/City", "x"), "unknown time zone"),
        (("journal", "add", ID, "--at", "13/03/2024", "--tz", "UTC", "x"), "cannot read time"),
        (("journal", "add", ID, "--milestone", "Impact Start"), "unknown milestone 'Impact Start': did you mean 'impact-start'?"),
        (("journal", "add", ID), "give TEXT"),
    ]
    for args, message in cases:
        result = cli(*args)
        assert result.returncode == 1, args
        assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    usage = cli("journal", "show")
    assert usage.returncode == 2 and "Traceback" not in usage.stderr


def test_incidents_lists_newest_first(root: Path, cli: Cli) -> None:
    assert "no incidents in" in cli("incidents").stdout
    _incident(root, "2026-11-20T0900Z-older-0001", "Older one")
    _incident(root, "2026-11-21T0900Z-newer-0002", "Newer one")
    cli("journal", "add", "2026-11-20T0900Z-older-0001", "x")
    with Journal.open(root, "2026-11-20T0900Z-older-0001") as j:
        j.append("incident.status", {"status": "resolved"})
    listing = cli("incidents").stdout.splitlines()
    assert listing[0].split() == ["ID", "STATUS", "SEV", "OPENED", "AGE", "RUNBOOK", "TITLE"]
    # both were opened this second; ids break the tie, newest first
    assert [line.split()[0] for line in listing[1:]] == ["2026-11-21T0900Z-newer-0002",
                                                         "2026-11-20T0900Z-older-0001"]
    assert "resolved" in listing[2] and "[drill] Older one" in listing[2] and "apiserver-oom" in listing[2]
    data = json.loads(cli("incidents", "--json").stdout)
    assert [d["status"] for d in data] == ["investigating", "resolved"]


def test_second_writer_is_refused_with_the_holders_name(root: Path, cli: Cli) -> None:
    _incident(root)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; from mitigate.journal import Journal; "
         "j = Journal.open(sys.argv[1], sys.argv[2], actor='ana@laptop'); print('held', flush=True); "
         "sys.stdin.read()", str(root), ID],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=child_env())
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        refused = cli("journal", "add", ID, "second writer")
        assert refused.returncode == 1
        assert refused.stderr.startswith(f"mitigate: incident {ID} is being written by pid {holder.pid} "
                                         "(ana@laptop, since 20")
        assert refused.stderr.count("\n") == 1
        assert cli("journal", "show", ID).returncode == 0  # readers need no lock
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
    assert cli("journal", "add", ID, "now it works").returncode == 0


def test_journal_dir_from_environment(root: Path) -> None:
    _incident(root)
    env = {**child_env(), "MITIGATE_JOURNAL_DIR": str(root)}
    result = subprocess.run([sys.executable, "-m", "mitigate", "journal", "verify", "--allow-unkeyed", ID],
                            capture_output=True,
                            text=True, env=env, timeout=60, check=False)
    assert result.returncode == 0 and os.fspath(root) not in result.stderr
