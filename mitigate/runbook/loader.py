"""Load runbooks: YAML -> validated ``Runbook``, with every problem located like a compiler.

Why a second pass after the pydantic model: the model checks shape, but a runbook can be
well-shaped and still wrong in ways that only show up mid-incident: a template typo, a
reference to a step that does not exist yet, an undeclared input, an action with no target.
All of these are found here, at load time, and reported together (``LocatedErrors``, sorted by
line) so one ``mitigate validate`` run shows everything to fix.

The semantic pass reads the raw YAML data (defensively) rather than the model, so it also
runs when the model rejected something else in the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mitigate import paths
from mitigate.errors import LocatedError, LocatedErrors, MitigateError
from mitigate.runbook.actions import CATALOGUE, ScopeError, check_scoped, list_params
from mitigate.runbook.inputs import coerce_input, resolve_inputs
from mitigate.runbook.model import DURATION_PATTERN, STEP_ID_RE, InputSpec, Runbook
from mitigate.runbook.templating import (
    ENV,
    TemplateError,
    check_expression,
    check_template,
    references,
    unknown_names,
)
from mitigate.yamlloc import (
    DataPath,
    Document,
    describe,
    did_you_mean,
    load_yaml,
    sort_errors,
    validate_located,
)

__all__ = ["RunbookSummary", "find_runbook", "list_runbooks", "load_runbook", "load_runbook_text",
           "resolve_inputs"]

EXPRESSION_KEYS = frozenset({"when", "where", "expect", "until", "haltWhen"})
MAX_BATCH = 10_000
PATTERN_HINTS = {
    STEP_ID_RE: "a lowercase slug (letters a-z, digits, '-'; at most 63 characters)",
    DURATION_PATTERN: "a duration such as 30s, 10m, 1h30m",
    r"^[a-zA-Z_][a-zA-Z0-9_]*$": "an identifier (letters, digits, '_')",
}


@dataclass(frozen=True)
class RunbookSummary:
    """One line of the runbook library (``error`` is set when the file does not load)."""

    name: str
    title: str
    path: Path
    version: str = ""
    source: str = ""
    summary: str = ""
    tags: tuple[str, ...] = ()
    steps: int = 0
    error: str | None = None


def load_runbook(path: str | Path) -> Runbook:
    """Read and validate a runbook file. MitigateError if unreadable, LocatedErrors if invalid."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise LocatedErrors([LocatedError("not UTF-8 text", path=str(p), line=1, column=1)]) from None
    except OSError as exc:
        raise MitigateError(f"cannot read runbook {p}: {exc.strerror or exc}") from None
    return load_runbook_text(text, str(p))


def load_runbook_text(text: str, path: str = "<string>") -> Runbook:
    """Validate runbook text. Raises LocatedErrors (always that type, even for one error)."""
    try:
        doc = load_yaml(text, path)
    except LocatedError as exc:
        raise LocatedErrors([exc]) from None
    if doc.data is None:
        raise LocatedErrors([LocatedError("empty file: expected a runbook (apiVersion, kind, metadata, steps)",
                                          path=path, line=1, column=1)])
    if not isinstance(doc.data, dict):
        raise LocatedErrors([doc.locate((), "the top level must be a mapping with apiVersion, kind, "
                                             f"metadata and steps, got {describe(doc.data)}")])
    kind = doc.data.get("kind")
    if isinstance(kind, str) and kind != "Runbook":
        raise LocatedErrors([doc.locate(("kind",), f"not a runbook: kind is {kind!r}, expected 'Runbook'")])
    errors: list[LocatedError] = []
    runbook: Runbook | None = None
    try:
        runbook = validate_located(Runbook, doc.data, doc.marks, path, pattern_hints=PATTERN_HINTS)
    except LocatedErrors as exc:
        errors.extend(exc.errors)
    errors.extend(_Semantics(doc).check())
    if errors or runbook is None:
        lines = text.splitlines()
        for err in errors:
            _flow_comma_hint(err, lines)
        raise LocatedErrors(sort_errors(errors))
    return runbook


def _flow_comma_hint(err: LocatedError, lines: list[str]) -> None:
    """``{reason: failed (timeout, connection refused)}``: the comma ends the value and YAML reads
    ``connection refused)`` as a key. Say so, and show the value quoted."""
    if not err.message.startswith("unknown key '") or not 0 < err.line <= len(lines):
        return
    line = lines[err.line - 1]
    before = line[:max(err.column - 1, 0)].rstrip()
    if not before.endswith(",") or before.count("{") <= before.count("}"):
        return
    colon = before.rfind(": ", before.rfind("{"))
    if colon < 0:
        return
    key = err.message[len("unknown key '"):].split("'", 1)[0]
    end = err.column - 1 + len(key) if line[err.column - 1:].startswith(key) else line.find("}", err.column - 1)
    value = line[colon + 2:end if end >= 0 else len(line)].strip()
    err.message += (f": a comma inside an unquoted {{...}} value starts a new key; quote the value: "
                    f"\"{value}\"")


# --------------------------------------------------------------------------- semantic checks


def _strings(value: Any, where: DataPath) -> Iterator[tuple[DataPath, str]]:
    """Every string of the document with its path; a mapping key that is a template counts
    too (templated keys are rendered), reported at the path of its value."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for k, v in value.items():
            if isinstance(k, str) and _is_template(k):
                yield (*where, k), k
            yield from _strings(v, (*where, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, (*where, i))


def _is_expression_field(where: DataPath) -> bool:
    """Fields the model declares as expressions (no braces): when, where, expect, until,
    haltWhen, gate.require[*]. Action parameters and column templates never are, even
    when named alike (``revertChanges.until`` is a time)."""
    if len(where) < 3 or where[0] != "steps" or where[2] in ("action", "undo"):
        return False
    if len(where) >= 2 and where[-2] == "columns":
        return False
    return where[-1] in EXPRESSION_KEYS or (where[-2] == "require" and "gate" in where)


def _is_template(text: str) -> bool:
    return "{{" in text or "{%" in text


class _Semantics:
    """Checks that need the whole runbook: references, templates, scopes, action params."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        data: dict[str, Any] = doc.data
        raw_steps = data.get("steps")
        self.steps: list[Any] = raw_steps if isinstance(raw_steps, list) else []
        raw_inputs = data.get("inputs")
        self.inputs: dict[Any, Any] = raw_inputs if isinstance(raw_inputs, dict) else {}
        self.ids: dict[str, int] = {}
        self.saves: dict[str, int] = {}
        for i, step in enumerate(self.steps):
            if isinstance(step, dict):
                if isinstance(step.get("id"), str):
                    self.ids.setdefault(step["id"], i)
                if isinstance(step.get("save"), str):
                    self.saves.setdefault(step["save"], i)
        self.errors: list[LocatedError] = []

    def error(self, where: DataPath, message: str, *, at_key: bool = False) -> None:
        self.errors.append(self.doc.locate(where, message, at_key=at_key))

    def check(self) -> list[LocatedError]:
        self._duplicate_ids()
        self._input_defaults()
        for where, text in _strings(self.doc.data, ()):
            self._template(where, text)
        for i, step in enumerate(self.steps):
            if isinstance(step, dict):
                self._step(i, step)
        return self.errors

    def _duplicate_ids(self) -> None:
        for i, step in enumerate(self.steps):
            sid = step.get("id") if isinstance(step, dict) else None
            if isinstance(sid, str) and self.ids.get(sid) != i:
                first = self.doc.marks.get(("steps", self.ids[sid], "id"))
                at = f" (first used on line {first.line})" if first else ""
                self.error(("steps", i, "id"), f"duplicate step id {sid!r}{at}")

    def _input_defaults(self) -> None:
        for name, raw in self.inputs.items():
            if not isinstance(raw, dict) or raw.get("default") is None:
                continue
            try:
                spec = InputSpec.model_validate(raw)
            except ValueError:
                continue  # the model pass reports it
            try:
                coerce_input(spec, spec.default)
            except ValueError as exc:
                self.error(("inputs", name, "default"), f"default of input {name!r} is invalid: {exc}")

    def _template(self, where: DataPath, text: str) -> None:
        is_expr = _is_expression_field(where)
        if is_expr and not _is_template(text):
            try:
                ast: Any = check_expression(text)
            except TemplateError as exc:
                self.error(where, str(exc))
                return
        elif _is_template(text):
            try:
                ast = check_template(text)
            except TemplateError as exc:
                self._template_error(where, exc)
                return
        else:
            return
        position = where[1] if len(where) > 1 and where[0] == "steps" and isinstance(where[1], int) \
            else (-1 if where[:1] == ("inputs",) else len(self.steps))
        for problem in unknown_names(ast):
            name = problem.split("'")[1]
            known = [k for k in (*ENV.filters, *ENV.globals) if k != name and not k.startswith("__")]
            self.error(where, problem + did_you_mean(name, known))
        for ref in references(ast, "steps"):
            if ref not in self.ids:
                self.error(where, f"dangling step reference {ref!r}: no step has that id"
                           + did_you_mean(ref, self.ids))
            elif self.ids[ref] == position:
                self.error(where, f"dangling step reference {ref!r}: a step cannot use its own result")
            elif self.ids[ref] > position:
                self.error(where, f"dangling step reference {ref!r}: that step runs later")
        for ref in references(ast, "inputs"):
            if ref not in self.inputs:
                self.error(where, f"undeclared input {ref!r}" + did_you_mean(ref, map(str, self.inputs)))
        for ref in references(ast, "saved"):
            if ref not in self.saves or self.saves[ref] >= position:
                self.error(where, f"unknown saved alias {ref!r}: no earlier step has `save: {ref}`")

    def _template_error(self, where: DataPath, exc: TemplateError) -> None:
        """Inside a ``|`` block the line of the problem is known exactly; elsewhere, the string's start."""
        err = self.doc.locate(where, str(exc))
        mark = self.doc.marks.get(where)
        if mark is not None and mark.block_line and exc.lineno:
            err.line, err.column = mark.block_line + exc.lineno - 1, mark.block_column
        self.errors.append(err)

    def _step(self, i: int, step: dict[str, Any]) -> None:
        base: DataPath = ("steps", i)
        cluster = step.get("scope") == "cluster"
        for field in ("action", "undo"):
            spec = step.get(field)
            if isinstance(spec, dict) and len(spec) == 1:
                verb, params = next(iter(spec.items()))
                if isinstance(params, dict):
                    self._action((*base, field, verb), str(verb), params, cluster)
        batch = step.get("batch")
        if isinstance(batch, dict):
            self._batch((*base, "batch"), batch, step.get("action"))

    def _action(self, where: DataPath, verb: str, params: dict[str, Any], cluster: bool) -> None:
        info = CATALOGUE.get(verb)
        if info is None:
            self.error(where, f"unknown action {verb!r}" + did_you_mean(verb, CATALOGUE), at_key=True)
            return
        try:
            validate_located(info.params_model, params, self.doc.marks, self.doc.path, base=where,
                             pattern_hints=PATTERN_HINTS)
        except LocatedErrors as exc:
            fields = info.params_model.model_fields
            for err in exc.errors:
                if "names" in params and "names" not in fields and "name" in fields \
                        and err.message.startswith("unknown key 'names'"):
                    err.message = (f"unknown key 'names': {verb} takes one name; to act on several, "
                                   f"run it once per item with forEach (forEach: [a, b] and "
                                   f"name: \"{{{{ item }}}}\")")
            self.errors.extend(exc.errors)
            return
        try:
            check_scoped(verb, params, cluster)
        except ScopeError as exc:
            self.error(where, str(exc), at_key=True)

    def _batch(self, where: DataPath, batch: dict[str, Any], action: Any) -> None:
        size = batch.get("size")
        if isinstance(size, int) and not isinstance(size, bool) and not 1 <= size <= MAX_BATCH:
            self.error((*where, "size"), f"batch size must be between 1 and {MAX_BATCH}, got {size}")
        elif isinstance(size, str) and not _is_template(size):
            self.error((*where, "size"), f"batch size must be an integer or a '{{{{ ... }}}}' template, got {size!r}")
        param = batch.get("param", "names")
        if isinstance(action, dict) and len(action) == 1 and isinstance(param, str):
            verb = str(next(iter(action)))
            info = CATALOGUE.get(verb)
            lists = list_params(verb)
            if info is not None and param not in lists:
                what = (f"takes one value in {verb}, not a list" if param in info.params_model.model_fields
                        else f"is not a parameter of {verb}")
                accepted = f"; {verb} takes lists in: {', '.join(lists)}" if lists else \
                    f"; {verb} has no list parameter: use forEach to run it once per item"
                self.error((*where, "param"), f"batch param {param!r} {what}"
                           + did_you_mean(param, lists) + accepted)


# --------------------------------------------------------------------------- library


def _candidates(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_file() and p.suffix in (".yaml", ".yml"))


def list_runbooks(root: Path | None = None) -> list[RunbookSummary]:
    """The bundled runbooks (``runbooks/*.yaml``; drills excluded), sorted by name."""
    out: list[RunbookSummary] = []
    for p in _candidates(root or paths.runbooks_dir()):
        try:
            rb = load_runbook(p)
        except MitigateError as exc:
            first = exc.errors[0] if isinstance(exc, LocatedErrors) and exc.errors else exc
            out.append(RunbookSummary(name=p.stem, title="", path=p, error=str(first)))
            continue
        m = rb.metadata
        out.append(RunbookSummary(m.name, m.title, p, m.version, m.source, m.summary, tuple(m.tags),
                                  len(rb.steps)))
    return sorted(out, key=lambda s: s.name)


def find_runbook(name_or_path: str, root: Path | None = None) -> Path:
    """A path to an existing file, or a bundled runbook by file stem or ``metadata.name``."""
    direct = Path(name_or_path).expanduser()
    if direct.is_file():
        return direct
    base = root or paths.runbooks_dir()
    files = _candidates(base)
    for p in files:
        if p.stem == name_or_path:
            return p
    summaries = list_runbooks(base)
    for s in summaries:
        if s.name == name_or_path:
            return s.path
    known = [s.name for s in summaries]
    hint = did_you_mean(name_or_path, known) or (f" (available: {', '.join(known)})" if known else "")
    raise MitigateError(f"no runbook named {name_or_path!r} and no such file{hint}")
