"""Drills that do not mitigate say so: a step that fails halts the drill, a runbook that finishes
without fixing the incident is not reported mitigated; both exit 1 from the CLI, with the
scorecard and the reason, never a traceback, and the journal tells the same story."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mitigate.journal import Journal

REPO = Path(__file__).resolve().parents[2]

SCENARIO = """\
name: nodes-down
description: Four of ten nodes NotReady; mitigated = every node Ready.
context: lab
generators:
  - nodes: {{count: 10, namePrefix: node-, notReady: 4}}
faults:
{faults}
health:
  - name: fleet ready
    nodesReady: {{minFraction: 1.0}}
"""

RUNBOOK = """\
apiVersion: mitigate/v1
kind: Runbook
metadata: {{name: cordon-only, title: Cordon the NotReady nodes, source: tests/drills}}
inputs:
  context: {{type: kube-context}}
steps:
  - id: find
    title: Find NotReady nodes
    check:
      kube: {{apiVersion: v1, kind: Node}}
      where: not is_ready(item)
      expect: count > 0
{action}
"""

CORDON = """\
  - id: cordon
    title: Cordon them
    action: {cordon: {names: "{{ steps['find'].names }}"}}
"""


def drill(tmp_path: Path, *, faults: str, action: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    scenario, runbook, journals = tmp_path / "nodes-down.yaml", tmp_path / "cordon-only.yaml", tmp_path / "journals"
    scenario.write_text(SCENARIO.format(faults=faults))
    runbook.write_text(RUNBOOK.format(action=action))
    env = dict(os.environ, MITIGATE_JOURNAL_DIR=str(journals))
    proc = subprocess.run([sys.executable, "-m", "mitigate", "drill", str(scenario), "--runbook", str(runbook),
                           "--headless", "--auto-approve"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)
    return proc, journals


def records(journals: Path) -> list[tuple[str, dict[str, object]]]:
    (incident,) = [p.name for p in journals.iterdir() if p.is_dir()]  # beside it: the journal key
    journal = Journal.open(journals, incident, readonly=True)
    try:
        return [(r.type, r.data) for r in journal.records()]
    finally:
        journal.close()


def test_a_failing_step_halts_the_drill_and_exits_1(tmp_path: Path) -> None:
    # every cordon is answered 500: a mutation without a precondition is not retried
    proc, journals = drill(tmp_path, action=CORDON,
                           faults="  - {verbs: [patch], resources: [nodes], rate: 1.0, status: 500}")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert "mitigate: drill halted at step cordon" in proc.stderr
    assert "Scenario health: NOT MITIGATED" in proc.stdout and "FAIL fleet ready" in proc.stdout
    assert "steps failed        1" in proc.stdout and "time to mitigated   not mitigated" in proc.stdout
    assert "health never passed" in proc.stdout
    seen = records(journals)
    assert ("step.failed", "cordon") in [(t, d.get("step")) for t, d in seen]
    assert not [d for t, d in seen if t == "milestone" and d.get("name") == "mitigated"]


def test_a_runbook_that_finishes_without_fixing_the_incident_is_not_mitigated(tmp_path: Path) -> None:
    proc, journals = drill(tmp_path, action="", faults="  []")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    assert "drill finished but the scenario is not mitigated" in proc.stderr
    assert "Scenario health: NOT MITIGATED" in proc.stdout and "steps failed        0" in proc.stdout
    seen = records(journals)
    assert [d.get("step") for t, d in seen if t == "step.succeeded"] == ["find"]
    assert not [d for t, d in seen if t == "milestone" and d.get("name") == "mitigated"]
