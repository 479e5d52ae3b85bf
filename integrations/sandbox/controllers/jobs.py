"""batch/v1: the Job controller (pods run to completion) and the CronJob controller (Jobs on a
schedule), with the conditions, counters and Events of the real ones (1.31+: the interim
``SuccessCriteriaMet``/``FailureTarget`` condition beside the final one)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from .. import cron
from ..budgets import pod_ready
from ..nodelife import epoch, iso
from ..patch import copy_json
from ..store import ApiError, Obj, now_iso
from .base import CRONJOB, JOB, POD, Controller, Key, owner_ref, suffix
from .replicas import deletion_order

if TYPE_CHECKING:
    from ..sim import Simulation

BACKOFF_CAP = 600.0  # the job controller's maximum pod failure back-off (10 min)
SCHEDULED_AT = "batch.kubernetes.io/cronjob-scheduled-timestamp"
INDEX = "batch.kubernetes.io/job-completion-index"
TERMINAL = ("Succeeded", "Failed")


def finished(job: Obj) -> str | None:
    """``Complete`` or ``Failed`` once the Job has that condition True, else None."""
    for c in (job.get("status") or {}).get("conditions") or []:
        if isinstance(c, dict) and c.get("type") in ("Complete", "Failed") and c.get("status") == "True":
            return str(c["type"])
    return None


def _cond(typ: str, status: str, reason: str, message: str, now: str) -> Obj:
    return {"type": typ, "status": status, "lastProbeTime": now, "lastTransitionTime": now, "reason": reason,
            "message": message}


class JobController(Controller):
    """Keeps ``parallelism`` pods running until ``completions`` have succeeded (no completions:
    until one has, the work-queue pattern); a failed pod is replaced after the controller's
    back-off (10 s doubling, from the scenario's kubelet ``backoffSeconds``) until more than
    ``backoffLimit`` have failed (with ``OnFailure``: until the restarts reach it), then the Job
    fails ``BackoffLimitExceeded``; ``activeDeadlineSeconds`` fails it ``DeadlineExceeded``;
    ``suspend`` deletes its active pods. Counters are cumulative, as with the real controller's
    tracking finalizers: a counted pod deleted later still counts."""

    name = "job-controller"
    primary = JOB
    owns = (POD,)

    def __init__(self, sim: Simulation) -> None:
        super().__init__(sim)
        self._counted: dict[str, tuple[set[str], set[str]]] = {}  # job uid -> (succeeded, failed) pod uids

    def sync(self, job: Obj, key: Key) -> None:
        if finished(job):
            return
        spec = job.get("spec") or {}
        prev = job.get("status") or {}
        status = copy_json(prev)
        now = now_iso()
        pods = self.owned(job, POD)
        ok, bad = self._counts(job, pods)
        active = [p for p in pods if (p.get("status") or {}).get("phase") not in TERMINAL
                  and not p["metadata"].get("deletionTimestamp")]
        completions = spec.get("completions")
        indexed = spec.get("completionMode") == "Indexed" and completions is not None
        total = int(completions or 0)
        done_idx: set[int] = set()
        if indexed:  # succeeded = the distinct indexes that succeeded, kept in status.completedIndexes
            done_idx = {i for i in _parse_indexes(str(prev.get("completedIndexes") or "")) | {
                _index(p) for p in pods if _phase(p) == "Succeeded"} if i is not None and 0 <= i < total}
            ok = len(done_idx)
        parallelism = int(spec.get("parallelism", 1))
        backoff_limit = int(spec.get("backoffLimit", 6))
        suspended = bool(spec.get("suspend"))
        conds: list[Obj] = [c for c in status.get("conditions") or [] if isinstance(c, dict)]
        if not suspended and not status.get("startTime"):
            status["startTime"] = now
        done: tuple[str, str, str] | None = None  # (condition, reason, message)
        restarts = sum(int(cs.get("restartCount", 0)) for p in active
                       for cs in (p.get("status") or {}).get("containerStatuses") or [])
        on_failure = ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy") == "OnFailure"
        deadline = spec.get("activeDeadlineSeconds")
        started = epoch(status.get("startTime")) if status.get("startTime") else None
        if bad > backoff_limit or (on_failure and (restarts > 0 if backoff_limit == 0 else restarts >= backoff_limit)):
            done = ("Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
        elif deadline is not None and started is not None and not suspended and time.time() >= started + int(deadline):
            done = ("Failed", "DeadlineExceeded", "Job was active longer than specified deadline")
        elif (ok >= int(completions)) if completions is not None else (ok > 0 and not active):
            done = ("Complete", "CompletionsReached", "Reached expected number of succeeded pods")
        if done is not None:
            self._delete(job, active)
            active = []
            interim = "SuccessCriteriaMet" if done[0] == "Complete" else "FailureTarget"
            conds = [c for c in conds if c.get("type") != "Suspended" or c.get("status") != "True"]
            conds += [_cond(interim, "True", done[1], done[2], now), _cond(done[0], "True", done[1], done[2], now)]
            if done[0] == "Complete":
                status["completionTime"] = now
                self.event(job, "Completed", "Job completed")
            else:
                self.event(job, done[1], done[2], warning=True)
        elif suspended:
            self._delete(job, active)
            active = []
            if not any(c.get("type") == "Suspended" and c.get("status") == "True" for c in conds):
                conds = [c for c in conds if c.get("type") != "Suspended"]
                conds.append(_cond("Suspended", "True", "JobSuspended", "Job suspended", now))
                self.event(job, "Suspended", "Job suspended")
        else:
            if any(c.get("type") == "Suspended" and c.get("status") == "True" for c in conds):
                conds = [c for c in conds if c.get("type") != "Suspended"]
                conds.append(_cond("Suspended", "False", "JobResumed", "Job resumed", now))
                status["startTime"] = now
                self.event(job, "Resumed", "Job resumed")
            want = parallelism if completions is None else min(parallelism, int(completions) - ok)
            if completions is None and ok > 0:
                want = 0
            if len(active) > want:
                extra = deletion_order(active)[: len(active) - want]
                self._delete(job, extra)
                active = [p for p in active if p not in extra]
            elif len(active) < want:
                wait = self._backoff_left(pods, bad)
                if wait > 0:
                    self.after(wait + 0.05, key)
                elif indexed:
                    taken = {_index(p) for p in active}
                    todo = [i for i in range(total) if i not in done_idx and i not in taken]
                    active += self._create(job, key, min(want - len(active), len(todo)), todo)
                else:
                    active += self._create(job, key, want - len(active))
            if deadline is not None and started is not None:
                self.after(started + int(deadline) - time.time() + 0.05, key)
        status.update(active=len(active), ready=sum(1 for p in active if pod_ready(p)), terminating=sum(
            1 for p in pods if p["metadata"].get("deletionTimestamp") and (p.get("status") or {}).get("phase")
            not in TERMINAL), succeeded=ok, failed=bad, uncountedTerminatedPods={}, conditions=conds)
        for f in ("active", "succeeded", "failed"):  # omitempty counters
            if not status[f]:
                status.pop(f)
        if not status["conditions"]:
            status.pop("conditions")
        if indexed:
            status["completedIndexes"] = _format_indexes(done_idx)
        self.write_status(job, status)

    def _counts(self, job: Obj, pods: list[Obj]) -> tuple[int, int]:
        """Cumulative (succeeded, failed): the counts in status plus pods seen to finish since."""
        uid = job["metadata"]["uid"]
        status = job.get("status") or {}
        base_ok, base_bad = int(status.get("succeeded") or 0), int(status.get("failed") or 0)
        if uid not in self._counted:  # first look (a seeded Job, a restarted sandbox): status counts them
            known = base_ok + base_bad > 0
            self._counted[uid] = ({p["metadata"]["uid"] for p in pods if known and _phase(p) == "Succeeded"},
                                  {p["metadata"]["uid"] for p in pods if known and _phase(p) == "Failed"})
        seen_ok, seen_bad = self._counted[uid]
        new_ok = {p["metadata"]["uid"] for p in pods if _phase(p) == "Succeeded"} - seen_ok
        new_bad = {p["metadata"]["uid"] for p in pods if _phase(p) == "Failed"} - seen_bad
        seen_ok |= new_ok
        seen_bad |= new_bad
        return base_ok + len(new_ok), base_bad + len(new_bad)

    def _backoff_left(self, pods: list[Obj], failed: int) -> float:
        """Seconds until a failed pod may be replaced (0: now)."""
        if failed <= 0:
            return 0.0
        last = max((epoch(((cs.get("state") or {}).get("terminated") or {}).get("finishedAt")) or 0.0
                    for p in pods if _phase(p) == "Failed"
                    for cs in (p.get("status") or {}).get("containerStatuses") or []), default=0.0)
        delay = min(float(self.sim.b.kubelet.backoff_seconds) * 2.0 ** (failed - 1), BACKOFF_CAP)
        return max(last + delay - time.time(), 0.0)

    def _create(self, job: Obj, key: Key, n: int, indexes: list[int] | None = None) -> list[Obj]:
        """``n`` pods from the template; an Indexed Job's carry their completion index (annotation,
        label, hostname ``<job>-<i>``, ``JOB_COMPLETION_INDEX`` in every container)."""
        tmpl = (job.get("spec") or {}).get("template") or {}
        made = []
        for i in range(n):
            meta = copy_json(tmpl.get("metadata") or {})
            index = indexes[i] if indexes is not None else None
            prefix = f"{key[1]}-" if index is None else f"{key[1]}-{index}-"
            pod = {"apiVersion": "v1", "kind": "Pod",
                   "metadata": dict(meta, generateName=prefix, name=f"{prefix}{suffix()}",
                                    namespace=key[0], ownerReferences=[owner_ref(job)]),
                   "spec": copy_json(tmpl.get("spec") or {})}
            if index is not None:
                pod["metadata"]["annotations"] = dict(meta.get("annotations") or {}, **{INDEX: str(index)})
                pod["metadata"]["labels"] = dict(meta.get("labels") or {}, **{INDEX: str(index)})
                pod["spec"].setdefault("hostname", f"{key[1]}-{index}")
                for c in pod["spec"].get("containers") or []:
                    if isinstance(c, dict):
                        c["env"] = [*(c.get("env") or []), {"name": "JOB_COMPLETION_INDEX", "valueFrom": {
                            "fieldRef": {"apiVersion": "v1", "fieldPath": f"metadata.annotations['{INDEX}']"}}}]
            try:
                p = self.sim.scheduler.create(pod)
            except ApiError as e:
                self.event(job, "FailedCreate", f"Error creating: {e.message}", warning=True)
                self.after(0.5, key)
                break
            made.append(p)
            self.event(job, "SuccessfulCreate", f"Created pod: {p['metadata']['name']}")
        return made

    def _delete(self, job: Obj, pods: list[Obj]) -> None:
        for p in pods:
            try:
                self.st.delete(self.r(POD), p["metadata"]["name"], p["metadata"].get("namespace"))
            except ApiError:
                continue
            self.event(job, "SuccessfulDelete", f"Deleted pod: {p['metadata']['name']}")


def _phase(p: Obj) -> str:
    return str((p.get("status") or {}).get("phase") or "")


def _index(p: Obj) -> int | None:
    try:
        return int((p["metadata"].get("annotations") or {}).get(INDEX, ""))
    except ValueError:
        return None


def _parse_indexes(text: str) -> set[int]:
    """``1,3-5`` (status.completedIndexes) as a set; malformed parts are skipped."""
    out: set[int] = set()
    for part in text.split(","):
        a, _, b = part.partition("-")
        try:
            out.update(range(int(a), int(b or a) + 1))
        except ValueError:
            continue
    return out


def _format_indexes(done: set[int]) -> str:
    """Sorted ranges, as the controller writes completedIndexes: ``0-2,4``."""
    out: list[str] = []
    for i in sorted(done):
        if out and "-" in out[-1] and int(out[-1].split("-")[1]) == i - 1:
            out[-1] = f"{out[-1].split('-')[0]}-{i}"
        elif out and "-" not in out[-1] and int(out[-1]) == i - 1:
            out[-1] = f"{out[-1]}-{i}"
        else:
            out.append(str(i))
    return ",".join(out)


class CronJobController(Controller):
    """Creates a Job from ``jobTemplate`` at each scheduled time (the most recent one missed
    since ``lastScheduleTime``, or since creation; none older than ``startingDeadlineSeconds``),
    named ``<cronjob>-<minutes since the epoch>``, honouring ``suspend``, ``concurrencyPolicy``
    (Allow, Forbid, Replace) and ``timeZone``; keeps ``status.active``, ``lastScheduleTime`` and
    ``lastSuccessfulTime``, and deletes finished Jobs beyond the history limits."""

    name = "cronjob-controller"
    primary = CRONJOB
    owns = (JOB,)

    def sync(self, cj: Obj, key: Key) -> None:
        spec = cj.get("spec") or {}
        status = copy_json(cj.get("status") or {})
        jobs = sorted(self.owned(cj, JOB), key=lambda j: j["metadata"].get("creationTimestamp", ""))
        running = [j for j in jobs if not finished(j) and not j["metadata"].get("deletionTimestamp")]
        before = {a.get("uid") for a in status.get("active") or [] if isinstance(a, dict)}
        for j in jobs:
            state = finished(j)
            if state and j["metadata"]["uid"] in before:
                self.event(cj, "SawCompletedJob", f"Saw completed job: {j['metadata']['name']}, condition: {state}")
            if state == "Complete" and (j.get("status") or {}).get("completionTime", "") > status.get(
                    "lastSuccessfulTime", ""):
                status["lastSuccessfulTime"] = j["status"]["completionTime"]
        self._prune(cj, jobs, "Complete", int(spec.get("successfulJobsHistoryLimit", 3)))
        self._prune(cj, jobs, "Failed", int(spec.get("failedJobsHistoryLimit", 1)))
        try:
            sched = cron.parse(str(spec.get("schedule", "")), spec.get("timeZone"))
        except cron.CronError as e:
            self.event(cj, "UnparseableSchedule", f"unparseable schedule: {spec.get('schedule')!r} : {e}",
                       warning=True)
            self._write(cj, status, running)
            return
        now = datetime.now(UTC)
        if not spec.get("suspend"):
            since = epoch(status.get("lastScheduleTime") or cj["metadata"].get("creationTimestamp")) or now.timestamp()
            deadline = spec.get("startingDeadlineSeconds")
            if deadline is not None:
                since = max(since, now.timestamp() - int(deadline))
            at, missed = cron.most_recent(sched, datetime.fromtimestamp(since, UTC), now)
            if missed > 100:
                self.event(cj, "TooManyMissedTimes", "too many missed start times. Set or decrease "
                           ".spec.startingDeadlineSeconds or check clock skew", warning=True)
            if at is not None:
                running = self._run(cj, key, at, running, status)
            nxt = sched.next_after(now)
            if nxt is not None:
                self.after((nxt - now).total_seconds() + 0.05, key)
        self._write(cj, status, running)

    def _run(self, cj: Obj, key: Key, at: datetime, running: list[Obj], status: Obj) -> list[Obj]:
        policy = (cj.get("spec") or {}).get("concurrencyPolicy", "Allow")
        if running and policy == "Forbid":
            self.event(cj, "JobAlreadyActive", "Not starting job because prior execution is running and "
                       "concurrency policy is Forbid")
            return running
        if running and policy == "Replace":
            for j in running:
                try:
                    self.st.delete(self.r(JOB), j["metadata"]["name"], key[0], propagation="Background")
                except ApiError:
                    continue
                self.event(cj, "SuccessfulDelete", f"Deleted job {j['metadata']['name']}")
            running = []
        tmpl = (cj.get("spec") or {}).get("jobTemplate") or {}
        meta = copy_json(tmpl.get("metadata") or {})
        annotations = dict(meta.get("annotations") or {}, **{SCHEDULED_AT: at.isoformat().replace("+00:00", "Z")})
        body = {"apiVersion": "batch/v1", "kind": "Job",
                "metadata": dict(meta, name=f"{key[1]}-{int(at.timestamp()) // 60}", namespace=key[0],
                                 annotations=annotations, ownerReferences=[owner_ref(cj)]),
                "spec": copy_json(tmpl.get("spec") or {})}
        try:
            job = self.st.create(self.r(JOB), body)
        except ApiError as e:
            if e.code != 409:
                self.event(cj, "FailedCreate", f"Error creating job: {e.message}", warning=True)
            status["lastScheduleTime"] = iso(at.timestamp())
            return running
        self.event(cj, "SuccessfulCreate", f"Created job {job['metadata']['name']}")
        status["lastScheduleTime"] = iso(at.timestamp())
        return [*running, job]

    def _prune(self, cj: Obj, jobs: list[Obj], state: str, keep: int) -> None:
        done = [j for j in jobs if finished(j) == state and not j["metadata"].get("deletionTimestamp")]
        for j in done[: max(len(done) - keep, 0)]:
            try:
                self.st.delete(self.r(JOB), j["metadata"]["name"], j["metadata"].get("namespace"),
                               propagation="Background")
            except ApiError:
                continue
            self.event(cj, "SuccessfulDelete", f"Deleted job {j['metadata']['name']}")

    def _write(self, cj: Obj, status: Obj, running: list[Obj]) -> None:
        active = [{"apiVersion": "batch/v1", "kind": "Job", "name": j["metadata"]["name"],
                   "namespace": j["metadata"].get("namespace"), "uid": j["metadata"]["uid"],
                   "resourceVersion": j["metadata"].get("resourceVersion")} for j in running]
        if active:
            status["active"] = active
        else:
            status.pop("active", None)
        self.write_status(cj, status)
