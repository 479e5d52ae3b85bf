"""Planted secrets (issue 12, point 7): inputs of type ``secret`` (one typed in, one from the
keyring under a name that says nothing) flow into a patch's env var, a ConfigMap's
``app.properties`` and an object name; none of them reaches the journal, what the responder is
shown (confirmation, plan, preview, step errors), the postmortem (both formats) or an error
message, while the cluster gets the real values."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from integrations.kube import KubeCluster
from mitigate.cli import main
from mitigate.engine import IncidentMeta, Ports, Session
from mitigate.errors import MitigateError
from mitigate.journal import Journal
from mitigate.journal.redact import forget_secrets
from mitigate.runbook.inputs import resolve_inputs
from mitigate.runbook.loader import load_runbook_text
from tests.engine.fakes import FakeConfirmer

sandbox = pytest.importorskip("integrations.sandbox")

CTX = "secret-lab"
TYPED = "pl4nted-typed-Secret"
KEYRING = "pl4nted-keyring-Value"
RUNBOOK = """
apiVersion: mitigate/v1
kind: Runbook
metadata: {name: planted, title: Planted secrets, source: tests}
inputs:
  context: {type: kube-context}
  dbPassword: {type: secret, prompt: the database password}
  target: {type: secret, keyring: app-target}
steps:
  - id: set-env
    action:
      patch:
        apiVersion: apps/v1
        kind: Deployment
        namespace: shop
        name: web
        type: strategic
        patch: {spec: {template: {spec: {containers: [{name: app, env: [{name: DB_PASSWORD,
                value: "{{ inputs.dbPassword }}"}]}]}}}}
  - id: props
    action:
      create:
        manifest: {apiVersion: v1, kind: ConfigMap, metadata: {name: props, namespace: shop},
                   data: {app.properties: "url=x\\ncode={{ inputs.target }}\\n"}}
  - id: bad
    action:
      annotate: {apiVersion: v1, kind: ConfigMap, namespace: shop, name: "missing-{{ inputs.target | lower }}",
                 annotations: {a: b}}
"""
FORMS = (TYPED, KEYRING, KEYRING.lower(), base64.b64encode(TYPED.encode()).decode())


def _deployment() -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "app", "image": "web:1"}]}}}}


@pytest.fixture
def box() -> Iterator[Any]:
    forget_secrets()
    b = sandbox.Sandbox.start({"name": "planted", "context": CTX, "objects": [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}, _deployment()]})
    try:
        yield b
    finally:
        b.stop()
        forget_secrets()


def _leaks(text: str) -> list[str]:
    return [f for f in FORMS if f in text]


def test_planted_secrets_reach_the_cluster_and_nothing_else(box: Any, tmp_path: Path, capsys: Any) -> None:
    runbook = load_runbook_text(RUNBOOK, str(tmp_path / "rb.yaml"))
    (tmp_path / "rb.yaml").write_text(RUNBOOK)
    kc = KubeCluster.from_kubeconfig(box.kubeconfig, qps=200, burst=50)
    confirmer = FakeConfirmer()
    ports = Ports(cluster=kc, confirmer=confirmer, secrets=lambda name: KEYRING if name == "app-target" else None)
    root = tmp_path / "j"
    journal = Journal.create(root, "inc-planted")
    session = Session.start(runbook, {"context": CTX, "dbPassword": TYPED}, journal, ports,
                            meta=IncidentMeta(title="planted", runbook_path=str(tmp_path / "rb.yaml")))
    shown: list[str] = []
    for plan in session.plan_all():
        shown += [plan.description, plan.scope, plan.error, *plan.kubectl, *plan.notes]
    shown.append(session.preview("set-env").diff)
    states = [session.run("set-env"), session.run("props"), session.run("bad")]
    assert [s.status.value for s in states] == ["succeeded", "succeeded", "failed"]
    shown += [s.error or "" for s in states]
    for request in confirmer.requests:
        shown += [request.title, request.description, request.scope, request.diff, *request.kubectl]
    journal.close()

    # the cluster has the real values
    container = kc.query(CTX, __import__("mitigate.ports", fromlist=["Query"]).Query(
        "apps/v1", "Deployment", namespace="shop", name="web"))[0]["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "DB_PASSWORD", "value": TYPED} in container["env"]
    cm = kc.query(CTX, __import__("mitigate.ports", fromlist=["Query"]).Query("v1", "ConfigMap", namespace="shop",
                                                                              name="props"))[0]
    assert KEYRING in cm["data"]["app.properties"]

    assert any("kubectl" in line for line in shown) and any("missing-" in line for line in shown)
    assert _leaks("\n".join(shown)) == [], "shown to the responder"
    text = (root / "inc-planted" / "journal.jsonl").read_text()
    assert _leaks(text) == [], "journaled"
    assert '"dbPassword": "[REDACTED]"' in text.replace('":"', '": "') or "[REDACTED]" in text

    forget_secrets()  # a later `mitigate postmortem` process knows none of the values
    for fmt in ("md", "html"):
        assert main(["--journal-dir", str(root), "postmortem", "inc-planted", "--format", fmt]) == 0
        out = capsys.readouterr().out
        assert "Planted secrets" in out or "planted" in out
        assert _leaks(out) == [], f"postmortem {fmt}"


def test_errors_about_a_secret_input_never_show_its_value(tmp_path: Path) -> None:
    forget_secrets()
    runbook = load_runbook_text(RUNBOOK.replace("{type: secret, prompt: the database password}",
                                                "{type: secret, pattern: '^[a-z]+$'}"), "rb.yaml")
    with pytest.raises(MitigateError) as info:
        resolve_inputs(runbook, {"context": CTX, "dbPassword": TYPED})
    assert "dbPassword" in str(info.value) and TYPED not in str(info.value)
    with pytest.raises(MitigateError, match="no default"):
        load_runbook_text(RUNBOOK.replace("{type: secret, prompt: the database password}",
                                          "{type: secret, default: hunter22}"), "rb.yaml")
    # a keyring-backed secret the keyring lacks: the session refuses to open, naming the secret
    journal = Journal.create(tmp_path, "inc-x")
    with pytest.raises(MitigateError, match="app-target"):
        Session.start(load_runbook_text(RUNBOOK, "rb.yaml"), {"context": CTX, "dbPassword": TYPED}, journal,
                      Ports(cluster=None, confirmer=FakeConfirmer(), secrets=lambda name: None),
                      meta=IncidentMeta(title="x"))
    journal.close()
    assert TYPED not in next(tmp_path.rglob("journal.jsonl")).read_text()


def _opened(box: Any, tmp_path: Path) -> tuple[Any, Journal, Ports]:
    runbook = load_runbook_text(RUNBOOK, str(tmp_path / "rb.yaml"))
    (tmp_path / "rb.yaml").write_text(RUNBOOK)
    kc = KubeCluster.from_kubeconfig(box.kubeconfig, qps=200, burst=50)
    ports = Ports(cluster=kc, confirmer=FakeConfirmer(), secrets=lambda name: KEYRING if name == "app-target" else None)
    journal = Journal.create(tmp_path / "j", "inc-resume")
    Session.start(runbook, {"context": CTX, "dbPassword": TYPED}, journal, ports,
                  meta=IncidentMeta(title="resume", runbook_path=str(tmp_path / "rb.yaml")))
    return runbook, journal, ports


def test_a_typed_secret_is_asked_again_on_resume_and_never_journaled(box: Any, tmp_path: Path) -> None:
    """The typed secret was lost on resume (the template then failed naming it): now the
    responder is asked again, masked, and the step renders the real value into the cluster."""
    runbook, journal, ports = _opened(box, tmp_path)
    asked: list[tuple[str, str]] = []
    answers = iter(["", TYPED])  # an empty answer is refused (coerce_input) and asked again

    def ask(name: str, question: str) -> str | None:
        asked.append((name, question))
        return next(answers)

    from dataclasses import replace

    session = Session.resume(journal, replace(ports, ask_secret=ask), runbook=runbook)
    assert [n for n, _ in asked] == ["dbPassword", "dbPassword"]  # the keyring one was read, not asked
    assert "never journaled" in asked[0][1] and "the database password" in asked[0][1]
    assert "non-empty" in asked[1][1] and TYPED not in asked[1][1]
    assert session.run("set-env").status.value == "succeeded"
    kc = ports.cluster
    from mitigate.ports import Query

    container = kc.query(CTX, Query("apps/v1", "Deployment", namespace="shop", name="web"))[0][  # type: ignore[union-attr]
        "spec"]["template"]["spec"]["containers"][0]
    assert {"name": "DB_PASSWORD", "value": TYPED} in container["env"]
    journal.close()
    assert _leaks((tmp_path / "j" / "inc-resume" / "journal.jsonl").read_text()) == []


def test_a_secret_that_cannot_be_had_again_stops_the_resume_with_a_message(box: Any, tmp_path: Path) -> None:
    runbook, journal, ports = _opened(box, tmp_path)
    from dataclasses import replace

    for nobody in (None, lambda name, question: None):  # no one to ask; the responder declines
        with pytest.raises(MitigateError) as info:
            Session.resume(journal, replace(ports, ask_secret=nobody), runbook=runbook)
        text = str(info.value)
        assert "secret input 'dbPassword'" in text and "never journaled" in text and "typing it when asked" in text
        assert TYPED not in text
    # the keyring secret that is gone, and not typed either, names where it comes from
    with pytest.raises(MitigateError, match="the keyring secret 'app-target' .`mitigate secrets set app-target`."):
        Session.resume(journal, replace(ports, secrets=lambda name: None,
                                        ask_secret=lambda n, q: TYPED if n == "dbPassword" else None),
                       runbook=runbook)
    # a rollback restores from backups and renders no input: it resumes without them
    assert Session.resume(journal, replace(ports, ask_secret=None), runbook=runbook, need_secrets=False)
    journal.close()
