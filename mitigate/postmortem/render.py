"""Render a postmortem through a Jinja2 template, safely and with located errors.

Templates may come from a team (``--template``), so the built-in ones and a
team's own run alike in the runbooks' budgeted, immutable sandbox
(``BudgetedEnvironment``: operations, the size of every value and of the whole
output, call depth, widths; nothing in the model can be changed) with
``StrictUndefined`` (a misspelt name is an error, not an empty string);
``.html`` templates are autoescaped. Any error, at compile or render time, a
budget overrun and an attribute the sandbox refuses (``__class__``) included,
becomes one line ``path:line: message`` naming the template's own file and line.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Generator
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import jinja2
import markupsafe
from jinja2.sandbox import SandboxedEnvironment

from mitigate.errors import MitigateError
from mitigate.paths import templates_dir
from mitigate.postmortem import model
from mitigate.postmortem.metrics import format_duration
from mitigate.postmortem.model import Postmortem
from mitigate.runbook.templating import BudgetedEnvironment, BudgetError, budgeted, check_size, tick
from mitigate.textsafe import safe_text

FORMATS = {"md": "postmortem.md.j2", "html": "postmortem.html.j2"}


class TemplateRenderError(MitigateError):
    """A template problem located at ``path:line``."""

    def __init__(self, path: str, line: int, message: str) -> None:
        self.path, self.line, self.message = path, line, message
        super().__init__(f"{path}:{line}: {message}" if line else f"{path}: {message}")


# ----------------------------------------------------------------------------- filters

_MERMAID_ENTITIES = {":": "#58;", "#": "#35;", ";": "#59;", "<": "#lt;", ">": "#gt;", "`": "#96;",
                     "{": "#123;", "}": "#125;", '"': "#quot;"}
_MERMAID_RE = re.compile("|".join(re.escape(k) for k in _MERMAID_ENTITIES))
_WS_RE = re.compile(r"\s+")
_TICKS_RE = re.compile(r"`+")


def mermaid(text: object, width: int = 80) -> str:
    """Text safe inside a Mermaid ``timeline`` line: one line, short, with
    ``:`` (the event separator), ``#`` and ``;`` written as Mermaid entity codes."""
    flat = _WS_RE.sub(" ", str(text)).strip()
    if len(flat) > width:
        flat = flat[: width - 1].rstrip() + "…"
    return _MERMAID_RE.sub(lambda m: _MERMAID_ENTITIES[m.group(0)], flat)


def md_cell(text: object) -> str:
    """Text safe inside a GFM table cell: one line, ``|`` escaped, no raw HTML."""
    flat = _WS_RE.sub(" ", str(text)).strip()
    return _no_quote(flat.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;"))


def _no_quote(text: str) -> str:
    """``<`` is escaped (it could open raw HTML); ``>`` only where it would start a block quote,
    so that conditions read ``count > 0`` in the plain text of the draft."""
    return "&gt;" + text[1:] if text.startswith(">") else text


def md_text(text: object) -> str:
    """Free text for a Markdown paragraph or list item: no raw HTML, no stray line breaks."""
    return _no_quote(_WS_RE.sub(" ", str(text)).strip().replace("<", "&lt;"))


def md_code(text: object) -> str:
    """Inline code span that survives backticks in the text and works inside tables."""
    flat = _WS_RE.sub(" ", str(text)).strip().replace("|", "\\|")
    fence = "`" * (max((len(r) for r in _TICKS_RE.findall(flat)), default=0) + 1) if "`" in flat else "`"
    pad = " " if flat.startswith("`") or flat.endswith("`") else ""
    return f"{fence}{pad}{flat}{pad}{fence}"


@functools.lru_cache(maxsize=1)
def _inline_markdown() -> Any:
    from markdown_it import MarkdownIt

    # CommonMark with raw HTML off: text from the journal can never become markup.
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).disable(["image", "link", "autolink"])


def md_inline(text: object) -> markupsafe.Markup:
    """Inline Markdown (code spans, emphasis) as safe HTML for the HTML template; raw HTML, links
    and images are not interpreted (they show as text)."""
    flat = _WS_RE.sub(" ", str(text)).strip()
    return markupsafe.Markup(_inline_markdown().renderInline(flat))


_VENDOR = Path(__file__).parent / "vendor"


@functools.lru_cache(maxsize=1)
def mermaid_js() -> markupsafe.Markup:
    """The vendored Mermaid bundle, for templates that inline it (see vendor/README.md); a
    ``</script`` inside it is split so it cannot end the element early."""
    try:
        code = (_VENDOR / "mermaid.min.js").read_text(encoding="utf-8")
    except OSError:
        return markupsafe.Markup("")
    # a control byte (the bundle holds one, in a string) as the JavaScript escape that means the same:
    # the draft holds no control codes, and the page's own script stays byte-identical to what is tested
    code = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", lambda m: f"\\u{ord(m.group()):04x}", code)
    return markupsafe.Markup(code.replace("</script", "<\\/script"))


def utc(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """An aware datetime as UTC text (``""`` for ``None``)."""
    return "" if moment is None else moment.strftime(fmt)


def duration(seconds: float | None) -> str:
    return "" if seconds is None else format_duration(seconds)


# ----------------------------------------------------------------------------- environment


# The model's own plain-data classes (and Jinja's loop variable) and the public names on them.
# The sandbox would allow all of these anyway; checking them against this table first spares
# its general is_safe_attribute test on each of the tens of thousands of lookups a long
# timeline makes. Anything else (other types, other names) still goes through the sandbox.
def _public_names(cls: type) -> frozenset[str]:
    fields = {f.name for f in dataclasses.fields(cls)} if dataclasses.is_dataclass(cls) else set()
    return frozenset(fields | {name for name in dir(cls) if not name.startswith("_")})


_MODEL_NAMES: dict[type, frozenset[str]] = {
    cls: _public_names(cls)
    for cls in (model.Postmortem, model.TimelineEntry, model.Declared, model.Metric, model.ActionItem,
                model.ActionGroup, model.TargetResult, model.ExecutedAction, model.Section, model.RunbookRef,
                model.CheckEvidence, model.Change, model.Communication, model.Responder, model.Handover,
                model.SilenceRef, jinja2.runtime.LoopContext)
}


# The budgets of a whole draft (the built-in templates and a team's own run under the same):
# operations for the document, not one value, and the size of everything it writes. Operations
# grow with what the draft holds (OPS_PER_ITEM for each item of every list in the model: timeline
# entries, changes, targets, evidence rows...; the built-in templates take about 13 per timeline
# entry and 28,000 in all for the 10,000-event benchmark incident), so a long incident always
# renders while a hostile template on a small one is stopped well within a second. The output
# budget leaves room for the inlined Mermaid bundle (3.5 MB) and a long timeline.
BASE_OPS = 200_000
OPS_PER_ITEM = 50
MAX_OUTPUT = 32_000_000


def ops_budget(postmortem: Postmortem) -> int:
    """Operations a template may take to render this draft: BASE_OPS + OPS_PER_ITEM per item."""
    items, stack, seen = 0, [postmortem], set()
    while stack:
        value = stack.pop()
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            if id(value) not in seen:
                seen.add(id(value))
                stack.extend(vars(value).values())
        elif isinstance(value, (list, tuple)):
            items += len(value)
            stack.extend(v for v in value if not isinstance(v, (str, int, float)))
        elif isinstance(value, dict):
            items += len(value)
            stack.extend(v for v in value.values() if not isinstance(v, (str, int, float)))
    return BASE_OPS + OPS_PER_ITEM * items


class _Sandbox(BudgetedEnvironment):
    """The runbooks' budgeted, immutable sandbox (operations, size of every value, call depth,
    widths, integer growth, nesting), with a fast path for reading the model's fields."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        names = _MODEL_NAMES.get(type(obj))
        if names is not None and attribute in names:
            tick()
            return getattr(obj, attribute)
        return super().getattr(obj, attribute)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        if __obj is mermaid_js and not args and not kwargs:  # mitigate's own bundle: its size is fixed
            tick()
            return mermaid_js()
        return super().call(__context, __obj, *args, **kwargs)


def _finalize(value: Any) -> Any:
    """Each ``{{ ... }}`` output: within the size budget before it becomes text (the vendored
    bundle, which mitigate ships, excepted)."""
    tick()
    return value if value is mermaid_js() else check_size(value, "the output")


@functools.lru_cache(maxsize=8)
def _environment(search_dir: Path) -> SandboxedEnvironment:
    """One environment per template folder: Jinja keeps compiled templates in it and
    recompiles a template whose file changed (auto_reload), so rendering again (the
    TUI's preview, the benchmark) does not pay the compile each time."""
    env = _Sandbox(
        loader=jinja2.FileSystemLoader(str(search_dir)),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2", "htm")),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_finalize,
    )
    env.filters.update(mermaid=mermaid, md_cell=md_cell, md_text=md_text, md_code=md_code, utc=utc,
                       duration=duration, md_inline=md_inline)
    env.globals.update(mermaid_js=mermaid_js)
    return env


def default_template(fmt: str) -> Path:
    if fmt not in FORMATS:
        raise MitigateError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")
    return templates_dir() / FORMATS[fmt]


def _template_line(tb: TracebackType | None, filename: str) -> int:
    """The deepest traceback line inside the template file (Jinja maps frames to template lines)."""
    line = 0
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _generate(tmpl: jinja2.Template, postmortem: Postmortem, shown: str) -> str:
    """The draft within the budgets: the output counted as it streams."""
    out: list[str] = []
    size = 0
    with budgeted(ops_budget(postmortem)):
        stream: Generator[str, None, None] = tmpl.generate(pm=postmortem)  # type: ignore[assignment]
        for chunk in stream:
            size += len(chunk)
            if size > MAX_OUTPUT:
                line = _suspended_line(stream, tmpl)
                stream.close()
                raise TemplateRenderError(shown, line, f"the output is longer than {MAX_OUTPUT:,} characters")
            out.append(chunk)
    return "".join(out)


def _suspended_line(stream: Any, tmpl: jinja2.Template) -> int:
    """The template line a render stream stopped at (the template's own code, not an include's)."""
    line = 0
    while stream is not None:
        frame = getattr(stream, "gi_frame", None)
        if frame is not None and frame.f_code.co_filename == tmpl.filename:
            line = tmpl.get_corresponding_lineno(frame.f_lineno)
        stream = getattr(stream, "gi_yieldfrom", None)
    return line


def render(postmortem: Postmortem, template: Path) -> str:
    """The draft rendered through ``template``; errors as :class:`TemplateRenderError`."""
    path = template.resolve()
    shown = str(template)
    if not path.is_file():
        raise MitigateError(f"{shown}: template not found")
    env = _environment(path.parent)
    try:
        tmpl = env.get_template(path.name)
    except jinja2.TemplateSyntaxError as exc:
        where = shown if exc.name == path.name or exc.filename == str(path) else (exc.filename or shown)
        raise TemplateRenderError(where, exc.lineno, exc.message or "syntax error") from None
    except BudgetError as exc:  # nested too deeply to parse
        raise TemplateRenderError(shown, 0, str(exc)) from None
    except (UnicodeDecodeError, OSError) as exc:
        raise MitigateError(f"{shown}: cannot read template: {exc}") from None
    try:
        # Names, messages and notes from the cluster are data: a draft holds no control codes
        # (an OSC 52 in a title would set the clipboard of whoever cats the file).
        return safe_text(_generate(tmpl, postmortem, shown))
    except jinja2.TemplateSyntaxError as exc:  # an included template with a syntax error
        raise TemplateRenderError(exc.filename or shown, exc.lineno, exc.message or "syntax error") from None
    except TemplateRenderError:
        raise
    except RecursionError:  # a template the budgets let through that still nests too deep
        raise TemplateRenderError(shown, 0, "the template nests too deeply (a macro calling itself?)") from None
    except Exception as exc:  # any runtime error in an untrusted template is the author's
        line = _template_line(exc.__traceback__, str(path))
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if isinstance(exc, jinja2.exceptions.SecurityError):
            message = f"not allowed in a template: {message}"
        raise TemplateRenderError(shown, line, message) from None
