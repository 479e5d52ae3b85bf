"""The example runbooks in examples/ (a team's own library) pass their drills, and every one of
them has a wrong-fix variant that must end NOT MITIGATED."""

from __future__ import annotations

from pathlib import Path

import pytest

from mitigate.cli.drill import run_drill
from mitigate.cli.library import search_path
from mitigate.runbook.loader import load_runbook

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
RUNBOOKS = sorted(p.stem for p in EXAMPLES.glob("*.yaml"))
SCENARIOS = sorted(p.stem for p in (EXAMPLES / "drills").glob("*.yaml"))


def test_every_example_has_a_drill_and_a_wrong_fix() -> None:
    assert len(RUNBOOKS) == 5
    for name in RUNBOOKS:
        load_runbook(EXAMPLES / f"{name}.yaml")
        assert name in SCENARIOS and f"{name}-wrong-fix" in SCENARIOS, name


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_example_drill_verdict_is_as_expected(scenario: str, tmp_path: Path) -> None:
    library = search_path([EXAMPLES], env="")
    result = run_drill(scenario, root=tmp_path, echo=False, library=library)
    wrong = scenario.endswith("-wrong-fix")
    assert result.expect == ("not-mitigated" if wrong else "mitigated")
    assert result.health_ok is not wrong, "\n".join(result.lines + [result.health_message])
    assert result.ok
    if not wrong:
        assert result.finished, "\n".join(result.lines)
