"""Typed runbook inputs: coerce command-line text (``k=v``) and YAML defaults to checked values.

Why here and not in the engine: the same rules apply when the loader checks a default, when
the CLI parses ``--input batchSize=20`` and when the TUI prompts, and a wrong value must be
refused before any step runs, with the input's name in the message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from mitigate.errors import UsageError
from mitigate.journal.redact import MASK, register_secrets
from mitigate.runbook.model import InputSpec, Runbook, parse_duration
from mitigate.yamlloc import describe, did_you_mean

_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_KEY = r"(?:[A-Za-z0-9.-]+/)?[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?"
_VALUE = r"(?:[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9])?)?"
_REQUIREMENT = re.compile(
    rf"^\s*(?:!?\s*{_KEY}|{_KEY}\s*(?:=|==|!=)\s*{_VALUE}"
    rf"|{_KEY}\s+(?:in|notin)\s*\(\s*{_VALUE}(?:\s*,\s*{_VALUE})*\s*\))\s*$"
)
_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}


class InputError(UsageError):
    """An input value that does not fit its declaration (message names the input)."""


def valid_label_selector(text: str) -> bool:
    """Kubernetes label selector syntax (equality- and set-based); ``""`` is valid (everything)."""
    if not text.strip():
        return True
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return depth == 0 and all(_REQUIREMENT.match(p) for p in parts)


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    raise ValueError(f"expected a list (or comma-separated text), got {describe(value)}")


def _number(value: Any, integer: bool) -> int | float:
    if isinstance(value, bool):
        raise ValueError(f"expected {'an integer' if integer else 'a number'}, got {describe(value)}")
    if integer:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, int):
            return value
        try:
            return int(str(value).strip())
        except ValueError:
            raise ValueError(f"expected an integer, got {describe(value)}") from None
    if isinstance(value, (int, float)):
        return value
    try:
        return float(str(value).strip())
    except ValueError:
        raise ValueError(f"expected a number, got {describe(value)}") from None


def coerce_input(spec: InputSpec, value: Any) -> Any:
    """One value (CLI text or YAML-native) -> the typed value; ValueError says what is wrong."""
    kind = spec.type
    result: Any
    if kind in ("integer", "number"):
        result = _number(value, kind == "integer")
        if spec.minimum is not None and result < spec.minimum:
            raise ValueError(f"must be >= {spec.minimum:g}, got {result}")
        if spec.maximum is not None and result > spec.maximum:
            raise ValueError(f"must be <= {spec.maximum:g}, got {result}")
    elif kind == "boolean":
        if isinstance(value, bool):
            result = value
        elif str(value).strip().lower() in _TRUE | _FALSE:
            result = str(value).strip().lower() in _TRUE
        else:
            raise ValueError(f"expected true or false, got {describe(value)}")
    elif kind == "secret":
        if not isinstance(value, str) or not value:
            raise ValueError("expected a non-empty secret (its value is never shown)")
        result = value
        if spec.pattern is not None and re.fullmatch(spec.pattern, result) is None:
            raise ValueError(f"the secret does not match pattern {spec.pattern!r} (its value is never shown)")
        return result
    elif kind in ("list", "kube-contexts"):
        result = _as_list(value)
        if kind == "kube-contexts" and (not result or not all(isinstance(v, str) and v for v in result)):
            raise ValueError("expected one or more context names")
    else:
        if not isinstance(value, str):
            raise ValueError(f"expected text, got {describe(value)}")
        result = value.strip() if kind != "string" else value
        if kind == "duration":
            parse_duration(result)
        elif kind == "kube-context" and not result:
            raise ValueError("expected a context name")
        elif kind == "namespace" and not _NAMESPACE.match(result):
            raise ValueError(f"not a namespace name: {describe(value)} (lowercase letters, digits, '-')")
        elif kind == "label-selector" and not valid_label_selector(result):
            raise ValueError(f"not a label selector: {describe(value)} (e.g. app=web,tier!=db)")
    if spec.pattern is not None and isinstance(result, str):
        try:
            ok = re.fullmatch(spec.pattern, result) is not None
        except re.error as exc:
            raise ValueError(f"invalid pattern {spec.pattern!r}: {exc}") from None
        if not ok:
            raise ValueError(f"{describe(result)} does not match pattern {spec.pattern!r}")
    if spec.choices is not None and result not in spec.choices:
        raise ValueError(f"expected one of {', '.join(map(str, spec.choices))}, got {describe(result)}")
    return result


def resolve_inputs(runbook: Runbook, given: Mapping[str, str]) -> dict[str, Any]:
    """CLI ``k=v`` strings + declared defaults -> typed inputs; InputError lists every problem."""
    problems: list[str] = []
    for name in given:
        if name not in runbook.inputs:
            declared = ", ".join(runbook.inputs) or "none"
            problems.append(f"unknown input {name!r}{did_you_mean(name, runbook.inputs)} (declared: {declared})")
    values: dict[str, Any] = {}
    for name, spec in runbook.inputs.items():
        raw = given.get(name, spec.default)
        if raw is None and spec.type == "secret" and spec.keyring:
            values[name] = None  # read from the keyring when the session opens (Ports.secrets)
            continue
        if raw is None:
            if spec.is_required:
                hint = f" ({spec.prompt})" if spec.prompt else ""
                problems.append(f"missing required input {name!r}{hint}: pass it as {name}=VALUE")
            values[name] = None
            continue
        try:
            values[name] = coerce_input(spec, raw)
        except ValueError as exc:
            problems.append(f"input {name!r}: {exc}")
    if problems:
        raise InputError("; ".join(problems))
    register_secrets(v for n, v in values.items() if runbook.inputs[n].type == "secret")
    return values


def secret_names(runbook: Runbook) -> list[str]:
    return [n for n, s in runbook.inputs.items() if s.type == "secret"]


def journaled_inputs(runbook: Runbook, values: Mapping[str, Any]) -> dict[str, Any]:
    """The inputs as ``incident.opened`` keeps them: a secret input's value never is (MASK)."""
    return {k: (MASK if k in secret_names(runbook) and v is not None else v) for k, v in values.items()}
