"""Failures in words: a wrong CA, an unknown host and a refused exec-plugin token each give one line
that says what to check, and nothing that looks like a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from integrations.kube import KubeCluster
from integrations.sandbox import Sandbox
from mitigate.ports import ClusterError
from tests.sandbox.helpers import SCENARIOS


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    box = Sandbox.start(SCENARIOS / "rbac.yaml")
    yield box
    box.stop()


def _edited(sb: Sandbox, tmp_path: Path, edit: Any) -> Path:
    doc = yaml.safe_load(Path(sb.kubeconfig).read_text())
    edit(doc)
    out = tmp_path / "kubeconfig"
    out.write_text(yaml.safe_dump(doc))
    return out


def _fails(path: Path, context: str) -> str:
    cluster = KubeCluster.from_kubeconfig(path)
    cluster.ctx(context).transport.retry.attempts = 1
    with pytest.raises(ClusterError) as err:
        cluster.check(context)
    text = str(err.value)
    assert "\n" not in text and "Traceback" not in text
    return text


def test_a_server_certificate_the_kubeconfig_does_not_trust(sb: Sandbox, tmp_path: Path) -> None:
    import base64

    from integrations.sandbox.tls import self_signed

    other = base64.b64encode(self_signed()[0]).decode()
    path = _edited(sb, tmp_path, lambda d: d["clusters"][0]["cluster"].update({"certificate-authority-data": other}))
    text = _fails(path, "rbac")
    assert text.startswith("rbac: x509: the certificate of https://127.0.0.1:") and "cluster rbac" in text


def test_a_host_that_does_not_resolve(sb: Sandbox, tmp_path: Path) -> None:
    path = _edited(sb, tmp_path, lambda d: d["clusters"][0]["cluster"].update({"server": "https://api.mitigate.invalid"}))
    assert _fails(path, "rbac").startswith("rbac: DNS: cannot resolve the host of https://api.mitigate.invalid")


def test_a_refused_exec_plugin_token_says_which_plugin(sb: Sandbox, tmp_path: Path) -> None:
    plugin = tmp_path / "stale-token"
    plugin.write_text('#!/bin/sh\necho \'{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",'
                      '"status":{"token":"exec.c3RhbGU.1.0000"}}\'\n')
    plugin.chmod(0o700)

    def edit(doc: dict[str, Any]) -> None:
        for user in doc["users"]:
            if user["name"] == "exec-user":
                user["user"]["exec"]["command"] = str(plugin)

    text = _fails(_edited(sb, tmp_path, edit), "rbac@exec-user")
    assert "Unauthorized: the credentials of user exec-user (exec:stale-token" in text
    assert "the token from the exec plugin stale-token was refused: log in again" in text


def test_an_exec_plugin_token_is_refreshed_when_it_expires_mid_incident(sb: Sandbox) -> None:
    """The sandbox's exec user gets 2-second tokens: the adapter keeps working across expiries."""
    import time

    from mitigate.ports import Query

    cluster = KubeCluster.from_kubeconfig(sb.kubeconfig)
    pods = Query(api_version="v1", kind="Pod", namespace="shop")
    assert [p["metadata"]["name"] for p in cluster.query("rbac@exec-user", pods)] == ["web-1"]
    time.sleep(2.5)  # the first token has expired; a request with it would be a 401
    assert [p["metadata"]["name"] for p in cluster.query("rbac@exec-user", pods)] == ["web-1"]
    info = next(c for c in cluster.contexts() if c.name == "rbac@exec-user")
    assert info.user == "exec-user" and info.auth.startswith("exec:exec-credential-exec-user.py")
    cluster.close()


def test_a_merged_kubeconfig_of_two_files_and_a_client_certificate_user(sb: Sandbox, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """KUBECONFIG=a:b as kubectl merges it: the first file to set a value wins, current-context too."""
    from mitigate.ports import Query

    doc = yaml.safe_load(Path(sb.kubeconfig).read_text())
    first = {"apiVersion": "v1", "kind": "Config", "current-context": "rbac@cert-user",
             "clusters": [c for c in doc["clusters"]],
             "users": [u for u in doc["users"] if u["name"] == "cert-user"],
             "contexts": [c for c in doc["contexts"] if c["name"] == "rbac@cert-user"]}
    second = dict(doc, **{"current-context": "rbac"})
    second["contexts"] = [dict(c, context=dict(c["context"], namespace="kube-system"))
                          if c["name"] == "rbac@cert-user" else c for c in doc["contexts"]]  # loses to the first
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text(yaml.safe_dump(first))
    b.write_text(yaml.safe_dump(second))
    monkeypatch.setenv("KUBECONFIG", f"{a}:{b}")
    cluster = KubeCluster.from_kubeconfig(None)
    assert cluster.current_context == "rbac@cert-user"
    info = {c.name: c for c in cluster.contexts()}
    assert info["rbac@cert-user"].namespace == "default" and info["rbac@cert-user"].auth == "client-certificate"
    assert "rbac@ops-limited" in info  # only in the second file
    nodes = cluster.query("rbac@cert-user", Query(api_version="v1", kind="Node"))  # the sre group may list nodes
    assert len(nodes) == 2
    cluster.close()
