"""Fuzzing the loader: whatever the text, the only failure is a located error."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mitigate.errors import LocatedError, LocatedErrors
from mitigate.runbook.loader import load_runbook_text
from tests.runbook.helpers import FULL

VALID = FULL.read_text(encoding="utf-8")
FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
YAML_BITS = [":", "-", " ", "\n", "\t", "{", "}", "[", "]", "{{", "}}", "{%", "'", '"', "&a", "*a", "!!",
             "#", "?", "|", ">", "<<", "steps", "id: x", "action", "0", "~", "\\", "%"]


def load_only_located(text: str) -> None:
    try:
        load_runbook_text(text, "fuzz.yaml")
    except LocatedErrors as exc:
        assert exc.errors and all(isinstance(e, LocatedError) for e in exc.errors)
        assert all(e.path == "fuzz.yaml" and "\n" not in str(e) for e in exc.errors)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = VALID
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "replace", "dup-line"]))
        if op == "insert":
            text = text[:pos] + draw(st.sampled_from(YAML_BITS) | st.text(max_size=4)) + text[pos:]
        elif op == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 40)):]
        elif op == "replace":
            text = text[:pos] + draw(st.sampled_from(YAML_BITS)) + text[pos + 1:]
        else:
            lines = text.splitlines(keepends=True)
            i = pos % len(lines)
            text = "".join(lines[: i + 1] + [lines[i]] + lines[i + 1:])
    return text


@FUZZ
@given(mutated())
def test_mutated_valid_runbook(text: str) -> None:
    load_only_located(text)


scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8) \
    | st.sampled_from(["{{ x", "{{ steps['a'].names }}", "count >", "30s", "cordon", "cluster", "mitigate/v1"])
keys = st.sampled_from(["apiVersion", "kind", "metadata", "steps", "inputs", "id", "action", "check", "when",
                        "batch", "undo", "names", "type", "default", "manual", "kube"]) | st.text(max_size=5)
values: Any = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(keys, inner, max_size=5), max_leaves=25)


@FUZZ
@given(st.dictionaries(keys, values, max_size=6), st.booleans())
def test_random_structures(doc: dict[str, Any], as_runbook: bool) -> None:
    if as_runbook:
        doc = {"apiVersion": "mitigate/v1", "kind": "Runbook", **doc}
    load_only_located(yaml.safe_dump(doc, allow_unicode=True))


@FUZZ
@given(st.text(max_size=200))
def test_arbitrary_text(text: str) -> None:
    load_only_located(text)
