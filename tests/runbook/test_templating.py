"""Templating: native rendering, strictness, sandboxing and the Kubernetes-aware helpers."""

from __future__ import annotations

from typing import Any

import pytest

from mitigate.runbook import templating as t
from mitigate.runbook.templating import TemplateError, compile_expression, evaluate, render


def node(name: str, ready: str | None, *, created: str = "2024-02-13T10:00:00Z", **extra: Any) -> dict[str, Any]:
    conds = [] if ready is None else [{"type": "Ready", "status": ready}, {"type": "DiskPressure", "status": "False"}]
    return {"metadata": {"name": name, "creationTimestamp": created, **extra}, "status": {"conditions": conds}}


def test_single_expression_renders_native_values_and_text_stays_text() -> None:
    ctx = {"xs": ["a", "10"], "n": 3, "name": "10"}
    assert render("{{ xs }}", ctx) == ["a", "10"]
    assert render(" {{ n * 2 }} ", ctx) == 6
    assert render("{{ name }}", ctx) == "10"  # a string that looks like a number stays a string
    assert render("n={{ n }}", ctx) == "n=3"
    assert render({"a": ["{{ n }}", "plain"], "b": 1}, ctx) == {"a": [3, "plain"], "b": 1}


def test_strict_undefined_and_sandbox_raise_template_errors_naming_the_expression() -> None:
    with pytest.raises(TemplateError, match=r"expression 'inputs.batchsize': .*batchsize"):
        evaluate("inputs.batchsize", {"inputs": {"batchSize": 1}})
    with pytest.raises(TemplateError, match="unsafe"):
        evaluate("x.__class__.__mro__", {"x": 1})
    with pytest.raises(TemplateError, match="template 'hi {{ who }}'"):
        render("hi {{ who }}", {})
    with pytest.raises(TemplateError, match="expression 'a b'"):
        compile_expression("a b")
    with pytest.raises(TemplateError, match="not a single expression"):
        compile_expression("a }}{{ b")


def test_runaway_arithmetic_is_refused() -> None:
    with pytest.raises(TemplateError, match="too large"):
        evaluate("10 ** n", {"n": 10**9})
    with pytest.raises(TemplateError, match="repetition"):
        render("{{ 'x' * n }}", {"n": 10**9})
    assert evaluate("2 ** 10 + 3 * 4", {}) == 1036 and evaluate("[0] * 3", {}) == [0, 0, 0]


def test_compiled_expression_is_cached_and_reusable() -> None:
    f = compile_expression("item | is_ready")
    assert compile_expression("item | is_ready") is f
    nodes = [node(f"n{i}", "True" if i % 3 else "False") for i in range(30)]
    assert sum(bool(f({"item": n})) for n in nodes) == 20


def test_readiness_and_conditions() -> None:
    assert t.is_ready(node("a", "True")) and not t.is_ready(node("b", "Unknown")) and not t.is_ready({})
    assert t.condition(node("a", "False"), "Ready") == {"type": "Ready", "status": "False"}
    assert t.condition(node("a", None), "Ready") is None
    assert t.condition_status(node("a", "Unknown"), "Ready") == "Unknown"
    assert t.condition_status(node("a", "True"), "DiskPressure") == "False"
    assert evaluate("count_if(nodes, is_ready)", {"nodes": [node("a", "True"), node("b", "False")]}) == 1
    assert evaluate("nodes | count_if", {"nodes": [1, 2, 3]}) == 3
    assert evaluate("names(nodes | selectattr('metadata.name', 'ne', 'a') | list)",
                    {"nodes": [node("a", "True"), node("b", "False")]}) == ["b"]
    with pytest.raises(TemplateError, match="predicate"):
        evaluate("count_if(nodes, 'x')", {"nodes": [1]})


def test_age_uses_now_from_the_context() -> None:
    ctx = {"item": node("a", "True", created="2024-02-13T10:00:00Z"), "now": "2024-02-13T11:30:00+00:00"}
    assert evaluate("age(item)", ctx) == 5400
    assert evaluate("age(item) > duration('1h')", ctx) is True
    with pytest.raises(TemplateError, match="creationTimestamp"):
        evaluate("age(item)", {"item": {}})


def test_owner_labels_restarts_node_of() -> None:
    pod = {
        "metadata": {"name": "p", "labels": {"app": "web"}, "ownerReferences": [
            {"kind": "Node", "name": "n1"}, {"kind": "ReplicaSet", "name": "web-1", "controller": True}]},
        "spec": {"nodeName": "n1"},
        "status": {"containerStatuses": [{"restartCount": 2}, {"restartCount": 5}],
                   "initContainerStatuses": [{"restartCount": 1}]},
    }
    assert t.owner(pod) == "ReplicaSet/web-1" and t.owner({"metadata": {}}) is None
    assert t.labels(pod) == {"app": "web"} and t.labels({}) == {}
    assert t.restarts(pod) == 8 and t.node_of(pod) == "n1" and t.node_of({}) is None
    assert evaluate("item | restarts > 5 and (item | owner).startswith('ReplicaSet/')", {"item": pod})


def test_last_termination_reason_is_the_most_recent() -> None:
    pod = {"status": {"containerStatuses": [
        {"lastState": {"terminated": {"reason": "Error", "finishedAt": "2024-02-13T10:00:00Z"}}},
        {"lastState": {"terminated": {"reason": "OOMKilled", "finishedAt": "2024-02-13T10:05:00Z"}},
         "state": {"running": {}}},
    ]}}
    assert t.last_termination_reason(pod) == "OOMKilled"
    assert t.last_termination_reason({"status": {"containerStatuses": [{"state": {"running": {}}}]}}) is None
    assert evaluate("item | last_termination_reason == 'OOMKilled'", {"item": pod})


def test_managed_by_window_and_managers() -> None:
    obj = {"metadata": {"managedFields": [
        {"manager": "kubectl", "time": "2024-02-13T09:00:00Z"},
        {"manager": "rogue-operator", "time": "2024-02-13T10:15:00Z"},
        {"manager": "rogue-operator", "time": "2024-02-13T12:00:00Z"},
    ]}}
    assert t.managers(obj) == ["kubectl", "rogue-operator"]
    assert t.managed_by(obj, "rogue-operator") and not t.managed_by(obj, "helm")
    assert t.managed_by(obj, "rogue-operator", "2024-02-13T10:00:00Z", "2024-02-13T10:30:00Z")
    assert not t.managed_by(obj, "kubectl", since="2024-02-13T10:00:00Z")
    assert not t.managed_by(obj, "rogue-operator", "2024-02-13T10:30:00Z", "2024-02-13T11:00:00Z")
    assert evaluate("managed_by(item, 'rogue-operator', since=now)", {"item": obj, "now": "2024-02-13T11:00:00Z"})
    with pytest.raises(TemplateError, match="RFC 3339"):
        t.managed_by(obj, "kubectl", since="yesterday")


@pytest.mark.parametrize(("text", "value"), [
    ("500m", 0.5), ("2", 2.0), ("1Ki", 1024.0), ("1.5Gi", 1.5 * 2**30), ("128974848", 128974848.0),
    ("129M", 129e6), ("1e3", 1000.0), ("100n", 1e-7), (4, 4.0),
])
def test_quantity(text: Any, value: float) -> None:
    assert t.quantity(text) == pytest.approx(value)


def test_quantity_and_duration_reject_nonsense() -> None:
    with pytest.raises(TemplateError, match="quantity"):
        t.quantity("1 GB")
    with pytest.raises(TemplateError, match="duration"):
        t.duration("soon")
    assert t.duration("1h30m") == 5400 and t.duration("250ms") == 0.25


def test_helpers_are_filters_and_functions() -> None:
    for name in t.HELPERS:
        assert name in t.ENV.filters and name in t.ENV.globals


def test_colocated_names_every_pod_after_the_first_on_a_node() -> None:
    pods = [{"metadata": {"name": n}, "spec": {"nodeName": node} if node else {}}
            for n, node in [("a", "n1"), ("b", "n2"), ("c", "n1"), ("d", None), ("e", "n1")]]
    assert t.evaluate("items | colocated", {"items": pods}) == ["c", "e"]
    assert t.evaluate("items | colocated", {"items": pods[:2]}) == []


def test_node_users_are_the_kubelet_identities() -> None:
    assert t.evaluate("names | node_users", {"names": ["n1", "n2"]}) == ["system:node:n1", "system:node:n2"]


def test_colocated_keeps_the_first_pod_per_node_and_node_users() -> None:
    def pod(name: str, node_name: str | None) -> dict[str, Any]:
        return {"metadata": {"name": name}, "spec": {"nodeName": node_name} if node_name else {}}

    pods = [pod("a", "n1"), pod("b", "n2"), pod("c", "n1"), pod("d", None), pod("e", "n1")]
    assert t.colocated(pods) == ["c", "e"]
    assert evaluate("items | colocated | length", {"items": pods}) == 2
    assert t.node_users(["n1", {"metadata": {"name": "n2"}}]) == ["system:node:n1", "system:node:n2"]
