"""``mitigate postmortem ID``: render the draft postmortem of an incident.

The format follows ``--format``, else the ``-o`` file's extension, else
Markdown; ``--template`` picks a team's own template (run sandboxed).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mitigate.errors import MitigateError


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("postmortem", help="render the draft postmortem of an incident",
                              description="Render a draft postmortem from an incident's journal and runbook.")
    p.add_argument("incident", metavar="ID", help="incident id (see 'mitigate incidents')")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    p.add_argument("--format", choices=("md", "html"),
                   help="default template to use: md (GitHub Markdown, default) or html (standalone page)")
    p.add_argument("--template", metavar="PATH",
                   help="a Jinja2 template of your own, or a folder of them holding postmortem.md.j2 / "
                        "postmortem.html.j2 (picked by the format); sandboxed and budgeted (templates/README.md)")
    p.set_defaults(handler=run)


def _format(args: argparse.Namespace) -> str:
    if args.format:
        return str(args.format)
    if args.output and Path(args.output).suffix.lower() in (".html", ".htm"):
        return "html"
    return "md"


def run(args: argparse.Namespace) -> int:
    from mitigate.paths import journal_root
    from mitigate.postmortem import default_template, draft, render

    template = Path(args.template) if args.template else default_template(_format(args))
    if args.template and template.is_dir():  # a team's folder: the format's file in it
        template = template / default_template(_format(args)).name
    text = render(draft(journal_root(args.journal_dir), args.incident), template)
    if not args.output:
        sys.stdout.write(text)
        return 0
    out = Path(args.output)
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise MitigateError(f"cannot write {out}: {exc.strerror or exc}") from None
    print(f"postmortem draft written to {out}", file=sys.stderr)
    return 0
