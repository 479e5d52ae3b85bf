"""``mitigate rollback ID [--step STEP] [--auto-approve]``: undo an incident's applied steps headless.

The same confirmation rules as a run: without ``--auto-approve`` every rollback is shown (what,
where, the kubectl equivalent) and asked on the terminal, with the context name typed where a
run would ask for it; ``--auto-approve`` approves, but never on a protected context. What is
restored comes from the incident's backups (path + SHA-256 in the journal), never from the
redacted journal: a missing or altered backup stops the rollback with a message.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mitigate import paths
from mitigate.cli.options import add_config, add_identity, add_protect
from mitigate.errors import UsageError
from mitigate.events import Event
from mitigate.ports import ConfirmDecision, ConfirmRequest

DIFF_LINES = 40


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("rollback", help="undo an incident's applied steps, headless (confirmed as a run is)",
                              description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("incident", metavar="ID", help="incident ID (or a unique prefix)")
    p.add_argument("--step", metavar="STEP", help="roll back only this step (default: every applied step, "
                                                  "most recent first)")
    p.add_argument("--auto-approve", action="store_true",
                   help="approve without prompts (refused on protected contexts)")
    p.add_argument("--kubeconfig", help="kubeconfig path (default: $KUBECONFIG, then ~/.kube/config)")
    add_config(p)
    add_protect(p)
    add_identity(p)  # default: the ones the incident journaled
    p.set_defaults(handler=rollback)


class TerminalConfirmer:
    """Asks on the terminal: y/N, or the context name typed when a run would need it typed."""

    def __init__(self, ask: Any = input, say: Any = print) -> None:
        self.ask, self.say = ask, say

    def confirm(self, request: ConfirmRequest) -> ConfirmDecision:
        flags = "".join([" DESTRUCTIVE" if request.destructive else "", " PROTECTED" if request.protected else ""])
        self.say(f"\n{request.title}{flags}")
        self.say(f"  {request.description}")
        self.say(f"  context: {request.context}   targets: {request.target_count}   scope: {request.scope}")
        for line in request.kubectl:
            self.say(f"  $ {line}")
        diff = request.diff.splitlines()
        for line in diff[:DIFF_LINES]:
            self.say(f"  {line}")
        if len(diff) > DIFF_LINES:
            self.say(f"  ... {len(diff) - DIFF_LINES} more diff line(s)")
        try:
            if request.needs_typed:
                typed = self.ask(f"type the context name ({request.context}) to confirm: ")
                return ConfirmDecision(approved=bool(typed.strip()), typed=typed.strip(),
                                       reason="" if typed.strip() else "nothing typed")
            answer = self.ask("roll back? [y/N] ")
        except EOFError:
            return ConfirmDecision(approved=False, reason="no answer (end of input)")
        ok = answer.strip().lower() in ("y", "yes")
        return ConfirmDecision(approved=ok, reason="" if ok else "declined on the terminal")


def rollback(args: argparse.Namespace) -> int:
    from mitigate.cli.options import explicit_of, overrides_of
    from mitigate.cli.wiring import live_cluster, ports, resume_incident
    from mitigate.engine import AutoApprove

    if not args.auto_approve and not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("rollback: confirming needs a terminal (or --auto-approve, which never acts on "
                         "protected contexts)")
    confirmer: Any = AutoApprove() if args.auto_approve else TerminalConfirmer()
    session = resume_incident(
        paths.journal_root(args.journal_dir), args.incident,
        lambda chosen, folder: ports("live", live_cluster(args.kubeconfig, chosen.protection, chosen.overrides),
                                     confirmer, chosen.config, folder),
        config=args.config, protect=args.protect, overrides=overrides_of(args), explicit=explicit_of(args),
        say=lambda line: print(f"mitigate: {line}", file=sys.stderr),
        need_secrets=False)  # an undo restores from backups and renders no input
    try:
        start = len(session.journal.records())
        session.rollback(only=args.step)
        ok = True
        for record in session.journal.records()[start:]:
            if record.type == Event.ROLLBACK_STEP:
                data = record.data
                print(f"{data['step']}: {'rolled back' if data.get('ok') else 'NOT rolled back: ' + str(data.get('message'))}")
            elif record.type == Event.ROLLBACK_FINISHED:
                ok = bool(record.data.get("ok"))
        print(f"incident {session.incident_id}: rollback {'finished' if ok else 'stopped'}")
        return 0 if ok else 1
    finally:
        session.journal.close()
