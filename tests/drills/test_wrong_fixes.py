"""Every drill can be lost: for each shipped drill a plausible wrong fix (tests/drills/wrongfix/<drill>.yaml,
never in the library) runs to its last step, headless, and the scenario scores it NOT MITIGATED.

The right runbook scoring MITIGATED on the same scenario is test_drills.py; together they prove each
scenario's health checks tell a right fix from a wrong one. Each case also names the check that
must be the one failing, so a check that can never fail cannot hide behind another.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from integrations.sandbox import Sandbox
from mitigate.cli.drill import run_in_sandbox

from .helpers import DRILLS, drill

WRONG = Path(__file__).resolve().parent / "wrongfix"

# drill -> the health checks the wrong fix must fail (in at least one context)
MUST_FAIL = {
    "apiserver-oom": {"apiserver stable"},
    "api-throttle-batches": {"fleet ready"},
    "replace-notready-nodes": {"fleet ready"},
    "delete-offending-crds": {"calico crds gone", "ingress reaches services"},
    "revert-unscoped-changes": {"shop-api serving again"},
    "spread-colocated-proxies": {"replicas spread"},
}


def test_every_shipped_drill_has_a_wrong_fix() -> None:
    assert sorted(p.stem for p in WRONG.glob("*.yaml")) == sorted(DRILLS) == sorted(MUST_FAIL)


@pytest.mark.parametrize("name", DRILLS)
def test_a_wrong_fix_runs_to_the_end_and_scores_not_mitigated(name: str, tmp_path: Path) -> None:
    with Sandbox.start(drill(name)) as sb:
        result = run_in_sandbox(sb, name, root=tmp_path, runbook=str(WRONG / f"{name}.yaml"), echo=False)
        failing = {check for ctx in sb.contexts for check, ok in sb.health(ctx).checks.items() if not ok}
    assert result.finished, "the wrong fix must run every step: " + "\n".join(result.lines)
    assert not result.health_ok, f"{name}: a wrong fix scored MITIGATED"
    assert result.seconds_to_mitigated is None
    assert MUST_FAIL[name] <= failing, (name, failing)
