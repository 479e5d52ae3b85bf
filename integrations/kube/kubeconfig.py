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
from kubernetes.client import ApiClient, Configuration
from kubernetes.config import kube_config
from urllib3 import HTTPHeaderDict

from mitigate.ports import ClusterError, ContextInfo, Impersonation, Overrides

from .credentials import ExecPlugin, KubeconfigToken, oidc_token, stdin_is_terminal

DEFAULT_PROTECTED = ["*prod*"]


def kubeconfig_files(path: str | os.PathLike[str] | None) -> list[Path]:
    """The files kubectl would read: ``path``, else ``$KUBECONFIG``, else ``~/.kube/config``."""
    if path is not None:
        return [Path(path).expanduser()]
    env = os.environ.get("KUBECONFIG", "")
    parts = [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    return parts or [Path("~/.kube/config").expanduser()]


class Kubeconfig:
    """The merged view of one or more kubeconfig files, with kubectl's ``--cluster``, ``--user`` and
    ``--as`` overrides applied to every context."""

    def __init__(self, files: Sequence[Path], protected_patterns: Sequence[str] | None = None,
                 overrides: Overrides | None = None, *, terminal: bool | None = None,
                 terminal_owner: str = "") -> None:
        self.files = list(files)
        self.protected_patterns = list(DEFAULT_PROTECTED if protected_patterns is None else protected_patterns)
        self.overrides = overrides or Overrides()
        # may an exec plugin use the terminal? kubectl's rule (stdin is one) unless the caller knows
        # better: the TUI owns the terminal, so there no plugin may read it
        self.terminal = stdin_is_terminal() if terminal is None else terminal
        self.terminal_owner = terminal_owner
        self._contexts: dict[str, dict[str, Any]] = {}
        self._clusters: dict[str, dict[str, Any]] = {}
        self._users: dict[str, dict[str, Any]] = {}
        self._plugins: dict[str, ExecPlugin | KubeconfigToken] = {}
        self.current: str | None = None
        existing = [f for f in self.files if f.is_file()]
        if not existing:
            raise ClusterError(f"kubeconfig not found: {', '.join(str(f) for f in self.files)}")
        for f in existing:
            self._merge(f)
        for flag, name, store, what in (("--cluster", self.overrides.cluster, self._clusters, "cluster"),
                                        ("--user", self.overrides.user, self._users, "auth info")):
            if name and name not in store:  # kubectl: 'cluster "x" does not exist', 'auth info "x" does not exist'
                known = ", ".join(store) or "none"
                raise ClusterError(f'{flag}: {what} "{name}" does not exist in the kubeconfig (known: {known})')

    @property
    def impersonation(self) -> Impersonation | None:
        return self.overrides.impersonation

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

    def entries(self, name: str) -> tuple[str, str]:
        """The cluster and user entry a context uses: its own, or ``--cluster``/``--user``."""
        ctx = self._contexts[self.resolve(name)]
        return (self.overrides.cluster or str(ctx.get("cluster") or ""),
                self.overrides.user or str(ctx.get("user") or ""))

    def info(self, name: str) -> ContextInfo:
        """What a context resolves to: server, cluster, user and how it authenticates (never the credential)."""
        ctx = self._contexts[self.resolve(name)]
        cluster, user = self.entries(name)
        entry = self._clusters.get(cluster) or {}
        server = str(entry.get("server") or "")
        warnings = []
        if entry.get("insecure-skip-tls-verify"):
            warnings.append(f"context {name!r}: insecure-skip-tls-verify is set: the server's certificate is not "
                            "checked, so anyone on the path can impersonate the API server")
        return ContextInfo(
            name=name, cluster=cluster, namespace=str(ctx.get("namespace") or "default"),
            protected=any(fnmatch.fnmatchcase(name, p) for p in self.protected_patterns), server=server,
            user=user, auth=auth_kind(self._users.get(user) or {}), warnings=tuple(warnings),
            proxy=_without_password(str(entry.get("proxy-url") or "")))

    def api_client(self, name: str) -> ApiClient:
        """An ApiClient for one context; no urllib3 retries (the transport owns retrying)."""
        name = self.resolve(name)
        cluster, user = self.entries(name)
        cfg = Configuration()
        plugin: ExecPlugin | None = None
        token: KubeconfigToken | None = None
        try:
            merged = kube_config.KubeConfigMerger(  # type: ignore[no-untyped-call]
                os.pathsep.join(str(f) for f in self.files if f.is_file())).config
            context = merged["contexts"].get_with_name(name)
            context.value["context"] = {**(context.value.get("context") or {}), "cluster": cluster, "user": user}
            node = merged["users"].get_with_name(user, safe=True) if user else None
            if node is not None and isinstance(node.value.get("user"), dict):
                entry: dict[str, Any] = node.value["user"]
                provider = entry.get("auth-provider")
                if isinstance(provider, dict) and provider.get("name") == "oidc":
                    if oidc_token(user, provider):  # sent as client-go sends it; the client must not refresh it early
                        node.value["user"] = {k: v for k, v in entry.items() if k != "auth-provider"}
                        token = self._plugins[name] = KubeconfigToken(lambda: self._oidc_again(user))
                else:
                    plugin = self._exec_plugin(name, user, entry, Path(str(node.path)).parent, cluster)
                    if plugin is not None:  # run by us, kubectl's way; the client must not run it too
                        node.value["user"] = {k: v for k, v in entry.items() if k != "exec"}
            loader = kube_config.KubeConfigLoader(  # type: ignore[no-untyped-call]
                config_dict=merged, config_base_path=None, active_context=name)
            loader.load_and_set(cfg)  # type: ignore[no-untyped-call]
        except ClusterError:
            raise
        except Exception as exc:  # ConfigException and file errors all end here
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
            raise ClusterError(f"context {name!r}: invalid kubeconfig entry: {first[:200]}") from None
        cfg.retries = False
        if (self._clusters.get(cluster) or {}).get("proxy-url"):
            cfg.no_proxy = ""  # kubectl: a kubeconfig proxy-url is used whatever $NO_PROXY says
        source: ExecPlugin | KubeconfigToken | None = plugin or token
        if source is not None:
            bearer = source.bearer()
            if plugin is not None and plugin.cert_file:
                cfg.cert_file, cfg.key_file = plugin.cert_file, plugin.key_file
            if bearer:
                cfg.api_key["BearerToken"] = bearer

                def refresh(c: Configuration, source: ExecPlugin | KubeconfigToken = source) -> None:
                    c.api_key["BearerToken"] = source.bearer()

                cfg.refresh_api_key_hook = refresh  # type: ignore[assignment]
        client = ApiClient(configuration=cfg)
        who = self.impersonation
        if who is not None:  # kubectl --as: the server authorises every request as this user
            client.set_default_header("Impersonate-User", who.user)  # type: ignore[no-untyped-call]
            if who.uid:
                client.set_default_header("Impersonate-Uid", who.uid)  # type: ignore[no-untyped-call]
            if who.groups:  # one header per group (kubectl's --as-group is repeatable)
                _send_each_group(client, who.groups)
        return client

    def plugin(self, name: str) -> ExecPlugin | KubeconfigToken | None:
        """The exec plugin a context's user runs, or its OIDC id-token (once its client is built), for a
        401 to refresh."""
        return self._plugins.get(self.resolve(name))

    def _oidc_again(self, user: str) -> str:
        """The user's id-token as the kubeconfig files hold it now (a login may have replaced it)."""
        fresh = Kubeconfig(self.files, self.protected_patterns)
        provider = (fresh._users.get(user) or {}).get("auth-provider")
        token = oidc_token(user, provider) if isinstance(provider, dict) else None
        if not token:
            raise ClusterError(f"user {user!r}: no usable oidc id-token in the kubeconfig")
        return token

    def _exec_plugin(self, context: str, user: str, entry: dict[str, Any], base: Path,
                     cluster: str) -> ExecPlugin | None:
        spec = entry.get("exec")
        if not isinstance(spec, dict) or entry.get("auth-provider") or entry.get("token") or entry.get("tokenFile"):
            return None  # the client's order: auth-provider, token, exec
        plugin = ExecPlugin(user, spec, base, self._clusters.get(cluster), terminal=self.terminal, terminal_owner=self.terminal_owner)
        self._plugins[context] = plugin
        return plugin


def _send_each_group(client: ApiClient, groups: Sequence[str]) -> None:
    """Send ``Impersonate-Group`` once per group. The client's default headers are one dict (one value
    per name), and urllib3 joins a list into one comma-separated header, which the API server would
    read as a single group named "a,b"; so the pool manager adds the repeated header itself."""
    pool = client.rest_client.pool_manager
    plain = pool.urlopen

    def urlopen(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        headers = HTTPHeaderDict(kwargs.get("headers") or {})
        headers.discard("Impersonate-Group")
        for group in groups:
            headers.add("Impersonate-Group", group)
        kwargs["headers"] = headers
        return plain(method, url, *args, **kwargs)

    pool.urlopen = urlopen  # type: ignore[method-assign]


def _without_password(url: str) -> str:
    """A proxy URL safe to journal: ``http://user:secret@host`` -> ``http://user@host``."""
    if "@" not in url:
        return url
    scheme, sep, rest = url.partition("://")
    userinfo, _, host = rest.rpartition("@")
    return f"{scheme}{sep}{userinfo.split(':', 1)[0]}@{host}" if sep else url.rsplit("@", 1)[1]


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
