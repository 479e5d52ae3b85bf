"""Options several commands share, declared once: ``--input``, ``--decide``, ``--protect``,
``--library``, ``--config``, ``--cluster``/``--user``/``--as``..., an incident ``ID``, ``--at``/``--tz``,
and how they become values."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from mitigate.errors import UsageError

if TYPE_CHECKING:
    from mitigate.cli.library import Library
    from mitigate.cli.wiring import Settings


def parse_pairs(values: list[str], option: str) -> dict[str, str]:
    """``["k=v", ...]`` from a repeated KEY=VALUE option; a usage error names the bad one."""
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{option} expects KEY=VALUE, got {item!r}")
        out[key.strip()] = value
    return out


def add_incident_action(sub: Any, name: str, help: str, handler: Any) -> Any:
    """A subcommand that acts on one incident, ``NAME ID ...``; returns its parser for the rest."""
    p = sub.add_parser(name, help=help)
    p.add_argument("id", metavar="ID", help="incident id (see 'mitigate incidents')")
    p.set_defaults(handler=handler)
    return p


def add_when(p: Any, at: str, default: str = "") -> None:
    """``--at`` (a local wall-clock time, ``at`` says what it is) and the ``--tz`` it is local to."""
    p.add_argument("--at", help=f"{at}, local to --tz: 'YYYY-MM-DD HH:MM'" + (f" (default: {default})" if default else ""))
    p.add_argument("--tz", help="zone of --at: IANA name (Europe/Paris), UTC, +02:00, or CET/EST/PDT...")


def add_protect(p: Any) -> None:
    p.add_argument("--protect", action="append", default=[], metavar="PATTERN",
                   help="protect contexts matching PATTERN (glob, e.g. 'eu-*'), on top of the built-in "
                        "'*prod*' and config.yaml's protectedContexts; repeatable")


def add_config(p: Any) -> None:
    p.add_argument("--config", help="config.yaml to use (default: $MITIGATE_CONFIG or the user config)")


def add_library(p: Any) -> None:
    p.add_argument("--library", action="append", default=[], metavar="DIR",
                   help="a runbook folder searched before $MITIGATE_RUNBOOKS, config.yaml's runbookPaths "
                        "and the bundled library; repeatable")


def add_identity(p: Any) -> None:
    """kubectl's identity flags, with kubectl's meaning, for every context the command acts on."""
    p.add_argument("--cluster", metavar="NAME",
                   help="use this kubeconfig cluster entry instead of the context's (as kubectl --cluster); "
                        "journaled and shown in every kubectl line")
    p.add_argument("--user", metavar="NAME",
                   help="use this kubeconfig user entry instead of the context's (as kubectl --user); "
                        "journaled and shown in every kubectl line")
    p.add_argument("--as", dest="as_user", metavar="USER",
                   help="act as USER (impersonation, as kubectl --as); journaled and shown in every kubectl line")
    p.add_argument("--as-group", action="append", default=[], metavar="GROUP",
                   help="with --as: a group to act as (repeatable, one Impersonate-Group header each)")
    p.add_argument("--as-uid", metavar="UID", help="with --as: the UID to act as")


def add_wiring(p: Any, *, protect: bool = True) -> None:
    """The options every command that opens an incident takes."""
    add_config(p)
    add_library(p)
    if protect:
        add_protect(p)
        add_identity(p)


def impersonation_of(args: argparse.Namespace) -> Any:
    """The ``--as`` options as an Impersonation, or None; ``--as-group`` without ``--as`` is a usage error."""
    from mitigate.ports import Impersonation

    user = getattr(args, "as_user", None)
    groups = tuple(getattr(args, "as_group", None) or ())
    uid = getattr(args, "as_uid", None) or ""
    if not user:
        if groups or uid:
            raise UsageError("--as-group and --as-uid need --as USER")
        return None
    return Impersonation(user, groups, uid)


def overrides_of(args: argparse.Namespace) -> Any:
    """``--cluster``, ``--user`` and ``--as``... as an Overrides (empty when none was given)."""
    from mitigate.ports import Overrides

    return Overrides(getattr(args, "cluster", None) or "", getattr(args, "user", None) or "",
                     impersonation_of(args))


def explicit_of(args: argparse.Namespace) -> frozenset[str]:
    """Which of cluster, user and as the command line gave, even as "" (``--as ''``: no impersonation):
    a resumed incident keeps what it journaled for the others."""
    given = {"cluster": getattr(args, "cluster", None), "user": getattr(args, "user", None),
             "as": getattr(args, "as_user", None)}
    return frozenset(k for k, v in given.items() if v is not None)


def settings_of(args: argparse.Namespace, journaled: list[str] | None = None) -> Settings:
    from mitigate.cli.wiring import settings

    return settings(getattr(args, "config", None), getattr(args, "protect", None) or [], journaled or [],
                    overrides=overrides_of(args), explicit=explicit_of(args))


def library_of(args: argparse.Namespace, config: Settings | None = None) -> Library:
    from mitigate.cli.library import search_path

    chosen = config or settings_of(args)
    return search_path(getattr(args, "library", None) or [], chosen.config.runbook_dirs())
