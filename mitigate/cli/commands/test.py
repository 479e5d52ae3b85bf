"""``mitigate test [PATH ...] [--junit FILE]``: runbook CI, every runbook against every drill naming it.

PATH is a runbook file or a folder of runbooks (default: the whole library search path). The
scenarios come from the ``drills/`` folder beside each runbook folder (and the library's drill
folders); a scenario names its runbook with ``drill.runbook`` (default: its file name). Each
pair runs headless with ``--auto-approve`` through the one drill preparation, and passes when
the verdict is the one the scenario expects (``drill.expect``: ``mitigated``, the default, or
``not-mitigated`` for a wrong-fix case). A runbook that no scenario names is reported, not run.
Exit 0 only when every pair passed; 1 when any failed; 2 for usage errors (nothing to test).
``--junit FILE`` writes JUnit XML (one testcase per pair) for CI systems.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mitigate.cli.library import given_paths
from mitigate.cli.options import add_wiring, library_of, settings_of
from mitigate.errors import LocatedErrors, MitigateError, UsageError


def register(sub: Any) -> None:
    p = sub.add_parser("test", help="runbook CI: every runbook against every drill scenario that names it",
                       description=(__doc__ or "").splitlines()[0])
    p.add_argument("paths", nargs="*", metavar="PATH", help="runbook files or folders (default: the library)")
    p.add_argument("--junit", metavar="FILE", help="write a JUnit XML report to FILE")
    p.add_argument("--keep-journals", metavar="DIR",
                   help="journal the drills' incidents into DIR (default: a temporary folder, removed)")
    add_wiring(p, protect=False)
    p.set_defaults(handler=run)


@dataclass
class Case:
    runbook: Path
    runbook_name: str
    scenario: Path
    expect: str
    passed: bool = False
    seconds: float = 0.0
    verdict: str = ""
    detail: str = ""
    output: str = ""
    incident: str = ""

    @property
    def name(self) -> str:
        return f"{self.runbook_name} x {self.scenario.stem}"


def _runbooks(raw: list[str], args: argparse.Namespace) -> tuple[list[tuple[Path, str]], list[Path], list[str]]:
    """(runbook path, name) pairs, the drill folders to search, and load errors."""
    from mitigate.runbook.loader import list_runbooks

    lib = library_of(args, settings_of(args))
    books: list[tuple[Path, str]] = []
    errors: list[str] = []
    drill_dirs: list[Path] = []
    if not raw:
        for entry in lib.entries(with_errors=True):
            if entry.summary.error:
                errors.append(f"{entry.summary.path}: {entry.summary.error}")
            else:
                books.append((entry.summary.path, entry.name))
        return books, lib.drill_folders(), errors
    for p, folder in given_paths(raw):
        if folder:
            found = list_runbooks(p)
            if not found:
                raise UsageError(f"{p}: no .yaml runbooks in this folder")
            errors += [f"{s.path}: {s.error}" for s in found if s.error]
            books += [(s.path, s.name) for s in found if not s.error]
            drill_dirs.append(p / "drills")
            continue
        from mitigate.runbook.loader import load_runbook

        try:
            books.append((p, load_runbook(p).metadata.name))
        except LocatedErrors as exc:
            errors.extend(str(e) for e in exc.errors)
        except MitigateError as exc:
            errors.append(f"{p}: {exc}")
        drill_dirs.append(p.parent / "drills")
    return books, [*drill_dirs, *lib.drill_folders()], errors


def _cases(books: list[tuple[Path, str]], drill_dirs: list[Path]) -> tuple[list[Case], list[str], list[str]]:
    from mitigate.cli.drill import scenario_target

    scenarios: dict[Path, Path] = {}
    for folder in drill_dirs:
        if folder.is_dir():
            for f in sorted(folder.iterdir()):
                if f.is_file() and f.suffix in (".yaml", ".yml"):
                    scenarios.setdefault(f.resolve(), f)
    cases: list[Case] = []
    errors: list[str] = []
    named: set[Path] = set()
    by_name = {name: path for path, name in books}
    by_stem = {path.stem: path for path, _ in books}
    targets: dict[Path, tuple[str, str]] = {}
    for scenario in scenarios.values():
        try:
            targets[scenario] = scenario_target(scenario)
        except MitigateError as exc:
            errors.append(str(exc))
    for scenario, (target, expect) in targets.items():
        direct = (scenario.parent / target) if target.endswith((".yaml", ".yml")) else None
        book = (direct if direct is not None and direct.is_file() else None) or by_name.get(target) \
            or by_stem.get(target)
        if book is None:
            continue
        named.add(book.resolve())
        name = next(n for p, n in books if p == book)
        cases.append(Case(book, name, scenario, expect))
    untested = [name for path, name in books if path.resolve() not in named]
    return sorted(cases, key=lambda c: (c.runbook_name, c.scenario.stem)), untested, errors


def _run_case(case: Case, root: Path, args: argparse.Namespace) -> None:
    from mitigate.cli import drill as drills

    lines: list[str] = []
    start = time.monotonic()
    try:
        prepared = drills.start(case.scenario, library=library_of(args, settings_of(args)),
                                runbook=str(case.runbook))
        try:
            result = drills.run(prepared, root=root, say=lines.append)
        finally:
            prepared.sandbox.stop()
    except MitigateError as exc:
        case.seconds = time.monotonic() - start
        case.verdict, case.detail, case.output = "ERROR", str(exc), "\n".join(lines)
        return
    case.seconds = time.monotonic() - start
    case.incident = result.incident_id
    case.verdict = "MITIGATED" if result.health_ok else "NOT MITIGATED"
    case.passed = result.ok
    case.output = "\n".join([*lines, drills.render(result)])
    if not result.ok:
        if case.expect == "not-mitigated":
            case.detail = "a wrong-fix case scored MITIGATED: the scenario's health checks cannot tell it apart"
        elif not result.finished:
            case.detail = f"halted at step {result.halted_at}"
        else:
            case.detail = f"finished but not mitigated: {result.health_message}"


def _junit(path: str, cases: list[Case], untested: list[str], errors: list[str], seconds: float) -> None:
    failures = sum(1 for c in cases if not c.passed and c.verdict != "ERROR")
    suite = ET.Element("testsuite", name="mitigate test", tests=str(len(cases) + len(untested) + len(errors)),
                       failures=str(failures), errors=str(sum(1 for c in cases if c.verdict == "ERROR") + len(errors)),
                       skipped=str(len(untested)), time=f"{seconds:.3f}")
    for case in cases:
        tc = ET.SubElement(suite, "testcase", classname=f"runbooks.{case.runbook_name}", name=case.name,
                           file=str(case.runbook), time=f"{case.seconds:.3f}")
        if case.verdict == "ERROR":
            ET.SubElement(tc, "error", message=case.detail).text = case.output
        elif not case.passed:
            ET.SubElement(tc, "failure", message=f"expected {case.expect}, got {case.verdict}: {case.detail}").text = \
                case.output
        ET.SubElement(tc, "system-out").text = case.output
    for name in untested:
        tc = ET.SubElement(suite, "testcase", classname=f"runbooks.{name}", name=f"{name} (no drill)", time="0")
        ET.SubElement(tc, "skipped", message="no drill scenario names this runbook")
    for i, message in enumerate(errors):
        tc = ET.SubElement(suite, "testcase", classname="runbooks.load", name=f"load error {i + 1}", time="0")
        ET.SubElement(tc, "error", message=message.splitlines()[0]).text = message
    ET.indent(suite)
    try:
        ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
    except OSError as exc:
        raise MitigateError(f"cannot write {path}: {exc.strerror or exc}") from None


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    books, drill_dirs, errors = _runbooks(args.paths, args)
    cases, untested, scenario_errors = _cases(books, drill_dirs)
    errors += scenario_errors
    if not cases and not errors:
        raise UsageError("no drill scenario names any of these runbooks (scenarios live in a drills/ folder "
                         "beside the runbooks; `mitigate new drill NAME` writes one)")
    for message in errors:
        print(f"mitigate: {message}", file=sys.stderr)
    print(f"testing {len(cases)} runbook x drill pair(s)" + (f", {len(untested)} runbook(s) without a drill"
                                                          if untested else ""), flush=True)
    with tempfile.TemporaryDirectory(prefix="mitigate-test-") as tmp:
        root = Path(args.keep_journals) if args.keep_journals else Path(tmp)
        for n, case in enumerate(cases, 1):
            print(f"[{n}/{len(cases)}] {case.name} (expect {case.expect}) ...", end=" ", flush=True)
            _run_case(case, root, args)
            print(f"{'ok' if case.passed else 'FAIL'}: {case.verdict} in {case.seconds:.1f}s"
                  + (f" ({case.detail})" if case.detail else ""), flush=True)
            if not case.passed and case.output:
                print("\n".join(f"    {line}" for line in case.output.splitlines()), flush=True)
    for name in untested:
        print(f"note: no drill names runbook {name}")
    passed = sum(c.passed for c in cases)
    total = time.monotonic() - started
    print(f"{passed} passed, {len(cases) - passed} failed, {len(errors)} error(s) in {total:.1f}s")
    if args.junit:
        _junit(args.junit, cases, untested, errors, total)
        print(f"JUnit report written to {args.junit}")
    return 0 if passed == len(cases) and not errors else 1
