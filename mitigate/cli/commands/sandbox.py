"""`mitigate sandbox serve SCENARIO`: run a drill cluster until Ctrl-C.

The sandbox lives in integrations (it needs aiohttp), so it is imported inside the
handler: the CLI stays fast to start and the core never imports adapters.
"""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path
from typing import Any

from mitigate.errors import MitigateError, UsageError


def register(sub: Any) -> None:
    p = sub.add_parser("sandbox", help="run a local sandbox Kubernetes API server for drills")
    ssub = p.add_subparsers(dest="sandbox_command", metavar="SUBCOMMAND")
    serve = ssub.add_parser("serve", help="serve a scenario until interrupted")
    serve.add_argument("scenario", help="a drill name (runbooks/drills/NAME.yaml) or a scenario file")
    serve.add_argument("--port", type=int, default=0,
                       help="port of the first cluster (others follow); default: random free ports")
    serve.add_argument("--kubeconfig", type=Path, default=None,
                       help="where to write the kubeconfig (default: a temporary file removed on exit)")
    serve.add_argument("--overwrite", action="store_true",
                       help="replace an existing --kubeconfig file the sandbox did not write")
    serve.set_defaults(handler=_serve)
    snap = ssub.add_parser("snapshot", help="capture a cluster's objects into a scenario (Secret values emptied)")
    snap.add_argument("--context", required=True, help="the kubeconfig context to capture")
    snap.add_argument("-n", "--namespace", action="append", default=[], dest="namespaces",
                      help="a namespace to capture (repeatable; default: all); cluster-scoped kinds always")
    snap.add_argument("--kubeconfig", type=Path, default=None, help="kubeconfig (default: $KUBECONFIG, ~/.kube/config)")
    snap.add_argument("-o", "--output", type=Path, required=True, help="the scenario file to write")
    snap.set_defaults(handler=_snapshot)
    p.set_defaults(handler=_usage)


def _usage(args: argparse.Namespace) -> int:
    raise UsageError("sandbox needs a subcommand: serve SCENARIO, or snapshot --context C -o FILE")


def _snapshot(args: argparse.Namespace) -> int:
    import yaml

    from integrations.sandbox import snapshot

    doc = snapshot(args.kubeconfig, args.context, list(args.namespaces))
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    try:
        args.output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    print(f"{args.output}: {len(doc['objects'])} objects of context {doc['context']}", flush=True)
    return 0


def _serve(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535, got {args.port}")
    from integrations.sandbox import Sandbox, wrote_kubeconfig

    target: Path | None = args.kubeconfig
    if target is not None and (target.exists() or target.is_symlink()):
        if target.is_dir():
            raise UsageError(f"--kubeconfig {target} is a directory")
        if not wrote_kubeconfig(target) and not args.overwrite:
            raise UsageError(f"--kubeconfig {target} exists and was not written by the sandbox (your "
                             "real kubeconfig?); refusing to overwrite it: give another path, or --overwrite")
    try:
        sb = Sandbox.start(args.scenario, port=args.port, kubeconfig=args.kubeconfig)
    except OverflowError:  # each cluster takes the next port: the last one would be past 65535
        raise UsageError(f"--port {args.port}: the scenario's clusters take consecutive ports and the last "
                         "would be past 65535; give a lower port (or 0 for free ones)") from None
    except OSError as exc:
        raise MitigateError(f"sandbox: cannot listen on port {args.port}: {exc.strerror or exc}") from None
    done = threading.Event()
    # Handle SIGINT explicitly too: a shell starts background jobs with SIGINT ignored, and an
    # ignored signal would never become KeyboardInterrupt.
    previous = {sig: signal.signal(sig, lambda *_: done.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(f"kubeconfig: {sb.kubeconfig}", flush=True)
        for ctx in sb.contexts:
            print(f"context: {ctx} {sb.url(ctx)}", flush=True)
            ingress = sb.ingress_url(ctx)
            if ingress:
                print(f"ingress: {ctx} {ingress}", flush=True)
        print(f"try: KUBECONFIG={sb.kubeconfig} kubectl get nodes", flush=True)
        while not done.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sb.stop()
    print("sandbox stopped", flush=True)
    return 0
