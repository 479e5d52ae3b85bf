"""A runbook library of the team's own: the search path (--library, MITIGATE_RUNBOOKS, config
runbookPaths, bundled) used by home, run, drill, validate and test; shadowing shown; ``mitigate new``
output that validates and passes ``mitigate test`` as written; runbook CI with JUnit XML."""

from __future__ import annotations

import os
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mitigate.cli import main
from mitigate.cli.library import search_path
from mitigate.errors import MitigateError, UsageError
from mitigate.paths import runbooks_dir
from tests.cli.helpers import write_config

SHADOW = (runbooks_dir() / "apiserver-oom.yaml").read_text(encoding="utf-8").replace(
    "title: ", "title: Team edition of ", 1)


def _folder(tmp_path: Path, name: str, files: dict[str, str]) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for file, text in files.items():
        (folder / file).write_text(text, encoding="utf-8")
    return folder


def _scaffold(folder: Path, name: str) -> None:
    assert main(["new", "runbook", name, "--dir", str(folder)]) == 0
    assert main(["new", "drill", name, "--dir", str(folder)]) == 0


def test_the_search_path_order_and_shadowing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = _folder(tmp_path, "first", {"apiserver-oom.yaml": SHADOW})
    env_a, env_b = tmp_path / "env-a", tmp_path / "env-b"
    _scaffold(env_a, "web-zero")
    _scaffold(env_b, "web-zero")  # shadowed by env-a's
    configured = tmp_path / "cfg" / "team"
    _scaffold(configured, "db-failover")
    write_config(tmp_path, "runbookPaths: [team]\n")  # relative to the config file's folder
    monkeypatch.setenv("MITIGATE_RUNBOOKS", os.pathsep.join([str(env_a), str(env_b)]))
    from integrations.config import load_config

    lib = search_path([first], load_config().runbook_dirs())
    assert [f.origin for f in lib.folders] == ["--library", "MITIGATE_RUNBOOKS", "MITIGATE_RUNBOOKS",
                                                "config runbookPaths", "bundled"]
    entries = {e.name: e for e in lib.entries()}
    assert entries["apiserver-oom"].summary.path == first / "apiserver-oom.yaml"
    assert entries["apiserver-oom"].note == f"--library: {first}; shadows the bundled one"
    assert entries["web-zero"].summary.path == env_a / "web-zero.yaml"
    assert entries["web-zero"].note == f"MITIGATE_RUNBOOKS: {env_a}; shadows {env_b / 'web-zero.yaml'}"
    assert entries["db-failover"].folder.path == configured and entries["replace-notready-nodes"].note == ""
    assert lib.find("apiserver-oom") == first / "apiserver-oom.yaml"
    assert lib.find_scenario("db-failover") == configured / "drills" / "db-failover.yaml"
    with pytest.raises(UsageError, match="no runbook named 'web-zro'.*did you mean 'web-zero'"):
        lib.find("web-zro")
    with pytest.raises(MitigateError, match="--library .*nope: no such folder"):
        search_path([tmp_path / "nope"])


def test_run_validate_and_drill_resolve_through_the_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    team = _folder(tmp_path, "team", {"apiserver-oom.yaml": SHADOW})
    _scaffold(team, "web-zero")
    monkeypatch.setenv("MITIGATE_RUNBOOKS", str(team))
    assert main(["validate"]) == 0
    out = capsys.readouterr().out
    assert f"ok {team / 'web-zero.yaml'} (web-zero, 4 steps)" in out and "apiserver-oom.yaml" in out
    # the whole path is validated, shadowed ones too, and said to be
    assert f"ok {runbooks_dir() / 'apiserver-oom.yaml'} (apiserver-oom, " in out
    assert f"; shadowed by {team / 'apiserver-oom.yaml'})" in out
    kc = tmp_path / "kc"
    from tests.cli.helpers import kubeconfig

    kubeconfig(kc, "lab")
    # the team's runbook is the one planned; no server answers, so the plan says so and fails
    assert main(["run", "apiserver-oom", "--context", "lab", "--kubeconfig", str(kc), "--plan"]) == 1
    out = capsys.readouterr()
    assert "Plan: Team edition of " in out.out and "cannot be planned: lab: " in out.err and "127.0.0.1:1" in out.err
    assert main(["drill", "web-zero", "--headless", "--auto-approve"]) == 0  # scenario + runbook from the library
    assert "Scenario health: MITIGATED" in capsys.readouterr().out


def test_new_output_passes_validate_and_test_unchanged_with_a_junit_report(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "ours"
    _scaffold(folder, "web-zero")
    assert main(["new", "runbook", "web-zero", "--dir", str(folder)]) == 2  # never overwritten
    assert "already exists" in capsys.readouterr().err
    assert main(["validate", str(folder)]) == 0
    report = tmp_path / "junit.xml"
    assert main(["test", str(folder), "--junit", str(report)]) == 0
    out = capsys.readouterr().out
    assert "[1/1] web-zero x web-zero (expect mitigated) ... ok: MITIGATED" in out
    suite = ET.parse(report).getroot()
    assert suite.tag == "testsuite" and suite.get("tests") == "1" and suite.get("failures") == "0"
    (case,) = suite.iter("testcase")
    assert case.get("name") == "web-zero x web-zero" and case.find("failure") is None


def test_a_wrong_fix_must_score_not_mitigated_and_test_says_when_it_does_not(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "ours"
    _scaffold(folder, "web-zero")
    wrong = (folder / "web-zero.yaml").read_text().replace("name: web-zero ", "name: web-zero-wrong ", 1)
    wrong = wrong.replace("default: 3, minimum: 1", "default: 1, minimum: 1")  # scales to 1, not 3
    (folder / "web-zero-wrong.yaml").write_text(wrong)
    scenario = (folder / "drills" / "web-zero.yaml").read_text()
    wrong_case = scenario.replace("runbook: web-zero ", "runbook: web-zero-wrong ")
    (folder / "drills" / "web-zero-wrong.yaml").write_text(wrong_case.replace("expect: mitigated ",
                                                                              "expect: not-mitigated "))
    report = tmp_path / "junit.xml"
    assert main(["test", str(folder), "--junit", str(report)]) == 0
    out = capsys.readouterr().out
    assert "web-zero-wrong x web-zero-wrong (expect not-mitigated) ... ok: NOT MITIGATED" in out
    assert "2 passed, 0 failed" in out

    # the same wrong fix declared as a fix: test fails, names it, JUnit has the failure
    (folder / "drills" / "web-zero-wrong.yaml").write_text(wrong_case)
    assert main(["test", str(folder), "--junit", str(report)]) == 1
    out = capsys.readouterr().out
    assert "web-zero-wrong x web-zero-wrong (expect mitigated) ... FAIL: NOT MITIGATED" in out
    assert "finished but not mitigated" in out and "1 passed, 1 failed" in out
    failed = [c for c in ET.parse(report).getroot().iter("testcase") if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["web-zero-wrong x web-zero-wrong"]


def test_test_without_any_drill_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "lonely"
    folder.mkdir()
    shutil.copy(runbooks_dir() / "apiserver-oom.yaml", folder / "lonely.yaml")
    (folder / "lonely.yaml").write_text((folder / "lonely.yaml").read_text().replace(
        "name: apiserver-oom", "name: lonely", 1))
    assert main(["test", str(folder)]) == 2
    assert "no drill scenario names any of these runbooks" in capsys.readouterr().err
