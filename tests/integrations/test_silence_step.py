"""A runbook's ``silence`` step end to end: engine -> ``build_silencer`` -> the local fake Alertmanager."""

from __future__ import annotations

from pathlib import Path

from integrations.config import IntegrationsConfig
from integrations.http import HttpClient
from integrations.probes import build_silencer
from mitigate.engine import AutoApprove, IncidentMeta, Ports, Session, StepStatus
from mitigate.journal import Journal
from mitigate.runbook.loader import load_runbook_text
from tests.integrations.fakeservices import FakeServices, Reply

RUNBOOK = """
apiVersion: mitigate/v1
kind: Runbook
metadata: {name: quiet, title: Quiet the storm, source: tests}
inputs:
  cluster: {type: string, default: prod-par}
steps:
  - id: quiet
    silence:
      matchers: [alertname=NodeNotReady, "cluster={{ inputs.cluster }}"]
      duration: 90m
      comment: NodeNotReady storm during the API server OOM
"""


def _session(tmp_path: Path, config: IntegrationsConfig, http: HttpClient) -> Session:
    journal = Journal.create(tmp_path, "inc-7")
    ports = Ports(cluster=None, confirmer=AutoApprove(), silencer=build_silencer(config, http=http))
    return Session.start(load_runbook_text(RUNBOOK, "quiet.yaml"), {}, journal, ports,
                         meta=IncidentMeta(title="apiserver OOM"))


def test_silence_created_then_rollback_expires_it(tmp_path: Path, config: IntegrationsConfig, http: HttpClient,
                                                  services: FakeServices) -> None:
    session = _session(tmp_path, config, http)
    assert session.run("quiet").status == StepStatus.SUCCEEDED
    (sid, stored), = services.silences.items()
    assert stored["status"]["state"] == "active"
    assert stored["matchers"] == [
        {"name": "alertname", "value": "NodeNotReady", "isRegex": False, "isEqual": True},
        {"name": "cluster", "value": "prod-par", "isRegex": False, "isEqual": True}]
    assert stored["comment"].endswith("[mitigate inc-7 step quiet attempt 1]")
    assert stored["endsAt"] > stored["startsAt"]
    assert [r.id for r in session.rollback()] == ["quiet"]
    assert services.silences[sid]["status"]["state"] == "expired"
    outcomes = [r.data for r in session.journal.records() if r.type == "step.outcome"]
    assert [(o["silence_id"], o["ok"], bool(o.get("rollback"))) for o in outcomes] == [(sid, True, False),
                                                                                       (sid, True, True)]
    from mitigate.postmortem import draft  # the appendix says where each action went, not an empty context

    session.journal.close()
    appendix = draft(tmp_path, "inc-7").actions
    assert [(a.step, a.context, a.outcome) for a in appendix] == [("quiet", "alertmanager default", "succeeded")] * 2


def test_a_lost_answer_is_rechecked_against_alertmanager_not_sent_again(
        tmp_path: Path, config: IntegrationsConfig, http: HttpClient, services: FakeServices) -> None:
    services.inject("/alertmanager/", Reply(delay=1.0, passthrough=True))  # stored, answer lost (timeout 0.5s)
    session = _session(tmp_path, config, http)
    state = session.run("quiet")
    assert state.status == StepStatus.UNKNOWN and "may have been received" in (state.error or "")
    assert session.recheck("quiet").status == StepStatus.SUCCEEDED
    posts = [r for r in services.requests if r.method == "POST"]
    assert len(posts) == 1 and len(services.silences) == 1
    (sid,) = services.silences
    assert session.context()["steps"]["quiet"].value == sid
    session.rollback()
    assert services.silences[sid]["status"]["state"] == "expired"
