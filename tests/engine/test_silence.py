"""Silence steps: confirmed, journaled around the create, undone by rollback, never created twice."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pytest

from integrations.drill import DrillSilencer
from mitigate.engine import IncidentMeta, StepStatus
from mitigate.errors import LocatedErrors, MitigateError
from mitigate.ports import SilenceRequest, SilenceResult
from mitigate.runbook.loader import load_runbook_text
from tests.engine.fakes import Crash
from tests.engine.helpers import Harness
from tests.engine.runbooks import HEADER


@dataclass
class FakeSilencer:
    """An in-memory Alertmanager: silences by id, live until expired."""

    records_only: bool = True
    crash: bool = False  # store the silence, then die before the answer comes back
    uncertain: bool = False  # store the silence, then answer "no answer, may have been received"
    refuse: str | None = None  # answer every create with this error (nothing stored)
    silences: dict[str, SilenceRequest] = field(default_factory=dict)
    expired: list[str] = field(default_factory=list)

    def resolve(self, alertmanager: str | None) -> tuple[str, str]:
        if alertmanager not in (None, "default", "ops"):
            raise MitigateError(f"alertmanager server {alertmanager!r} is not configured")
        return alertmanager or "default", f"http://am-{alertmanager or 'default'}:9093"

    def create(self, request: SilenceRequest) -> SilenceResult:
        if self.refuse:
            return SilenceResult(False, message=self.refuse)
        sid = f"s{len(self.silences) + 1}"
        self.silences[sid] = request
        if self.crash:
            raise Crash("died waiting for Alertmanager")
        if self.uncertain:
            return SilenceResult(False, message="timed out (not retried: the request may have been received)",
                                 uncertain=True)
        return SilenceResult(True, sid, f"silence {sid}")

    def expire(self, alertmanager: str, silence_id: str) -> SilenceResult:
        self.expired.append(silence_id)
        return SilenceResult(True, silence_id, "expired")

    def find(self, alertmanager: str, marker: str) -> list[str]:
        return [sid for sid, r in self.silences.items() if marker in r.comment and sid not in self.expired]


SILENCE = HEADER + """
steps:
  - id: quiet
    title: Silence the NotReady storm
    silence:
      matchers: ["alertname=NodeNotReady", "cluster={{ inputs.context }}", 'severity=~"crit.*"']
      duration: 2h
      comment: "NodeNotReady storm while {{ incident.title }} is mitigated"
  - id: cordon
    action: {cordon: {names: [n0, n1]}}
  - id: fails
    action: {cordon: {names: [n3]}}
"""


@pytest.fixture
def silencer(harness: Harness) -> FakeSilencer:
    fake = FakeSilencer()
    ports = harness.ports

    def with_silencer() -> object:
        p = ports()
        p.silencer = fake
        return p

    harness.ports = with_silencer  # type: ignore[method-assign]
    return fake


def test_silence_is_confirmed_journaled_and_expired_by_rollback_in_reverse_order(
        harness: Harness, silencer: FakeSilencer) -> None:
    harness.cluster.fail_targets = {"n3"}
    s = harness.start(SILENCE, context="lab")
    assert s.run("quiet").status == StepStatus.SUCCEEDED
    request = harness.confirmer.requests[0]
    assert request.kind == "silence" and not request.needs_typed and request.context == ""
    assert request.kubectl[0].startswith("amtool silence add --alertmanager.url=http://am-default:9093 "
                                         "--duration=2h ")
    assert "'alertname=\"NodeNotReady\"' 'cluster=\"lab\"' 'severity=~\"crit.*\"'" in request.kubectl[0]
    (sid, created), = silencer.silences.items()
    assert [m.text() for m in created.matchers] == ["alertname=NodeNotReady", "cluster=lab", "severity=~crit.*"]
    assert (created.ends_at - created.starts_at).total_seconds() == 7200
    assert created.comment == "NodeNotReady storm while drill is mitigated [mitigate inc-1 step quiet attempt 1]"
    types = harness.types()
    assert types[types.index("step.confirmed"):] == ["step.confirmed", "step.intent", "step.outcome",
                                                     "step.succeeded"]
    assert s.context()["steps"]["quiet"].value == sid

    s.run("cordon")
    assert s.run("fails").status == StepStatus.FAILED
    assert silencer.expired == []
    assert [r.id for r in s.rollback()] == ["cordon", "quiet"]  # most recent first
    assert silencer.expired == [sid]
    assert [r.kind for r in harness.confirmer.requests[-2:]] == ["rollback", "rollback"]
    assert harness.confirmer.requests[-1].kubectl == (
        f"amtool silence expire --alertmanager.url=http://am-default:9093 {sid}",)
    assert s.step_state("quiet").status == StepStatus.ROLLED_BACK
    assert s.rollback() == []  # nothing left to undo: no second expire
    assert silencer.expired == [sid]


def test_crash_after_the_create_is_unknown_and_recheck_finds_the_silence_instead_of_a_second(
        harness: Harness, silencer: FakeSilencer) -> None:
    silencer.crash = True
    s = harness.start(SILENCE, context="lab")
    with pytest.raises(Crash):
        s.run("quiet")
    silencer.crash = False
    resumed = harness.resume(SILENCE)
    assert resumed.step_state("quiet").status == StepStatus.UNKNOWN
    with pytest.raises(MitigateError, match="recheck it first"):
        resumed.run("quiet")
    with pytest.raises(MitigateError, match="recheck it before rolling back"):
        resumed.rollback()
    assert resumed.recheck("quiet").status == StepStatus.SUCCEEDED
    assert list(silencer.silences) == ["s1"]  # never sent twice
    assert resumed.context()["steps"]["quiet"].value == "s1"
    assert [r.id for r in resumed.rollback()] == ["quiet"]
    assert silencer.expired == ["s1"]


def test_an_unanswered_create_is_unknown_then_recheck_says_not_created_and_retry_creates_one(
        harness: Harness, silencer: FakeSilencer) -> None:
    silencer.uncertain = True
    s = harness.start(SILENCE, context="lab")
    state = s.run("quiet")
    assert state.status == StepStatus.UNKNOWN and "may have been received" in (state.error or "")
    silencer.silences.clear()  # it never arrived after all
    silencer.uncertain = False
    rechecked = s.recheck("quiet")
    assert rechecked.status == StepStatus.FAILED and "no silence was created" in (rechecked.error or "")
    assert silencer.silences == {}
    assert s.retry("quiet").status == StepStatus.SUCCEEDED
    assert [r.comment[-10:] for r in silencer.silences.values()] == ["attempt 2]"]


def test_refused_declined_unconfigured_and_drill_silences(harness: Harness, silencer: FakeSilencer) -> None:
    silencer.refuse = "alertmanager 'default': HTTP 400: bad matchers"
    s = harness.start(SILENCE, context="lab")
    failed = s.run("quiet")
    assert failed.status == StepStatus.FAILED and failed.error == silencer.refuse
    harness.confirmer.approve = False
    silencer.refuse = None
    assert s.retry("quiet").status == StepStatus.PREVIEWED and silencer.silences == {}
    assert s.rollback() == [] and silencer.expired == []  # nothing was created, nothing to expire

    plain = Harness(harness.root.parent / "other", harness.cluster)
    none = plain.start(SILENCE, context="lab")
    assert "no Alertmanager is configured" in (none.run("quiet").error or "")
    assert "no Alertmanager is configured" in " ".join(none.plan("quiet").notes)


def test_a_drill_refuses_a_silencer_that_reaches_a_real_alertmanager(harness: Harness,
                                                                     silencer: FakeSilencer) -> None:
    silencer.records_only = False
    s = harness.start(SILENCE, meta=IncidentMeta(title="drill", drill=True), context="lab")
    state = s.run("quiet")
    assert state.status == StepStatus.FAILED and "drills only record silences" in (state.error or "")
    assert silencer.silences == {}


def test_drill_silencer_records_finds_and_expires_without_sending(harness: Harness) -> None:
    drill = DrillSilencer()
    harness.ports = lambda: replace(Harness.ports(harness), silencer=drill)  # type: ignore[method-assign]
    s = harness.start(SILENCE, meta=IncidentMeta(title="drill", drill=True), context="lab")
    assert s.run("quiet").status == StepStatus.SUCCEEDED
    assert "--alertmanager.url=drill://not-sent" in harness.confirmer.requests[0].kubectl[0]
    assert drill.find("default", "[mitigate inc-1 step quiet attempt 1]") == ["drill-1"]
    s.run("cordon")
    assert [r.id for r in s.rollback()] == ["cordon", "quiet"]
    assert drill.find("default", "step quiet") == []  # expired


def test_plan_describes_the_silence_and_sends_nothing(harness: Harness, silencer: FakeSilencer) -> None:
    s = harness.start(SILENCE, context="lab")
    plan = s.plan("quiet")
    assert plan.description == ("silence alertname=NodeNotReady, cluster=lab, severity=~crit.* on "
                                "alertmanager default for 2h")
    assert plan.kubectl[0].startswith("amtool silence add --alertmanager.url=http://am-default:9093")
    assert plan.scope == "alertmanager default" and "rollback expires the silence" in plan.notes
    assert silencer.silences == {} and "step.intent" not in harness.types()


RENDERED_EMPTY = HEADER + """
  cluster: {type: string, default: ""}
steps:
  - id: quiet
    silence:
      matchers: ["cluster={{ inputs.cluster }}", "{{ 'team=~.*' }}"]
      duration: "{{ '0s' }}"
      comment: why
"""


def test_matchers_checked_once_rendered(harness: Harness, silencer: FakeSilencer) -> None:
    s = harness.start(RENDERED_EMPTY, context="lab")
    state = s.run("quiet")
    assert state.status == StepStatus.FAILED
    assert state.error is not None and "would silence everything" in state.error
    assert silencer.silences == {}


@pytest.mark.parametrize(("matchers", "message"), [
    ('["NodeNotReady"]', "is not name=value, name!=value, name=~regex or name!~regex"),
    ('["a=~(unclosed"]', "bad regex"),
    ('["a=~.*", "b!=x"]', "would silence everything"),
    ("[]", "must not be empty"),
])
def test_bad_matchers_are_located_load_errors(matchers: str, message: str) -> None:
    text = HEADER + f"""
steps:
  - id: quiet
    silence: {{matchers: {matchers}, duration: 1h, comment: why}}
"""
    with pytest.raises(LocatedErrors) as err:
        load_runbook_text(text, "rb.yaml")
    assert message in str(err.value) and "rb.yaml:11:" in str(err.value)
    assert "steps[0].silence.matchers" in str(err.value)
