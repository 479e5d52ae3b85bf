"""The command line: the composition root that wires adapters into the engine.

Each command lives in ``mitigate/cli/commands/`` as a module exposing ``register(subparsers)``
(a parser and its handler); handlers take the parsed ``args`` and return an exit code. Commands
never import each other: the ports for live, drill and plan modes and the protection rule are
built in :mod:`mitigate.cli.wiring`, runbooks are resolved by :mod:`mitigate.cli.library`,
drills prepared by :mod:`mitigate.cli.drill`, headless runs driven by
:mod:`mitigate.cli.headless`. Heavy modules (textual, kubernetes, aiohttp) are imported inside
handlers so that ``mitigate --version`` and ``mitigate validate`` start fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from mitigate import __version__
from mitigate.errors import MitigateError
from mitigate.textsafe import safe_streams

COMMAND_MODULES: list[str] = [
    "drill",
    "home",
    "incident",
    "journal",
    "new",
    "postmortem",
    "rollback",
    "run",
    "sandbox",
    "secrets",
    "test",
    "validate",
]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"mitigate: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="mitigate", description="Incident-response runbook assistant for Kubernetes.")
    parser.add_argument("--version", action="version", version=f"mitigate {__version__}")
    parser.add_argument(
        "--journal-dir",
        default=os.environ.get("MITIGATE_JOURNAL_DIR"),
        help="where incident journals live (env MITIGATE_JOURNAL_DIR; default: the user data directory)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(f"mitigate.cli.commands.{name}").register(sub)
    return parser


def _home(args: argparse.Namespace) -> int:
    """Bare ``mitigate`` on a terminal opens the TUI home screen; otherwise it prints the help."""
    from mitigate.cli.commands.home import home_or_help

    return home_or_help(args, build_parser())


def main(argv: Sequence[str] | None = None) -> int:
    from mitigate.cli.wiring import journal_key_provider
    from mitigate.journal.keys import key_provider, set_key_provider

    previous = key_provider()
    set_key_provider(journal_key_provider)  # asked lazily, when a journal is opened or verified
    try:
        with safe_streams():  # names, messages and files from the cluster reach the terminal as data
            parser = build_parser()
            args = parser.parse_args(argv)
            handler = getattr(args, "handler", None) or _home
            try:
                return int(handler(args))
            except MitigateError as exc:
                from mitigate.journal.redact import redact_text

                print(f"mitigate: {redact_text(str(exc))}", file=sys.stderr)  # never a secret, even in an error
                return exc.exit_code
            except KeyboardInterrupt:
                print("mitigate: interrupted", file=sys.stderr)
                return 130
    finally:
        set_key_provider(previous)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
