"""``mitigate run``: walk a runbook in the TUI, or headless as a plan (``--plan``) or auto-approved.

All three modes resolve the runbook on the library search path, decide protection once
(built-in ``*prod*`` + config.yaml + ``--protect``) and refuse a context the kubeconfig does not
name before anything is planned or journaled. ``--plan`` journals into a throw-away directory,
runs only read-only checks and prints every step; ``--auto-approve`` runs the runbook through
:class:`AutoApprove`, which never acts on protected contexts.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from mitigate import paths
from mitigate.cli.options import add_wiring, library_of, parse_pairs, settings_of
from mitigate.errors import UsageError


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("run", help="walk a runbook in the TUI, or headless: --plan or --auto-approve",
                              description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("runbook", help="runbook name (e.g. replace-notready-nodes) or path to a YAML file")
    p.add_argument("--context", help="kube context to act on (sets the runbook's context input)")
    p.add_argument("--input", action="append", default=[], metavar="KEY=VALUE", help="a runbook input")
    mode = p.add_mutually_exclusive_group()  # neither: the TUI walker asks before each change
    mode.add_argument("--plan", action="store_true", help="print every step and change nothing")
    mode.add_argument("--auto-approve", action="store_true",
                      help="execute without prompts (refused on protected contexts)")
    p.add_argument("--kubeconfig", help="kubeconfig path (default: $KUBECONFIG, then ~/.kube/config)")
    p.add_argument("--decide", action="append", default=[], metavar="STEP=OPTION",
                   help="answer a decision step headless")
    p.add_argument("--ack-manual", action="store_true",
                   help="acknowledge manual steps headless (they are printed, not performed)")
    p.add_argument("--title", help="incident title (default: the runbook title)")
    p.add_argument("--incident", metavar="ID", help="run the runbook in this open incident (opened with "
                   "'mitigate incident open' or imported) instead of opening a new one; any unique prefix")
    p.add_argument("--severity", default="", help="incident severity, e.g. SEV1")
    add_wiring(p)
    p.set_defaults(handler=run)


def _kube_contexts(runbook: Any, inputs: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for key, spec in runbook.inputs.items():
        value = inputs.get(key)
        if spec.type == "kube-context" and value:
            out.append(str(value))
        elif spec.type == "kube-contexts" and value:
            out.extend(str(v) for v in value)
    return out


def run(args: argparse.Namespace) -> int:
    from mitigate.cli.wiring import check_context, live_cluster
    from mitigate.runbook.inputs import resolve_inputs
    from mitigate.runbook.loader import load_runbook

    if not (args.plan or args.auto_approve):
        from mitigate.cli.tui import need_terminal

        need_terminal("run")
    chosen = settings_of(args)  # protection decided once, before any incident exists
    path = library_of(args, chosen).find(args.runbook)
    runbook = load_runbook(path)
    given = parse_pairs(args.input, "--input")
    if args.context:
        names = [n for n, s in runbook.inputs.items() if s.type == "kube-context"]
        target = "context" if "context" in runbook.inputs else (names[0] if names else None)
        if target is None:
            raise UsageError(f"runbook {runbook.metadata.name} takes no kube context input; use --input")
        given.setdefault(target, args.context)
    inputs = resolve_inputs(runbook, given)
    cluster = live_cluster(args.kubeconfig, chosen.protection, chosen.overrides,
                           tui=not (args.plan or args.auto_approve))
    check_context(cluster, _kube_contexts(runbook, inputs))
    if args.plan:
        return _plan(args, runbook, path, inputs, cluster, chosen)
    if not args.auto_approve:
        return _walk(args, runbook, path, inputs, cluster, chosen)
    return _auto(args, runbook, path, inputs, cluster, chosen)


def _walk(args: argparse.Namespace, runbook: Any, path: Path, inputs: dict[str, Any], cluster: Any,
          chosen: Any) -> int:
    from mitigate.cli.tui import walk
    from mitigate.cli.wiring import open_incident, ports

    def build(confirmer: Any) -> Any:
        return open_incident(paths.journal_root(args.journal_dir), runbook, path, inputs,
                             lambda folder: ports("live", cluster, confirmer, chosen.config, folder),
                             chosen.protection, title=args.title or runbook.metadata.title, severity=args.severity,
                             incident=args.incident)

    return walk(build, cluster)


def _plan(args: argparse.Namespace, runbook: Any, path: Path, inputs: dict[str, Any], cluster: Any,
          chosen: Any) -> int:
    from mitigate.cli.wiring import identities, open_incident, ports
    from mitigate.engine import PlanOnly

    with tempfile.TemporaryDirectory(prefix="mitigate-plan-") as tmp:
        session = open_incident(Path(tmp), runbook, path, inputs,
                                lambda folder: ports("plan", cluster, PlanOnly(), chosen.config, folder),
                                chosen.protection, name="plan", title=args.title or "")
        try:
            plans = session.plan_all(parse_pairs(args.decide, "--decide"))
        finally:
            session.journal.close()
    print(f"Plan: {runbook.metadata.title} ({runbook.metadata.name}), nothing will be changed")
    for who in identities(cluster, _kube_contexts(runbook, inputs)):
        acting = "".join(f", --{k} {v}" for k, v in (who.get("override") or {}).items())
        acting += f", acting as {who['as']['user']}" if who.get("as") else ""
        acting += "".join(f" (group {g})" for g in (who.get("as") or {}).get("groups") or [])
        acting += f", through proxy {who['proxy']}" if who.get("proxy") else ""
        print(f"Context {who['context']}: server {who['server']}, cluster {who['cluster']}, user {who['user']} "
              f"({who['auth']}){acting}")
        for warning in who.get("warnings") or []:
            print(f"mitigate: warning: {warning}", file=sys.stderr)
    protected = [c for c in _kube_contexts(runbook, inputs) if chosen.protection.protects(c)]
    if protected:
        print(f"Protected: {', '.join(protected)} (destructive steps need the context name typed; "
              "--auto-approve refuses them)")
    for n, p in enumerate(plans, 1):
        flags = "".join([" DESTRUCTIVE" if p.destructive else "", " PROTECTED" if p.protected else ""])
        print(f"\n{n}. [{p.kind}] {p.title}{flags}")
        if p.description:
            print(f"   {p.description}")
        if p.contexts:
            print(f"   context: {', '.join(p.contexts)}")
        if p.scope:
            print(f"   scope: {p.scope}")
        for line in p.kubectl[:20]:
            print(f"   $ {line}")
        if len(p.kubectl) > 20:
            print(f"   ... {len(p.kubectl) - 20} more kubectl line(s)")
        for note in p.notes:
            print(f"   - {note}")
    broken = [p for p in plans if p.error]
    for p in broken:  # waiting on earlier steps is normal in a plan; anything else is the runbook's or the input's
        print(f"mitigate: step {p.step_id} cannot be planned: {p.error}", file=sys.stderr)
    return 1 if broken else 0


def _auto(args: argparse.Namespace, runbook: Any, path: Path, inputs: dict[str, Any], cluster: Any,
          chosen: Any) -> int:
    from mitigate.cli.headless import drive
    from mitigate.cli.wiring import open_incident, ports
    from mitigate.engine import AutoApprove, scorecard

    decisions = parse_pairs(args.decide, "--decide")
    session = open_incident(paths.journal_root(args.journal_dir), runbook, path, inputs,
                            lambda folder: ports("live", cluster, AutoApprove(), chosen.config, folder),
                            chosen.protection, name=args.title or runbook.metadata.name, title=args.title or "",
                            severity=args.severity, incident=args.incident)
    try:
        print(f"incident {session.incident_id}: {runbook.metadata.title}")
        walk = drive(session, decisions=decisions, ack_manual=args.ack_manual, say=print)
        if not walk.finished:
            print(f"mitigate: halted at step {walk.halted_at} ({walk.status}); incident {session.incident_id}",
                  file=sys.stderr)
            return 1
        print(scorecard(session.state, len(runbook.steps), client_absorbed=cluster.absorbed_total()).render())
        return 0
    finally:
        session.journal.close()
