"""Load-time checks of forEach, http and command steps: located, one line, saying what to do."""

from __future__ import annotations

import pytest

from mitigate.errors import LocatedErrors
from mitigate.runbook.loader import load_runbook_text

HEAD = """apiVersion: mitigate/v1
kind: Runbook
metadata: {name: t, title: T, source: test}
inputs:
  context: {type: kube-context}
steps:
"""


def errors(steps: str) -> list[str]:
    with pytest.raises(LocatedErrors) as info:
        load_runbook_text(HEAD + steps, "rb.yaml")
    return [str(e) for e in info.value.errors]


@pytest.mark.parametrize(("steps", "fragment"), [
    ("  - id: a\n    forEach: [x]\n    manual: do it\n", "forEach applies to action, http, command steps, not manual"),
    ("  - id: a\n    forEach: not-a-template\n    action: {cordon: {names: ['{{ item }}']}}\n",
     "forEach is a list or a '{{ ... }}' template"),
    ("  - id: a\n    forEach: [x]\n    batch: {param: names}\n    action: {cordon: {names: ['{{ item }}']}}\n",
     "batches are cut from the forEach items"),
    ("  - id: a\n    itemKey: '{{ item }}'\n    action: {cordon: {names: [n1]}}\n", "itemKey needs forEach"),
    ("  - id: a\n    forEach: [x]\n    undo: {uncordon: {names: [n1]}}\n    action: {cordon: {names: ['{{ item }}']}}\n",
     "each item's undo is what its verb reports"),
    ("  - id: a\n    http: {url: 'ftp://x'}\n", "not an http(s) URL"),
    ("  - id: a\n    http: {url: 'https://x', headers: {Authorization: 'Bearer abc'}}\n",
     "would put a credential in the runbook: use auth: {secret: NAME}"),
    ("  - id: a\n    http: {url: 'https://x', auth: {secret: 'bad name'}}\n", "auth.secret"),
    ("  - id: a\n    command: {argv: []}\n", "argv"),
    ("  - id: a\n    command: {argv: [ls], env: {'1X': y}}\n", "not an environment variable name"),
    ("  - id: a\n    command: {argv: ['{{ inputs.prog }}']}\n", "undeclared input 'prog'"),
])
def test_bad_step_kinds_are_located(steps: str, fragment: str) -> None:
    found = errors(steps)
    assert any(fragment in e and e.startswith("rb.yaml:") for e in found), found


def test_good_foreach_http_command_steps_load() -> None:
    rb = load_runbook_text(HEAD + """  - id: find
    check: {kube: {apiVersion: v1, kind: Node}}
  - id: each
    forEach: "{{ steps['find'].items }}"
    itemKey: "{{ item.metadata.name }}"
    batch: {size: 2, pause: 1s}
    action:
      label: {apiVersion: v1, kind: Node, names: ["{{ item | ref }}"], labels: {"{{ item.metadata.name }}": "x"}}
  - id: call
    forEach: [a, b]
    http:
      url: "https://api.example/{{ item }}"
      json: {name: "{{ item }}"}
      auth: {secret: vendor-token}
      undo: {method: DELETE, url: "https://api.example/{{ response.json.id }}"}
  - id: run
    command: {argv: [echo, "{{ inputs.context }}"], undo: {argv: [echo, undo]}}
""", "rb.yaml")
    assert [s.kind for s in rb.steps] == ["check", "action", "http", "command"]
