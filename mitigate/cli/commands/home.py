"""``mitigate home`` (bare ``mitigate`` on a terminal) and ``mitigate resume ID``: the TUI app.

Both go through :class:`mitigate.cli.tui.CliLauncher`, which decides protection once (built-in
``*prod*`` + config.yaml + ``--protect``; a resumed incident adds what it journaled when opened)
and lists the runbooks of the library search path.
"""

from __future__ import annotations

import argparse
from typing import Any

from mitigate.cli.options import add_wiring
from mitigate.paths import journal_root


def register(sub: Any) -> None:
    h = sub.add_parser("home", help="open the TUI home screen: runbook picker and incidents to resume")
    h.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config)")
    add_wiring(h)
    h.set_defaults(handler=home)
    r = sub.add_parser("resume", help="reopen an incident in the walker, rebuilt from its journal")
    r.add_argument("incident", metavar="ID", help="the incident ID, or any unique prefix of it")
    r.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config)")
    add_wiring(r)
    r.set_defaults(handler=resume)


def _launcher(args: argparse.Namespace) -> Any:
    from mitigate.cli.options import library_of, settings_of
    from mitigate.cli.tui import CliLauncher

    chosen = settings_of(args)
    launcher = CliLauncher(journal_root(args.journal_dir), getattr(args, "kubeconfig", None),
                           library=library_of(args, chosen), config=getattr(args, "config", None),
                           protect=getattr(args, "protect", None) or [], overrides=chosen.overrides,
                           explicit=chosen.explicit)
    if chosen.overrides:  # a --cluster/--user the kubeconfig lacks: one line now, not an empty context list later
        launcher.cluster()
    return launcher


def home(args: argparse.Namespace) -> int:
    from mitigate.cli.tui import need_terminal
    from tui import make_app, run_app

    launcher = _launcher(args)
    need_terminal("home")
    return run_app(make_app(launcher=launcher))


def home_or_help(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Bare ``mitigate``: the home screen on a terminal, the help text in a pipe or a script."""
    import sys

    if sys.stdin.isatty() and sys.stdout.isatty():
        return home(args)
    parser.print_help()
    return 0


def resume(args: argparse.Namespace) -> int:
    from mitigate.cli.tui import need_terminal
    from mitigate.cli.wiring import resolve_incident_id
    from tui import TuiConfirmer, launch_walker

    resolve_incident_id(journal_root(args.journal_dir), args.incident)  # a one-line error before the TUI
    need_terminal("resume")
    confirmer = TuiConfirmer()
    incident = _launcher(args).resume(args.incident, confirmer, say=_say)
    return launch_walker(incident, confirmer=confirmer)


def _say(line: str) -> None:
    import sys

    print(f"mitigate: {line}", file=sys.stderr)
