"""The batch, autoscaling and v1 replication controllers, through the official client and
kubectl 1.35: Jobs run pods to completion or fail past their backoff limit, CronJobs create
Jobs for the schedule they missed, ReplicationControllers keep their replicas, the HPA reads the
scenario's pod metrics and scales its target within min/max; and the controller loop itself."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from integrations.sandbox import Sandbox, cron
from tests.kubectl import kubectl_path, run_kubectl

from .helpers import SCENARIOS, wait_for

NEVER = {"restartPolicy": "Never", "containers": [{"name": "c", "image": "batch/ok:1"}]}


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    sandbox = Sandbox.start(SCENARIOS / "controllers.yaml")
    yield sandbox
    sandbox.stop()


@pytest.fixture(scope="module")
def api(sb: Sandbox) -> Iterator[Any]:
    c = config.new_client_from_config(str(sb.kubeconfig), context="sandbox")
    yield c
    c.close()


def _job(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name}, "spec": spec}


def _conditions(obj: Any) -> dict[str, tuple[str, str]]:
    return {c.type: (c.status, c.reason or "") for c in (obj.status and obj.status.conditions) or []}


def test_job_runs_its_pods_to_completion(api: Any, sb: Sandbox) -> None:
    batch = client.BatchV1Api(api)
    made = batch.create_namespaced_job("shop", _job("ok", {"completions": 3, "parallelism": 2,
                                                           "template": {"spec": NEVER}}))
    uid = made.metadata.uid
    assert made.spec.selector.match_labels == {"batch.kubernetes.io/controller-uid": uid}
    assert made.spec.template.metadata.labels["batch.kubernetes.io/job-name"] == "ok"
    assert made.spec.backoff_limit == 6 and made.spec.completion_mode == "NonIndexed"
    st = sb.cluster()
    most = 0

    def done() -> Any:
        nonlocal most
        running = [p for p in st.list("pods", "shop") if (p["metadata"].get("labels") or {}).get("job-name") == "ok"
                   and p["status"].get("phase") == "Running"]
        most = max(most, len(running))
        job = batch.read_namespaced_job("ok", "shop")
        return job if _conditions(job).get("Complete") == ("True", "CompletionsReached") else None

    job = wait_for(done, 15, "job ok complete")
    assert most <= 2  # parallelism
    assert job.status.succeeded == 3 and not job.status.failed and not job.status.active
    assert _conditions(job)["SuccessCriteriaMet"] == ("True", "CompletionsReached")
    assert job.status.completion_time and job.status.start_time and job.status.ready == 0
    pods = client.CoreV1Api(api).list_namespaced_pod("shop", label_selector="batch.kubernetes.io/job-name=ok").items
    assert len(pods) == 3 and {p.status.phase for p in pods} == {"Succeeded"}
    assert all(p.metadata.owner_references[0].uid == uid and p.metadata.name.startswith("ok-") for p in pods)
    term = pods[0].status.container_statuses[0].state.terminated
    assert (term.exit_code, term.reason) == (0, "Completed")
    reasons = [e.reason for e in client.CoreV1Api(api).list_namespaced_event(
        "shop", field_selector=f"involvedObject.uid={uid}").items]
    assert reasons.count("SuccessfulCreate") == 3 and "Completed" in reasons


def test_indexed_job_runs_each_index_once(api: Any) -> None:
    batch, core = client.BatchV1Api(api), client.CoreV1Api(api)
    batch.create_namespaced_job("shop", _job("shards", {"completions": 3, "parallelism": 3,
                                                        "completionMode": "Indexed", "template": {"spec": NEVER}}))
    job = wait_for(lambda: (j := batch.read_namespaced_job("shards", "shop")) and "Complete" in _conditions(j) and j,
                   15, "shards complete")
    assert job.status.succeeded == 3 and job.status.completed_indexes == "0-2"
    pods = core.list_namespaced_pod("shop", label_selector="job-name=shards").items
    index = "batch.kubernetes.io/job-completion-index"
    assert sorted(p.metadata.annotations[index] for p in pods) == ["0", "1", "2"]
    assert all(p.metadata.labels[index] == p.metadata.annotations[index] for p in pods)
    assert all(p.spec.hostname == f"shards-{p.metadata.annotations[index]}" and
               p.metadata.name.startswith(f"shards-{p.metadata.annotations[index]}-") for p in pods)
    env = pods[0].spec.containers[0].env[-1]
    assert env.name == "JOB_COMPLETION_INDEX" and index in env.value_from.field_ref.field_path
    with pytest.raises(ApiException) as e:
        batch.create_namespaced_job("shop", _job("nocount", {"completionMode": "Indexed", "parallelism": 2,
                                                            "template": {"spec": NEVER}}))
    assert e.value.status == 422 and "spec.completions: Required value: when completion mode is Indexed" in \
        e.value.body


def test_job_fails_past_its_backoff_limit(api: Any) -> None:
    batch = client.BatchV1Api(api)
    batch.create_namespaced_job("shop", _job("bad", {"backoffLimit": 1, "template": {"spec": {
        "restartPolicy": "Never", "containers": [{"name": "c", "image": "batch/fails:1"}]}}}))
    job = wait_for(lambda: (j := batch.read_namespaced_job("bad", "shop")) and "Failed" in _conditions(j) and j,
                   15, "job bad failed")
    assert _conditions(job)["Failed"] == ("True", "BackoffLimitExceeded")
    assert _conditions(job)["FailureTarget"] == ("True", "BackoffLimitExceeded")
    assert job.status.failed == 2 and not job.status.succeeded and not job.status.completion_time
    pods = client.CoreV1Api(api).list_namespaced_pod("shop", label_selector="job-name=bad").items
    assert {p.status.phase for p in pods} == {"Failed"}
    assert pods[0].status.container_statuses[0].state.terminated.exit_code == 3


def test_job_on_failure_counts_restarts_and_suspend_holds_pods(api: Any, sb: Sandbox) -> None:
    batch = client.BatchV1Api(api)
    batch.create_namespaced_job("shop", _job("loop", {"backoffLimit": 2, "template": {"spec": {
        "restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "batch/fails:2"}]}}}))
    job = wait_for(lambda: (j := batch.read_namespaced_job("loop", "shop")) and "Failed" in _conditions(j) and j,
                   20, "job loop failed")
    assert _conditions(job)["Failed"] == ("True", "BackoffLimitExceeded")
    assert not client.CoreV1Api(api).list_namespaced_pod("shop", label_selector="job-name=loop").items or all(
        p.metadata.deletion_timestamp for p in client.CoreV1Api(api).list_namespaced_pod(
            "shop", label_selector="job-name=loop").items)  # the active pod was deleted

    batch.create_namespaced_job("shop", _job("held", {"suspend": True, "template": {"spec": NEVER}}))
    job = wait_for(lambda: (j := batch.read_namespaced_job("held", "shop")) and "Suspended" in _conditions(j) and j,
                   10, "job held suspended")
    assert _conditions(job)["Suspended"] == ("True", "JobSuspended") and not job.status.start_time
    assert not sb.cluster().list("pods", "shop", lambda p: (p["metadata"].get("labels") or {}).get("job-name")
                                 == "held")
    batch.patch_namespaced_job("held", "shop", {"spec": {"suspend": False}})
    job = wait_for(lambda: (j := batch.read_namespaced_job("held", "shop")) and "Complete" in _conditions(j) and j,
                   15, "job held complete")
    assert _conditions(job)["Suspended"] == ("False", "JobResumed") and job.status.succeeded == 1


def test_finished_job_goes_after_its_ttl(api: Any) -> None:
    batch = client.BatchV1Api(api)
    batch.create_namespaced_job("shop", _job("brief", {"ttlSecondsAfterFinished": 2, "template": {"spec": NEVER}}))
    job = wait_for(lambda: (j := batch.read_namespaced_job("brief", "shop")) and "Complete" in _conditions(j) and j,
                   10, "brief complete")
    finished_at = next(c.last_transition_time for c in job.status.conditions if c.type == "Complete").timestamp()

    def gone() -> bool:
        try:
            batch.read_namespaced_job("brief", "shop")
        except ApiException as e:
            return e.status == 404
        return False

    wait_for(gone, 10, "brief deleted")
    assert time.time() - finished_at >= 1.0  # not at once: ttlSecondsAfterFinished (2 s) after it finished
    wait_for(lambda: not client.CoreV1Api(api).list_namespaced_pod("shop", label_selector="job-name=brief").items,
             10, "its pods deleted")


def test_job_template_must_not_restart_always(api: Any) -> None:
    with pytest.raises(ApiException) as e:
        client.BatchV1Api(api).create_namespaced_job("shop", _job("always", {"template": {"spec": {
            "containers": [{"name": "c", "image": "x"}]}}}))
    assert e.value.status == 422
    assert 'spec.template.spec.restartPolicy: Unsupported value: \\"Always\\": supported values: \\"OnFailure\\", ' \
           '\\"Never\\"' in e.value.body


def test_cronjob_creates_the_job_it_missed(api: Any, sb: Sandbox) -> None:
    batch = client.BatchV1Api(api)
    cj = wait_for(lambda: (c := batch.read_namespaced_cron_job("nightly", "shop")) and c.status.last_schedule_time
                  and c, 10, "nightly scheduled")
    at = cj.status.last_schedule_time
    now = datetime.now(UTC)
    assert at.minute % 5 == 0 and at.second == 0 and 0 <= (now - at).total_seconds() < 300
    name = f"nightly-{int(at.timestamp()) // 60}"
    job = batch.read_namespaced_job(name, "shop")
    assert job.metadata.owner_references[0].kind == "CronJob" and job.metadata.owner_references[0].uid == \
        cj.metadata.uid
    assert job.metadata.annotations["batch.kubernetes.io/cronjob-scheduled-timestamp"] == \
        at.strftime("%Y-%m-%dT%H:%M:%SZ")
    cj = wait_for(lambda: (c := batch.read_namespaced_cron_job("nightly", "shop")) and c.status.last_successful_time
                  and c, 15, "nightly succeeded")
    assert not cj.status.active
    assert len([j for j in batch.list_namespaced_job("shop").items if j.metadata.name.startswith("nightly-")]) == 1
    with pytest.raises(ApiException) as e:
        batch.create_namespaced_cron_job("shop", {"apiVersion": "batch/v1", "kind": "CronJob",
                                                  "metadata": {"name": "bad"}, "spec": {
                                                      "schedule": "61 * * * *",
                                                      "jobTemplate": {"spec": {"template": {"spec": NEVER}}}}})
    assert e.value.status == 422 and "end of range (61) above maximum (59): 61" in e.value.body


def test_cron_schedules() -> None:
    t = datetime(2026, 12, 2, 0, 3, tzinfo=UTC)  # a Wednesday
    assert cron.parse("*/5 * * * *").next_after(t) == datetime(2026, 12, 2, 0, 5, tzinfo=UTC)
    assert cron.parse("30 2 * * mon-fri").next_after(t) == datetime(2026, 12, 2, 2, 30, tzinfo=UTC)
    assert cron.parse("@monthly").next_after(t) == datetime(2027, 1, 1, tzinfo=UTC)
    assert cron.parse("0 9 13 * fri").next_after(t) == datetime(2026, 12, 4, 9, tzinfo=UTC)  # day OR weekday
    assert cron.parse("0 0 29 feb *").next_after(t) == datetime(2028, 2, 29, tzinfo=UTC)
    assert cron.parse("0 9 * * *", "Europe/Paris").next_after(t) == datetime(2026, 12, 2, 8, tzinfo=UTC)
    last, missed = cron.most_recent(cron.parse("* * * * *"), datetime(2026, 12, 2, tzinfo=UTC), t)
    assert (last, missed) == (t, 3)
    assert cron.most_recent(cron.parse("* * * * *"), datetime(2020, 1, 1, tzinfo=UTC), t) == (t, 101)
    assert cron.most_recent(cron.parse("0 0 29 2 *"), datetime(2020, 1, 1, tzinfo=UTC), t) == (
        datetime(2024, 2, 29, tzinfo=UTC), 2)
    for bad, msg in (("* * *", "expected exactly 5 fields, found 3: [* * *]"),
                     ("a * * * *", 'failed to parse int from a: strconv.Atoi: parsing "a": invalid syntax'),
                     ("5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1")):
        with pytest.raises(cron.CronError) as e:
            cron.parse(bad)
        assert str(e.value) == msg


def test_replicationcontroller_keeps_its_replicas(api: Any, sb: Sandbox) -> None:
    core = client.CoreV1Api(api)
    made = core.create_namespaced_replication_controller("shop", {
        "apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "legacy"},
        "spec": {"replicas": 3, "template": {"metadata": {"labels": {"app": "legacy"}},
                                             "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
    assert made.spec.selector == {"app": "legacy"} and made.metadata.labels == {"app": "legacy"}  # defaulted

    def pods() -> list[Any]:
        return [p for p in core.list_namespaced_pod("shop", label_selector="app=legacy").items
                if not p.metadata.deletion_timestamp]

    wait_for(lambda: len(pods()) == 3 and core.read_namespaced_replication_controller(
        "legacy", "shop").status.ready_replicas == 3, 10, "3 legacy pods ready")
    assert all(p.metadata.owner_references[0].kind == "ReplicationController" for p in pods())
    victim = pods()[0].metadata.name
    core.delete_namespaced_pod(victim, "shop")
    wait_for(lambda: len(pods()) == 3 and victim not in {p.metadata.name for p in pods()}, 10, "a replacement")
    core.patch_namespaced_replication_controller_scale("legacy", "shop", {"spec": {"replicas": 1}})
    wait_for(lambda: len(pods()) == 1 and core.read_namespaced_replication_controller(
        "legacy", "shop").status.replicas == 1, 10, "scaled to 1")


def _hpa(name: str, target: str, hi: int) -> dict[str, Any]:
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": name},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
                     "maxReplicas": hi, "metrics": [{"type": "Resource", "resource": {
                         "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]}}


def test_hpa_scales_its_target_from_pod_metrics(api: Any, sb: Sandbox, tmp_path: Path) -> None:
    kubectl_path()
    auto = client.AutoscalingV2Api(api)
    made = auto.create_namespaced_horizontal_pod_autoscaler("shop", _hpa("web", "web", 5))
    assert made.spec.min_replicas == 1 and made.status.desired_replicas == 0  # defaulted
    apps = client.AppsV1Api(api)
    # 400m used of 200m requested: 200% against 50% wants 4x; one sync doubles (max(2x, +4)), max 5 caps it
    hpa = wait_for(lambda: (h := auto.read_namespaced_horizontal_pod_autoscaler("web", "shop")) and h.status and
                   h.status.desired_replicas == 5 and h.status.current_replicas == 5 and h, 15, "hpa at max")
    assert apps.read_namespaced_deployment("web", "shop").spec.replicas == 5
    cur = hpa.status.current_metrics[0].resource
    assert (cur.name, cur.current.average_utilization, cur.current.average_value) == ("cpu", 200, "400m")
    conds = _conditions(hpa)
    assert conds["ScalingActive"] == ("True", "ValidMetricFound")
    assert conds["ScalingLimited"] == ("True", "TooManyReplicas")
    auto.create_namespaced_horizontal_pod_autoscaler("shop", _hpa("idle", "idle", 3))  # no usage: no metrics
    wait_for(lambda: "ScalingActive" in _conditions(auto.read_namespaced_horizontal_pod_autoscaler("idle", "shop")),
             10, "idle hpa synced")
    idle = auto.read_namespaced_horizontal_pod_autoscaler("idle", "shop")
    assert _conditions(idle)["ScalingActive"] == ("False", "FailedGetResourceMetric")
    assert apps.read_namespaced_deployment("idle", "shop").spec.replicas == 1
    home = tmp_path / "home"
    home.mkdir()
    out = run_kubectl(sb.kubeconfig, "get", "hpa", "-n", "shop", home=home).stdout.splitlines()
    rows = {line.split()[0]: line for line in out[1:]}
    assert out[0].split() == ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"]
    assert "Deployment/web" in rows["web"] and "cpu: 200%/50%" in rows["web"] and rows["web"].split()[-2] == "5"
    assert "cpu: <unknown>/50%" in rows["idle"]


def test_hpa_behavior_limits_the_rate_and_min_wins(api: Any) -> None:
    core, apps, auto = client.CoreV1Api(api), client.AppsV1Api(api), client.AutoscalingV2Api(api)
    core.create_namespace({"metadata": {"name": "burst"}})
    apps.create_namespaced_deployment("burst", {"metadata": {"name": "api"}, "spec": {
        "replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "api", "image": "nginx", "resources": {"requests": {"cpu": "200m"}}}]}}}})
    body = _hpa("api", "api", 10)
    body["spec"]["behavior"] = {"scaleUp": {"policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}}
    made = auto.create_namespaced_horizontal_pod_autoscaler("burst", body)
    assert made.spec.behavior.scale_up.select_policy == "Max"  # a given behavior is defaulted
    assert made.spec.behavior.scale_down.stabilization_window_seconds == 300
    hpa = wait_for(lambda: (h := auto.read_namespaced_horizontal_pod_autoscaler("api", "burst")) and h.status and
                   h.status.desired_replicas == 3 and h, 10, "one pod more")
    time.sleep(1.2)  # several syncs: the 60 s period still holds the one added
    hpa = auto.read_namespaced_horizontal_pod_autoscaler("api", "burst")
    assert hpa.status.desired_replicas == 3 and apps.read_namespaced_deployment("api", "burst").spec.replicas == 3
    assert _conditions(hpa)["ScalingLimited"] == ("True", "ScaleUpLimit")
    auto.patch_namespaced_horizontal_pod_autoscaler("api", "burst", {"spec": {"minReplicas": 6}})
    wait_for(lambda: apps.read_namespaced_deployment("api", "burst").spec.replicas == 6, 10, "min 6")
    reasons = {e.message for e in core.list_namespaced_event("burst", field_selector="reason=SuccessfulRescale").items}
    assert "New size: 6; reason: Current number of replicas below Spec.MinReplicas" in reasons
    assert "New size: 3; reason: cpu resource utilization (percentage of request) above target" in reasons


def test_kubectl_create_job_cronjob_and_wait(sb: Sandbox, tmp_path: Path) -> None:
    kubectl_path()
    home = tmp_path / "home"
    home.mkdir()

    def k(*args: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return run_kubectl(sb.kubeconfig, *args, home=home, check=check, input=input)

    k("create", "job", "once", "-n", "shop", "--image=batch/ok:1")
    k("create", "job", "manual", "-n", "shop", "--from=cronjob/nightly")
    k("create", "cronjob", "every", "-n", "shop", "--image=batch/ok:1", "--schedule=*/1 * * * *")
    k("create", "-n", "shop", "-f", "-", input='{"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "queue"}, '
      '"spec": {"parallelism": 2, "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "w", '
      '"image": "batch/ok:1"}]}}}}')
    # its own failing Job: the module's sandbox is shared, and under xdist another test's Job may not exist
    k("create", "-n", "shop", "-f", "-", input='{"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "kbad"}, '
      '"spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "w", '
      '"image": "batch/fails:1"}]}}}}')
    k("wait", "--for=condition=complete", "job/once", "job/manual", "job/queue", "-n", "shop", "--timeout=30s")
    k("wait", "--for=condition=failed", "job/kbad", "-n", "shop", "--timeout=30s")
    rows = {line.split()[0]: line.split() for line in k("get", "jobs", "-n", "shop").stdout.splitlines()[1:]}
    assert rows["once"][1:3] == ["Complete", "1/1"] and rows["manual"][1:3] == ["Complete", "1/1"]
    assert rows["queue"][1:5] == ["Complete", "2/1", "of", "2"]  # a work queue: no completions defaulted
    pods = k("get", "pods", "-n", "shop", "-l", "job-name in (once,kbad)", "--no-headers").stdout.splitlines()
    assert {line.split()[0].rsplit("-", 1)[0]: line.split()[2] for line in pods} == {"once": "Completed",
                                                                                     "kbad": "Error"}
    labels = json.loads(k("get", "job", "once", "-n", "shop", "-o", "json").stdout)["metadata"]["labels"]
    assert labels["batch.kubernetes.io/job-name"] == "once" and "controller-uid" in labels  # SetDefaults_Job
    cj = k("get", "cronjob", "every", "-n", "shop").stdout.splitlines()
    assert cj[0].split()[:4] == ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND"] and "*/1 * * * *" in cj[1]
    assert "cronjob.kubernetes.io/instantiate" in k("get", "job", "manual", "-n", "shop", "-o",
                                                    "jsonpath={.metadata.annotations}").stdout
    bad = k("create", "cronjob", "typo", "-n", "shop", "--image=x", "--schedule=* * *", check=False)
    assert bad.returncode != 0 and "expected exactly 5 fields, found 3" in bad.stderr


def test_defaults_on_seeds_replacements_and_patches(api: Any) -> None:
    apps = client.AppsV1Api(api)
    seeded = apps.read_namespaced_deployment("idle", "shop")  # the scenario gave no strategy
    assert seeded.spec.strategy.type == "RollingUpdate" and seeded.spec.strategy.rolling_update.max_surge == "25%"
    assert seeded.spec.revision_history_limit == 10 and seeded.spec.progress_deadline_seconds == 600
    assert seeded.spec.template.spec.restart_policy == "Always"
    assert seeded.spec.template.spec.containers[0].termination_message_path == "/dev/termination-log"
    body = api.sanitize_for_serialization(seeded)
    for f in ("strategy", "revisionHistoryLimit", "progressDeadlineSeconds"):
        body["spec"].pop(f)
    body["spec"]["template"]["spec"].pop("dnsPolicy")
    replaced = apps.replace_namespaced_deployment("idle", "shop", body)
    assert replaced.spec.strategy.type == "RollingUpdate" and replaced.spec.revision_history_limit == 10
    assert replaced.spec.template.spec.dns_policy == "ClusterFirst"
    patched = apps.patch_namespaced_deployment("idle", "shop", [
        {"op": "remove", "path": "/spec/revisionHistoryLimit"}, {"op": "remove", "path": "/spec/strategy"}])
    assert patched.spec.revision_history_limit == 10 and patched.spec.strategy.rolling_update.max_unavailable == "25%"
    assert apps.read_namespaced_deployment("idle", "shop").spec.progress_deadline_seconds == 600


def test_a_new_behaviour_is_one_controller() -> None:
    """The loop dispatches by what a controller declares: its own kind's keys, the owner of a
    changed child (every owner of the namespace once the child is gone), the keys ``keys_for``
    maps a watched change to, and the retries it asked for."""
    from integrations.sandbox.controllers.base import CONFIGMAP, DEPLOY, RS, Controller, Key, RKey
    from integrations.sandbox.scenario import parse_scenario
    from integrations.sandbox.seeding import build_cluster

    seen: list[tuple[str, Key]] = []

    class Probe(Controller):
        name = "probe"
        primary = DEPLOY
        owns = (RS,)
        watches = (CONFIGMAP,)

        def keys_for(self, rkey: RKey, key: Key, obj: Any) -> list[Key]:
            return [(key[0], "from-" + key[1])]

        def reconcile(self, key: Key) -> None:
            seen.append(("reconcile", key))
            if key[1] == "from-again":
                self.after(0, ("shop", "later"))

    bc = build_cluster(parse_scenario((SCENARIOS / "controllers.yaml").read_text(), "c.yaml"), 0, multi=False)
    bc.sim.register(Probe(bc.sim))
    bc.sim.tick()  # the seeds: web and idle Deployments, their ReplicaSets made this tick
    assert {("reconcile", ("shop", "web")), ("reconcile", ("shop", "idle"))} <= set(seen)
    seen.clear()
    bc.sim.tick()  # the ReplicaSets the deployment controller created: their owners
    assert {k for _, k in seen} == {("shop", "web"), ("shop", "idle")}
    seen.clear()
    st = bc.state
    st.create("configmaps", {"metadata": {"name": "cfg", "namespace": "shop"}})
    st.create("configmaps", {"metadata": {"name": "again", "namespace": "shop"}})
    bc.sim.tick()
    assert {("reconcile", ("shop", "from-cfg")), ("reconcile", ("shop", "from-again"))} <= set(seen)
    assert ("reconcile", ("shop", "later")) not in seen
    seen.clear()
    bc.sim.tick()  # the retry it asked for
    assert ("reconcile", ("shop", "later")) in seen
    seen.clear()
    for _ in range(100):  # until the rollouts settle and nothing looks at the Deployments
        seen.clear()
        bc.sim.tick()
        if not seen:
            break
    assert not seen
    rs = st.list("replicasets", "shop")[0]
    st.delete("replicasets", rs["metadata"]["name"], "shop", propagation="Orphan")
    bc.sim.tick()  # a child gone: its ownerReferences went with it, so every owner in the namespace looks
    assert {k for _, k in seen} == {("shop", "web"), ("shop", "idle")}
