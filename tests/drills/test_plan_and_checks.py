"""Each runbook's read-only checks find its incident and nothing on the same cluster without it,
and ``mitigate run --plan`` sends no mutating request (asserted from the sandbox request log)."""

from __future__ import annotations

from pathlib import Path

import pytest

from integrations.config import IntegrationsConfig
from integrations.kube import KubeCluster
from integrations.probes import build_prober
from integrations.sandbox import Sandbox
from mitigate.cli import main
from mitigate.cli.drill import expand, prepare
from mitigate.engine import IncidentMeta, PlanOnly, Ports, Session
from mitigate.journal import Journal

from .helpers import DIAGNOSIS, DRILLS, drill, healthy


def _diagnosis(sb: Sandbox, name: str, root: Path) -> dict[str, bool]:
    prepared = prepare(sb, name)
    prepared.warm_up()
    book, inputs = prepared.runbook, prepared.inputs
    journal = Journal.create(root, title="plan")
    try:
        ports = Ports(cluster=KubeCluster.from_kubeconfig(sb.kubeconfig), confirmer=PlanOnly(),
                      probes=build_prober(IntegrationsConfig.model_validate({})))
        Session.start(book, inputs, journal, ports, meta=IncidentMeta(title="plan")).plan_all()
        # find-touched is a listing without expectation: what it found is its count
        return {r.data["step"]: bool(r.data["count"] if r.data["step"] == "find-touched" else r.data["ok"])
                for r in journal.records() if r.type == "check.result" and r.data["step"] in DIAGNOSIS[name]}
    finally:
        journal.close()


@pytest.mark.parametrize("name", DRILLS)
def test_checks_find_the_incident_and_plan_changes_nothing(name: str, tmp_path: Path) -> None:
    with Sandbox.start(drill(name)) as sb:
        results = _diagnosis(sb, name, tmp_path)
        assert set(results) == set(DIAGNOSIS[name])
        assert all(results.values()), results
        sb.clear_request_log()
        args = ["--journal-dir", str(tmp_path / "j"), "run", name, "--plan", "--kubeconfig", str(sb.kubeconfig)]
        for key, value in (sb.scenario.drill or {}).get("inputs", {}).items():
            args += ["--input", f"{key}={expand(str(value), sb)}"]
        if name != "revert-unscoped-changes":
            args += ["--context", sb.contexts[0]]
        assert main(args) == 0
        log = sb.request_log
        assert log, "the plan read the cluster"
        assert not [e for e in log if e.mutating and not e.dry_run], [e for e in log if e.mutating][:5]
        assert not sb.health(sb.contexts[0]).ok, "planning must not mitigate anything"


@pytest.mark.parametrize("name", DRILLS)
def test_checks_report_nothing_on_a_healthy_cluster(name: str, tmp_path: Path) -> None:
    with Sandbox.start(healthy(name)) as sb:
        results = _diagnosis(sb, name, tmp_path)
        assert set(results) == set(DIAGNOSIS[name])
        assert not any(results.values()), results
