"""Templates and conditions for runbooks: sandboxed Jinja2 with Kubernetes-aware helpers.

Why Jinja2 in a ``SandboxedEnvironment``: runbooks are shared files, and a condition such as
``not (item | is_ready)`` must never be able to reach Python internals; there is no ``eval``
anywhere. ``StrictUndefined`` turns a typo (``inputs.batchsize``) into an error instead of an
empty string that would silently widen an action's scope.

Native values: a string that is exactly one ``{{ expr }}`` renders to the value of ``expr``
(a list stays a list, an integer stays an integer). We evaluate that expression directly
instead of using Jinja's ``NativeEnvironment``, whose ``literal_eval`` of the output would
turn a node named ``"10"`` into the integer 10. Anything else renders to a string.

Helpers work on plain dicts as the Kubernetes API returns them (``metadata``, ``status``...),
so check results can be filtered without a client library.
"""

from __future__ import annotations

import functools
import re
import threading
import types
from collections import ChainMap
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import jinja2
from jinja2 import StrictUndefined, nodes
from jinja2.runtime import markup_join
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEnvironment, SandboxedFormatter
from jinja2.visitor import NodeTransformer

from mitigate.errors import MitigateError
from mitigate.runbook.datahelpers import DATA_HELPERS
from mitigate.runbook.model import parse_duration
from mitigate.timefmt import parse_rfc3339


class TemplateError(MitigateError):
    """A template or expression failed to parse or to evaluate (message names it).

    ``lineno`` is the line inside the template text, when Jinja knows it.
    """

    def __init__(self, message: str, lineno: int | None = None) -> None:
        super().__init__(message)
        self.lineno = lineno


# --------------------------------------------------------------------------- helpers


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def condition(obj: Any, type: str) -> dict[str, Any] | None:
    """The ``status.conditions`` entry of that type, or None."""
    for cond in _get(obj, "status", "conditions") or []:
        if isinstance(cond, Mapping) and cond.get("type") == type:
            return dict(cond)
    return None


def condition_status(obj: Any, type: str) -> str | None:
    """``"True"``, ``"False"``, ``"Unknown"``, or None when the condition is absent."""
    cond = condition(obj, type)
    return None if cond is None else str(cond.get("status"))


def is_ready(obj: Any) -> bool:
    """Node or Pod whose ``Ready`` condition is ``"True"``."""
    return condition_status(obj, "Ready") == "True"


def parse_time(value: Any) -> datetime:
    """RFC 3339 text (``Z`` or offset) or a datetime -> aware UTC datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str):
        raise TemplateError(f"not a time: {value!r}")
    try:
        return parse_rfc3339(value)
    except ValueError:
        raise TemplateError(f"not an RFC 3339 time: {value!r}") from None


def _now(ctx: Any) -> datetime:
    now = ctx.get("now") if ctx is not None else None
    return parse_time(now) if now is not None else datetime.now(UTC)


@jinja2.pass_context
def age(ctx: Any, obj: Any) -> float:
    """Seconds since ``metadata.creationTimestamp`` (relative to ``now`` in the context)."""
    created = _get(obj, "metadata", "creationTimestamp")
    if created is None:
        raise TemplateError("age(): object has no metadata.creationTimestamp")
    return (_now(ctx) - parse_time(created)).total_seconds()


def owner(obj: Any) -> str | None:
    """``"Kind/name"`` of the controlling owner (else the first owner), or None."""
    refs = [r for r in _get(obj, "metadata", "ownerReferences") or [] if isinstance(r, Mapping)]
    if not refs:
        return None
    ref = next((r for r in refs if r.get("controller")), refs[0])
    return f"{ref.get('kind')}/{ref.get('name')}"


def managed_by(obj: Any, manager: str, since: Any = None, until: Any = None) -> bool:
    """True when ``metadata.managedFields`` has an entry by ``manager`` timed in [since, until]."""
    lo = parse_time(since) if since is not None else None
    hi = parse_time(until) if until is not None else None
    for entry in _get(obj, "metadata", "managedFields") or []:
        if not isinstance(entry, Mapping) or entry.get("manager") != manager:
            continue
        if lo is None and hi is None:
            return True
        stamp = entry.get("time")
        if stamp is None:
            continue
        when = parse_time(stamp)
        if (lo is None or when >= lo) and (hi is None or when <= hi):
            return True
    return False


def managers(obj: Any) -> list[str]:
    """Distinct field managers of the object, sorted."""
    entries = _get(obj, "metadata", "managedFields") or []
    return sorted({str(e["manager"]) for e in entries if isinstance(e, Mapping) and e.get("manager")})


def labels(obj: Any) -> dict[str, str]:
    return dict(_get(obj, "metadata", "labels") or {})


def count_if(items: Any, pred: Callable[[Any], Any] | None = None) -> int:
    """Number of items, or of items for which ``pred`` (e.g. ``is_ready``) is true.

    Not named ``count``: in check and wait expressions ``count`` is the result's item count.
    """
    if items is None:
        return 0
    if pred is None:
        return len(list(items))
    if not callable(pred):
        raise TemplateError(f"count_if(): the predicate must be a helper such as is_ready, not {pred!r}")
    return sum(1 for item in items if pred(item))


def names(items: Any) -> list[str]:
    """``metadata.name`` of each object (strings pass through)."""
    return [i if isinstance(i, str) else str(_get(i, "metadata", "name")) for i in items or []]


def restarts(pod: Any) -> int:
    statuses = (_get(pod, "status", "containerStatuses") or []) + (
        _get(pod, "status", "initContainerStatuses") or [])
    return sum(int(s.get("restartCount", 0)) for s in statuses if isinstance(s, Mapping))


def last_termination_reason(pod: Any) -> str | None:
    """Why a container of the pod last terminated (``"OOMKilled"``, ``"Error"``), most recent first."""
    latest: tuple[str, str] | None = None
    statuses = (_get(pod, "status", "containerStatuses") or []) + (
        _get(pod, "status", "initContainerStatuses") or [])
    for status in statuses:
        for state in ("lastState", "state"):
            term = _get(status, state, "terminated")
            if isinstance(term, Mapping) and term.get("reason"):
                stamp = str(term.get("finishedAt") or "")
                if latest is None or stamp > latest[0]:
                    latest = (stamp, str(term["reason"]))
    return None if latest is None else latest[1]


def node_of(pod: Any) -> str | None:
    node = _get(pod, "spec", "nodeName")
    return None if node is None else str(node)


def colocated(pods: Any) -> list[str]:
    """Names of pods that share a node with an earlier pod of the same list (anti-affinity broken).

    The first pod on each node stays; the others are the ones to relocate. Pods not yet
    scheduled are ignored.
    """
    seen: set[str] = set()
    extra: list[str] = []
    for pod in pods or []:
        node = node_of(pod)
        if node is None:
            continue
        if node in seen:
            extra.append(str(_get(pod, "metadata", "name")))
        seen.add(node)
    return extra


def node_users(nodes: Any) -> list[str]:
    """Node names (or Node objects) -> the user names their kubelets authenticate as."""
    return [f"system:node:{n}" for n in names(nodes)]


def duration(text: Any) -> float:
    """``"1h30m"`` -> 5400.0."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text)
    try:
        return parse_duration(str(text))
    except ValueError as exc:
        raise TemplateError(str(exc)) from None


_SUFFIX = {
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
    "n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
}
_QUANTITY = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$")


def quantity(text: Any) -> float:
    """Kubernetes quantity -> float in base units: ``"500m"`` -> 0.5 cores, ``"1Gi"`` -> bytes."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return float(text)
    m = _QUANTITY.match(str(text).strip())
    if not m:
        raise TemplateError(f"not a Kubernetes quantity: {text!r}")
    number, exponent, suffix = m.groups()
    if exponent:
        return float(number + exponent)
    return float(number) * _SUFFIX[suffix or ""]


HELPERS: dict[str, Callable[..., Any]] = {
    "is_ready": is_ready, "condition": condition, "condition_status": condition_status, "age": age,
    "owner": owner, "managed_by": managed_by, "managers": managers, "labels": labels, "count_if": count_if,
    "names": names, "restarts": restarts, "last_termination_reason": last_termination_reason,
    "node_of": node_of, "duration": duration, "quantity": quantity, "colocated": colocated,
    "node_users": node_users,
}
HELPERS.update(DATA_HELPERS)  # get, any, all, where, join_on, container states, jmes (datahelpers.py)


# --------------------------------------------------------------------------- environment


MAX_SIZE = 1_000_000  # characters (or items) one value or one rendered output may hold
MAX_OPS = 250_000  # attribute/item lookups, calls, operators and loop iterations per evaluation
MAX_CALL_DEPTH = 32  # nested calls (a macro that calls itself)
MAX_WIDTH = 10_000  # a format width, precision or padding ('{:>1000000000}', center(10**9))
MAX_NESTING = 64  # brackets nested in one template or expression (3,000 '(' overflow the parser)
MAX_INT_BITS = 100_000  # an integer result of ** or * (repeated squaring)


class BudgetError(TemplateError):
    """A template went over one of the budgets above (the message names which)."""


class _Budget(threading.local):
    ops = 0
    depth = 0
    max_ops = MAX_OPS


_budget = _Budget()


@contextmanager
def budgeted(max_ops: int = MAX_OPS) -> Iterator[None]:
    """A fresh budget for one render or evaluation (restored after, so nesting is safe);
    ``max_ops`` for a whole document (a postmortem of a long incident) rather than one value."""
    saved = _budget.ops, _budget.depth, _budget.max_ops
    _budget.ops = _budget.depth = 0
    _budget.max_ops = max_ops
    try:
        yield
    finally:
        _budget.ops, _budget.depth, _budget.max_ops = saved


def _tick(n: int = 1) -> None:
    _budget.ops += n
    if _budget.ops > _budget.max_ops:
        raise BudgetError(f"the template takes more than {_budget.max_ops:,} operations (a loop too large?)")


tick = _tick  # for other environments built on BudgetedEnvironment (postmortem templates)


def weigh(value: Any, limit: int = MAX_SIZE) -> int:
    """Characters plus items in ``value`` (strings, lists, dicts, nested), counting shared parts
    each time they appear, as printing or JSON would; stops counting once past ``limit``."""
    total = 0
    stack = [value]
    while stack and total <= limit:
        v = stack.pop()
        if isinstance(v, str):
            total += len(v)
        elif isinstance(v, Mapping):
            total += len(v)
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, (list, tuple, set, frozenset)):
            total += len(v)
            stack.extend(v)
        else:
            total += 1
    return total


def _check_size(value: Any, what: str) -> Any:
    if weigh(value) > MAX_SIZE:
        raise BudgetError(f"{what} would hold more than {MAX_SIZE:,} characters")
    return value


check_size = _check_size


_PRINTF = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[a-zA-Z%]")


def _check_printf(fmt: str) -> None:
    for width, precision in _PRINTF.findall(fmt):
        for n in (width, precision):
            if n == "*":
                raise BudgetError("'*' widths are not supported in templates")
            if n and len(n) > 6 or n and int(n) > MAX_WIDTH:
                raise BudgetError(f"format width {n} is over the budget of {MAX_WIDTH:,}")


_SPEC_NUMBERS = re.compile(r"\d+")


def _check_spec(spec: str) -> None:
    for n in _SPEC_NUMBERS.findall(spec):
        if len(n) > 6 or int(n) > MAX_WIDTH:
            raise BudgetError(f"format width {n} is over the budget of {MAX_WIDTH:,}")


def _check_width(width: Any) -> None:
    if isinstance(width, int) and not isinstance(width, bool) and abs(width) > MAX_WIDTH:
        raise BudgetError(f"width {width} is over the budget of {MAX_WIDTH:,}")
    if isinstance(width, str):
        _check_size(width * 2, "the padding")


def _check_replace(text: Any, old: Any, new: Any, count: Any = -1) -> None:
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
        n = text.count(old) if old else len(text) + 1
        if isinstance(count, int) and count >= 0:
            n = min(n, count)
        if len(text) + n * max(0, len(new) - len(old)) > MAX_SIZE:
            raise BudgetError(f"replace() would build more than {MAX_SIZE:,} characters")


def _check_join(seq: Any, sep: Any = "") -> None:
    if isinstance(seq, (list, tuple)):
        size = weigh(seq) + len(seq) * (len(sep) if isinstance(sep, str) else 1)
        if size > MAX_SIZE:
            raise BudgetError(f"join() would build more than {MAX_SIZE:,} characters")


_WIDTH_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})


class _BudgetFormatter(SandboxedFormatter):
    def format_field(self, value: Any, format_spec: str) -> Any:
        _check_spec(format_spec)
        _tick()
        return super().format_field(value, format_spec)


class _Deep(NodeTransformer):
    """Loops tick the budget per iteration and ``~`` checks its size: rewritten as calls to
    hidden globals (which the sandbox routes through ``call``)."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = nodes.Call(nodes.Name(_ITER, "load"), [node.iter], [], None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return nodes.Call(nodes.Name(_CONCAT, "load"), list(node.nodes), [], None, None, lineno=node.lineno)


_ITER, _CONCAT = "__mitigate_iter", "__mitigate_concat"


def _budget_iter(iterable: Any) -> Iterator[Any]:
    for value in iterable:
        _tick()
        yield value


@jinja2.pass_eval_context
def _budget_concat(eval_ctx: Any, *parts: Any) -> str:
    for part in parts:
        if isinstance(part, str) and len(part) > MAX_SIZE:
            raise BudgetError(f"'~' would build more than {MAX_SIZE:,} characters")
    total = sum(len(p) if isinstance(p, str) else weigh(p) for p in parts)
    if total > MAX_SIZE:
        raise BudgetError(f"'~' would build more than {MAX_SIZE:,} characters")
    if eval_ctx.autoescape:  # as Jinja's own '~' does: escaped unless marked safe (an .html template)
        return markup_join(parts)
    return "".join(str(p) for p in parts)


def _budget_range(*args: Any) -> range:
    rng = range(*args)
    if len(rng) > _budget.max_ops:
        raise BudgetError(f"range() of {len(rng):,} items is over the budget of {_budget.max_ops:,} operations")
    return rng


def nesting(text: str) -> int:
    """The deepest bracket nesting in ``text`` (quotes not considered: an over-estimate is safe)."""
    depth = deepest = 0
    for ch in text:
        if ch in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in ")]}":
            depth = max(0, depth - 1)
    return deepest


class BudgetedEnvironment(ImmutableSandboxedEnvironment):
    """An immutable sandbox (``steps.find.items.append(...)`` is refused: templates read state,
    never change it) with budgets, so a shared runbook or template cannot freeze a session:
    operations per evaluation (``MAX_OPS``: loop iterations, lookups, calls, operators), call
    depth, the size of any value built or output (``MAX_SIZE``), format widths and padding
    (``MAX_WIDTH``), integer growth and source nesting. Every overrun is a ``BudgetError``
    naming the budget; no budget is measured in time, so none depends on the machine's load."""

    intercepted_binops = frozenset({"**", "*", "+", "%", "//", "/", "-"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals["range"] = _budget_range
        self.globals.pop("lipsum", None)
        self.globals[_ITER] = _budget_iter
        self.globals[_CONCAT] = _budget_concat
        for name in ("center", "indent", "wordwrap", "batch", "truncate"):
            self.filters[name] = self._width_filter(self.filters[name])
        self.filters["format"] = self._format_filter(self.filters["format"])
        self.filters["replace"] = self._replace_filter(self.filters["replace"])
        self.filters["join"] = self._join_filter(self.filters["join"])

    @staticmethod
    def _width_filter(f: Callable[..., Any]) -> Callable[..., Any]:
        def filt(*args: Any, **kwargs: Any) -> Any:
            for a in (*args[1:], *kwargs.values()):
                _check_width(a)
            _tick()
            return _check_size(f(*args, **kwargs), "the filter's result")
        return functools.update_wrapper(filt, f)

    @staticmethod
    def _format_filter(f: Callable[..., Any]) -> Callable[..., Any]:
        def filt(value: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(value, str):
                _check_printf(value)
            _tick()
            return f(value, *args, **kwargs)
        return functools.update_wrapper(filt, f)

    @staticmethod
    def _replace_filter(f: Callable[..., Any]) -> Callable[..., Any]:
        def filt(eval_ctx: Any, s: Any, old: Any, new: Any, count: Any = None) -> Any:
            _check_replace(str(s), str(old), str(new), -1 if count is None else count)
            _tick()
            return f(eval_ctx, s, old, new, count)
        return functools.update_wrapper(filt, f)

    @staticmethod
    def _join_filter(f: Callable[..., Any]) -> Callable[..., Any]:
        def filt(eval_ctx: Any, value: Any, d: str = "", attribute: Any = None) -> Any:
            if attribute is None:
                _check_join(list(value) if isinstance(value, (list, tuple)) else value, d)
            _tick()
            return _check_size(f(eval_ctx, value, d, attribute), "join()")
        return functools.update_wrapper(filt, f)

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        if nesting(source) > MAX_NESTING:
            raise BudgetError(f"brackets nested more than {MAX_NESTING} deep")
        try:
            ast = super()._parse(source, name, filename)
        except RecursionError:
            raise BudgetError("the template is nested too deeply") from None
        return _Deep().visit(ast)  # type: ignore[no-any-return]

    def getattr(self, obj: Any, attribute: str) -> Any:
        _tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _tick()
        return super().getitem(obj, argument)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        if not isinstance(value, (types.MethodType, types.BuiltinMethodType)) \
                or value.__name__ not in ("format", "format_map") or not isinstance(value.__self__, str):
            return None
        text: str = value.__self__
        formatter = _BudgetFormatter(self)
        if value.__name__ == "format_map":
            def format_map(mapping: Any) -> str:
                return _check_size(formatter.vformat(text, (), mapping), "format_map()")  # type: ignore[no-any-return]
            return format_map

        def format(*args: Any, **kwargs: Any) -> str:
            return _check_size(formatter.vformat(text, args, kwargs), "format()")  # type: ignore[no-any-return]
        return format

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        _tick()
        subject = getattr(__obj, "__self__", None)
        if isinstance(subject, str):
            name = __obj.__name__
            if name in _WIDTH_METHODS and args:
                _check_width(args[0])
            elif name == "replace" and len(args) >= 2:
                _check_replace(subject, *args[:3])
            elif name == "join" and args:
                _check_join(args[0], subject)
        if _budget.depth >= MAX_CALL_DEPTH:
            raise BudgetError(f"calls nested more than {MAX_CALL_DEPTH} deep (a macro calling itself?)")
        _budget.depth += 1
        try:
            result = super().call(__context, __obj, *args, **kwargs)
        finally:
            _budget.depth -= 1
        if isinstance(result, (str, list, tuple)) and len(result) > MAX_SIZE:
            raise BudgetError(f"{getattr(__obj, '__name__', 'a call')}() returned more than {MAX_SIZE:,} items")
        return result

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _tick()
        ints = isinstance(left, int) and isinstance(right, int)
        if operator == "**" and ints and max(left.bit_length(), 1) * abs(right) > MAX_INT_BITS:
            raise BudgetError(f"power with exponent {right} is too large")
        if operator == "*":
            if ints and left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise BudgetError(f"a product of more than {MAX_INT_BITS:,} bits is too large")
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(times, int) \
                        and max(len(seq), weigh(seq)) * times > MAX_SIZE:
                    raise BudgetError(f"repetition would build more than {MAX_SIZE:,} items")
        if operator == "+" and isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
            if weigh(left) + weigh(right) > MAX_SIZE:
                raise BudgetError(f"'+' would build more than {MAX_SIZE:,} items")
        if operator == "%" and isinstance(left, str):
            _check_printf(left)
        return super().call_binop(context, operator, left, right)


def _finalize(value: Any) -> Any:
    """Each ``{{ ... }}`` output of a text template: refused past the size budget before it is
    turned into text (a list holding one 1 MB string 1,000 times prints as 1 GB)."""
    _tick()
    return _check_size(value, "the output")


def _make_env() -> SandboxedEnvironment:
    env = BudgetedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True,
                              finalize=_finalize)
    env.globals.update(HELPERS)
    env.filters.update(HELPERS)
    return env


ENV = _make_env()
_SINGLE = re.compile(r"^\s*\{\{(.*)\}\}\s*$", re.DOTALL)


def _fail(kind: str, text: str, exc: Exception) -> TemplateError:
    shown = " ".join(text.split())
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    detail = exc.message if isinstance(exc, jinja2.TemplateError) and exc.message else str(exc)
    lineno = exc.lineno if isinstance(exc, jinja2.TemplateSyntaxError) else None
    return TemplateError(f"{kind} {shown!r}: {detail.splitlines()[0] if detail else type(exc).__name__}", lineno)


def check_expression(expr: str) -> nodes.Expr:
    """Parse an expression (no braces); TemplateError on bad syntax. Returns the AST."""
    try:
        body = ENV.parse(f"{{{{ {expr} }}}}").body
        if len(body) != 1 or not isinstance(body[0], nodes.Output) or len(body[0].nodes) != 1:
            raise TemplateError(f"expression {expr!r}: not a single expression")
        return body[0].nodes[0]
    except BudgetError as exc:
        raise _fail("expression", expr, exc) from None
    except jinja2.TemplateSyntaxError as exc:
        raise _fail("expression", expr, exc) from None


def check_template(text: str) -> nodes.Template:
    """Parse a template string; TemplateError on bad syntax. Returns the AST."""
    try:
        return ENV.parse(text)
    except (jinja2.TemplateSyntaxError, BudgetError) as exc:
        raise _fail("template", text, exc) from None


def single_expression(text: str) -> str | None:
    """The inner expression when ``text`` is exactly one ``{{ expr }}``, else None."""
    m = _SINGLE.match(text)
    if not m or "{{" in m.group(1) or "}}" in m.group(1):
        return None
    return m.group(1).strip()


@lru_cache(maxsize=4096)
def compile_expression(expr: str) -> Callable[[Mapping[str, Any]], Any]:
    """Compile once, evaluate per item: ``f = compile_expression("item | is_ready"); f(ctx)``.

    Built like Jinja's own ``compile_expression`` (a template that assigns ``result``), but
    each call shares the caller's mapping layered over the helpers instead of copying every
    global into a fresh dict: that copy was most of the cost of filtering 5,000 nodes.
    """
    ast = check_expression(expr)
    template = ENV.from_string(nodes.Template([nodes.Assign(nodes.Name("result", "store"), ast)], lineno=1))
    helpers = dict(template.globals)

    def run(context: Mapping[str, Any]) -> Any:
        budget = _budget  # a fresh budget per evaluation, inline: this runs once per item of 5,000
        saved = budget.ops, budget.depth
        budget.ops = budget.depth = 0
        try:
            ctx = template.new_context(ChainMap(context, helpers), shared=True)  # type: ignore[arg-type]
            for _ in template.root_render_func(ctx):
                pass
            result = ctx.vars["result"]
            _no_undefined(result)
            if isinstance(result, (str, list, tuple, dict)):
                _check_size(result, "the value")
            return result
        except BudgetError as exc:
            raise _fail("expression", expr, exc) from None
        except TemplateError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure inside user code is the user's error
            raise _fail("expression", expr, exc) from None
        finally:
            budget.ops, budget.depth = saved

    return run


def _no_undefined(value: Any) -> None:
    """Jinja returns an Undefined object from an expression instead of raising: raise it now."""
    shallow = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else ()
    for v in (value, *shallow):
        if isinstance(v, jinja2.Undefined):
            v._fail_with_undefined_error()


def evaluate(expr: str, context: Mapping[str, Any]) -> Any:
    return compile_expression(expr)(context)


@lru_cache(maxsize=1024)
def _template(text: str) -> jinja2.Template:
    check_template(text)
    return ENV.from_string(text)


def _render_text(template: jinja2.Template, context: Mapping[str, Any]) -> str:
    """``template.render(**context)`` within a budget: the output is counted as it streams."""
    out: list[str] = []
    size = 0
    with budgeted():
        for chunk in template.generate(**context):
            size += len(chunk)
            if size > MAX_SIZE:
                raise BudgetError(f"the output is longer than {MAX_SIZE:,} characters")
            out.append(chunk)
    return "".join(out)


def render(value: Any, context: Mapping[str, Any]) -> Any:
    """Render templates inside ``value`` (recursive over dicts and lists).

    ``"{{ x }}"`` alone yields the native value of ``x``; other strings render as text;
    strings without ``{{``/``{%`` and non-strings are returned unchanged.
    """
    if isinstance(value, str):
        if "{{" not in value and "{%" not in value:
            return value
        expr = single_expression(value)
        if expr is not None:
            return evaluate(expr, context)
        try:
            return _render_text(_template(value), context)
        except BudgetError as exc:
            raise _fail("template", value, exc) from None
        except TemplateError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure inside user code is the user's error
            raise _fail("template", value, exc) from None
    if isinstance(value, Mapping):
        return _render_mapping(value, context)
    if isinstance(value, list):
        return [render(v, context) for v in value]
    return value


def _render_mapping(value: Mapping[Any, Any], context: Mapping[str, Any]) -> dict[Any, Any]:
    """Values rendered; a key that is a template (``"{{ inputs.legacyLabel }}": "true"``) too,
    to a string. Two keys rendering alike are an error rather than one silently winning."""
    out: dict[Any, Any] = {}
    for k, v in value.items():
        key = k
        if isinstance(k, str) and ("{{" in k or "{%" in k):
            key = render(k, context)
            if key is None or isinstance(key, (dict, list)):
                raise TemplateError(f"mapping key {k!r} rendered to {key!r}, not a string")
            key = str(key)
            if not key:
                raise TemplateError(f"mapping key {k!r} rendered to an empty string")
        if key in out:
            raise TemplateError(f"mapping key {k!r} renders to {key!r}, which the mapping already has")
        out[key] = render(v, context)
    return out


CONTEXT_NAMES = frozenset({"inputs", "steps", "saved", "item", "incident", "batch", "now",
                           "items", "names", "count", "value", "ok", "latency_ms", "failures", "done", "total",
                           "batches"})


def _walk(ast: nodes.Node, kinds: Any) -> Iterator[Any]:
    """``find_all`` that includes the root node itself (an expression may be just a filter)."""
    if isinstance(ast, kinds):
        yield ast
    yield from ast.find_all(kinds)


def unknown_names(ast: nodes.Node) -> list[str]:
    """Filters, tests and called functions the environment does not define, as messages."""
    problems: list[str] = []
    for f in _walk(ast, nodes.Filter):
        if f.name not in ENV.filters:
            problems.append(f"unknown filter {f.name!r}")
    for t in _walk(ast, nodes.Test):
        if t.name not in ENV.tests:
            problems.append(f"unknown test {t.name!r}")
    for call in _walk(ast, nodes.Call):
        target = call.node
        if isinstance(target, nodes.Name) and target.name in CONTEXT_NAMES:
            problems.append(f"{target.name!r} is a value, not a function")
        elif isinstance(target, nodes.Name) and target.name not in ENV.globals:
            problems.append(f"unknown function {target.name!r}")
    return problems


def references(ast: nodes.Node, root: str) -> list[str]:
    """Names looked up under ``root``: ``steps['x'].names`` and ``steps.x`` give ``x``."""
    found: list[str] = []
    for node in _walk(ast, (nodes.Getattr, nodes.Getitem)):
        if not (isinstance(node.node, nodes.Name) and node.node.name == root):
            continue
        if isinstance(node, nodes.Getattr):
            found.append(node.attr)
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) \
                and isinstance(node.arg.value, str):
            found.append(node.arg.value)
    return found
