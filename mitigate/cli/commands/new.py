"""``mitigate new runbook NAME`` and ``mitigate new drill NAME``: scaffold a team's own runbook and its drill.

``new runbook`` writes ``DIR/NAME.yaml``, a commented runbook (a diagnosis check, a manual step,
an action with rollback, a verifying check); ``new drill`` writes ``DIR/drills/NAME.yaml``, a
sandbox scenario with the incident that runbook mitigates and the health check that proves it.
As written, the pair passes ``mitigate validate DIR`` and ``mitigate test DIR``; edit both into
your own incident from there. DIR is ``--dir`` (default: the first ``--library`` folder, else
the current folder). An existing file is never overwritten.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from mitigate.errors import MitigateError, UsageError

NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")

RUNBOOK = """\
# {name}: a runbook of your team's own, scaffolded by `mitigate new runbook {name}`.
#
# As written it restores a Deployment that was scaled to zero; make it your incident's.
# Check it with `mitigate validate {rel}` after each change, rehearse it with
# `mitigate test {folder}` against drills/{name}.yaml (`mitigate new drill {name}` writes that
# scenario), and put the folder on the search path (`--library DIR`, $MITIGATE_RUNBOOKS or
# `runbookPaths:` in config.yaml) so the home screen, `run {name}` and `drill {name}` find it.
# Format reference: `mitigate schema` (JSON Schema, for editor completion) and README.md.
apiVersion: mitigate/v1
kind: Runbook
metadata:
  name: {name}                 # how `mitigate run NAME` finds it; a name also in the bundled library shadows it
  title: Restore a Deployment scaled to zero
  version: "0.1"
  source: our postmortem of ...   # the incident this was written from (shown in the postmortem)
  summary: |
    A bad deploy script scaled the shop's web Deployment to zero replicas and every request
    failed. Confirm it, tell the team, scale it back, verify.
  symptoms:                     # what the home screen's fuzzy search matches
    - all requests fail with 503
    - deployment has zero replicas
  tags: [deployments, scaling]
inputs:                         # asked by the start form, or --input KEY=VALUE / --context
  context: {{type: kube-context, prompt: Cluster of the shop}}
  namespace: {{type: namespace, default: shop, prompt: Namespace of the Deployment}}
  deployment: {{type: string, default: web, prompt: Deployment that was scaled down}}
  replicas: {{type: integer, default: 3, minimum: 1, maximum: 50, prompt: Replicas to restore}}
steps:
  # A check is read-only: it lists objects, keeps those matching `where`, and passes when
  # `expect` holds. Later steps read what it found as steps['find-scaled-down'].
  - id: find-scaled-down
    title: Confirm the Deployment has no replicas
    check:
      kube: {{apiVersion: apps/v1, kind: Deployment, namespace: "{{{{ inputs.namespace }}}}"}}
      where: item.metadata.name == inputs.deployment and (item.spec.replicas or 0) == 0
      expect: count == 1
      columns:
        Deployment: "{{{{ item.metadata.name }}}}"
        Replicas: "{{{{ item.spec.replicas }}}}"
  # A manual step is something only a person can do; the walker waits until it is ticked.
  - id: tell-the-team
    title: Tell the team
    manual: Post in the incident channel that the web Deployment is being scaled back up.
  # An action changes the cluster: previewed (server-side dry run), confirmed, journaled
  # before and after; `b` in the walker (or `mitigate rollback`) undoes it.
  - id: scale-up
    title: Scale the Deployment back up
    action:
      scale:
        apiVersion: apps/v1
        kind: Deployment
        namespace: "{{{{ inputs.namespace }}}}"
        name: "{{{{ inputs.deployment }}}}"
        replicas: "{{{{ inputs.replicas }}}}"
  - id: verify
    title: Verify the replicas are back
    check:
      kube: {{apiVersion: apps/v1, kind: Deployment, namespace: "{{{{ inputs.namespace }}}}"}}
      where: item.metadata.name == inputs.deployment and (item.spec.replicas or 0) >= inputs.replicas
      expect: count == 1
"""

DRILL = """\
# Drill scenario for the runbook {name}, scaffolded by `mitigate new drill {name}`.
#
# The sandbox (an in-process Kubernetes API server) starts with these objects: the incident
# as it was when the responder arrived. `mitigate drill {name}` rehearses it in the TUI,
# `mitigate test` headless; the drill is MITIGATED when every `health` check passes. Make the
# incident yours, and keep a wrong fix losing: a runbook that does not fix it must score NOT
# MITIGATED (copy this file with `drill: {{runbook: <wrong-fix>, expect: not-mitigated}}`).
# Reference: integrations/sandbox/SCENARIOS.md.
name: {name}
description: |
  The shop's web Deployment was scaled to zero replicas by a deploy script at 03:12 UTC;
  every request fails with 503. Mitigated = web runs 3 replicas again.
context: shop-sandbox           # the kube context the sandbox serves
objects:
  - apiVersion: v1
    kind: Namespace
    metadata: {{name: shop}}
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {{name: web, namespace: shop, labels: {{app: web}}}}
    spec:
      replicas: 0
      selector: {{matchLabels: {{app: web}}}}
      template:
        metadata: {{labels: {{app: web}}}}
        spec:
          containers: [{{name: web, image: "nginx:1.27"}}]
health:
  - name: web runs 3 replicas
    field: {{apiVersion: apps/v1, kind: Deployment, namespace: shop, name: web, path: spec.replicas, atLeast: 3}}
drill:
  runbook: {name}               # the runbook rehearsed (default: this file's name)
  inputs: {{context: "${{context}}"}}   # ${{context}}, ${{url}}, ${{ingress}} are filled from the sandbox
  expect: mitigated             # or not-mitigated, for a wrong-fix case
"""


def register(sub: Any) -> None:
    p = sub.add_parser("new", help="scaffold a runbook or a drill scenario of your own",
                       description=(__doc__ or "").splitlines()[0])
    what = p.add_subparsers(dest="new_command", metavar="KIND", required=True, parser_class=type(p))
    for kind, text in (("runbook", "a commented runbook DIR/NAME.yaml"),
                       ("drill", "a drill scenario DIR/drills/NAME.yaml for the runbook NAME")):
        k = what.add_parser(kind, help=text)
        k.add_argument("name", metavar="NAME", help="lowercase words joined by '-' (e.g. web-scaled-to-zero)")
        k.add_argument("--dir", help="the library folder to write into (default: the first --library, else .)")
        k.add_argument("--library", action="append", default=[], metavar="DIR", help=argparse.SUPPRESS)
        k.set_defaults(handler=run, kind=kind)


def run(args: argparse.Namespace) -> int:
    if not NAME.match(args.name):
        raise UsageError(f"new {args.kind}: {args.name!r} is not a name: lowercase letters, digits and '-' "
                         "(at most 63), e.g. web-scaled-to-zero")
    folder = Path(args.dir or (args.library[0] if args.library else "."))
    target = folder / f"{args.name}.yaml" if args.kind == "runbook" else folder / "drills" / f"{args.name}.yaml"
    if target.exists():
        raise UsageError(f"{target} already exists; not overwritten")
    text = (RUNBOOK if args.kind == "runbook" else DRILL).format(name=args.name, folder=folder,
                                                                   rel=folder / f"{args.name}.yaml")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("x", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise MitigateError(f"cannot write {target}: {exc.strerror or exc}") from None
    print(f"wrote {target}")
    other = "drill" if args.kind == "runbook" else "runbook"
    if not (folder / f"{args.name}.yaml" if other == "runbook" else folder / "drills" / f"{args.name}.yaml").exists():
        print(f"next: mitigate new {other} {args.name} --dir {folder}")
    print(f"then: mitigate validate {folder} && mitigate test {folder}")
    return 0
