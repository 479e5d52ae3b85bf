"""A new step kind is one module, one registry entry and its spec model.

The ``log`` kind below lives in this test only: its spec model, its StepKind and a registry
holding it. Nothing else in the engine knows it, yet the session plans it, runs it, journals
it and resumes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest
import yaml
from pydantic import Field

from mitigate.engine import IncidentMeta, Ports, Session, StepStatus
from mitigate.engine.kind import StepContext, StepKind
from mitigate.engine.registry import DEFAULT
from mitigate.engine.types import StepPlan
from mitigate.errors import MitigateError
from mitigate.events import Event
from mitigate.journal import Journal
from mitigate.runbook.model import Runbook, Step, Strict
from mitigate.runbook.templating import render
from tests.engine.fakes import FakeClock, FakeConfirmer


class LogSpec(Strict):
    message: str = Field(min_length=1)


class LogStep(Step):
    kinds: ClassVar[tuple[str, ...]] = (*Step.kinds, "log")
    log: LogSpec | None = None


class LogRunbook(Runbook):
    steps: list[LogStep] = Field(min_length=1)  # type: ignore[assignment]


class Log(StepKind):
    """Writes its rendered message into the journal as the step's result."""

    name = "log"

    def run(self, ctx: StepContext) -> None:
        assert isinstance(ctx.step, LogStep) and ctx.step.log is not None
        text = str(render(ctx.step.log.message, ctx.values))
        ctx.record(Event.STEP_SUCCEEDED, {"step": ctx.step.id, "result": {"ok": True, "value": text,
                                                                      "message": text}})

    def plan(self, ctx: StepContext, out: StepPlan) -> None:
        assert isinstance(ctx.step, LogStep) and ctx.step.log is not None
        out.description = f"log: {ctx.step.log.message}"


KINDS = DEFAULT.with_kind(Log())

RUNBOOK = """
apiVersion: mitigate/v1
kind: Runbook
metadata: {name: logging, title: Logging, source: tests}
inputs:
  who: {type: string, default: oncall}
steps:
  - id: hello
    log: {message: "{{ inputs.who }} opened {{ incident.id }}"}
  - id: logged
    gate:
      require: ["steps.hello.ok", "'opened' in steps.hello.value"]
      message: the log step did not run
  - id: echo
    log: {message: "again: {{ steps.hello.value }}"}
"""


def _ports() -> Ports:
    return Ports(cluster=None, confirmer=FakeConfirmer(), clock=FakeClock())


def test_a_log_kind_registered_by_a_test_plans_runs_journals_and_resumes(tmp_path: Path) -> None:
    runbook = LogRunbook.model_validate(yaml.safe_load(RUNBOOK))
    assert [s.kind for s in runbook.steps] == ["log", "gate", "log"]
    journal = Journal.create(tmp_path, "inc-log", clock=FakeClock())
    session = Session.start(runbook, {}, journal, _ports(), meta=IncidentMeta(title="t"), kinds=KINDS)

    plans = session.plan_all()
    assert [p.description for p in plans][0] == "log: {{ inputs.who }} opened {{ incident.id }}"
    assert plans[0].kind == "log"

    assert session.run("hello").status == StepStatus.SUCCEEDED
    assert session.run("logged").status == StepStatus.SUCCEEDED
    journal.close()
    records = list(Journal.open(tmp_path, "inc-log", readonly=True).records())
    started = [r.data for r in records if r.type == "step.started" and r.data["step"] == "hello"]
    assert started == [{"step": "hello", "attempt": 1, "kind": "log"}]
    done = [r.data for r in records if r.type == "step.succeeded" and r.data["step"] == "hello"]
    assert done[0]["result"]["value"] == "oncall opened inc-log"

    # resume from the journal alone: the log step's result is folded back, the walk goes on
    reopened = Journal.open(tmp_path, "inc-log", clock=FakeClock())
    resumed = Session.resume(reopened, _ports(), runbook=runbook, kinds=KINDS)
    assert resumed.step_state("hello").status == StepStatus.SUCCEEDED
    assert resumed.current() is not None and resumed.current().id == "echo"  # type: ignore[union-attr]
    assert resumed.run("echo").result == {"ok": True, "value": "again: oncall opened inc-log",
                                          "message": "again: oncall opened inc-log"}
    assert resumed.current() is None


def test_a_kind_no_registry_knows_is_refused_with_the_step_named(tmp_path: Path) -> None:
    runbook = LogRunbook.model_validate(yaml.safe_load(RUNBOOK))
    journal = Journal.create(tmp_path, "inc-x", clock=FakeClock())
    session = Session.start(runbook, {}, journal, _ports(), meta=IncidentMeta(title="t"))
    assert "log" not in DEFAULT and "log" in KINDS
    with pytest.raises(MitigateError, match="step hello: no step kind 'log' is registered"):
        session.run("hello")
    plan = session.plan_all()[0]
    # not a wait on earlier steps (issue 16): the plan says it cannot be planned, and why
    assert plan.description.startswith("cannot be planned") and "no step kind 'log'" in plan.error


def test_a_registry_refuses_a_kind_twice_or_without_a_name() -> None:
    from mitigate.engine.registry import Registry

    with pytest.raises(ValueError, match="registered twice"):
        Registry([Log(), Log()])
    with pytest.raises(ValueError, match="has no name"):
        Registry([StepKind()])
