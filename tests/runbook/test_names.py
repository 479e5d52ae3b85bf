"""An empty, blank or '/'-containing name never widens scope (issue 12, point 1): refused at load
time where it is literal, at render time (``parse_params``) where it came from a template."""

from __future__ import annotations

import pytest

from mitigate.errors import LocatedErrors, MitigateError
from mitigate.runbook.actions import name_problem, parse_params
from mitigate.runbook.loader import load_runbook_text

HEAD = "apiVersion: mitigate/v1\nkind: Runbook\nmetadata: {name: t, title: T, source: s}\n"
BAD = ['""', '"  "', '"a/b/c"', '"/web"', '"shop/"', '".."', '" web"']


def _load(action: str, inputs: str = "") -> None:
    load_runbook_text(HEAD + inputs + f"steps:\n  - id: a\n    action:\n      {action}\n", "rb.yaml")


@pytest.mark.parametrize("bad", BAD)
@pytest.mark.parametrize("action", [
    "delete: {{apiVersion: v1, kind: ConfigMap, namespace: shop, name: {bad}}}",
    "delete: {{apiVersion: v1, kind: ConfigMap, namespace: shop, names: [ok, {bad}]}}",
    "scale: {{namespace: shop, name: {bad}, replicas: 0}}",
    "delete: {{apiVersion: v1, kind: ConfigMap, namespace: {bad}, selector: app=web}}",
    "cordon: {{names: [{bad}]}}",
    'cordon: {{names: ["a/b"]}}',
    "removeThrottle: {{name: {bad}}}",
    "create: {{manifest: {{apiVersion: v1, kind: ConfigMap, metadata: {{name: {bad}, namespace: shop}}}}}}",
])
def test_a_literal_bad_name_fails_to_load_with_a_located_error(action: str, bad: str) -> None:
    with pytest.raises(LocatedErrors) as info:
        _load(action.format(bad=bad))
    [err] = info.value.errors
    assert err.path == "rb.yaml" and err.line == 7, str(err)
    assert any(w in err.message for w in ("empty", "blank", "'/'", "walks", "whitespace")), err.message


def test_a_templated_name_loads_and_is_checked_once_rendered() -> None:
    _load('delete: {apiVersion: v1, kind: ConfigMap, namespace: shop, name: "{{ inputs.x }}"}',
          "inputs:\n  x: {type: string}\n")
    with pytest.raises(MitigateError, match="empty name"):
        parse_params("delete", {"apiVersion": "v1", "kind": "ConfigMap", "namespace": "shop", "name": ""})
    with pytest.raises(MitigateError, match="contains '/'"):
        parse_params("delete", {"apiVersion": "v1", "kind": "ConfigMap", "namespace": "shop", "names": ["a", "b/c/d"]})
    with pytest.raises(MitigateError, match="empty name"):
        parse_params("delete", {"apiVersion": "v1", "kind": "ConfigMap", "names": [{"metadata": {"name": ""}}]})
    parse_params("delete", {"apiVersion": "v1", "kind": "ConfigMap", "names": ["shop/a", {"metadata": {"name": "b"}}]})
    with pytest.raises(MitigateError, match="blank namespace"):
        parse_params("evict", {"namespace": " ", "names": ["p"]})
    # a rendered value that still holds braces is no template any more: it is checked as it is
    with pytest.raises(MitigateError, match="whitespace"):
        parse_params("scale", {"namespace": "shop", "name": "{{ x }} ", "replicas": 1})
    parse_params("delete", {"apiVersion": "v1", "kind": "ConfigMap", "namespace": "shop", "names": ["a", "b"]})


def test_name_problem_accepts_real_names() -> None:
    for name in ("web", "--all", "a.b", "system:controller:x", "n-0"):
        assert name_problem(name) is None
