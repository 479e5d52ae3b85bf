"""Kubeconfig handling the kubectl way, with one-line errors.

``KUBECONFIG`` may list several files (colon-separated, first wins per name,
as kubectl merges them); an explicit path overrides it. Each context gets its
own ``ApiClient``, built lazily so that a session naming three clusters does
not pay for the ones it never touches.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from kubernetes import config as kconfig
from kubernetes.client import ApiClient, Configuration

from mitigate.ports import ClusterError, ContextInfo, Impersonation

DEFAULT_PROTECTED = ["*prod*"]


def kubeconfig_files(path: str | os.PathLike[str] | None) -> list[Path]:
    """The files kubectl would read: ``path``, else ``$KUBECONFIG``, else ``~/.kube/config``."""
    if path is not None:
        return [Path(path).expanduser()]
    env = os.environ.get("KUBECONFIG", "")
    parts = [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    return parts or [Path("~/.kube/config").expanduser()]


class Kubeconfig:
    """The merged view of one or more kubeconfig files."""

    def __init__(self, files: Sequence[Path], protected_patterns: Sequence[str] | None = None,
                 impersonation: Impersonation | None = None) -> None:
        self.files = list(files)
        self.protected_patterns = list(DEFAULT_PROTECTED if protected_patterns is None else protected_patterns)
        self.impersonation = impersonation
        self._contexts: dict[str, dict[str, Any]] = {}
        self._clusters: dict[str, dict[str, Any]] = {}
        self._users: dict[str, dict[str, Any]] = {}
        self.current: str | None = None
        existing = [f for f in self.files if f.is_file()]
        if not existing:
            raise ClusterError(f"kubeconfig not found: {', '.join(str(f) for f in self.files)}")
        for f in existing:
            self._merge(f)

    def _merge(self, path: Path) -> None:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, UnicodeDecodeError) as exc:
            raise ClusterError(f"{path}: cannot read kubeconfig ({exc.__class__.__name__})") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            loc = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
            raise ClusterError(f"{path}{loc}: kubeconfig is not valid YAML") from None
        if not isinstance(data, dict):
            raise ClusterError(f"{path}: kubeconfig must be a mapping")
        for key, store in (("contexts", self._contexts), ("clusters", self._clusters), ("users", self._users)):
            entries = data.get(key) or []
            if not isinstance(entries, list):
                raise ClusterError(f"{path}: '{key}' must be a list")
            for i, entry in enumerate(entries):
                if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                    raise ClusterError(f"{path}: {key}[{i}] has no name")
                store.setdefault(entry["name"], entry.get(key[:-1]) or {})
        if self.current is None and isinstance(data.get("current-context"), str) and data["current-context"]:
            self.current = data["current-context"]

    @property
    def names(self) -> list[str]:
        return list(self._contexts)

    def resolve(self, name: str | None) -> str:
        """A context name, defaulting to current-context; unknown names list the known ones."""
        chosen = name or self.current
        if not chosen:
            raise ClusterError("no context given and the kubeconfig has no current-context "
                               f"(known: {', '.join(self.names) or 'none'})")
        if chosen not in self._contexts:
            raise ClusterError(f"unknown context {chosen!r} (known: {', '.join(self.names) or 'none'})")
        return chosen

    def info(self, name: str) -> ContextInfo:
        """What a context resolves to: server, cluster, user and how it authenticates (never the credential)."""
        ctx = self._contexts[self.resolve(name)]
        cluster = str(ctx.get("cluster") or "")
        entry = self._clusters.get(cluster) or {}
        server = str(entry.get("server") or "")
        user = str(ctx.get("user") or "")
        warnings = []
        if entry.get("insecure-skip-tls-verify"):
            warnings.append(f"context {name!r}: insecure-skip-tls-verify is set: the server's certificate is not "
                            "checked, so anyone on the path can impersonate the API server")
        return ContextInfo(
            name=name, cluster=cluster, namespace=str(ctx.get("namespace") or "default"),
            protected=any(fnmatch.fnmatchcase(name, p) for p in self.protected_patterns), server=server,
            user=user, auth=auth_kind(self._users.get(user) or {}), warnings=tuple(warnings))

    def api_client(self, name: str) -> ApiClient:
        """An ApiClient for one context; no urllib3 retries (the transport owns retrying)."""
        name = self.resolve(name)
        cfg = Configuration()
        try:
            kconfig.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=os.pathsep.join(str(f) for f in self.files if f.is_file()),
                context=name, client_configuration=cfg, persist_config=False)
        except Exception as exc:  # ConfigException, exec-plugin and file errors all end here
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
            raise ClusterError(f"context {name!r}: invalid kubeconfig entry: {first[:200]}") from None
        cfg.retries = False
        client = ApiClient(configuration=cfg)
        who = self.impersonation
        if who is not None:  # kubectl --as: the server authorises every request as this user
            client.set_default_header("Impersonate-User", who.user)  # type: ignore[no-untyped-call]
            if len(who.groups) > 1:
                raise ClusterError("only one --as-group is supported (the client sends one header per name)")
            for group in who.groups:
                client.set_default_header("Impersonate-Group", group)  # type: ignore[no-untyped-call]
            if who.uid:
                client.set_default_header("Impersonate-Uid", who.uid)  # type: ignore[no-untyped-call]
        return client


def auth_kind(user: dict[str, Any]) -> str:
    """How a kubeconfig user authenticates, in words safe to journal (no token, key or password)."""
    if user.get("exec"):
        exec_ = user["exec"] if isinstance(user["exec"], dict) else {}
        return f"exec:{Path(str(exec_.get('command') or '?')).name} ({exec_.get('apiVersion', '?')})"
    if user.get("auth-provider"):
        provider = user["auth-provider"] if isinstance(user["auth-provider"], dict) else {}
        return f"auth-provider:{provider.get('name', '?')}"
    if user.get("client-certificate") or user.get("client-certificate-data"):
        return "client-certificate"
    if user.get("token") or user.get("tokenFile"):
        return "token"
    if user.get("username"):
        return "basic"
    return "none"
