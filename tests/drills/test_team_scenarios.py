"""Team scenarios: a scenario's runbook path is relative to the scenario file, and ``mitigate validate``
validates scenario files as scenarios (located errors, exit 1 when one is wrong)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

SCENARIO = """\
name: team-nodes
context: team-lab
generators:
  - nodes: {count: 4, notReady: 1}
health:
  - name: broken node cordoned
    field: {apiVersion: v1, kind: Node, name: node-0, path: spec.unschedulable, equals: true}
drill:
  runbook: ../books/cordon.yaml
"""
RUNBOOK = """\
apiVersion: mitigate/v1
kind: Runbook
metadata: {name: cordon-notready, title: Cordon NotReady nodes, source: tests/drills}
inputs:
  context: {type: kube-context}
steps:
  - id: find
    title: Find NotReady nodes
    check:
      kube: {apiVersion: v1, kind: Node}
      where: not is_ready(item)
      expect: count > 0
  - id: cordon
    title: Cordon them
    action: {cordon: {names: "{{ steps['find'].names }}"}}
"""


def _mitigate(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, MITIGATE_JOURNAL_DIR=str(tmp / "journals"), HOME=str(tmp))
    return subprocess.run([sys.executable, "-m", "mitigate", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=180)


def test_a_runbook_path_in_a_scenario_is_relative_to_the_scenario_file(tmp_path: Path) -> None:
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "books").mkdir()
    scenario = tmp_path / "scenarios" / "team-nodes.yaml"
    scenario.write_text(SCENARIO)
    (tmp_path / "books" / "cordon.yaml").write_text(RUNBOOK)
    proc = _mitigate(tmp_path, "drill", str(scenario), "--headless", "--auto-approve")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "MITIGATED" in proc.stdout and "Traceback" not in proc.stderr


def test_validate_recognises_scenario_files(tmp_path: Path) -> None:
    shipped = sorted(str(p) for p in (REPO / "runbooks" / "drills").glob("*.yaml"))
    proc = _mitigate(tmp_path, "validate", *shipped)
    assert proc.returncode == 0, proc.stderr
    assert f"{len(shipped)} valid, 0 invalid" in proc.stdout
    assert all(line.startswith("ok ") and "(scenario " in line for line in proc.stdout.splitlines()[:-1])
    bad = tmp_path / "bad.yaml"
    bad.write_text(SCENARIO.replace("notReady: 1", "notReady: 1, colour: red"))
    proc = _mitigate(tmp_path, "validate", str(bad))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"{bad}:4:44: unknown field" in proc.stderr and "unknown field 'colour'" in proc.stderr, proc.stderr
