"""Typed inputs from the command line, and the action catalogue's scope rules."""

from __future__ import annotations

from typing import Any

import pytest

from mitigate.errors import MitigateError
from mitigate.runbook.actions import (
    CATALOGUE,
    ScopeError,
    check_scoped,
    is_destructive,
    parse_params,
    scope_of,
)
from mitigate.runbook.inputs import InputError, valid_label_selector
from mitigate.runbook.loader import load_runbook_text, resolve_inputs
from mitigate.runbook.model import Runbook

CONTRACT_VERBS = {
    "patch", "setResources", "scale", "cordon", "uncordon", "drain", "evict", "delete", "apply", "create",
    "rolloutRestart", "rolloutUndo", "label", "annotate", "throttle", "relaxThrottle", "removeThrottle",
    "deleteMachine", "revertChanges", "disableDaemonSet", "restoreCustomResources",
}


def runbook(inputs: str) -> Runbook:
    return load_runbook_text(
        "apiVersion: mitigate/v1\nkind: Runbook\nmetadata: {name: t, title: T, source: s}\n"
        f"inputs:\n{inputs}steps: [{{id: a, manual: x}}]\n")


RB = runbook(
    "  context: {type: kube-context}\n"
    "  size: {type: integer, default: 10, minimum: 1, maximum: 50}\n"
    "  ratio: {type: number, default: 0.5}\n"
    "  force: {type: boolean, default: false}\n"
    "  pause: {type: duration, default: 30s}\n"
    "  ns: {type: namespace, default: default}\n"
    "  sel: {type: label-selector, required: false}\n"
    "  clusters: {type: kube-contexts, default: [a]}\n"
    "  sev: {type: string, default: SEV2, choices: [SEV1, SEV2]}\n"
)


def test_resolve_inputs_coerces_and_applies_defaults() -> None:
    got = resolve_inputs(RB, {"context": "prod", "size": "20", "ratio": "0.9", "force": "yes",
                              "clusters": "eu-1, eu-2", "sel": "app=web,tier notin (db)"})
    assert got == {"context": "prod", "size": 20, "ratio": 0.9, "force": True, "pause": "30s", "ns": "default",
                   "sel": "app=web,tier notin (db)", "clusters": ["eu-1", "eu-2"], "sev": "SEV2"}


@pytest.mark.parametrize(("given", "fragment"), [
    ({}, "missing required input 'context'"),
    ({"context": "c", "size": "500"}, "input 'size': must be <= 50, got 500"),
    ({"context": "c", "size": "ten"}, "input 'size': expected an integer, got 'ten'"),
    ({"context": "c", "force": "perhaps"}, "input 'force': expected true or false"),
    ({"context": "c", "pause": "soon"}, "input 'pause': not a duration"),
    ({"context": "c", "ns": "Bad_NS"}, "input 'ns': not a namespace name"),
    ({"context": "c", "sel": "app==("}, "input 'sel': not a label selector"),
    ({"context": "c", "sev": "SEV9"}, "input 'sev': expected one of SEV1, SEV2"),
    ({"context": "c", "szie": "1"}, "unknown input 'szie' (did you mean 'size'?)"),
])
def test_bad_inputs_name_the_input(given: dict[str, str], fragment: str) -> None:
    with pytest.raises(InputError) as info:
        resolve_inputs(RB, given)
    assert fragment in str(info.value)
    assert info.value.exit_code == 2


@pytest.mark.parametrize(("text", "ok"), [
    ("", True), ("app=web", True), ("app!=web,tier", True), ("!canary", True),
    ("env in (prod, staging),app", True), ("example.com/role=worker", True),
    ("app=", True), ("=web", False), ("app in prod", False), ("a,,b", False), ("app=(x", False),
])
def test_label_selector_syntax(text: str, ok: bool) -> None:
    assert valid_label_selector(text) is ok


def test_catalogue_matches_the_contract() -> None:
    assert set(CATALOGUE) == CONTRACT_VERBS
    destructive = {v for v, i in CATALOGUE.items() if i.destructive}
    assert destructive == {"drain", "evict", "delete", "removeThrottle", "deleteMachine", "revertChanges",
                           "disableDaemonSet"}


@pytest.mark.parametrize(("verb", "params", "cluster", "scope"), [
    ("cordon", {"names": ["n1", "n2"]}, False, "names: n1, n2"),
    ("cordon", {"selector": "pool=a"}, False, "selector: pool=a"),
    ("cordon", {"names": []}, False, None),
    ("cordon", {"selector": "  "}, False, None),
    ("cordon", {}, True, "cluster"),
    ("label", {"apiVersion": "v1", "kind": "Pod", "namespace": "web"}, False, "namespace: web"),
    ("apply", {"manifest": {"kind": "ConfigMap"}}, False, "manifest: ConfigMap"),
    ("revertChanges", {"fieldManager": "op", "since": "x"}, False, None),
    ("drain", {"names": [f"n{i}" for i in range(7)]}, False, "names: n0, n1, n2, n3, n4 (+2)"),
])
def test_scope_of(verb: str, params: dict[str, Any], cluster: bool, scope: str | None) -> None:
    assert scope_of(verb, params, cluster) == scope


def test_check_scoped_refuses_rendered_empty_targets() -> None:
    with pytest.raises(ScopeError, match="unscoped action 'evict'"):
        check_scoped("evict", {"namespace": "", "names": []})
    assert check_scoped("evict", {"namespace": "web"}) == "namespace: web"
    assert check_scoped("revertChanges", {"fieldManager": "op", "since": "x"}, cluster_scope=True) == "cluster"


def test_destructive_classification_and_runtime_params() -> None:
    assert is_destructive("scale", {"replicas": 0}) and not is_destructive("scale", {"replicas": 2})
    assert is_destructive("delete", {}) and not is_destructive("cordon", {})
    parsed = parse_params("drain", {"names": ["n1"]})
    assert parsed.model_dump()["timeout"] == "5m" and parsed.model_dump()["ignoreDaemonSets"] is True
    with pytest.raises(MitigateError, match="action scale: replicas"):
        parse_params("scale", {"namespace": "a", "name": "b", "replicas": -1})
    with pytest.raises(MitigateError, match="unknown action 'nuke'"):
        parse_params("nuke", {})
    with pytest.raises(MitigateError, match="only one of name, names, selector"):
        parse_params("delete", {"apiVersion": "v1", "kind": "Pod", "name": "a", "selector": "x=y"})
