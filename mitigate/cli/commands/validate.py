"""``mitigate validate`` and ``mitigate schema``: check runbooks like a compiler, export the schema.

Exit codes for ``validate``: 0 all valid, 1 any invalid (one ``path:line:col: message (at ...)``
line per problem on stderr), 2 usage (a path that does not exist, a folder with no runbooks).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from mitigate.cli.library import given_paths
from mitigate.cli.options import add_config, add_library, library_of
from mitigate.errors import LocatedError, LocatedErrors, MitigateError, UsageError

T = TypeVar("T")


def register(sub: Any) -> None:
    p = sub.add_parser("validate", help="check runbook files (default: every folder of the library search path)",
                       description="Validate runbooks. Exit 0 valid, 1 invalid, 2 usage.")
    p.add_argument("paths", nargs="*", metavar="PATH", help="runbook files or folders (drills/ is skipped)")
    p.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    add_config(p)
    add_library(p)
    p.set_defaults(handler=_validate)
    s = sub.add_parser("schema", help="print the runbook JSON Schema", description="Print the JSON Schema "
                       "of the runbook format (editors use it for completion).")
    s.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    s.set_defaults(handler=_schema)


def _yaml_files(folder: Path) -> list[Path]:
    """The folder's runbook files. Symlinked folders are not entered and a symlink that leads out
    of the folder is skipped (said on stderr): ``validate`` of a shared tree must not read, and
    echo in its errors, a file elsewhere on the machine (``evil.yaml -> ~/.ssh/id_rsa``)."""
    import os

    root = folder.resolve()
    found: list[Path] = []
    for top, dirs, names in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d != "drills")  # scenarios, not runbooks
        for name in sorted(names):
            path = Path(top) / name
            if path.suffix not in (".yaml", ".yml"):
                continue
            if path.is_symlink():
                target = path.resolve()
                if not target.is_relative_to(root):
                    print(f"mitigate: {path}: skipped, a symlink out of {folder}", file=sys.stderr)
                    continue
            if path.is_file():
                found.append(path)
    return sorted(found)


def _collect(raw: list[str], args: argparse.Namespace) -> list[Path]:
    if not raw:  # the whole library search path: --library, $MITIGATE_RUNBOOKS, runbookPaths, bundled
        library = library_of(args)
        found = [f for folder in library.folders if folder.path.is_dir() for f in _yaml_files(folder.path)]
        if not found:
            raise UsageError(f"no runbooks found in {library.describe()}")
        return found
    files: list[Path] = []
    for p, folder in given_paths(raw):
        found = _yaml_files(p) if folder else [p]
        if not found:
            raise UsageError(f"{p}: no .yaml runbooks in this folder")
        files.extend(found)
    return files


def _checked(path: Path, load: Callable[[Path], T]) -> T | None:
    """``load(path)``, or None after printing its errors (one located line each) to stderr."""
    try:
        return load(path)
    except LocatedErrors as exc:
        for err in exc.errors:
            print(err, file=sys.stderr)
    except LocatedError as exc:
        print(exc, file=sys.stderr)
    except MitigateError as exc:
        print(f"{path}: {exc}", file=sys.stderr)
    return None


def _validate(args: argparse.Namespace) -> int:
    from mitigate.cli.drill import check_scenario, is_scenario
    from mitigate.runbook.loader import load_runbook

    bad = 0
    files = _collect(args.paths, args)
    shadowed: dict[Path, Path] = {}  # on the search path: a later runbook of the same name -> the one used
    if not args.paths:
        for entry in library_of(args).entries():
            shadowed.update({p.resolve(): entry.summary.path for p in entry.shadows})
    for path in files:
        if is_scenario(path):  # a drill scenario given by path: validated as a scenario
            summary = _checked(path, check_scenario)
        else:
            rb = _checked(path, load_runbook)
            winner = shadowed.get(path.resolve())
            summary = None if rb is None else (f"{rb.metadata.name}, {len(rb.steps)} steps"
                                               + (f"; shadowed by {winner}" if winner else ""))
        if summary is None:
            bad += 1
        elif not args.quiet:
            print(f"ok {path} ({summary})")
    if not args.quiet or bad:
        print(f"{len(files) - bad} valid, {bad} invalid", file=sys.stderr if bad else sys.stdout)
    return 1 if bad else 0


def _schema(args: argparse.Namespace) -> int:
    from mitigate.runbook.schema import schema_text

    text = schema_text()
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise MitigateError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    else:
        sys.stdout.write(text)
    return 0
