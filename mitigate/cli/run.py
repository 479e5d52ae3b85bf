"""``mitigate run``: a runbook headless, as a plan (``--plan``) or auto-approved.

The same engine as the TUI, wired here to the real Kubernetes adapter and the
configured notifiers. ``--plan`` journals into a throw-away directory, runs
only read-only checks and prints every step; ``--auto-approve`` runs the
runbook through :class:`AutoApprove`, which never acts on protected contexts.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from mitigate import paths
from mitigate.errors import MitigateError, UsageError


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
    p.add_argument("--protect", action="append", default=[], metavar="PATTERN",
                   help="protected context pattern (e.g. 'prod*'); repeatable")
    p.add_argument("--decide", action="append", default=[], metavar="STEP=OPTION",
                   help="answer a decision step headless")
    p.add_argument("--ack-manual", action="store_true",
                   help="acknowledge manual steps headless (they are printed, not performed)")
    p.add_argument("--title", help="incident title (default: the runbook title)")
    p.add_argument("--severity", default="", help="incident severity, e.g. SEV1")
    p.add_argument("--config", help="integrations config (default: $MITIGATE_CONFIG or the user config)")
    p.set_defaults(handler=run)


def parse_pairs(values: list[str], option: str) -> dict[str, str]:
    """``["k=v", ...]`` from a repeated KEY=VALUE option; a usage error names the bad one."""
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{option} expects KEY=VALUE, got {item!r}")
        out[key.strip()] = value
    return out


def run(args: argparse.Namespace) -> int:
    from mitigate.runbook.inputs import resolve_inputs
    from mitigate.runbook.loader import find_runbook, load_runbook

    path = find_runbook(args.runbook)
    runbook = load_runbook(path)
    given = parse_pairs(args.input, "--input")
    if args.context:
        names = [n for n, s in runbook.inputs.items() if s.type == "kube-context"]
        target = "context" if "context" in runbook.inputs else (names[0] if names else None)
        if target is None:
            raise UsageError(f"runbook {runbook.metadata.name} takes no kube context input; use --input")
        given.setdefault(target, args.context)
    inputs = resolve_inputs(runbook, given)
    cluster = _cluster(args)
    if args.plan:
        return _plan(args, runbook, path, inputs, cluster)
    if not args.auto_approve:
        from mitigate.cli.tui import walk_runbook

        return walk_runbook(args, runbook, path, inputs, cluster)
    return _auto(args, runbook, path, inputs, cluster)


def _cluster(args: argparse.Namespace) -> Any:
    from integrations.kube import KubeCluster
    from mitigate.ports import ClusterError

    try:
        return KubeCluster.from_kubeconfig(args.kubeconfig, protected_patterns=args.protect or None)
    except ClusterError as exc:
        raise MitigateError(str(exc)) from None


def _plan(args: argparse.Namespace, runbook: Any, path: Path, inputs: dict[str, Any], cluster: Any) -> int:
    from mitigate.engine import IncidentMeta, PlanOnly, Ports, Session
    from mitigate.journal import Journal

    with tempfile.TemporaryDirectory(prefix="mitigate-plan-") as tmp:
        journal = Journal.create(Path(tmp), "plan")
        try:
            session = Session.start(runbook, inputs, journal, Ports(cluster=cluster, confirmer=PlanOnly()),
                                    meta=IncidentMeta(title=args.title or "", runbook_path=str(path)))
            plans = session.plan_all()
        finally:
            journal.close()
    print(f"Plan: {runbook.metadata.title} ({runbook.metadata.name}), nothing will be changed")
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
    return 0


def _auto(args: argparse.Namespace, runbook: Any, path: Path, inputs: dict[str, Any], cluster: Any) -> int:
    from integrations.config import build_ports, build_silencer, load_config
    from mitigate.engine import AutoApprove, IncidentMeta, Ports, Session, StepStatus, scorecard
    from mitigate.journal import Journal

    decisions = parse_pairs(args.decide, "--decide")
    config = load_config(args.config)
    journal = Journal.create(paths.journal_root(args.journal_dir), title=args.title or runbook.metadata.name)
    try:
        notifier, probes = build_ports(config, state_file=journal.dir / "notify-state.json")
        ports = Ports(cluster=cluster, confirmer=AutoApprove(), notifier=notifier, probes=probes,
                      silencer=build_silencer(config))
        session = Session.start(runbook, inputs, journal, ports,
                                meta=IncidentMeta(title=args.title or "", severity=args.severity,
                                                  runbook_path=str(path.resolve())))
        print(f"incident {journal.id}: {runbook.metadata.title}")
        while (current := session.current()) is not None:
            step = runbook.step(current.id)
            state = session.run(current.id)
            if state.status == StepStatus.PENDING and step.manual is not None:
                if not args.ack_manual:
                    raise MitigateError(f"step {step.id} is manual ({step.manual.strip().splitlines()[0]}); "
                                        f"do it, then pass --ack-manual (incident {journal.id})")
                print(f"  manual, acknowledged: {step.manual.strip()}")
                state = session.complete_manual(step.id)
            elif state.status == StepStatus.PENDING and step.decision is not None:
                options = ", ".join(o.id for o in step.decision.options)
                if step.id not in decisions:
                    raise MitigateError(f"step {step.id} needs a decision ({step.decision.prompt}): "
                                        f"pass --decide {step.id}=OPTION ({options})")
                state = session.decide(step.id, decisions[step.id])
            detail = state.reason or state.error or ""
            print(f"{state.status:>10}  {step.id}" + (f": {detail}" if detail else ""))
            if state.status not in (StepStatus.SUCCEEDED, StepStatus.SKIPPED):
                print(f"mitigate: halted at step {step.id} ({state.status}); incident {journal.id}",
                      file=sys.stderr)
                return 1
        print(scorecard(session.state, len(runbook.steps), client_absorbed=cluster.absorbed_total()).render())
        return 0
    finally:
        journal.close()
