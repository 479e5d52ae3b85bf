"""kubectl's identity flags and credentials the way responders meet them, against the sandbox and
checked with kubectl 1.35: ``--cluster``/``--user`` overrides, repeated ``--as-group``, resume
keeping (or visibly changing) the journaled identity, exec plugins' ``interactiveMode``, an OIDC
``auth-provider`` user, and a ``proxy-url`` that requests really go through (a CONNECT proxy in
the test)."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from mitigate.cli import main
from mitigate.journal import Journal, list_incidents
from mitigate.ports import ClusterError, Impersonation, Overrides
from tests.cli.test_real_clusters import LIMITED, RBAC
from tests.drills.helpers import drill
from tests.kubectl import run_kubectl

# the group "sre" may evict pods and delete Machines: acting as ops-limited *with* that group lifts
# the drain's denial, so the preflight shows whether the groups were really sent
SRE = [
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "evictor"},
     "rules": [{"apiGroups": [""], "resources": ["pods/eviction"], "verbs": ["create"]},
               {"apiGroups": ["cluster.x-k8s.io"], "resources": ["machines"], "verbs": ["delete"]}]},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "sre-evicts"},
     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "evictor"},
     "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "sre"}]},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "oncall-more"},
     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "oncall"},
     "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "oidc-user"},
                  {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "exec-user"}]},
]


@pytest.fixture(scope="module")
def sb() -> Iterator[Any]:
    from integrations.sandbox import Sandbox

    scenario = drill("replace-notready-nodes")
    scenario["users"] = [{"name": LIMITED, "auth": "token"}, {"name": "exec-user", "auth": "exec"},
                         {"name": "cert-user", "groups": ["sre"], "auth": "cert"},
                         {"name": "oidc-user", "groups": ["oncall"], "auth": "oidc"}]
    scenario["objects"] = [*scenario.get("objects", []), *RBAC, *SRE]
    box = Sandbox.start(scenario)
    yield box
    box.stop()


class ConnectProxy:
    """An HTTP CONNECT proxy on 127.0.0.1 that records every tunnel it opens (and its Proxy-Authorization)."""

    def __init__(self) -> None:
        self.tunnels: list[str] = []
        self.auth: list[str] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.port = 0

    def __enter__(self) -> ConnectProxy:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()  # then end the tunnels still open (clients keep connections alive)
        tasks = asyncio.all_tasks(self._loop)
        for task in tasks:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        self._loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            method, target, _ = head[0].split(" ", 2)
            if method != "CONNECT":
                writer.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                return
            self.tunnels.append(target)
            self.auth += [h.split(":", 1)[1].strip() for h in head[1:] if h.lower().startswith("proxy-authorization:")]
            host, port = target.rsplit(":", 1)
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()

            async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
                try:
                    while data := await src.read(65536):
                        dst.write(data)
                        await dst.drain()
                finally:
                    dst.close()

            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer), return_exceptions=True)
        except (OSError, ValueError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


def _kubeconfig(sb: Any, folder: Path, *, proxy: str = "", users: dict[str, dict[str, Any]] | None = None) -> Path:
    """The sandbox's kubeconfig plus a cluster entry "proxied" (same server, through ``proxy``) and
    extra ``users``."""
    doc = yaml.safe_load(Path(sb.kubeconfig).read_text())
    if proxy:
        entry = copy.deepcopy(doc["clusters"][0])
        entry["name"] = "proxied"
        entry["cluster"]["proxy-url"] = proxy
        doc["clusters"].append(entry)
    for name, user in (users or {}).items():
        doc["users"].append({"name": name, "user": user})
    path = folder / "kubeconfig"
    path.write_text(yaml.safe_dump(doc))
    return path


def _exec_of(sb: Any, user: str = "exec-user") -> dict[str, Any]:
    doc = yaml.safe_load(Path(sb.kubeconfig).read_text())
    return copy.deepcopy(next(u["user"]["exec"] for u in doc["users"] if u["name"] == user))


def _run(capsys: pytest.CaptureFixture[str], kubeconfig: Path, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["run", "replace-notready-nodes", "--kubeconfig", str(kubeconfig), *args])
    out, err = capsys.readouterr()
    return code, out, err


def _kubectl_lines(out: str) -> list[str]:
    return [line.strip()[2:] for line in out.splitlines() if line.strip().startswith("$ kubectl")]


def _records(root: Path) -> list[Any]:
    (summary,) = list_incidents(root)
    return Journal.open(root, summary.id, readonly=True).records()


def _mutations(sb: Any) -> list[Any]:
    return [e for e in sb.request_log if e.mutating]


# ---------------------------------------------------------------------------------------- --cluster / --user


def test_user_override_acts_as_that_entry_everywhere(sb: Any, capsys: pytest.CaptureFixture[str],
                                                     tmp_path: Path) -> None:
    ctx = sb.contexts[0]  # the admin context, its user replaced by --user
    code, out, err = _run(capsys, Path(sb.kubeconfig), "--context", ctx, "--user", LIMITED, "--plan")
    assert f"Context {ctx}: server {sb.url(ctx)}, cluster {ctx}, user {LIMITED} (token), --user {LIMITED}" in out
    assert f"RBAC on {ctx}: you cannot delete machines.cluster.x-k8s.io" in out  # the preflight asked as ops-limited
    lines = _kubectl_lines(out)
    assert lines and all(line.startswith(f"kubectl --user={LIMITED} ") for line in lines), lines
    # headless: refused before any change; the journal says which entry was used and that it was given
    code, out, err = _run(capsys, Path(sb.kubeconfig), "--context", ctx, "--user", LIMITED, "--auto-approve",
                          "--ack-manual")
    assert code == 1 and "Traceback" not in err and _mutations(sb) == []
    identity = next(r.data for r in _records(Path(os.environ["MITIGATE_JOURNAL_DIR"]))
                    if r.type == "context.identity")
    assert identity["user"] == LIMITED and identity["override"] == {"user": LIMITED} and identity["auth"] == "token"


def test_unknown_cluster_or_user_is_refused_in_kubectls_words(sb: Any, capsys: pytest.CaptureFixture[str],
                                                              tmp_path: Path) -> None:
    for flag, what in (("--cluster", "cluster"), ("--user", "auth info")):
        capsys.readouterr()
        assert main(["home", "--kubeconfig", str(sb.kubeconfig), flag, "nope"]) == 1  # before the TUI starts
        assert f'{what} "nope" does not exist' in capsys.readouterr().err
        code, out, err = _run(capsys, Path(sb.kubeconfig), "--context", sb.contexts[0], flag, "nope", "--plan")
        assert code == 1 and "Traceback" not in err
        assert f'{what} "nope" does not exist' in err
        said = run_kubectl(Path(sb.kubeconfig), f"--context={sb.contexts[0]}", flag, "nope", "auth", "whoami",
                           home=tmp_path, check=False)
        assert said.returncode == 1 and f'{what} "nope" does not exist' in said.stderr


def test_cluster_override_through_a_proxy_url(sb: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """--cluster picks an entry with a proxy-url: every request tunnels through the proxy (even with
    $NO_PROXY naming the host: kubectl ignores the environment when the kubeconfig names a proxy), the
    proxy's password is never journaled nor printed, and kubectl 1.35 does the same."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with ConnectProxy() as proxy:
        kc = _kubeconfig(sb, tmp_path, proxy=f"http://responder:s3cret-proxy@127.0.0.1:{proxy.port}")
        ctx = sb.contexts[0]
        code, out, err = _run(capsys, kc, "--context", ctx, "--cluster", "proxied", "--plan")
        target = sb.url(ctx).removeprefix("https://")
        assert proxy.tunnels and set(proxy.tunnels) == {target}
        assert f"cluster proxied, user sandbox-user (token), --cluster proxied, through proxy " \
               f"http://responder@127.0.0.1:{proxy.port}" in out
        assert "s3cret-proxy" not in out + err
        assert all(line.startswith("kubectl --cluster=proxied ") for line in _kubectl_lines(out))
        code, out, err = _run(capsys, kc, "--context", ctx, "--cluster", "proxied", "--user", LIMITED,
                              "--auto-approve", "--ack-manual")  # refused by the preflight: nothing changes
        journal = (Path(os.environ["MITIGATE_JOURNAL_DIR"])).rglob("journal.jsonl")
        assert not any("s3cret-proxy" in p.read_text() for p in journal)
        identity = next(r.data for r in _records(Path(os.environ["MITIGATE_JOURNAL_DIR"]))
                        if r.type == "context.identity")
        assert identity["cluster"] == "proxied" and identity["override"] == {"cluster": "proxied", "user": LIMITED}
        assert identity["proxy"] == f"http://responder@127.0.0.1:{proxy.port}"
        before = len(proxy.tunnels)
        env_home = tmp_path / "home"
        said = run_kubectl(kc, f"--context={ctx}", "--cluster=proxied", "auth", "whoami", home=env_home)
        assert "sandbox-admin" in said.stdout and len(proxy.tunnels) > before  # kubectl went through it too


# ---------------------------------------------------------------------------------------- --as-group


def test_every_as_group_is_its_own_header_and_the_preflight_asks_as_them(sb: Any,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from integrations.kube import KubeCluster

    ctx = sb.contexts[0]
    code, out, err = _run(capsys, Path(sb.kubeconfig), "--context", ctx, "--as", LIMITED, "--plan")
    assert f"RBAC on {ctx}: you cannot delete machines.cluster.x-k8s.io" in out  # ops-limited alone
    code, out, err = _run(capsys, Path(sb.kubeconfig), "--context", ctx, "--as", LIMITED, "--as-group", "oncall",
                          "--as-group", "sre", "--plan")
    assert f"acting as {LIMITED} (group oncall) (group sre)" in out
    assert "you cannot" not in out  # the group sre may evict and delete Machines: both groups reached the server
    lines = _kubectl_lines(out)
    assert lines and all(line.startswith(f"kubectl --as={LIMITED} --as-group=oncall --as-group=sre ")
                         for line in lines)
    who = Overrides(impersonation=Impersonation(LIMITED, ("oncall", "sre")))
    cluster = KubeCluster.from_kubeconfig(sb.kubeconfig, overrides=who)
    review = cluster.ctx(ctx).transport.request(
        "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        body={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
    assert review["status"]["userInfo"]["groups"] == ["oncall", "sre", "system:authenticated"]  # not "oncall,sre"
    cluster.close()


def test_as_group_without_as_is_a_usage_error(sb: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, Path(sb.kubeconfig), "--as-group", "sre", "--plan")
    assert code == 2 and "--as-group and --as-uid need --as USER" in err


# ---------------------------------------------------------------------------------------- resume


def test_resume_keeps_the_journaled_identity_unless_given_again(sb: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from mitigate.cli.tui import CliLauncher
    from mitigate.cli.wiring import journal_key_provider
    from mitigate.engine import AutoApprove
    from mitigate.journal.keys import key_provider, set_key_provider

    root = Path(os.environ["MITIGATE_JOURNAL_DIR"])
    ctx = sb.contexts[0]
    code, out, err = _run(capsys, Path(sb.kubeconfig), "--context", ctx, "--as", LIMITED, "--as-group", "oncall",
                          "--auto-approve", "--ack-manual")
    assert code == 1 and _mutations(sb) == []  # halted by the preflight: an open incident to resume
    (summary,) = list_incidents(root)
    # rollback resumes it headless: no --as given, so the journaled one is used, and said
    capsys.readouterr()
    assert main(["rollback", summary.id, "--auto-approve", "--kubeconfig", str(sb.kubeconfig)]) == 0
    err = capsys.readouterr().err
    assert f"resuming with the journaled --as={LIMITED} --as-group=oncall" in err
    resumed = [r.data for r in _records(root) if r.type == "context.identity" and r.data.get("resumed")]
    assert resumed[-1]["as"] == {"user": LIMITED, "groups": ["oncall"]}
    # the TUI's resume (the home screen and `mitigate resume`): the cluster it builds acts as the journal says
    said: list[str] = []
    previous = key_provider()
    set_key_provider(journal_key_provider)  # as main() does: the records are signed with the journal key
    try:
        incident = CliLauncher(root, sb.kubeconfig).resume(summary.id, AutoApprove(), say=said.append)
        cluster = incident.session.ports.cluster
        assert cluster.config.overrides.impersonation == Impersonation(LIMITED, ("oncall",))  # type: ignore[attr-defined]
        assert said == [f"incident {summary.id}: resuming with the journaled --as={LIMITED} --as-group=oncall"]
        incident.session.journal.close()
    finally:
        set_key_provider(previous)
    # given explicitly and different: applied, but shown and journaled, never silently
    capsys.readouterr()
    assert main(["rollback", summary.id, "--auto-approve", "--kubeconfig", str(sb.kubeconfig), "--as", ""]) == 0
    err = capsys.readouterr().err
    assert (f"the incident acted with --as={LIMITED} --as-group=oncall; resuming with no --as as given on the "
            "command line") in err
    last = [r.data for r in _records(root) if r.type == "context.identity"][-1]
    assert "as" not in last and last["resumed"] and "resuming with no --as" in last["said"][0]
    # the walker's timeline shows that record with its warning
    from tui.timeline_rows import TimelineRows

    folded = TimelineRows().fold("2026-12-02T00:00:00Z", "context.identity", last)
    assert folded is not None and "⚠ the incident acted with --as=" in folded[1].text


# ---------------------------------------------------------------------------------------- exec plugins


WRAPPER = '''#!{python}
import json, os, subprocess, sys
log, real, how = sys.argv[1], sys.argv[2], sys.argv[3]
runs = sum(1 for _ in open(log)) if os.path.exists(log) else 0
info = json.loads(os.environ["KUBERNETES_EXEC_INFO"])
with open(log, "a") as f:
    f.write(json.dumps({{"info": info, "stdin_tty": os.isatty(0)}}) + "\\n")
if how == "revoked-first" and runs == 0:  # first run: a token the server refuses (revoked early)
    out = {{"kind": "ExecCredential", "status": {{"token": "exec.revoked.0.0"}}}}
elif how.startswith("cert:"):  # a client certificate instead of a token
    _, cert, key = how.split(":")
    out = {{"kind": "ExecCredential", "status": {{"clientCertificateData": open(cert).read(),
                                                 "clientKeyData": open(key).read()}}}}
else:
    out = json.loads(subprocess.run([real], capture_output=True, text=True, check=True).stdout)
out["apiVersion"] = "client.authentication.k8s.io/v1alpha1" if how == "wrong-version" else info["apiVersion"]
print(json.dumps(out))
'''


def _wrapped(sb: Any, tmp_path: Path, name: str, mode: str | None, how: str = "token",
             api_version: str = "client.authentication.k8s.io/v1") -> tuple[dict[str, Any], Path]:
    spec = _exec_of(sb)
    log = tmp_path / f"{name}.log"
    wrapper = tmp_path / f"{name}.py"
    wrapper.write_text(WRAPPER.format(python=sys.executable))
    wrapper.chmod(0o700)
    spec.update(command=str(wrapper), args=[str(log), spec["command"], how], apiVersion=api_version)
    if mode is None:
        spec.pop("interactiveMode", None)
    else:
        spec["interactiveMode"] = mode
    return {"exec": spec}, log


def test_exec_interactive_mode_as_kubectl(sb: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from integrations.kube import KubeCluster

    users = {}
    logs = {}
    for name, mode in (("exec-always", "Always"), ("exec-ifavailable", "IfAvailable"), ("exec-never", "Never"),
                       ("exec-nomode", None)):
        users[name], logs[name] = _wrapped(sb, tmp_path, name, mode)
    kc = _kubeconfig(sb, tmp_path, users=users)
    ctx = sb.contexts[0]
    # Always with no terminal: one line, kubectl's words, nothing sent
    code, out, err = _run(capsys, kc, "--context", ctx, "--user", "exec-always", "--plan")
    assert "Traceback" not in err and code == 1
    assert "exec plugin exec-always.py cannot support interactive mode: standard input is not a terminal" in out + err
    said = run_kubectl(kc, f"--context={ctx}", "--user=exec-always", "get", "nodes", home=tmp_path, check=False)
    assert "exec plugin cannot support interactive mode: standard input is not a terminal" in said.stderr
    assert not logs["exec-always"].exists()  # neither ran the plugin
    # v1 without interactiveMode: refused as kubectl refuses it
    code, out, err = _run(capsys, kc, "--context", ctx, "--user", "exec-nomode", "--plan")
    words = "interactiveMode must be specified for exec-nomode to use exec authentication plugin"
    assert code == 1 and words in out + err and "Traceback" not in err
    assert words in run_kubectl(kc, f"--context={ctx}", "--user=exec-nomode", "get", "nodes", home=tmp_path,
                                check=False).stderr
    # IfAvailable without a terminal: runs, told it is not interactive, no stdin
    code, out, err = _run(capsys, kc, "--context", ctx, "--user", "exec-ifavailable", "--plan")
    assert code == 0, err
    first = json.loads(logs["exec-ifavailable"].read_text().splitlines()[0])
    assert first["info"]["spec"]["interactive"] is False and first["info"]["apiVersion"].endswith("/v1")
    # with a terminal (as on a responder's shell): IfAvailable is interactive, Never is not
    for name, interactive in (("exec-ifavailable", True), ("exec-never", False)):
        cluster = KubeCluster.from_kubeconfig(kc, overrides=Overrides(user=name), terminal=True)
        assert cluster.check(ctx)
        last = json.loads(logs[name].read_text().splitlines()[-1])
        assert last["info"]["spec"]["interactive"] is interactive, name
        cluster.close()
    # in the TUI the terminal is Textual's: Always fails in words instead of fighting it for the keyboard
    from mitigate.cli.wiring import live_cluster
    from mitigate.protection import decide

    tui_cluster: Any = live_cluster(kc, decide([], [], []), Overrides(user="exec-always"), tui=True)
    with pytest.raises(ClusterError, match="cannot support interactive mode: the TUI holds the terminal"):
        tui_cluster.check(ctx)


def test_a_401_runs_the_exec_plugin_again(sb: Any, tmp_path: Path) -> None:
    """A token revoked before its expiry: the server says 401, the plugin runs again, the request succeeds."""
    from integrations.kube import KubeCluster

    user, log = _wrapped(sb, tmp_path, "exec-revoked", "Never", "revoked-first")
    kc = _kubeconfig(sb, tmp_path, users={"exec-revoked": user})
    cluster = KubeCluster.from_kubeconfig(kc, overrides=Overrides(user="exec-revoked"))
    nodes = cluster.ctx(sb.contexts[0]).transport.get("/api/v1/nodes")
    assert nodes["items"] and len(log.read_text().splitlines()) == 2
    cluster.close()


def test_exec_v1beta1_certificates_cluster_info_and_a_wrong_answer(sb: Any, tmp_path: Path) -> None:
    """v1beta1 without interactiveMode (IfAvailable), a plugin answering with a client certificate,
    provideClusterInfo in the ExecCredential's own field names, and an answer in the wrong apiVersion."""
    import base64

    from integrations.kube import KubeCluster

    doc = yaml.safe_load(Path(sb.kubeconfig).read_text())
    cert_entry = next(u["user"] for u in doc["users"] if u["name"] == "cert-user")
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    cert.write_bytes(base64.b64decode(cert_entry["client-certificate-data"]))
    key.write_bytes(base64.b64decode(cert_entry["client-key-data"]))
    beta, beta_log = _wrapped(sb, tmp_path, "exec-beta", None, api_version="client.authentication.k8s.io/v1beta1")
    beta["exec"]["provideClusterInfo"] = True
    certs, _ = _wrapped(sb, tmp_path, "exec-cert", "Never", f"cert:{cert}:{key}")
    wrong, _ = _wrapped(sb, tmp_path, "exec-wrong", "Never", "wrong-version")
    kc = _kubeconfig(sb, tmp_path, users={"exec-beta": beta, "exec-cert": certs, "exec-wrong": wrong})
    ctx = sb.contexts[0]
    review = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    for user, expected in (("exec-beta", "exec-user"), ("exec-cert", "cert-user")):
        cluster = KubeCluster.from_kubeconfig(kc, overrides=Overrides(user=user), terminal=False)
        who = cluster.ctx(ctx).transport.request("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                                                 body=review)
        assert who["status"]["userInfo"]["username"] == expected
        cluster.close()
    sent = json.loads(beta_log.read_text().splitlines()[0])["info"]
    assert sent["apiVersion"].endswith("/v1beta1") and sent["spec"]["interactive"] is False
    assert sent["spec"]["cluster"]["server"] == sb.url(ctx)
    assert sent["spec"]["cluster"]["certificateAuthorityData"] and "certificate-authority-data" not in sent["spec"]["cluster"]
    cluster = KubeCluster.from_kubeconfig(kc, overrides=Overrides(user="exec-wrong"))
    with pytest.raises(ClusterError, match="answered 'client.authentication.k8s.io/v1alpha1', asked for"):
        cluster.ctx(ctx)
    cluster.close()


# ---------------------------------------------------------------------------------------- OIDC


def test_an_oidc_auth_provider_user(sb: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    ctx = f"{sb.contexts[0]}@oidc-user"
    code, out, err = _run(capsys, Path(sb.kubeconfig), "--context", ctx, "--plan")
    assert "user oidc-user (auth-provider:oidc)" in out
    assert f"RBAC on {ctx}: you cannot delete machines.cluster.x-k8s.io" in out  # asked as oidc-user
    said = run_kubectl(Path(sb.kubeconfig), f"--context={ctx}", "auth", "whoami", "-o",
                       "jsonpath={.status.userInfo.username}", home=tmp_path)
    assert said.stdout == "oidc-user"  # kubectl 1.35's oidc provider sends the same id-token
    assert run_kubectl(Path(sb.kubeconfig), f"--context={ctx}", "auth", "can-i", "delete",
                       "machines.cluster.x-k8s.io", "-n", "capi-kapsule", home=tmp_path, check=False).stdout.strip() == "no"
    # an expired id-token with no refresh-token, and one that is no JWT: said in words, before any request
    expired = sb.users.mint_id_token("oidc-user", ["oncall"], -60)
    for token, words in ((expired, "the oidc id-token expired at"), ("not-a-jwt", "id-token is not a JWT")):
        kc = _kubeconfig(sb, tmp_path, users={"oidc-stale": {"auth-provider": {"name": "oidc", "config": {
            "client-id": "mitigate-sandbox", "idp-issuer-url": "https://oidc.sandbox.invalid", "id-token": token}}}})
        code, out, err = _run(capsys, kc, "--context", sb.contexts[0], "--user", "oidc-stale", "--plan")
        assert code == 1 and words in out + err and "Traceback" not in err


def test_a_refused_id_token_is_read_again_from_the_kubeconfig(sb: Any, tmp_path: Path) -> None:
    """The server refuses the id-token mid-incident (401); the responder logs in again, which writes a
    fresh id-token into the kubeconfig: the next request reads it and goes through, no restart."""
    from integrations.kube import KubeCluster
    from integrations.kube.transport import ApiError

    def kubeconfig_with(token: str) -> Path:
        return _kubeconfig(sb, tmp_path, users={"oidc-login": {"auth-provider": {"name": "oidc", "config": {
            "client-id": "mitigate-sandbox", "idp-issuer-url": "https://oidc.sandbox.invalid", "id-token": token}}}})

    good = sb.users.mint_id_token("oidc-user", ["oncall"], 600)
    head, body, _ = good.split(".")
    kc = kubeconfig_with(f"{head}.{body}.forgedsignature")  # in date, but the server will not have it
    cluster = KubeCluster.from_kubeconfig(kc, overrides=Overrides(user="oidc-login"))
    transport = cluster.ctx(sb.contexts[0]).transport
    with pytest.raises(ApiError) as refused:
        transport.get("/api/v1/nodes")
    assert refused.value.status == 401 and "auth-provider token expired or was refused: log in again" in str(
        refused.value)
    kubeconfig_with(good)  # the login wrote the refreshed token back
    assert transport.get("/api/v1/nodes")["items"]
    cluster.close()


def test_sandbox_refuses_a_forged_or_expired_id_token(sb: Any) -> None:
    good = sb.users.mint_id_token("oidc-user", ["oncall"], 60)
    who = sb.users.authenticate(f"Bearer {good}", None)
    assert who is not None and who.name == "oidc-user" and "oncall" in who.groups
    head, body, sig = good.split(".")
    assert sb.users.authenticate(f"Bearer {head}.{body}.{sig[:-2]}AA", None) is None
    assert sb.users.authenticate(f"Bearer {sb.users.mint_id_token('oidc-user', [], -1)}", None) is None
    assert sb.users.authenticate(f"Bearer {sb.users.mint_id_token('stranger', [], 60)}", None) is None



# ---------------------------------------------------------------------------------------- drill and home


def test_drill_acts_with_the_user_override(sb: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """``mitigate drill --user``: the drill's sandbox refuses the limited user's changes before any."""
    scenario = drill("replace-notready-nodes")
    scenario["users"] = [{"name": LIMITED, "auth": "token"}]
    scenario["objects"] = [*scenario.get("objects", []), *RBAC]
    path = tmp_path / "replace-notready-nodes.yaml"
    path.write_text(yaml.safe_dump(scenario, sort_keys=False))
    capsys.readouterr()
    code = main(["drill", str(path), "--headless", "--auto-approve", "--user", LIMITED])
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in err
    assert "RBAC preflight" in out + err and "you cannot delete machines.cluster.x-k8s.io" in out + err
    identity = next(r.data for r in _records(Path(os.environ["MITIGATE_JOURNAL_DIR"]))
                    if r.type == "context.identity")
    assert identity["user"] == LIMITED and identity["override"] == {"user": LIMITED}


def test_home_starts_incidents_with_the_overrides(sb: Any) -> None:
    from mitigate.cli.tui import CliLauncher
    from tui import TuiConfirmer
    from tui.protocols import StartRequest

    root = Path(os.environ["MITIGATE_JOURNAL_DIR"])
    launcher = CliLauncher(root, sb.kubeconfig, overrides=Overrides(user=LIMITED, impersonation=None))
    ctx = sb.contexts[0]
    assert next(c for c in launcher.contexts() if c.name == ctx).user == LIMITED  # the start form shows it
    entry = next(e for e in launcher.runbooks() if e.name == "replace-notready-nodes")
    incident = launcher.start(StartRequest(runbook=entry, title="t", severity="", commander="", context=ctx,
                                           inputs={"context": ctx}), TuiConfirmer())
    try:
        identity = next(r.data for r in incident.journal.records() if r.type == "context.identity")
        assert identity["user"] == LIMITED and identity["override"] == {"user": LIMITED}
        assert incident.kubectl_flags == (f"--user={LIMITED}",)  # the walker's own kubectl lines (checks) too
        from tui.brief import brief

        step = next(s for s in incident.session.runbook.steps if s.id == "find-notready")
        assert brief(step, incident.session.context(), context=ctx, flags=incident.kubectl_flags).kubectl[0] \
            .startswith(f"kubectl --user={LIMITED} --context {ctx} get node")
        lines = [line for plan in incident.session.plan_all({}) for line in plan.kubectl]
        assert lines and all(line.startswith(f"kubectl --user={LIMITED} ") for line in lines), lines
    finally:
        incident.session.journal.close()
