"""``http`` and ``command`` steps against a local HTTP server and local programs: preview as curl /
argv, confirm, journal (secrets masked), per-item calls with forEach, undo on rollback, and
refusal under --auto-approve on a protected context."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from integrations.outbound import HttpSender, LocalCommands
from mitigate.engine import AutoApprove, IncidentMeta, Ports, Session, StepStatus
from mitigate.journal import Journal
from mitigate.runbook.loader import load_runbook_text
from tests.engine.fakes import FakeClock, FakeConfirmer
from tests.engine.helpers import cluster_of

SECRET = "tok-3f9a7c1e5b2d"


class Api(BaseHTTPRequestHandler):
    calls: list[dict[str, Any]] = []
    status = 201

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        Api.calls.append({"method": self.command, "path": self.path, "auth": self.headers.get("Authorization"),
                          "team": self.headers.get("X-Team"), "body": body})
        status = Api.status if self.command == "POST" else 204
        payload = json.dumps({"id": f"rec-{len(Api.calls)}", "echo": SECRET}).encode() if status != 204 else b""
        self.send_response(status)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_POST = do_DELETE = _handle  # noqa: N815 - the handler's protocol

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    Api.calls, Api.status = [], 201
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Api)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def start(tmp_path: Path, text: str, *, protected: bool = False, auto: bool = False,
          **inputs: Any) -> tuple[Session, FakeConfirmer, Journal]:
    cluster = cluster_of(2)
    if protected:
        cluster.protected.add("lab")
    confirmer = FakeConfirmer()
    ports = Ports(cluster=cluster, confirmer=AutoApprove() if auto else confirmer, clock=FakeClock(),
                  http=HttpSender(), commands=LocalCommands())
    journal = Journal.create(tmp_path / "incidents", "inc-1")
    session = Session.start(load_runbook_text(text, "t.yaml"), {"context": "lab", **inputs}, journal, ports,
                            meta=IncidentMeta(title="t"))
    return session, confirmer, journal


HEAD = """apiVersion: mitigate/v1
kind: Runbook
metadata: {name: t, title: T, source: test}
inputs:
  context: {type: kube-context}
  api: {type: string}
  out: {type: string, default: ""}
steps:
"""

HTTP = HEAD + """  - id: failover
    forEach: [eu-1, eu-2]
    http:
      method: POST
      url: "{{ inputs.api }}/v1/regions/{{ item }}/failover"
      headers: {X-Team: sre}
      json: {region: "{{ item }}", reason: "incident {{ incident.id }}"}
      auth: {secret: vendor-token}
      expectStatus: [201]
      undo:
        method: DELETE
        url: "{{ inputs.api }}/v1/failovers/{{ response.json.id }}"
        auth: {secret: vendor-token}
"""


def test_http_step_per_item_with_masked_secret_journal_and_undo(tmp_path: Path, server: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MITIGATE_SECRET_VENDOR_TOKEN", SECRET)
    session, confirmer, journal = start(tmp_path, HTTP, api=server)
    plan = session.plan("failover")
    assert plan.kubectl[0].startswith("curl -sS -X POST " + server + "/v1/regions/eu-1/failover")
    assert "'Authorization: Bearer <secret vendor-token>'" in plan.kubectl[0]
    assert "--data-raw" in plan.kubectl[1] and '"region":"eu-2"' in plan.kubectl[1]
    assert session.run("failover").status is StepStatus.SUCCEEDED
    [request] = [r for r in confirmer.requests if r.kind == "http"]
    assert len(request.kubectl) == 2 and SECRET not in "".join(request.kubectl)
    assert [c["path"] for c in Api.calls] == ["/v1/regions/eu-1/failover", "/v1/regions/eu-2/failover"]
    assert all(c["auth"] == f"Bearer {SECRET}" and c["team"] == "sre" for c in Api.calls)
    assert Api.calls[1]["body"] == {"region": "eu-2", "reason": "incident inc-1"}
    text = (journal.dir / "journal.jsonl").read_text()
    assert SECRET not in text, "the credential (and its echo in the body) never reaches the journal"
    outcomes = [r.data for r in journal.records() if r.type == "step.outcome"]
    assert [o["items"] for o in outcomes] == [["eu-1"], ["eu-2"]] and all(o["status"] == 201 for o in outcomes)
    # rollback: each undo rendered from its call's response, most recent first
    session.rollback()
    assert [(c["method"], c["path"]) for c in Api.calls[2:]] == [("DELETE", "/v1/failovers/rec-2"),
                                                                 ("DELETE", "/v1/failovers/rec-1")]
    assert session.step_state("failover").status is StepStatus.ROLLED_BACK


def test_http_unexpected_status_fails_and_missing_secret_sends_nothing(tmp_path: Path, server: str,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MITIGATE_SECRET_VENDOR_TOKEN", raising=False)
    monkeypatch.setattr("integrations.secrets._backend", lambda: (_ for _ in ()).throw(
        __import__("integrations.secrets", fromlist=["SecretError"]).SecretError("none")))
    session, _, _ = start(tmp_path, HTTP, api=server)
    state = session.run("failover")
    assert state.status is StepStatus.FAILED and (state.error or "").startswith("eu-1: ")
    assert Api.calls == []  # no credential, no request
    monkeypatch.setenv("MITIGATE_SECRET_VENDOR_TOKEN", SECRET)
    Api.status = 409
    state = session.retry("failover")
    assert state.status is StepStatus.FAILED and "HTTP 409 (expected [201])" in (state.error or "")
    assert len(Api.calls) == 1  # it stops at the first failed item


COMMAND = HEAD + """  - id: record
    forEach: [alpha, "$(touch pwned) ; echo"]
    command:
      argv: [PY, -c, "import sys, pathlib; pathlib.Path(sys.argv[1]).open('a').write(sys.argv[2] + chr(10)); print('ok', sys.argv[2])", "{{ inputs.out }}", "{{ item }}"]
      timeout: 20s
      undo:
        argv: [PY, -c, "import sys, pathlib; pathlib.Path(sys.argv[1]).open('a').write('undo ' + sys.argv[2] + chr(10))", "{{ inputs.out }}", "{{ item }}"]
""".replace("PY", json.dumps(sys.executable))


def test_command_step_argv_never_a_shell_journal_and_undo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out.txt"
    session, confirmer, journal = start(tmp_path, COMMAND, api="x", out=str(out))
    assert session.run("record").status is StepStatus.SUCCEEDED
    [request] = [r for r in confirmer.requests if r.kind == "command"]
    assert request.kubectl[0].startswith(sys.executable) and "'$(touch pwned) ; echo'" in request.kubectl[1]
    assert request.destructive
    assert out.read_text().splitlines() == ["alpha", "$(touch pwned) ; echo"]
    assert not (tmp_path / "pwned").exists(), "an argument is never interpreted by a shell"
    outcomes = [r.data for r in journal.records() if r.type == "step.outcome"]
    assert [o["exit_code"] for o in outcomes] == [0, 0] and outcomes[0]["output"].strip() == "ok alpha"
    session.rollback()
    assert out.read_text().splitlines()[2:] == ["undo $(touch pwned) ; echo", "undo alpha"]


def test_command_failure_and_unknown_program(tmp_path: Path) -> None:
    text = HEAD + f"""  - id: boom
    command: {{argv: [{json.dumps(sys.executable)}, -c, "import sys; print('bad'); sys.exit(3)"]}}
  - id: nope
    command: {{argv: [no-such-program-mitigate]}}
"""
    session, _, journal = start(tmp_path, text, api="x")
    state = session.run("boom")
    assert state.status is StepStatus.FAILED and "exit 3 (expected [0])" in (state.error or "")
    assert [r.data["output"] for r in journal.records() if r.type == "step.outcome"] == ["bad\n"]
    session.skip("boom", "tested")
    state = session.run("nope")
    assert state.status is StepStatus.FAILED and "not on PATH" in (state.error or "")


@pytest.mark.parametrize("text", [HTTP, COMMAND], ids=["http", "command"])
def test_auto_approve_refuses_http_and_command_on_a_protected_context(tmp_path: Path, server: str, text: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MITIGATE_SECRET_VENDOR_TOKEN", SECRET)
    out = tmp_path / "out.txt"
    session, _, journal = start(tmp_path, text, protected=True, auto=True, api=server, out=str(out))
    sid = session.runbook.steps[0].id
    state = session.run(sid)
    assert state.status is StepStatus.PREVIEWED and "protected" in (state.error or "")
    assert Api.calls == [] and not out.exists()
    assert not [r for r in journal.records() if r.type == "step.intent"]
    assert session.plan(sid).protected
