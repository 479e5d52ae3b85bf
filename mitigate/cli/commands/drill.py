"""``mitigate drill SCENARIO``: rehearse a runbook against the sandbox, in the TUI or ``--headless``.

Both modes start the sandbox in-process and prepare the drill through the one preparation
(:func:`mitigate.cli.drill.start`: the scenario's ``drill:`` block, its inputs with
``${context|contexts|url|ingress}`` filled in, decisions, warm-up), open the incident the same
way (``drill-<runbook>``, drill ports: nothing is sent, no real silence is created) and end with
the scenario's verdict and the scorecard. Headless needs ``--auto-approve``; exit 0 when every
step finished and the verdict is the expected one.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mitigate.cli.options import add_wiring, library_of, parse_pairs, settings_of
from mitigate.errors import UsageError
from mitigate.paths import journal_root


def register(sub: Any) -> None:
    d = sub.add_parser("drill", help="rehearse a runbook against the sandbox seeded with an incident")
    d.add_argument("scenario", metavar="SCENARIO", help="a scenario in a library's drills/ folder, or a path")
    d.add_argument("--runbook", help="runbook name or path (default: the scenario's drill.runbook, or its name)")
    d.add_argument("--input", "-i", action="append", default=[], metavar="NAME=VALUE", help="runbook input")
    d.add_argument("--title", help="incident title (default: 'Drill: <runbook title>')")
    d.add_argument("--headless", action="store_true", help="run start to finish without the TUI, print a scorecard")
    d.add_argument("--auto-approve", action="store_true", help="with --headless: approve every step")
    d.add_argument("--decide", action="append", default=[], metavar="STEP=OPTION",
                   help="answer a decision step (default: the scenario's drill block)")
    add_wiring(d)
    d.set_defaults(handler=drill)


def drill(args: argparse.Namespace) -> int:
    from mitigate.cli import drill as drills

    if args.headless and not args.auto_approve:
        raise UsageError("drill --headless needs --auto-approve (a headless drill has nobody to confirm steps)")
    if not args.headless:
        from mitigate.cli.tui import need_terminal

        need_terminal("drill")
    chosen = settings_of(args)
    prepared = drills.start(args.scenario, library=library_of(args, chosen), runbook=args.runbook,
                            inputs=parse_pairs(args.input, "--input"), decisions=parse_pairs(args.decide, "--decide"),
                            title=args.title, protection=chosen.protection)
    prepared.overrides, prepared.tui = chosen.overrides, not args.headless
    try:
        if args.headless:
            return _headless(args, prepared)
        return _tui(args, prepared)
    finally:
        prepared.sandbox.stop()


def _headless(args: argparse.Namespace, prepared: Any) -> int:
    from mitigate.cli import drill as drills

    print(prepared.brief_text(), end="\n\n", flush=True)
    result = drills.run(prepared, root=journal_root(args.journal_dir))
    print(drills.render(result))
    if not result.finished and result.expect == "mitigated":
        print(f"mitigate: drill halted at step {result.halted_at}; incident {result.incident_id}", file=sys.stderr)
    elif not result.ok:
        print("mitigate: drill finished but the scenario is not mitigated: " + result.health_message
              if result.expect == "mitigated" else
              "mitigate: a wrong-fix drill scored MITIGATED: its health checks cannot tell this fix from the "
              "right one", file=sys.stderr)
    return 0 if result.ok else 1


def _tui(args: argparse.Namespace, prepared: Any) -> int:
    from mitigate.cli.tui import walk
    from mitigate.engine import Session

    sessions: list[Session] = []
    print(prepared.brief_text(), flush=True)
    if prepared.warmup_seconds:
        print(f"(the incident runs for {prepared.warmup_seconds:g}s before you arrive)", flush=True)
    prepared.warm_up()

    def build(confirmer: Any) -> Session:
        sessions.append(prepared.open(journal_root(args.journal_dir), confirmer))
        return sessions[0]

    code = walk(build, prepared.cluster, drill=prepared)
    if sessions:  # after the app has left the screen: the verdict stays in the terminal
        verdict = prepared.verdict(sessions[0], mark=False)
        prepared.close(sessions[0], verdict)
        print(verdict.render())
        print(f"incident {sessions[0].incident_id}: `mitigate journal show {sessions[0].incident_id}`, "
              f"`mitigate postmortem {sessions[0].incident_id}`")
    return code
