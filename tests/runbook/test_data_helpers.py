"""Expressions over real cluster data: optional fields, predicates, joins, container states,
JMESPath, templated mapping keys; and the loader messages that say how to fix a runbook."""

from __future__ import annotations

from typing import Any

import pytest

from mitigate.errors import LocatedErrors
from mitigate.runbook.loader import load_runbook_text
from mitigate.runbook.templating import TemplateError, evaluate, render

HOOKS = [
    {"metadata": {"name": "policy"}, "webhooks": [
        {"name": "pods.policy.example", "clientConfig": {"service": {"namespace": "policy", "name": "gate"}}},
        {"name": "svc.policy.example", "failurePolicy": "Ignore",
         "clientConfig": {"service": {"namespace": "policy", "name": "gate"}}}]},
    {"metadata": {"name": "certs"}, "webhooks": [
        {"name": "certs.example", "failurePolicy": "Fail", "clientConfig": {"url": "https://x"}}]},
    {"metadata": {"name": "mesh"}, "webhooks": [
        {"name": "inject.mesh", "failurePolicy": "Fail",
         "clientConfig": {"service": {"namespace": "mesh", "name": "injector"}}}]},
]
ENDPOINTS = [
    {"metadata": {"namespace": "policy", "name": "gate"}, "subsets": []},
    {"metadata": {"namespace": "mesh", "name": "injector"}, "subsets": [{"addresses": [{"ip": "10.0.0.1"}]}]},
]
POD = {"metadata": {"name": "p", "namespace": "shop"}, "status": {
    "initContainerStatuses": [{"name": "init", "ready": True, "restartCount": 0,
                               "state": {"terminated": {"reason": "Completed", "exitCode": 0}}}],
    "containerStatuses": [
        {"name": "app", "ready": False, "restartCount": 7, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
         "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}},
        {"name": "sidecar", "ready": True, "restartCount": 1, "state": {"running": {}}}]}}


def ev(expr: str, **ctx: Any) -> Any:
    return evaluate(expr, {"hooks": HOOKS, "eps": ENDPOINTS, "pod": POD, **ctx})


def test_get_reads_optional_nested_fields_with_a_default() -> None:
    # the filter that raises under StrictUndefined with selectattr('failurePolicy') works with get
    assert ev("hooks | map(attribute='webhooks') | sum(start=[]) "
              "| map('get', 'failurePolicy', 'Fail') | list") == ["Fail", "Ignore", "Fail", "Fail"]
    assert ev("get(pod, 'status.containerStatuses[0].lastState.terminated.reason')") == "OOMKilled"
    assert ev("get(pod, 'spec.template.spec.nodeSelector', {})") == {}
    assert ev("pod | get('metadata.labels[\"app.kubernetes.io/name\"]', 'none')") == "none"
    assert ev("get(pod, ['metadata', 'name'])") == "p"
    assert ev("has(pod, 'status.containerStatuses.1.state.running')") is True
    assert ev("has(pod, 'spec')") is False
    with pytest.raises(TemplateError):
        ev("hooks | selectattr('failurePolicy', 'equalto', 'Fail') | list")  # why get exists


def test_any_all_where_take_an_expression_or_a_helper() -> None:
    webhooks = ev("hooks | unnest('webhooks') | map(attribute='item') | list")
    assert ev("w | any(\"get(item, 'failurePolicy', 'Fail') == 'Ignore'\")", w=webhooks) is True
    assert ev("w | all(\"has(item, 'clientConfig')\")", w=webhooks) is True
    assert ev("w | all(\"get(item, 'failurePolicy') == 'Fail'\")", w=webhooks) is False
    assert ev("[] | all('item.x')") is True and ev("[] | any('item.x')") is False
    nodes = [{"status": {"conditions": [{"type": "Ready", "status": "True"}]}}, {"status": {}}]
    assert ev("n | any(is_ready)", n=nodes) and not ev("n | all(is_ready)", n=nodes)
    # the predicate sees the rest of the context (inputs etc.)
    assert ev("w | where(\"get(item, 'failurePolicy', 'Fail') == inputs.policy\") | map(attribute='name') | list",
              w=webhooks, inputs={"policy": "Ignore"}) == ["svc.policy.example"]
    with pytest.raises(TemplateError, match="predicate"):
        ev("hooks | any(3)")


def test_unnest_keeps_parent_and_index_for_per_element_patches() -> None:
    rows = ev("hooks | unnest('webhooks')")
    assert [(r["parent"]["metadata"]["name"], r["index"]) for r in rows] == [
        ("policy", 0), ("policy", 1), ("certs", 0), ("mesh", 0)]


def test_join_services_with_endpoints() -> None:
    rows = ev("hooks | unnest('webhooks') | where(\"has(item.item, 'clientConfig.service')\") | list")
    keys = (["item.clientConfig.service.namespace", "item.clientConfig.service.name"],
            ["metadata.namespace", "metadata.name"])
    inner = ev("join_on(rows, eps, k[0], k[1])", rows=rows, k=keys)
    assert [(j["left"]["item"]["name"], j["right"]["metadata"]["name"]) for j in inner] == [
        ("pods.policy.example", "gate"), ("svc.policy.example", "gate"), ("inject.mesh", "injector")]
    # webhooks whose service has no ready address: join with only the endpoints that have one
    ready = ev("eps | where(\"get(item, 'subsets', []) | map(attribute='addresses') | sum(start=[]) | length\")"
               " | list")
    dead = ev("join_on(rows, ready, k[0], k[1], how='anti')", rows=rows, ready=ready, k=keys)
    assert [d["item"]["name"] for d in dead] == ["pods.policy.example", "svc.policy.example"]
    left = ev("join_on(rows, ready, k[0], k[1], how='left')", rows=rows, ready=ready, k=keys)
    assert [j["right"] is None for j in left] == [True, True, False]
    assert ev("index_by(eps, ref) | list") == ["policy/gate", "mesh/injector"]
    with pytest.raises(TemplateError, match="how is"):
        ev("join_on(hooks, eps, 'metadata.name', how='outer')")


def test_container_state_helpers() -> None:
    states = ev("container_states(pod)")
    assert [(s["name"], s["state"], s["init"]) for s in states] == [
        ("init", "terminated", True), ("app", "waiting", False), ("sidecar", "running", False)]
    assert ev("pod | waiting_reason") == "CrashLoopBackOff"
    assert ev("restart_count(pod)") == 8 and ev("restart_count(pod, 'app')") == 7
    assert ev("last_exit_code(pod)") == 137 and ev("last_termination_reason(pod)") == "OOMKilled"
    assert ev("waiting_reason({'status': {}})") is None


def test_jmespath_projection() -> None:
    assert ev("jmes(hooks, \"[].webhooks[?failurePolicy=='Fail'][].name\")") == ["certs.example", "inject.mesh"]
    with pytest.raises(TemplateError, match="bad JMESPath"):
        ev("jmes(hooks, '[?')")


def test_templated_mapping_keys_render() -> None:
    ctx = {"inputs": {"label": "node.example.com/pool", "value": "gpu"}}
    body = {"metadata": {"labels": {"{{ inputs.label }}": "{{ inputs.value }}", "plain": "x"}}}
    assert render(body, ctx) == {"metadata": {"labels": {"node.example.com/pool": "gpu", "plain": "x"}}}
    with pytest.raises(TemplateError, match="already has"):
        render({"{{ inputs.value }}": 1, "gpu": 2}, ctx)
    with pytest.raises(TemplateError, match="not a string"):
        render({"{{ [1] }}": 1}, ctx)


HEAD = """apiVersion: mitigate/v1
kind: Runbook
metadata: {name: t, title: T, source: test}
inputs:
  context: {type: kube-context}
  label: {type: string, default: pool}
steps:
"""


def errors(steps: str) -> list[str]:
    with pytest.raises(LocatedErrors) as info:
        load_runbook_text(HEAD + steps, "rb.yaml")
    return [str(e) for e in info.value.errors]


def test_templated_key_is_checked_at_load_time() -> None:
    found = errors("""  - id: a
    action:
      label: {apiVersion: v1, kind: Node, names: [n1], labels: {"{{ inputs.lable }}": "true"}}
""")
    assert any("undeclared input 'lable' (did you mean 'label'?)" in e for e in found), found


def test_comma_in_unquoted_flow_value_suggests_quoting() -> None:
    found = errors("""  - id: a
    check: {kube: {apiVersion: v1, kind: Pod}, expect: count == 0, columns: {Why: x}}
  - id: b
    wait: {until: count == 0, timeout: 10m, interval: failed (timeout, connection refused)}
""")
    assert any(":11:" in e and "unknown key 'connection refused)'" in e and "quote the value" in e
               and '"failed (timeout, connection refused)"' in e for e in found), found


def test_names_on_a_one_name_verb_says_how_to_iterate() -> None:
    found = errors("""  - id: a
    action:
      relaxThrottle: {names: [a, b], nominalConcurrencyShares: 5}
""")
    assert any("relaxThrottle takes one name" in e and "forEach" in e for e in found), found


def test_batch_param_must_be_a_list_parameter_of_the_verb() -> None:
    found = errors("""  - id: a
    action:
      evict: {namespace: shop, names: [a, b]}
    batch: {size: 1, param: namespace}
""")
    assert any("batch param 'namespace' takes one value in evict, not a list" in e
               and "evict takes lists in: names" in e for e in found), found
    found = errors("""  - id: a
    action:
      relaxThrottle: {name: x, nominalConcurrencyShares: 5}
    batch: {size: 1}
""")
    assert any("relaxThrottle has no list parameter: use forEach" in e for e in found), found


def test_verbs_accept_names_selector_and_objects_at_load_time() -> None:
    verbs = [("scale", ", replicas: 1"), ("rolloutRestart", ""), ("rolloutUndo", ""),
             ("setResources", ", container: app, limits: {cpu: '1'}"), ("disableDaemonSet", "")]
    scopes = ("selector: tier=web", "names: [a/web, b/web]", "names: \"{{ steps['find'].items }}\"")
    combos = [(v, e, s) for v, e in verbs for s in scopes]
    text = HEAD + """  - id: find
    check: {kube: {apiVersion: apps/v1, kind: Deployment}}
""" + "".join(f"""  - id: s{i}
    action:
      {verb}: {{{scope}{extra}}}
""" for i, (verb, extra, scope) in enumerate(combos))
    rb = load_runbook_text(text, "rb.yaml")
    assert len(rb.steps) == 1 + len(combos)
