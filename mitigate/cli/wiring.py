"""The composition root: the one place that builds the engine's ports for each mode.

Every command that opens an incident goes through here, so each of these is decided once:

* **protection**: :func:`settings` reads config.yaml once and decides the protected-context
  patterns with :func:`mitigate.protection.decide` (built-in ``*prod*`` + ``protectedContexts`` +
  ``--protect`` [+ the patterns journaled by an incident being resumed]), before any incident
  exists; the cluster adapters are built with those patterns and ``incident.opened`` journals them;
* **ports per mode**: :func:`ports` gives ``live`` (the configured notifiers, probes and
  Alertmanager silencer), ``drill`` (recording notifier and silencer, probes without configured
  servers: a rehearsal never reaches a real integration) and ``plan`` (nothing that can send;
  probes for read-only checks);
* **clusters**: :func:`live_cluster` over a kubeconfig, :func:`drill_cluster` over a sandbox.

The adapters (integrations) are imported inside the functions so that ``mitigate --version``,
``validate`` and ``journal`` never load kubernetes, aiohttp or httpx.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mitigate.errors import MitigateError, UsageError
from mitigate.events import Event
from mitigate.ports import Impersonation, Overrides
from mitigate.protection import Protection, decide

if TYPE_CHECKING:
    from integrations.config import IntegrationsConfig
    from mitigate.engine import Ports, Session
    from mitigate.ports import ClusterPort, ConfirmerPort
    from mitigate.runbook.model import Runbook

Mode = Literal["live", "drill", "plan"]


@dataclass(frozen=True)
class Settings:
    """What one command invocation decided before touching any incident."""

    config: IntegrationsConfig
    protection: Protection
    # --cluster/--user/--as...: every cluster built for this command uses them
    overrides: Overrides = Overrides()
    explicit: frozenset[str] = frozenset()  # which of cluster/user/as were given (a resume keeps the others)

    @property
    def impersonation(self) -> Impersonation | None:
        return self.overrides.impersonation


def settings(config: str | Path | None = None, protect: Sequence[str] = (),
             journaled: Sequence[str] = (), overrides: Overrides | None = None,
             explicit: frozenset[str] = frozenset()) -> Settings:
    """Load config.yaml (``--config``, else ``$MITIGATE_CONFIG``, else the user config) and decide
    protection from it, ``--protect`` and, for a resumed incident, what its journal says."""
    from integrations.config import load_config

    loaded = load_config(config)
    return Settings(loaded, decide(loaded.protectedContexts, protect, journaled), overrides or Overrides(),
                    explicit)


TUI = "the TUI"  # who holds the terminal while the walker runs: no exec plugin may prompt on it


def live_cluster(kubeconfig: str | os.PathLike[str] | None, protection: Protection,
                 overrides: Overrides | None = None, *, tui: bool = False) -> ClusterPort:
    """The Kubernetes adapter over a kubeconfig, its contexts marked by ``protection``, with
    ``--cluster``/``--user``/``--as`` applied. ``tui``: the TUI holds the terminal, so an exec
    plugin with ``interactiveMode: Always`` fails in words instead of fighting it for the keyboard."""
    from integrations.kube import KubeCluster
    from mitigate.ports import ClusterError

    try:
        return KubeCluster.from_kubeconfig(kubeconfig, protected_patterns=list(protection.patterns),
                                           overrides=overrides, terminal=False if tui else None,
                                           terminal_owner=TUI if tui else "")
    except ClusterError as exc:
        raise MitigateError(str(exc)) from None


def drill_cluster(kubeconfig: str | os.PathLike[str], protection: Protection,
                  overrides: Overrides | None = None, *, tui: bool = False) -> ClusterPort:
    """The Kubernetes adapter over a sandbox's kubeconfig (the same rule marks its contexts)."""
    return live_cluster(kubeconfig, protection, overrides, tui=tui)


def check_context(cluster: ClusterPort, contexts: Sequence[str]) -> None:
    """Refuse a context the kubeconfig does not name, before anything is planned or journaled."""
    known = [c.name for c in cluster.contexts()]
    for name in contexts:
        if name and name not in known:
            from mitigate.yamlloc import did_you_mean

            hint = did_you_mean(name, known) or (f" (known: {', '.join(known)})" if known else "")
            raise UsageError(f"context {name!r} is not in the kubeconfig{hint}")


def ports(mode: Mode, cluster: ClusterPort | None, confirmer: ConfirmerPort, config: IntegrationsConfig | None,
          incident_dir: Path | None = None) -> Ports:
    """The engine's ports for one session in ``mode``.

    ``config`` is not read in ``drill`` mode (and may be None there). ``incident_dir`` keeps the notifiers' remote ids (e.g. the Statuspage incident) across
    restarts of a live incident in ``notify-state.json``.
    """
    from integrations.config import IntegrationsConfig
    from integrations.probes import build_prober, build_silencer
    from mitigate.engine import Ports

    # who answers a secret input on resume: the confirmer's masked prompt (the TUI's modal, or the
    # terminal before it runs), if it has one
    ask = getattr(confirmer, "ask_secret", None)
    if mode == "drill":  # a rehearsal never pages anyone nor silences real alerts: both only journal
        from integrations.drill import DrillCommands, DrillHttp, DrillNotifier, DrillSilencer

        return Ports(cluster=cluster, confirmer=confirmer, notifier=DrillNotifier(),
                     probes=build_prober(IntegrationsConfig(source="")), silencer=DrillSilencer(),
                     secrets=keyring_secret, http=DrillHttp(), commands=DrillCommands(), ask_secret=ask)
    if config is None:
        raise MitigateError(f"{mode} mode needs the integrations config")
    if mode == "plan":  # read-only checks may probe; nothing that can send is wired
        return Ports(cluster=cluster, confirmer=confirmer, probes=build_prober(config), secrets=keyring_secret,
                     ask_secret=ask)
    from integrations.notify import build_notifier
    from integrations.outbound import HttpSender, LocalCommands

    state = incident_dir / "notify-state.json" if incident_dir is not None else None
    return Ports(cluster=cluster, confirmer=confirmer, notifier=build_notifier(config, state_file=state),
                 probes=build_prober(config), silencer=build_silencer(config), secrets=keyring_secret,
                 http=HttpSender(), commands=LocalCommands(), ask_secret=ask)


def keyring_secret(name: str) -> str | None:
    """A ``secret`` input's value from the keyring (or ``MITIGATE_SECRET_<NAME>``); None when unset."""
    from integrations.secrets import SecretError, get_secret

    try:
        return get_secret(name)
    except SecretError:
        return None



def open_incident(root: Path, runbook: Runbook, path: Path, inputs: Mapping[str, Any],
                  build_ports: Callable[[Path], Ports], protection: Protection, *, name: str | None = None,
                  title: str = "", severity: str = "", commander: str = "", drill: bool = False,
                  scenario: str = "", incident: str | None = None) -> Session:
    """Create the incident's journal and open the session on it (every entry point comes here).

    ``name`` is the slug of the incident ID (default: the title); ``build_ports`` gets the new
    incident's folder. The protection decided beforehand is journaled in ``incident.opened``.
    A failure after the journal exists releases it.
    """
    from mitigate.engine import IncidentMeta, Session
    from mitigate.journal import Journal

    journal = (Journal.open(root, resolve_incident_id(root, incident)) if incident
               else Journal.create(root, title=name or title or runbook.metadata.name))
    try:
        meta = IncidentMeta(title=title or runbook.metadata.title, severity=severity, commander=commander,
                            runbook_path=str(Path(path).resolve()), drill=drill, scenario=scenario,
                            protection=protection.to_data())
        begin = Session.attach if incident else Session.start  # run --incident ID: an incident opened earlier
        session = begin(runbook, inputs, journal, build_ports(journal.dir), meta=meta)
        for identity in identities(session.ports.cluster, session.state.opened.get("contexts") or []):
            journal.append(Event.CONTEXT_IDENTITY, identity)
        return session
    except BaseException:
        journal.close()
        raise


def identities(cluster: ClusterPort | None, contexts: Sequence[str]) -> list[dict[str, Any]]:
    """Per context the incident acts on: the resolved server, cluster, user, how it authenticates and
    whom it impersonates (never the credential); what ``context.identity`` journals and --plan prints."""
    if cluster is None or not contexts:
        return []
    known = {c.name: c for c in cluster.contexts()}
    given = getattr(getattr(cluster, "config", None), "overrides", None) or Overrides()
    who = given.impersonation
    out = []
    for name in contexts:
        info = known.get(name)
        if info is None:
            continue
        out.append({"context": name, "server": info.server, "cluster": info.cluster, "user": info.user,
                    "auth": info.auth, **({"override": given.data()} if given.data() else {}),
                    **({"as": who.data()} if who is not None else {}),
                    **({"proxy": info.proxy} if info.proxy else {}),
                    **({"warnings": list(info.warnings)} if info.warnings else {})})
    return out


def journaled_overrides(records: Sequence[Any]) -> Overrides:
    """The ``--cluster``/``--user``/``--as`` an incident acted with: its latest ``context.identity``."""
    last = next((r.data for r in reversed(list(records)) if r.type == Event.CONTEXT_IDENTITY), None)
    if not isinstance(last, dict):
        return Overrides()
    override: dict[str, Any] = last["override"] if isinstance(last.get("override"), dict) else {}
    return Overrides(str(override.get("cluster") or ""), str(override.get("user") or ""),
                     Impersonation.from_data(last.get("as")))


def _flags(value: Overrides, field: str) -> str:
    if field == "as":
        flags = value.impersonation.kubectl_flags() if value.impersonation else []
        return " ".join(flags) or "no --as"
    name = getattr(value, field)
    return f"--{field}={name}" if name else f"no --{field}"


def resumed_overrides(journaled: Overrides, given: Overrides, explicit: frozenset[str]) -> tuple[Overrides, list[str]]:
    """What a resumed incident acts with: per field (cluster, user, as) the command line's when given,
    else the journal's; and one line per field that is reused or changed, so nothing changes unseen."""
    chosen: dict[str, Any] = {}
    said: list[str] = []
    for field, attr in (("cluster", "cluster"), ("user", "user"), ("as", "impersonation")):
        old, new = getattr(journaled, attr), getattr(given, attr)
        if field not in explicit:
            chosen[attr] = old
            if old:
                said.append(f"resuming with the journaled {_flags(journaled, field)}")
            continue
        chosen[attr] = new
        if (old or None) != (new or None):
            said.append(f"the incident acted with {_flags(journaled, field)}; resuming with "
                        f"{_flags(given, field)} as given on the command line")
    return Overrides(chosen["cluster"], chosen["user"], chosen["impersonation"]), said


def resume_incident(root: Path, incident_id: str, build: Callable[[Settings, Path], Ports], *,
                    config: str | Path | None = None, protect: Sequence[str] = (),
                    overrides: Overrides | None = None, explicit: frozenset[str] = frozenset(),
                    say: Callable[[str], None] | None = None, need_secrets: bool = True) -> Session:
    """Reopen an incident: protection = today's rule plus what the incident journaled when opened;
    ``--cluster``/``--user``/``--as`` = the journaled ones unless given again (``explicit``). What is
    reused or changed is said (``say``) and journaled in a fresh ``context.identity`` per context.
    ``need_secrets``: secret inputs must be had again (keyring, or asked); a rollback needs none."""
    from mitigate.engine import Session
    from mitigate.journal import Journal
    from mitigate.protection import journaled_patterns

    journal = Journal.open(root, resolve_incident_id(root, incident_id))
    try:
        opened: dict[str, Any] = next((r.data for r in journal.records() if r.type == Event.INCIDENT_OPENED), {})
        if opened.get("drill"):
            # its sandbox lived in the mitigate process that ran it; resuming would point the
            # drill's steps at whatever the kubeconfig calls the same context, maybe a real one
            raise UsageError(f"incident {journal.id} is a drill: its sandbox is gone with the process "
                             "that ran it, so it cannot be resumed (start the drill again; "
                             f"`mitigate journal show {journal.id}` and `mitigate postmortem "
                             f"{journal.id}` still read it)")
        acting, said = resumed_overrides(journaled_overrides(journal.records()), overrides or Overrides(), explicit)
        chosen = settings(config, protect, journaled_patterns(opened), acting, explicit)
        session = Session.resume(journal, build(chosen, journal.dir), need_secrets=need_secrets)
        for line in said:
            if say is not None:
                say(f"incident {journal.id}: {line}")
        for identity in identities(session.ports.cluster, opened.get("contexts") or []):
            journal.append(Event.CONTEXT_IDENTITY, {**identity, "resumed": True, **({"said": said} if said else {})})
        return session
    except BaseException:
        journal.close()
        raise


def resolve_incident_id(root: Path, given: str) -> str:
    """An incident ID from any unique prefix of it (the full ID always works)."""
    from mitigate.journal.incidents import check_id
    from mitigate.journal.verify import JOURNAL_FILE

    check_id(given)
    base = Path(root)
    if (base / given / JOURNAL_FILE).is_file():
        return given
    matches = sorted(p.name for p in base.iterdir()
                     if p.name.startswith(given) and (p / JOURNAL_FILE).is_file()) if base.is_dir() else []
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise UsageError(f"no incident {given!r} in {root} (see 'mitigate incidents')")
    shown = ", ".join(matches[:5]) + (f" and {len(matches) - 5} more" if len(matches) > 5 else "")
    raise UsageError(f"incident prefix {given!r} is ambiguous: {shown}")


def journal_key_provider(root: Path) -> Any:
    """The journal key for ``root`` (``mitigate.journal.keys``), from the keyring or its fallback."""
    from integrations.secrets import journal_key

    return journal_key(root)
