"""Every malformed runbook gets the right located message, in-process and through the CLI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mitigate.errors import LocatedErrors
from mitigate.runbook.loader import load_runbook, load_runbook_text
from tests.runbook.helpers import BAD, expectation, run_cli

BAD_FILES = sorted(BAD.glob("*.yaml"))


def test_there_are_enough_malformed_fixtures() -> None:
    assert len(BAD_FILES) >= 30


@pytest.mark.parametrize("path", BAD_FILES, ids=[p.stem for p in BAD_FILES])
def test_malformed_runbook_is_located(path: Path) -> None:
    line, column, fragment = expectation(path)
    with pytest.raises(LocatedErrors) as info:
        load_runbook(path)
    found = [(e.line, e.column, e.message) for e in info.value.errors]
    assert any(ln == line and col == column and fragment in msg for ln, col, msg in found), found
    assert all(e.path == str(path) for e in info.value.errors)
    assert [(e.line, e.column) for e in info.value.errors] == sorted((e.line, e.column) for e in info.value.errors)


def test_cli_reports_every_malformed_file_and_exits_1() -> None:
    result = run_cli("validate", str(BAD))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[-1] == f"0 valid, {len(BAD_FILES)} invalid"
    pattern = re.compile(r"^(.+?):(\d+):(\d+): (.+)$")
    by_file: dict[str, list[tuple[int, int, str]]] = {}
    for ln in lines[:-1]:
        m = pattern.match(ln)
        assert m, f"not a located one-line error: {ln!r}"
        by_file.setdefault(Path(m.group(1)).name, []).append((int(m.group(2)), int(m.group(3)), m.group(4)))
    for path in BAD_FILES:
        line, column, fragment = expectation(path)
        got = by_file.get(path.name, [])
        assert any(ln == line and col == column and fragment in msg for ln, col, msg in got), (path.name, got)


def test_all_errors_of_one_file_are_reported_together(full_text: str) -> None:
    text = (full_text.replace("  name: full-capabilities", "  nmae: full-capabilities")
            .replace("cordon: {names:", "cordn: {names:")
            .replace("expect: value < 10", "expect: value <"))
    with pytest.raises(LocatedErrors) as info:
        load_runbook_text(text, "many.yaml")
    messages = [e.message for e in info.value.errors]
    assert any("unknown key 'nmae'" in m for m in messages)
    assert any("unknown action 'cordn' (did you mean 'cordon'?)" in m for m in messages)
    assert any(m.startswith("expression 'value <'") for m in messages)
    lines = [e.line for e in info.value.errors]
    assert lines == sorted(lines)
    assert str(info.value).splitlines()[0].startswith("many.yaml:")


def test_where_names_the_path_inside_the_action() -> None:
    text = (BAD / "unknown_action_param.yaml").read_text()
    with pytest.raises(LocatedErrors) as info:
        load_runbook_text(text, "x.yaml")
    assert str(info.value.errors[0]) == \
        "x.yaml:12:9: unknown key 'nmaes' (did you mean 'names'?) (at steps[0].action.cordon.nmaes)"


def test_unreadable_file_is_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00garbage")
    result = run_cli("validate", str(tmp_path / "bin.yaml"))
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == f"{tmp_path / 'bin.yaml'}:1:1: not UTF-8 text"
