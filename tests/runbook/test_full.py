"""The full-capability runbook loads and really uses every capability of the format."""

from __future__ import annotations

from typing import get_args

from mitigate.runbook.actions import CATALOGUE
from mitigate.runbook.loader import load_runbook, load_runbook_text, resolve_inputs
from mitigate.runbook.model import InputType, Runbook
from mitigate.runbook.templating import evaluate, render
from tests.runbook.helpers import FULL


def _load() -> Runbook:
    return load_runbook(FULL)


def test_every_step_kind_is_present() -> None:
    kinds = {s.kind for s in _load().steps}
    assert kinds == {"manual", "check", "action", "wait", "notify", "gate", "decision"}


def test_every_input_type_with_defaults_bounds_and_prompts() -> None:
    rb = _load()
    assert {i.type for i in rb.inputs.values()} == set(get_args(InputType))
    assert rb.inputs["batchSize"].minimum == 1 and rb.inputs["batchSize"].maximum == 100
    assert rb.inputs["context"].prompt and rb.inputs["context"].is_required
    assert rb.inputs["severity"].choices == ["SEV1", "SEV2", "SEV3"]
    assert rb.inputs["reason"].pattern


def test_checks_of_every_source_with_filters_and_columns() -> None:
    rb = _load()
    checks = [s.check for s in rb.steps if s.check is not None]
    assert any(c.kube for c in checks) and any(c.prometheus for c in checks) and any(c.http for c in checks)
    find = rb.step("find-notready")
    assert find.check is not None and find.check.where and find.check.expect and find.check.columns
    assert find.save == "notready"


def test_when_batches_multicontext_undo_scope_and_postmortem() -> None:
    rb = _load()
    assert rb.step("drain").when
    cordon = rb.step("cordon")
    assert cordon.batch is not None and cordon.batch.haltWhen and cordon.batch.gate and cordon.batch.pause
    assert isinstance(cordon.undo, dict) and "uncordon" in cordon.undo
    assert rb.step("drain").undo == "none" and rb.step("drain").destructive is True
    fan = rb.step("restart-proxies")
    assert fan.contexts and fan.concurrency == 2
    assert rb.step("relabel-everything").scope == "cluster"
    assert rb.step("verify").context
    notify = rb.step("announce").notify
    assert notify is not None and notify.status == "identified"
    pm = rb.postmortem
    assert pm.rootCausePrompts and pm.actionItems and pm.impactQuestions and pm.lessons
    verbs = {next(iter(s.action)) for s in rb.steps if s.action}
    assert verbs <= set(CATALOGUE) and len(verbs) >= 4


def test_inputs_resolve_and_templates_render_with_a_realistic_context() -> None:
    rb = _load()
    inputs = resolve_inputs(rb, {"context": "prod-eu", "batchSize": "20", "dryRun": "yes"})
    assert inputs["batchSize"] == 20 and inputs["dryRun"] is True and inputs["contexts"] == ["eu-1", "eu-2"]
    ready = {"metadata": {"name": "n1"}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    down = {"metadata": {"name": "n2"}, "status": {"conditions": [{"type": "Ready", "status": "False"}]}}
    ctx = {"inputs": inputs, "items": [ready, down], "count": 2, "saved": {"notready": {"names": ["n2"]}}}
    cordon = rb.step("cordon")
    assert cordon.batch is not None and cordon.batch.gate is not None
    assert evaluate(cordon.batch.gate.until, ctx) is False  # 1 of 2 ready < 0.95
    assert render(cordon.action, ctx) == {"cordon": {"names": ["n2"]}}
    assert render(cordon.batch.size, ctx) == 20


def test_params_named_like_expressions_are_not_expressions() -> None:
    rb = load_runbook_text(
        "apiVersion: mitigate/v1\nkind: Runbook\nmetadata: {name: t, title: T, source: s}\nsteps:\n"
        "  - id: revert\n    scope: cluster\n    action:\n      revertChanges:\n"
        "        fieldManager: op\n        since: 2024-02-13T10:00:00Z\n        until: 2024-02-13T11:00:00Z\n"
        "  - id: list\n    check:\n      kube: {apiVersion: v1, kind: Pod}\n      columns: {when: age, where: node}\n")
    assert rb.steps[0].action == {"revertChanges": {"fieldManager": "op", "since": "2024-02-13T10:00:00Z",
                                                    "until": "2024-02-13T11:00:00Z"}}
