"""Credentials the official client gets wrong or silently drops, handled the way kubectl does.

**Exec credential plugins.** The client's ExecProvider ignores ``interactiveMode``: it hands the
plugin the terminal whenever stdout is one (inside the TUI that is Textual's terminal) and logs,
rather than raises, a plugin that failed. client-go's rules, followed here
(k8s.io/client-go/plugin/pkg/client/auth/exec):

* ``client.authentication.k8s.io/v1`` requires ``interactiveMode``; ``v1beta1`` defaults to
  ``IfAvailable``;
* ``Never``: the plugin never gets stdin; ``IfAvailable``: it gets it when there is a terminal;
  ``Always``: without a terminal the credential cannot be had ("exec plugin cannot support
  interactive mode: standard input is not a terminal");
* ``KUBERNETES_EXEC_INFO`` tells the plugin whether it is interactive (and the cluster, with
  ``provideClusterInfo``); the answer's ``apiVersion`` must be the one asked for;
* the token is cached until ``expirationTimestamp`` and the plugin run again after it, or when the
  server answers 401 (the credential was revoked early).

An OIDC id-token that the server refuses (401) is read again from the kubeconfig, where a login
outside mitigate writes the refreshed one, so "log in again, then retry" works without a restart.

"A terminal" is decided by the caller: the TUI owns the terminal, so a plugin must not read it.

**OIDC auth-provider.** The client silently sends no credential at all for an id-token that is
not a JWT, refreshes five minutes before expiry (client-go: ten seconds) and, without a
refresh-token, fails deep inside while trying; here a valid id-token is sent as client-go sends it,
and the others are said in one line before any request.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mitigate.ports import ClusterError
from mitigate.timefmt import format_seconds, parse_rfc3339

EXEC_VERSIONS = ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")
MODES = ("Never", "IfAvailable", "Always")
REFRESH_SKEW = 1.0  # seconds before expiry a token counts as expired (a request takes time to land)
PLUGIN_TIMEOUT = 120.0  # a plugin that cannot prompt and never answers


# a kubeconfig cluster entry's keys as ExecCredential's spec.cluster names them (client.authentication.k8s.io)
_CLUSTER_FIELDS = {"server": "server", "tls-server-name": "tlsServerName",
                   "insecure-skip-tls-verify": "insecureSkipTLSVerify",
                   "certificate-authority-data": "certificateAuthorityData", "proxy-url": "proxyURL",
                   "disable-compression": "disableCompression"}


def _exec_cluster(cluster: Mapping[str, Any], spec: Mapping[str, Any]) -> dict[str, Any]:
    """``spec.cluster`` for a plugin with ``provideClusterInfo``: the cluster entry in the
    ExecCredential's field names, the CA file read in, and the entry's
    ``client.authentication.k8s.io/exec`` extension as ``config``."""
    out = {theirs: cluster[ours] for ours, theirs in _CLUSTER_FIELDS.items() if cluster.get(ours) not in (None, "")}
    if "certificateAuthorityData" not in out and cluster.get("certificate-authority"):
        try:
            pem = Path(str(cluster["certificate-authority"])).read_bytes()
            out["certificateAuthorityData"] = base64.b64encode(pem).decode()
        except OSError:
            pass
    for ext in cluster.get("extensions") or []:
        if isinstance(ext, Mapping) and ext.get("name") == "client.authentication.k8s.io/exec":
            out["config"] = ext.get("extension")
    return out


def _parse_expiry(value: Any) -> float | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_rfc3339(value).timestamp()
    except ValueError:
        return None


class ExecPlugin:
    """One kubeconfig user's exec plugin: runs it, caches its token, runs it again when needed."""

    def __init__(self, user: str, spec: Mapping[str, Any], base_dir: Path, cluster: Mapping[str, Any] | None,
                 *, terminal: bool, terminal_owner: str = "") -> None:
        self.user = user
        self.api_version = str(spec.get("apiVersion") or "")
        if self.api_version not in EXEC_VERSIONS:
            raise ClusterError(f"user {user!r}: exec plugin apiVersion {self.api_version or '(none)'!r} is not "
                               f"supported (use {' or '.join(EXEC_VERSIONS)})")
        command = str(spec.get("command") or "")
        if not command:
            raise ClusterError(f"user {user!r}: exec plugin has no command")
        mode = spec.get("interactiveMode")
        if not mode:
            if self.api_version.endswith("/v1"):
                raise ClusterError(f"interactiveMode must be specified for {user} to use exec authentication "
                                   "plugin")
            mode = "IfAvailable"
        if mode not in MODES:
            raise ClusterError(f"user {user!r}: exec plugin interactiveMode {mode!r} is not one of "
                               f"{', '.join(MODES)}")
        self.mode = str(mode)
        self.name = Path(command).name
        if os.sep in command and not os.path.isabs(command):
            command = str(base_dir / command)  # client-go: relative to the kubeconfig that names it
        self.argv = [command, *[str(a) for a in spec.get("args") or []]]
        self.env = {str(e.get("name")): str(e.get("value") or "") for e in spec.get("env") or []
                    if isinstance(e, Mapping) and e.get("name")}
        self.cluster = _exec_cluster(cluster, spec) if spec.get("provideClusterInfo") and cluster else None
        self.terminal, self.terminal_owner = terminal, terminal_owner
        self.runs = 0
        self._lock = threading.Lock()
        self._token = ""
        self._expiry: float | None = None
        self._certs: tempfile.TemporaryDirectory[str] | None = None
        self.cert_file = self.key_file = ""
        if self.mode == "Always" and not terminal:
            raise ClusterError(self._no_terminal())

    def _no_terminal(self) -> str:
        why = (f"{self.terminal_owner} holds the terminal" if self.terminal_owner
               else "standard input is not a terminal")
        return (f"user {self.user!r}: exec plugin {self.name} cannot support interactive mode: {why} "
                f"(interactiveMode: Always): log in with {self.name} in a shell first, then retry")

    @property
    def interactive(self) -> bool:
        return self.mode != "Never" and self.terminal

    def bearer(self) -> str:
        """``Bearer <token>`` (or "" for a certificate credential), running the plugin when the cached
        one is missing or expired."""
        with self._lock:
            if not self._token and not self.cert_file or (
                    self._expiry is not None and time.time() >= self._expiry - REFRESH_SKEW):
                self._run()
            return f"Bearer {self._token}" if self._token else ""

    def invalidate(self) -> bool:
        """The server refused the credential (401): forget it so the next request runs the plugin
        again. True when there was a token to forget (a retry can help)."""
        with self._lock:
            had = bool(self._token)
            self._token, self._expiry = "", None
            return had

    def _run(self) -> None:
        info: dict[str, Any] = {"apiVersion": self.api_version, "kind": "ExecCredential",
                                "spec": {"interactive": self.interactive}}
        if self.cluster is not None:
            info["spec"]["cluster"] = self.cluster
        env = {**os.environ, **self.env, "KUBERNETES_EXEC_INFO": json.dumps(info)}
        executable = shutil.which(self.argv[0]) or self.argv[0]
        self.runs += 1
        try:
            proc = subprocess.run(  # noqa: S603 - the kubeconfig's own plugin, as kubectl runs it
                [executable, *self.argv[1:]], env=env, stdout=subprocess.PIPE,
                stdin=None if self.interactive else subprocess.DEVNULL,
                stderr=None if self.interactive else subprocess.PIPE,
                timeout=None if self.interactive else PLUGIN_TIMEOUT, check=False)
        except FileNotFoundError:
            raise ClusterError(f"user {self.user!r}: exec plugin {self.argv[0]} not found (install it or fix "
                               "the kubeconfig's command)") from None
        except subprocess.TimeoutExpired:
            raise ClusterError(f"user {self.user!r}: exec plugin {self.name} gave no credential within "
                               f"{PLUGIN_TIMEOUT:g}s (is it waiting for a login it cannot show?)") from None
        except OSError as exc:
            raise ClusterError(f"user {self.user!r}: exec plugin {self.name} cannot run ({exc.strerror})") from None
        if proc.returncode != 0:
            said = (proc.stderr or b"").decode("utf-8", "replace").strip().splitlines()
            tail = f": {said[-1][:200]}" if said else ""
            raise ClusterError(f"user {self.user!r}: exec plugin {self.name} failed (exit {proc.returncode}){tail}; "
                               f"run it yourself to log in, then retry")
        try:
            doc = json.loads(proc.stdout)
        except ValueError:
            raise ClusterError(f"user {self.user!r}: exec plugin {self.name} did not print an ExecCredential "
                               "(not JSON)") from None
        if not isinstance(doc, dict) or doc.get("kind") != "ExecCredential":
            raise ClusterError(f"user {self.user!r}: exec plugin {self.name} did not print an ExecCredential")
        if doc.get("apiVersion") != self.api_version:
            raise ClusterError(f"user {self.user!r}: exec plugin {self.name} answered {doc.get('apiVersion')!r}, "
                               f"asked for {self.api_version!r}")
        status: dict[str, Any] = doc["status"] if isinstance(doc.get("status"), dict) else {}
        token = status.get("token")
        cert, key = status.get("clientCertificateData"), status.get("clientKeyData")
        if isinstance(token, str) and token:
            self._token = token
        elif isinstance(cert, str) and isinstance(key, str) and cert and key:
            self._write_certs(cert, key)
        else:
            raise ClusterError(f"user {self.user!r}: exec plugin {self.name} printed neither a token nor a "
                               "client certificate and key")
        self._expiry = _parse_expiry(status.get("expirationTimestamp"))

    def _write_certs(self, cert: str, key: str) -> None:
        if self._certs is None:
            self._certs = tempfile.TemporaryDirectory(prefix="mitigate-exec-cert-")
        folder = Path(self._certs.name)
        for name, text in (("client.crt", cert), ("client.key", key)):
            path = folder / name
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
        self.cert_file, self.key_file = str(folder / "client.crt"), str(folder / "client.key")


OIDC_EXPIRY_DELTA = 10.0  # client-go's oidc provider: a token this close to its expiry is refreshed


def oidc_token(user: str, provider: Mapping[str, Any]) -> str | None:
    """The id-token of an ``auth-provider: oidc`` user to send as it is (client-go sends it while
    it is more than 10 s from expiry; the official client would refresh 5 minutes early and fail
    without a refresh-token), or None when it has expired and a refresh-token can renew it (the
    client does that). Refused in words: no id-token, one that is not a JWT (the client would send
    no credential at all), expired with nothing to refresh it."""
    config: Mapping[str, Any] = provider["config"] if isinstance(provider.get("config"), Mapping) else {}
    token = str(config.get("id-token") or "")
    if not token:
        raise ClusterError(f"user {user!r}: the oidc auth-provider has no id-token: log in with your OIDC "
                           "helper to get one")
    parts = token.split(".")
    claims: Any = {}
    if len(parts) == 3 and not any(c in token for c in "=+/"):
        try:
            claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        except ValueError:
            claims = {}
    if not isinstance(claims, dict) or not claims:
        raise ClusterError(f"user {user!r}: the oidc auth-provider's id-token is not a JWT (the client would send "
                           "no credential at all)")
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)) or exp - OIDC_EXPIRY_DELTA > time.time():
        return token
    if config.get("refresh-token") and config.get("idp-issuer-url") and config.get("client-id"):
        return None
    when = format_seconds(exp)
    raise ClusterError(f"user {user!r}: the oidc id-token expired at {when} and there is no refresh-token: "
                       "log in again with your OIDC helper")


class KubeconfigToken:
    """A bearer the kubeconfig holds that a login outside mitigate may replace while an incident runs
    (an OIDC helper or ``kubectl`` writes the refreshed id-token back into the file): after a 401
    the file is read again, and a different token is worth one retry."""

    def __init__(self, read: Callable[[], str]) -> None:
        self._read = read
        self._lock = threading.Lock()
        self._token = read()

    def bearer(self) -> str:
        with self._lock:
            return f"Bearer {self._token}"

    def invalidate(self) -> bool:
        with self._lock:
            try:
                fresh = self._read()
            except ClusterError:
                return False  # still expired, or gone: the 401 says to log in again
            changed, self._token = fresh != self._token, fresh
            return changed


def stdin_is_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, OSError):
        return False
