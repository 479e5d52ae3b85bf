"""`mitigate validate` exit codes and `mitigate schema`, run as a user would."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import yaml

from mitigate.runbook.schema import runbook_schema, schema_text
from tests.runbook.helpers import BAD, FULL, run_cli

COMMITTED = Path(__file__).resolve().parents[2] / "runbooks" / "runbook.schema.json"


def test_committed_schema_is_not_stale() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == schema_text(), \
        "runbooks/runbook.schema.json is stale: run `mitigate schema -o runbooks/runbook.schema.json`"


def test_schema_accepts_the_full_runbook_and_rejects_a_bad_verb() -> None:
    schema = runbook_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    full = yaml.safe_load(FULL.read_text())
    assert list(validator.iter_errors(full)) == []
    bad = yaml.safe_load((BAD / "unknown_verb.yaml").read_text())
    assert any("cordn" in e.message or e.validator == "additionalProperties" for e in validator.iter_errors(bad))
    assert "cordon" in schema["$defs"]["Step"]["properties"]["action"]["anyOf"][0]["properties"]


def test_schema_command_stdout_and_file(tmp_path: Path) -> None:
    out = run_cli("schema")
    assert out.returncode == 0 and json.loads(out.stdout)["$id"].endswith("runbook.schema.json")
    assert out.stdout == schema_text()
    target = tmp_path / "s.json"
    assert run_cli("schema", "-o", str(target)).returncode == 0
    assert target.read_text() == schema_text()
    failed = run_cli("schema", "-o", str(tmp_path / "missing" / "s.json"))
    assert failed.returncode == 1 and failed.stderr.startswith("mitigate: cannot write")


def test_validate_exit_codes(tmp_path: Path) -> None:
    ok = run_cli("validate", str(FULL))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith(f"ok {FULL} (full-capabilities, 12 steps)")
    missing = run_cli("validate", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and "no such file or folder" in missing.stderr
    (tmp_path / "empty").mkdir()
    assert run_cli("validate", str(tmp_path / "empty")).returncode == 2
    assert run_cli("validate", "--bogus").returncode == 2
    mixed = run_cli("validate", "-q", str(FULL), str(BAD / "two_kinds.yaml"))
    assert mixed.returncode == 1 and mixed.stdout == ""
    assert mixed.stderr.splitlines()[-1] == "1 valid, 1 invalid"


def test_validate_folder_skips_drills(tmp_path: Path) -> None:
    shutil.copy(FULL, tmp_path / "full.yaml")
    (tmp_path / "drills").mkdir()
    (tmp_path / "drills" / "scenario.yaml").write_text("kind: Scenario\n")
    result = run_cli("validate", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "1 valid, 0 invalid" in result.stdout
