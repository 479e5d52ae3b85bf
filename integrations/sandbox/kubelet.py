"""The simulated kubelet: what a bound pod's containers do, and what they log.

A pod's containers start Running and Ready unless something the kubelet would trip over is
wrong, checked in the kubelet's order:

- a volume's ConfigMap/Secret is missing (not optional): the pod stays ``ContainerCreating``
  (Pending) with a ``FailedMount`` Event;
- an ``imagePullSecrets`` Secret is missing, or a scenario rule says the image cannot be pulled:
  ``ErrImagePull``/``ImagePullBackOff``;
- an ``env``/``envFrom`` reference to a ConfigMap or Secret (or a key in it) is missing:
  ``CreateContainerConfigError`` (``configmap "x" not found``);
- a scenario rule makes the container crash: ``CrashLoopBackOff``, the restart count climbing with
  the kubelet's back-off (``backoffSeconds`` doubling up to 300 s), ``lastState.terminated`` holding
  the exit code, a ``BackOff`` Event per restart;
- a scenario rule fails its readiness probe: Running but not Ready;
- a pod that does not restart ``Always`` (a Job's): its containers run ``runSeconds``, then exit,
  0 unless a scenario rule makes them crash (under ``OnFailure`` a crash restarts with back-off,
  under ``Never`` it ends the pod ``Failed`` with the rule's exit code), and the pod is
  ``Succeeded`` or ``Failed``.

A pod blocked on configuration is re-evaluated when a ConfigMap or Secret in its namespace is
written, as the kubelet retries; a running container is not restarted when its ConfigMap goes
(its environment was read at start), as in Kubernetes.

Logs: every container prints the lines its scenario rule declares (a crashing one its crash
output, then exits); ``previous`` reads the last terminated instance.
"""

from __future__ import annotations

import fnmatch
import heapq
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .patch import copy_json
from .selectors import SelectorError, label_matcher
from .store import ApiError, Obj, now_iso

if TYPE_CHECKING:
    from .sim import Simulation

BACKOFF_CAP = 300.0
BLOCKED = ("ContainerCreating", "CreateContainerConfigError", "ImagePullBackOff", "ErrImagePull")


@dataclass
class ContainerRule:
    """A scenario's ``behaviours.containers`` item: which containers, and what they do."""

    image: str = "*"
    container: str = "*"
    namespace: str | None = None
    selector: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    crash: bool = False
    exit_code: int = 1
    reason: str = "Error"
    pull_error: str = ""
    ready: bool = True
    logs: list[str] = field(default_factory=list)
    command: str = "*"  # glob over the container's command and args joined by spaces
    usage: dict[str, str] = field(default_factory=dict)  # resource -> quantity used (the metrics API's view)

    def matches(self, pod: Obj, c: Obj) -> bool:
        if not fnmatch.fnmatchcase(str(c.get("image", "")), self.image):
            return False
        if self.command != "*":
            argv = " ".join(str(x) for x in (c.get("command") or []) + (c.get("args") or []))
            if not fnmatch.fnmatchcase(argv, self.command):
                return False
        if not fnmatch.fnmatchcase(str(c.get("name", "")), self.container):
            return False
        if self.namespace is not None and pod["metadata"].get("namespace") != self.namespace:
            return False
        if self.selector:
            try:
                m = label_matcher(self.selector)
            except SelectorError:
                return False
            if m is not None and not m(pod):
                return False
        if self.env:
            have = {e.get("name"): str(e.get("value", "")) for e in c.get("env") or [] if isinstance(e, dict)}
            if any(have.get(k) != v for k, v in self.env.items()):
                return False
        return True


@dataclass
class KubeletSettings:
    backoff_seconds: float = 10.0
    start_seconds: float = 0.0  # a started container turns Ready after this
    rules: list[ContainerRule] = field(default_factory=list)
    run_seconds: float = 1.0  # a container of a pod that does not restart Always exits after this


def _cond(status: str, t: str) -> list[Obj]:
    return [{"type": c, "status": status if c in ("Ready", "ContainersReady") else "True", "lastProbeTime": None,
             "lastTransitionTime": t} for c in ("Initialized", "Ready", "ContainersReady", "PodScheduled")]


def _strip_none(conds: list[Obj]) -> list[Obj]:
    return [{k: v for k, v in c.items() if v is not None} for c in conds]


@dataclass
class Kubelet:
    sim: Simulation
    settings: KubeletSettings = field(default_factory=KubeletSettings)
    timers: list[tuple[float, str, str, str, str]] = field(default_factory=list)  # (at, what, ns, name, uid)

    # ------------------------------------------------------------------ what a container does

    def rule(self, pod: Obj, c: Obj) -> ContainerRule | None:
        return next((r for r in self.settings.rules if r.matches(pod, c)), None)

    def _missing_volume(self, pod: Obj) -> tuple[str, str] | None:
        st, ns = self.sim.st, pod["metadata"].get("namespace", "")
        for v in (pod.get("spec") or {}).get("volumes") or []:
            if not isinstance(v, dict):
                continue
            for kind, key, res in (("configMap", "name", "configmaps"), ("secret", "secretName", "secrets")):
                src = v.get(kind)
                if isinstance(src, dict) and not src.get("optional") and src.get(key) and st.find(
                        res, str(src[key]), ns) is None:
                    return str(v.get("name")), f'{res[:-1]} "{src[key]}" not found'
        return None

    def config_error(self, pod: Obj, c: Obj) -> str:
        """Why the kubelet cannot build this container's environment ("" when it can)."""
        st, ns = self.sim.st, pod["metadata"].get("namespace", "")
        for e in c.get("env") or []:
            src = (e.get("valueFrom") or {}) if isinstance(e, dict) else {}
            for ref_key, res, kind in (("configMapKeyRef", "configmaps", "ConfigMap"),
                                       ("secretKeyRef", "secrets", "Secret")):
                ref = src.get(ref_key)
                if not isinstance(ref, dict) or ref.get("optional"):
                    continue
                obj = st.find(res, str(ref.get("name", "")), ns)
                if obj is None:
                    return f'{res[:-1]} "{ref.get("name")}" not found'
                data = dict(obj.get("data") or {}, **(obj.get("stringData") or {}), **(obj.get("binaryData") or {}))
                if ref.get("key") not in data:
                    return f"couldn't find key {ref.get('key')} in {kind} {ns}/{ref.get('name')}"
        for e in c.get("envFrom") or []:
            if not isinstance(e, dict):
                continue
            for ref_key, res in (("configMapRef", "configmaps"), ("secretRef", "secrets")):
                ref = e.get(ref_key)
                if isinstance(ref, dict) and not ref.get("optional") and st.find(
                        res, str(ref.get("name", "")), ns) is None:
                    return f'{res[:-1]} "{ref.get("name")}" not found'
        return ""

    def status(self, pod: Obj, node: str | None, *, previous: Obj | None = None) -> Obj:
        """The status the kubelet reports for a pod bound to ``node`` (Pending when unbound)."""
        spec = pod.get("spec") or {}
        containers = spec.get("containers") or []
        if node is None:
            return {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
                                                         "reason": "Unschedulable"}]}
        t = now_iso()
        old = {c.get("name"): c for c in (previous or {}).get("containerStatuses") or []}
        base = {"hostIP": self.sim.node_ip(node), "startTime": (previous or {}).get("startTime") or t}
        vol = self._missing_volume(pod)
        if vol is not None:
            return dict(base, phase="Pending", conditions=_strip_none(_cond("False", t)), containerStatuses=[
                {"name": c.get("name"), "ready": False, "restartCount": 0, "started": False,
                 "image": c.get("image", ""), "imageID": "", "state": {"waiting": {"reason": "ContainerCreating"}}}
                for c in containers])
        statuses, all_ready = [], True
        pull = self.sim.pull_error(pod)
        for c in containers:
            rule = self.rule(pod, c)
            image_error = self.sim.b.image_errors.get(str(c.get("image", "")), "")
            if image_error == "CrashLoopBackOff" and rule is None:
                rule = ContainerRule(crash=True)
            elif image_error in ("ImagePullBackOff", "ErrImagePull") and rule is None:
                rule = ContainerRule(pull_error=image_error)
            prev = old.get(c.get("name")) or {}
            restarts = int(prev.get("restartCount", 0))
            cs: Obj = {"name": c.get("name"), "image": c.get("image", ""), "imageID": "", "restartCount": restarts}
            waiting = ""
            message = ""
            if pull or (rule and rule.pull_error):
                waiting = pull or (rule.pull_error if rule else "")
                message = ("pull secret missing" if pull else
                           f'Back-off pulling image "{c.get("image", "")}"' if waiting == "ImagePullBackOff" else
                           f'failed to pull and unpack image "{c.get("image", "")}": not found')
            elif err := self.config_error(pod, c) or (
                    "container cannot be created" if image_error == "CreateContainerConfigError" else ""):
                waiting, message = "CreateContainerConfigError", err
            if waiting:
                cs.update(ready=False, started=False, state={"waiting": {"reason": waiting, "message": message}})
                all_ready = False
            elif rule and rule.crash and spec.get("restartPolicy", "Always") != "Never":
                # the first exit is restarted at once; the second starts the back-off (what one sees
                # as CrashLoopBackOff, restartCount 1)
                restarts = max(restarts, 1)
                cs["restartCount"] = restarts
                delay = self.backoff(restarts - 1)
                cs.update(ready=False, started=False,
                          lastState={"terminated": {"exitCode": rule.exit_code, "reason": rule.reason,
                                                    "startedAt": t, "finishedAt": t, "containerID": ""}},
                          state={"waiting": {"reason": "CrashLoopBackOff", "message": (
                              f"back-off {_dur(delay)} restarting failed container={c.get('name')} "
                              f"pod={pod['metadata']['name']}_{pod['metadata'].get('namespace', '')}"
                              f"({pod['metadata'].get('uid', '')})")}})
                all_ready = False
            else:
                ready = rule is None or rule.ready
                ready = ready and self.settings.start_seconds <= 0
                cs.update(ready=ready, started=True, containerID="",
                          state={"running": {"startedAt": ((prev.get("state") or {}).get("running") or {}).get(
                              "startedAt") or t}})
                if prev.get("lastState"):
                    cs["lastState"] = prev["lastState"]
                all_ready = all_ready and ready
            statuses.append(cs)
        phase = "Pending" if statuses and all("waiting" in s["state"] and not s["restartCount"] and s["state"][
            "waiting"]["reason"] != "CrashLoopBackOff" for s in statuses) else "Running"
        out: Obj = dict(base, phase=phase, conditions=_strip_none(_cond("True" if all_ready else "False", t)),
                   containerStatuses=statuses)
        if phase == "Running":
            out["podIP"] = "10.244.0.1"
        prev_conds = {c.get("type"): c for c in (previous or {}).get("conditions") or []}
        for cnd in out["conditions"]:
            p = prev_conds.get(cnd["type"])
            if p is not None and p.get("status") == cnd["status"] and p.get("lastTransitionTime"):
                cnd["lastTransitionTime"] = p["lastTransitionTime"]
        return out

    def exited(self, pod: Obj) -> Obj:
        """The status once the containers of a pod that does not restart Always have exited:
        ``Succeeded`` when every one exited 0, else ``Failed``."""
        status: Obj = copy_json(pod.get("status") or {})
        t = now_iso()
        failed = False
        for cs in status.get("containerStatuses") or []:
            c: Obj = next((x for x in (pod.get("spec") or {}).get("containers") or []
                           if x.get("name") == cs.get("name")), {})
            rule = self.rule(pod, c)
            code = rule.exit_code if rule is not None and rule.crash else 0
            failed = failed or code != 0
            started = ((cs.get("state") or {}).get("running") or {}).get("startedAt") or t
            cs.update(ready=False, started=False, state={"terminated": {
                "exitCode": code, "reason": "Completed" if code == 0 else (rule.reason if rule else "Error"),
                "startedAt": started, "finishedAt": t, "containerID": ""}})
        status["phase"] = "Failed" if failed else "Succeeded"
        for cnd in status.get("conditions") or []:
            if cnd.get("type") in ("Ready", "ContainersReady"):
                cnd.update(status="False", reason="PodFailed" if failed else "PodCompleted", lastTransitionTime=t)
        return status

    def backoff(self, restarts: int) -> float:
        return float(min(self.settings.backoff_seconds * (2 ** restarts), BACKOFF_CAP))

    # ------------------------------------------------------------------ lifecycle

    def started(self, pod: Obj) -> None:
        """Called after a pod got its first status on a node: arm its timers, record its Events."""
        spec, status = pod.get("spec") or {}, pod.get("status") or {}
        node = spec.get("nodeName")
        if not node:
            return
        ev = self.sim.events
        meta = pod["metadata"]
        vol = self._missing_volume(pod)
        if vol is not None:
            ev.pod(pod, "FailedMount", f'MountVolume.SetUp failed for volume "{vol[0]}" : {vol[1]}', warning=True)
            return
        for cs in status.get("containerStatuses") or []:
            waiting = ((cs.get("state") or {}).get("waiting") or {})
            reason = waiting.get("reason")
            if reason == "CreateContainerConfigError":
                ev.pod(pod, "Failed", f"Error: {waiting.get('message', '')}", warning=True)
            elif reason in ("ImagePullBackOff", "ErrImagePull"):
                ev.pod(pod, "Failed", f'Failed to pull image "{cs.get("image", "")}": {waiting.get("message", "")}',
                       warning=True)
                ev.pod(pod, "BackOff", f'Back-off pulling image "{cs.get("image", "")}"')
            elif reason == "CrashLoopBackOff":
                ev.pod(pod, "Started", f"Started container {cs.get('name')}")
                ev.pod(pod, "BackOff", f"Back-off restarting failed container {cs.get('name')} in pod "
                                       f"{meta['name']}_{meta.get('namespace', '')}({meta.get('uid', '')})",
                       warning=True)
                self._arm(time.monotonic() + self.backoff(int(cs.get("restartCount", 1)) - 1), "restart", pod)
            elif "running" in (cs.get("state") or {}):
                ev.pod(pod, "Pulled", f'Container image "{cs.get("image", "")}" already present on machine')
                ev.pod(pod, "Created", f"Created container {cs.get('name')}")
                ev.pod(pod, "Started", f"Started container {cs.get('name')}")
                rule = self.rule(pod, next((c for c in spec.get("containers") or []
                                            if c.get("name") == cs.get("name")), {}))
                if not cs.get("ready") and (rule is None or rule.ready) and self.settings.start_seconds > 0:
                    self._arm(time.monotonic() + self.settings.start_seconds, "ready", pod)
                elif rule is not None and not rule.ready:
                    ev.pod(pod, "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503",
                           warning=True)
        states = [cs.get("state") or {} for cs in status.get("containerStatuses") or []]
        if spec.get("restartPolicy", "Always") != "Always" and states and all("running" in s for s in states):
            self._arm(time.monotonic() + self.settings.run_seconds, "exit", pod)

    def _arm(self, at: float, what: str, pod: Obj) -> None:
        meta = pod["metadata"]
        heapq.heappush(self.timers, (at, what, meta.get("namespace", ""), meta["name"], meta["uid"]))

    def due(self, now: float) -> None:
        st = self.sim.st
        while self.timers and self.timers[0][0] <= now:
            _, what, ns, name, uid = heapq.heappop(self.timers)
            pod = st.find("pods", name, ns)
            if pod is None or pod["metadata"]["uid"] != uid or pod["metadata"].get("deletionTimestamp"):
                continue
            if not self.sim.node_ready(str((pod.get("spec") or {}).get("nodeName") or "")):
                continue  # a dead kubelet restarts nothing
            new = copy_json(pod)
            status = new.get("status") or {}
            if what == "restart":
                for cs in status.get("containerStatuses") or []:
                    if ((cs.get("state") or {}).get("waiting") or {}).get("reason") == "CrashLoopBackOff":
                        cs["restartCount"] = int(cs.get("restartCount", 0)) + 1
                new["status"] = self.status(new, new["spec"]["nodeName"], previous=status)
                st.put(self.sim.r(("", "pods")), new)
                cs0 = next((c for c in new["status"].get("containerStatuses") or []
                            if ((c.get("state") or {}).get("waiting") or {}).get("reason") == "CrashLoopBackOff"),
                           None)
                if cs0 is not None:
                    meta = new["metadata"]
                    self.sim.events.pod(new, "BackOff", f"Back-off restarting failed container {cs0.get('name')} "
                                        f"in pod {name}_{ns}({meta.get('uid', '')})", warning=True)
                    self._arm(now + self.backoff(int(cs0.get("restartCount", 1)) - 1), "restart", new)
            elif what == "exit":
                if (new.get("status") or {}).get("phase") == "Running":
                    new["status"] = self.exited(new)
                    st.put(self.sim.r(("", "pods")), new)
            elif what == "ready":
                changed = False
                for cs in status.get("containerStatuses") or []:
                    c: Obj = next((x for x in new["spec"].get("containers") or []
                                   if x.get("name") == cs.get("name")), {})
                    rule = self.rule(new, c)
                    if "running" in (cs.get("state") or {}) and (rule is None or rule.ready) and not cs.get("ready"):
                        cs["ready"], changed = True, True
                if changed and all(cs.get("ready") for cs in status.get("containerStatuses") or []):
                    t = now_iso()
                    for cnd in status.get("conditions") or []:
                        if cnd.get("type") in ("Ready", "ContainersReady"):
                            cnd.update(status="True", lastTransitionTime=t)
                if changed:
                    st.put(self.sim.r(("", "pods")), new)

    def refresh(self, pod: Obj, *, force: bool = False) -> None:
        """Re-evaluate a pod the kubelet is stuck on (or, with ``force``, any pod: its node came back)."""
        node = (pod.get("spec") or {}).get("nodeName")
        if not node or pod["metadata"].get("deletionTimestamp"):
            return
        status = pod.get("status") or {}
        if status.get("phase") in ("Succeeded", "Failed"):
            return  # its containers have exited: nothing to restart
        reasons = {((c.get("state") or {}).get("waiting") or {}).get("reason")
                   for c in status.get("containerStatuses") or []}
        if not force and not reasons & set(BLOCKED):
            return
        new_status = self.status(pod, str(node), previous=status)
        if _comparable(new_status) != _comparable(status):
            new = copy_json(pod)
            new["status"] = new_status
            stored = self.sim.st.put(self.sim.r(("", "pods")), new)
            self.started(stored)

    # ------------------------------------------------------------------ logs

    def log(self, pod: Obj, container: str | None, previous: bool = False) -> str:
        """What ``kubectl logs`` prints for a container; ApiError(400) as the kubelet answers it."""
        meta, spec = pod["metadata"], pod.get("spec") or {}
        containers = spec.get("containers") or []
        names = [str(c.get("name")) for c in containers]
        if container is None:
            if len(names) != 1:
                raise ApiError(400, "BadRequest", f"a container name must be specified for pod {meta['name']}, "
                               f"choose one of: [{' '.join(names)}]")
            container = names[0]
        c = next((x for x in containers if x.get("name") == container), None)
        if c is None:
            raise ApiError(400, "BadRequest", f"container {container} is not valid for pod {meta['name']}")
        cs: Obj = next((x for x in (pod.get("status") or {}).get("containerStatuses") or []
                        if x.get("name") == container), {})
        rule = self.rule(pod, c)
        lines = list(rule.logs) if rule else []
        if previous:
            if not cs.get("lastState", {}).get("terminated"):
                raise ApiError(400, "BadRequest", f'previous terminated container "{container}" in pod '
                               f'"{meta["name"]}" not found')
            return "".join(line + "\n" for line in lines)
        state = cs.get("state") or {}
        waiting = (state.get("waiting") or {}).get("reason")
        if waiting and waiting != "CrashLoopBackOff":
            raise ApiError(400, "BadRequest", f'container "{container}" in pod "{meta["name"]}" is waiting to start: '
                           f"{waiting}")
        if not cs and not (spec.get("nodeName")):
            raise ApiError(400, "BadRequest", f'container "{container}" in pod "{meta["name"]}" is waiting to start: '
                           "ContainerCreating")
        return "".join(line + "\n" for line in lines)


def _comparable(status: Any) -> Any:
    s = copy_json(status or {})
    for c in s.get("conditions") or []:
        c.pop("lastTransitionTime", None)
    for cs in s.get("containerStatuses") or []:
        for st in (cs.get("state") or {}).values():
            if isinstance(st, dict):
                st.pop("startedAt", None)
                st.pop("message", None)
        cs.pop("lastState", None)
    s.pop("startTime", None)
    return s


def _dur(seconds: float) -> str:
    """A Go duration as the kubelet prints it: 10s, 1m20s, 5m0s."""
    s = int(seconds)
    if s < 60:
        return f"{seconds:g}s" if seconds < 1 else f"{s}s"
    return f"{s // 60}m{s % 60}s"
