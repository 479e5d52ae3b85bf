"""YAML with positions: load documents safely and map any data path back to ``line:column``.

Why: users edit runbooks, drill scenarios and config by hand, and an error is only useful
when it points at the exact spot, like a compiler. ``yaml.safe_load`` throws the positions
away, so this module composes the node graph itself (with a ``SafeLoader`` subclass, so the
same safe subset of YAML is accepted) and builds the Python values while recording where
each one came from.

Usage (shared by the runbook loader, sandbox scenarios and integrations config)::

    doc = load_yaml(text, path="runbook.yaml")          # LocatedError on bad YAML
    model = validate_located(MyModel, doc.data, doc.marks, "runbook.yaml")  # LocatedErrors

Differences from ``yaml.safe_load``, all deliberate:
- a key repeated in one mapping is an error (``safe_load`` silently keeps the last one);
- timestamps stay strings (JSON has no dates; ``source: 2024-02-13`` is text);
- mapping keys must be scalars and are kept as their source text (``on:`` is ``"on"``,
  not ``True``; ``1:`` is ``"1"``), as in JSON; recursive aliases are refused;
- an empty document is ``None`` (callers decide whether that is an error);
- budgets (``MAX_DEPTH``, ``MAX_NODES``, ``MAX_ALIASES``): a hostile file (an alias bomb,
  thousands of nested brackets) fails fast with a located error instead of costing minutes of
  CPU or a RecursionError. The nodes budget counts what the data expands to, aliases included,
  because everything downstream (validation, redaction, JSON) walks the expanded data.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from mitigate.errors import LocatedError, LocatedErrors

Key = str | int

MAX_DEPTH = 64  # nested mappings/sequences; real runbooks and scenarios use fewer than 15
MAX_NODES = 500_000  # values the document expands to (aliases counted each time they are used)
MAX_ALIASES = 10_000  # alias uses per document
DataPath = tuple[Key, ...]
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Mark:
    """1-based position of a value, and of its key when it sits in a mapping."""

    line: int
    column: int
    key_line: int = 0
    key_column: int = 0
    block_line: int = 0  # literal block scalar (``|``): where its first content line starts,
    block_column: int = 0  # so a problem on line n of the text can be placed exactly


@dataclass
class Document:
    """A loaded YAML document: plain Python data plus the position of every value."""

    data: Any
    marks: dict[DataPath, Mark] = field(default_factory=dict)
    path: str = "<input>"

    def locate(self, where: DataPath, message: str, *, at_key: bool = False) -> LocatedError:
        return located(message, self.marks, self.path, where, at_key=at_key)


class _Loader(yaml.SafeLoader):
    """SafeLoader without the implicit timestamp type (see module docstring)."""


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

# libyaml's parser, when PyYAML was built with it: 5-10x faster on valid documents (the six
# runbooks took ~0.5 s to compose in pure Python). Its error messages are terser and it
# rejects differently, so any problem is parsed again by the pure-Python loader above, whose
# messages the located errors are built from.
def _c_loader() -> type[Any] | None:
    if not getattr(yaml, "__with_libyaml__", False):
        return None

    class CLoader(yaml.CSafeLoader):
        """CSafeLoader with the same resolvers as _Loader."""

    CLoader.yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers
    return CLoader


_CLoader: type[Any] | None = _c_loader()


def format_where(where: Iterable[Key]) -> str:
    """``("steps", 3, "action", "cordon")`` -> ``steps[3].action.cordon``."""
    out = ""
    for part in where:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


def located(message: str, marks: Mapping[DataPath, Mark], path: str, where: DataPath,
            *, at_key: bool = False) -> LocatedError:
    """A LocatedError at ``where``, or at its nearest ancestor that has a position."""
    probe = tuple(where)
    while probe and probe not in marks:
        probe = probe[:-1]
    mark = marks.get(probe)
    line = column = 0
    if mark is not None:
        line, column = mark.line, mark.column
        if at_key and probe == tuple(where) and mark.key_line:
            line, column = mark.key_line, mark.key_column
    return LocatedError(message, path=path, line=line, column=column, where=format_where(where))


def _syntax_error(exc: yaml.YAMLError, path: str) -> LocatedError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    message = f"invalid YAML: {problem}" + (f" {context}" if context and "while" not in context else "")
    if "'\\t'" in problem or "\t" in problem:
        message = "invalid YAML: tab character; indent with spaces"
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
    return LocatedError(message, path=path, line=line, column=column)


_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"


def _reader_error(exc: yaml.reader.ReaderError, text: str, path: str) -> LocatedError:
    """A character YAML does not allow (control characters, NUL): locate it by offset."""
    pos = max(0, min(int(exc.position), len(text)))
    line = text.count("\n", 0, pos) + 1
    column = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return LocatedError(f"invalid YAML: character #x{exc.character:04x} is not allowed",
                        path=path, line=line, column=column)


def _budget_error(message: str, mark: Any, path: str) -> LocatedError:
    return LocatedError(message, path=path, line=mark.line + 1, column=mark.column + 1)


def check_budget(loader: Any, path: str) -> None:
    """Walk the event stream once (no recursion) and refuse a document over the budgets.

    Each collection's expanded size is the sum of its children's, an alias adds its anchor's
    size, so a 1 kB alias bomb is refused at the alias that crosses ``MAX_NODES``.
    """
    sizes: dict[str, int] = {}
    stack: list[list[Any]] = []  # [size so far, anchor] per open collection
    total = aliases = 0
    while True:
        event = loader.get_event()
        if event is None or isinstance(event, yaml.StreamEndEvent):
            return
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            if len(stack) >= MAX_DEPTH:
                raise _budget_error(f"YAML is nested more than {MAX_DEPTH} levels deep", event.start_mark, path)
            stack.append([1, event.anchor])
            continue
        if isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            size, anchor = stack.pop()
        elif isinstance(event, yaml.ScalarEvent):
            size, anchor = 1, event.anchor
        elif isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                raise _budget_error(f"more than {MAX_ALIASES:,} alias uses", event.start_mark, path)
            size, anchor = sizes.get(event.anchor or "", 1), None
        else:  # stream/document start and end
            continue
        if anchor is not None:
            sizes[anchor] = size
        total += size if isinstance(event, yaml.AliasEvent) else (1 if isinstance(event, yaml.ScalarEvent) else 0)
        if stack:
            stack[-1][0] += size
        if total > MAX_NODES or (stack and stack[-1][0] > MAX_NODES):
            raise _budget_error(f"the document expands to more than {MAX_NODES:,} values "
                                "(aliases count each time they are used)", event.start_mark, path)


class _Builder:
    """Turns a composed node graph into Python data, recording marks per data path."""

    def __init__(self, loader: Any, path: str, text: str) -> None:
        self.loader = loader
        self.path = path
        self.text = text
        self.marks: dict[DataPath, Mark] = {}
        self.active: set[int] = set()
        self.done: dict[int, Any] = {}
        self._lines: list[str] | None = None  # the text's lines, split once (40,000 ``|`` blocks)

    def lines(self) -> list[str]:
        if self._lines is None:
            self._lines = self.text.splitlines()
        return self._lines

    def error(self, node: yaml.Node, message: str, where: DataPath) -> LocatedError:
        m = node.start_mark
        return LocatedError(message, path=self.path, line=m.line + 1, column=m.column + 1,
                            where=format_where(where))

    def build(self, node: yaml.Node, where: DataPath, key_node: yaml.Node | None = None) -> Any:
        km = key_node.start_mark if key_node is not None else None
        mark = Mark(node.start_mark.line + 1, node.start_mark.column + 1,
                    km.line + 1 if km else 0, km.column + 1 if km else 0)
        if isinstance(node, yaml.ScalarNode) and node.style == "|":
            first = node.start_mark.line + 1  # 0-based index of the first content line
            lines = self.lines()
            if first < len(lines):
                content = lines[first]
                mark = replace(mark, block_line=first + 1, block_column=len(content) - len(content.lstrip(" ")) + 1)
        self.marks[where] = mark
        if isinstance(node, yaml.ScalarNode):
            return self.loader.construct_object(node, deep=True)
        ident = id(node)
        if ident in self.done:  # an alias of a finished node: share it, as safe_load does
            return self.done[ident]
        if ident in self.active:
            raise self.error(node, "recursive YAML alias is not supported", where)
        expected = _SEQ if isinstance(node, yaml.SequenceNode) else _MAP
        if node.tag != expected:
            raise self.error(node, f"invalid YAML: unsupported tag {node.tag!r}", where)
        self.active.add(ident)
        result: Any
        if isinstance(node, yaml.SequenceNode):
            result = [self.build(child, (*where, i)) for i, child in enumerate(node.value)]
        elif isinstance(node, yaml.MappingNode):
            self.loader.flatten_mapping(node)  # YAML merge keys (<<)
            result = {}
            for k_node, v_node in node.value:
                if not isinstance(k_node, yaml.ScalarNode):
                    raise self.error(k_node, "a mapping key must be a plain value, not a list or mapping", where)
                key: str = k_node.value  # source text: `on:` stays "on", `1:` stays "1"
                if key in result:
                    raise self.error(k_node, f"duplicate key {key!r}", where)
                result[key] = self.build(v_node, (*where, key), k_node)
        else:  # pragma: no cover - the composer only yields the three node kinds
            raise self.error(node, f"unsupported YAML node {node.tag}", where)
        self.active.discard(ident)
        self.done[ident] = result
        return result


def _document(loader: Any, text: str, path: str) -> Document:
    """Compose with ``loader`` and build the data with its marks (either parser's loader)."""
    node = loader.get_single_node()
    if node is None:
        return Document(None, {}, path)
    builder = _Builder(loader, path, text)
    return Document(builder.build(node, ()), builder.marks, path)


def check_yaml_budget(text: str, path: str) -> None:
    """``check_budget`` on the fastest parser; a syntax error is left to the located parse."""
    try:
        events = (_CLoader or _Loader)(text)
    except yaml.YAMLError:
        return
    try:
        check_budget(events, path)
    except yaml.YAMLError as exc:
        if "nesting depth" in str(exc):  # libyaml's own limit (1,000 flow levels), hit while scanning ahead
            mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
            raise LocatedError(f"YAML is nested more than {MAX_DEPTH} levels deep", path=path,
                               line=mark.line + 1 if mark else 1, column=mark.column + 1 if mark else 1) from None
    finally:
        events.dispose()


def load_yaml(text: str, path: str = "<input>") -> Document:
    """Parse one YAML document with positions. Raises LocatedError on any YAML problem."""
    check_yaml_budget(text, path)
    if _CLoader is not None:
        fast = _CLoader(text)
        try:
            return _document(fast, text, path)
        except (yaml.YAMLError, RecursionError, ValueError, TypeError, OverflowError):
            pass  # located below, with the pure-Python parser's messages
        finally:
            fast.dispose()
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:
        raise _reader_error(exc, text, path) from None
    try:
        return _document(loader, text, path)
    except yaml.reader.ReaderError as exc:
        raise _reader_error(exc, text, path) from None
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, path) from None
    except RecursionError:
        raise LocatedError("YAML is nested too deeply", path=path, line=1, column=1) from None
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. a scalar the constructor rejects
        raise LocatedError(f"invalid YAML value: {exc}", path=path, line=1, column=1) from None
    finally:
        loader.dispose()


# --------------------------------------------------------------------------- pydantic errors


def describe(value: Any) -> str:
    """A short human rendering of a value for 'got ...' messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):  # the offending token, never the rest of the file (one line, 40 chars)
        first = value.split("\n", 1)[0]
        if first != value or len(first) > 40:
            return repr(first[:37] + "...")
        return repr(value)
    return repr(value)


_EXPECTED = {
    "int_type": "an integer", "int_parsing": "an integer", "int_from_float": "an integer",
    "float_type": "a number", "float_parsing": "a number",
    "bool_type": "true or false", "bool_parsing": "true or false",
    "string_type": "a string", "list_type": "a list", "tuple_type": "a list",
    "dict_type": "a mapping", "model_type": "a mapping", "model_attributes_type": "a mapping",
}


def _resolve(data: Any, loc: Sequence[Key]) -> tuple[DataPath, bool]:
    """Map a pydantic ``loc`` onto the data: drop union/validator tags. Second: a tag was dropped."""
    out: list[Key] = []
    current = data
    tagged = False
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(current, dict) and part in current:
            out.append(part)
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            out.append(part)
            current = current[part]
        elif last and isinstance(current, dict) and isinstance(part, str) and not _is_tag(part):
            out.append(part)  # a missing or unknown key
        else:
            tagged = True
    return tuple(out), tagged


def _is_tag(part: str) -> bool:
    return "[" in part or part in {"str", "int", "float", "bool", "list", "dict", "none"} \
        or (part[:1].isupper() and part.isidentifier())


def _unwrap(tp: Any) -> list[Any]:
    origin = get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for a in get_args(tp) for t in _unwrap(a)]
    return [tp]


def _allowed_keys(model_cls: type[BaseModel], loc: Sequence[Key]) -> list[str]:
    """Field names of the model(s) found by walking ``loc`` through the type annotations."""
    candidates: list[Any] = [model_cls]
    for part in loc:
        nxt: list[Any] = []
        for cand in candidates:
            for tp in _unwrap(cand):
                if isinstance(tp, type) and issubclass(tp, BaseModel):
                    if isinstance(part, str) and part in tp.model_fields:
                        nxt.append(tp.model_fields[part].annotation)
                    elif isinstance(part, str) and _is_tag(part):
                        nxt.append(tp)
                elif get_origin(tp) is list and isinstance(part, int):
                    nxt.extend(get_args(tp)[:1])
                elif get_origin(tp) is dict and isinstance(part, str):
                    nxt.extend(get_args(tp)[1:2])
        candidates = nxt
    return sorted({name for c in candidates for tp in _unwrap(c)
                   if isinstance(tp, type) and issubclass(tp, BaseModel) for name in tp.model_fields})


def _type_like(err: Mapping[str, Any]) -> bool:
    """A union branch rejected the value for its shape (not for its content)."""
    return err["type"] in _EXPECTED or err["type"] == "literal_error" or (
        err["type"] == "value_error" and "template" in str(err["msg"]))


def _expected_of(err: Mapping[str, Any]) -> str:
    if err["type"] in _EXPECTED:
        return _EXPECTED[err["type"]]
    if err["type"] == "literal_error":
        return str((err.get("ctx") or {}).get("expected", "an allowed value"))
    return str(err["msg"]).removeprefix("Value error, ").removeprefix("expected ")


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'name'?)`` or ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _message(err: Mapping[str, Any], model_cls: type[BaseModel], pattern_hints: Mapping[str, str]) -> str:
    kind = err["type"]
    value = err.get("input")
    ctx = err.get("ctx") or {}
    loc = err["loc"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        return f"unknown key {key!r}" + did_you_mean(key, _allowed_keys(model_cls, loc[:-1]))
    if kind == "missing":
        return f"missing required key {str(loc[-1])!r}"
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {describe(value)}"
    if kind == "literal_error":
        return f"expected {ctx.get('expected', 'one of the allowed values')}, got {describe(value)}"
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        hint = pattern_hints.get(pattern, f"a value matching {pattern}")
        return f"invalid value {describe(value)}: expected {hint}"
    if kind in ("too_short", "string_too_short"):
        n = ctx.get("min_length", 1)
        what = "character" if kind == "string_too_short" else "item"
        got = ctx.get("actual_length", len(value) if isinstance(value, (str, list, dict)) else "?")
        return "must not be empty" if n == 1 else f"needs at least {n} {what}s, got {got}"
    if kind in ("too_long", "string_too_long"):
        return f"too long: at most {ctx.get('max_length')} allowed"
    bounds = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}
    if kind in bounds:
        limit = next(iter(v for k, v in ctx.items() if k in ("ge", "gt", "le", "lt")), "?")
        return f"must be {bounds[kind]} {limit}, got {describe(value)}"
    if kind in ("value_error", "assertion_error"):
        return str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return str(err["msg"])


def validation_errors(exc: ValidationError, model_cls: type[BaseModel], data: Any,
                      marks: Mapping[DataPath, Mark], path: str, base: DataPath = (),
                      pattern_hints: Mapping[str, str] | None = None) -> list[LocatedError]:
    """Human, located errors for a pydantic ValidationError (one per place, unions merged)."""
    hints = pattern_hints or {}
    groups: dict[DataPath, list[tuple[dict[str, Any], bool]]] = {}
    for err in exc.errors(include_url=False):
        where, tagged = _resolve(data, err["loc"])
        groups.setdefault(where, []).append((dict(err), tagged))
    # A union branch that failed only because the value had another shape is noise when a
    # deeper error explains what is wrong inside the value that did match a branch.
    paths = list(groups)
    out: list[LocatedError] = []
    for where, errs in groups.items():
        deeper = any(p[: len(where)] == where and len(p) > len(where) for p in paths)
        if deeper and all(tagged for _, tagged in errs):
            continue
        full = (*base, *where)
        union = len(errs) > 1 and all(tagged for _, tagged in errs)
        if union and all(_type_like(e) for e, _ in errs):
            options: list[str] = []
            for e, _ in errs:
                opt = _expected_of(e)
                if opt not in options:
                    options.append(opt)
            msg = f"expected {' or '.join(options)}, got {describe(errs[0][0].get('input'))}"
            out.append(located(msg, marks, path, full))
            continue
        if union:  # the value had the right shape for one branch: only that branch's complaint matters
            errs = [(e, t) for e, t in errs if not _type_like(e)]
        seen: set[str] = set()
        for e, _ in errs:
            msg = _message(e, model_cls, hints)
            if msg in seen:
                continue
            seen.add(msg)
            if e["type"] == "missing":
                out.append(located(msg, marks, path, full[:-1], at_key=True))
            else:
                out.append(located(msg, marks, path, full, at_key=e["type"] == "extra_forbidden"))
    return out


def validate_located(model_cls: type[M], data: Any, marks: Mapping[DataPath, Mark], path: str,
                     base: DataPath = (), pattern_hints: Mapping[str, str] | None = None) -> M:
    """Validate ``data`` (found at ``base`` in the document) against ``model_cls``.

    Raises LocatedErrors (sorted by position) with messages meant for people:
    ``unknown key 'nmae' (did you mean 'name'?)``, ``expected an integer, got 'ten'``.
    ``pattern_hints`` maps a regex used in the models to what it means in words.
    """
    try:
        return model_cls.model_validate(data)
    except ValidationError as exc:
        errors = validation_errors(exc, model_cls, data, marks, path, base, pattern_hints)
        raise LocatedErrors(sort_errors(errors)) from None


def sort_errors(errors: Iterable[LocatedError]) -> list[LocatedError]:
    """By position, duplicates removed."""
    unique = {str(e): e for e in errors}
    return sorted(unique.values(), key=lambda e: (e.path, e.line, e.column, e.message))
