"""What a step is, rendered for the walker's detail pane: its text, question, message, condition.

Built in a worker from the runbook step and the session's template context
(``Session.context()``), so a manual step's ``{{ inputs.namespace }}`` shows
as ``kube-system`` and never as raw braces. A template that cannot render yet
(it reads a step that has not run) is shown with its expressions marked, not
as raw ``{{ }}``. No Textual here: tests call :func:`brief` directly.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_EXPR = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}|\{%.*?%\}", re.DOTALL)


@dataclass(frozen=True)
class Brief:
    """A step's facts as the responder reads them (all rendered text)."""

    kind: str = ""
    text: str = ""  # Markdown: description and manual instructions
    kubectl: tuple[str, ...] = ()  # a check's or wait's read-only kubectl equivalent
    question: str = ""  # decision prompt
    options: tuple[tuple[str, str], ...] = ()  # decision (id, label)
    channels: tuple[str, ...] = ()  # notify
    message_title: str = ""
    message: str = ""  # notify body (Markdown)
    status: str = ""  # notify: the incident status it announces
    condition: str = ""  # wait: until; gate: require
    timeout: str = ""
    interval: str = ""
    pause: str = ""  # a batched action's pause between batches
    gate: str = ""  # a batched action's health gate (until)
    notes: tuple[str, ...] = field(default_factory=tuple)


def rendered(text: str, ctx: Mapping[str, Any]) -> str:
    """``text`` rendered; when it cannot be yet, its expressions shown as ‹expr›."""
    from mitigate.runbook.templating import render

    if not text or ("{{" not in text and "{%" not in text):
        return text
    try:
        return str(render(text, ctx))
    except Exception:  # noqa: BLE001 - a step not yet run, a bad template: the walker still shows the text
        pass

    def one(match: re.Match[str]) -> str:
        expr = match.group(1)
        if not expr:
            return "…"  # a {% block %}: shown once the whole text renders
        try:
            return str(render("{{ " + expr + " }}", ctx))
        except Exception:  # noqa: BLE001 - this one needs a step that has not run yet
            return f"‹{expr}›"

    return _EXPR.sub(one, text)


def kubectl_get(query: Any, ctx: Mapping[str, Any], context: str, flags: tuple[str, ...] = ()) -> str:
    """The read-only kubectl line a kube check or wait amounts to (``flags``: the incident's
    ``--cluster``/``--user``/``--as``, as every kubectl line carries them)."""
    resource = str(query.kind).lower()
    group = str(query.apiVersion).rsplit("/", 1)[0] if "/" in str(query.apiVersion) else ""
    if group:
        resource += f".{group}"
    words = ["kubectl", *flags]
    if context:
        words += ["--context", context]
    words += ["get", resource]
    if query.name:
        words.append(rendered(str(query.name), ctx))
    if query.namespace:
        words += ["-n", rendered(str(query.namespace), ctx)]
    if query.labelSelector:
        words += ["-l", rendered(str(query.labelSelector), ctx)]
    if query.fieldSelector:
        words += [f"--field-selector={rendered(str(query.fieldSelector), ctx)}"]
    return " ".join(shlex.quote(w) if w != "kubectl" else w for w in words)


def brief(step: Any, ctx: Mapping[str, Any], *, context: str = "", flags: tuple[str, ...] = ()) -> Brief:
    """The rendered facts of runbook ``step`` (a ``mitigate.runbook.model.Step``)."""
    kind = str(step.kind)
    parts = [rendered(step.description or "", ctx), rendered(step.manual or "", ctx)]
    text = "\n\n".join(p.strip() for p in parts if p and p.strip())
    out: dict[str, Any] = {"kind": kind, "text": text}
    spec = step.check or (step.wait.check if step.wait is not None else None)
    if spec is not None and spec.kube is not None:
        out["kubectl"] = (kubectl_get(spec.kube, ctx, context, flags),)
    if step.decision is not None:
        out["question"] = rendered(step.decision.prompt, ctx)
        out["options"] = tuple((o.id, o.label) for o in step.decision.options)
    if step.notify is not None:
        n = step.notify
        out["channels"] = tuple(n.channels)
        out["message_title"] = rendered(n.title or "", ctx)
        out["message"] = rendered(n.message, ctx)
        out["status"] = n.status or ""
    if step.wait is not None:
        out["condition"], out["timeout"], out["interval"] = step.wait.until, step.wait.timeout, step.wait.interval
    if step.gate is not None:
        out["condition"] = " and ".join(step.gate.require)
    if step.batch is not None:
        out["pause"] = step.batch.pause if step.batch.pause not in ("0s", "0") else ""
        out["gate"] = step.batch.gate.until if step.batch.gate is not None else ""
    return Brief(**out)
