"""API Priority and Fairness: throttle a noisy client, relax the limit step by step, remove it.

The Scaleway and IONOS lessons: an overloaded API server recovers when the
clients hammering it are queued into a small priority level, then let back in
gradually. ``throttle`` server-side applies a Limited PriorityLevelConfiguration
and a FlowSchema routing the named subjects to it.
"""

from __future__ import annotations

from typing import Any

from mitigate.ports import ActionRequest, ClusterError

from .. import render
from ..resources import check_name
from .base import Change, Item, ObjectChange, strs
from .lifecycle import Apply, Delete

FLOWCONTROL = "flowcontrol.apiserver.k8s.io/v1"


def _shares(value: Any, verb: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ClusterError(f"{verb}: nominalConcurrencyShares must be a non-negative integer (got {value!r})")
    return value


class Throttle(Apply):
    verb = "throttle"
    SCOPE_KEYS = ("name",)

    def bind(self) -> None:
        name = str(self.param("name", required=True))
        shares = _shares(self.param("nominalConcurrencyShares", required=True), self.verb)
        subjects: list[dict[str, Any]] = [{"kind": "User", "user": {"name": u}}
                                          for u in strs(self.p.get("users"), "users")]
        subjects += [{"kind": "Group", "group": {"name": g}} for g in strs(self.p.get("groups"), "groups")]
        for sa in strs(self.p.get("serviceAccounts"), "serviceAccounts"):
            ns, _, sa_name = sa.partition("/")
            if not ns or not sa_name:
                raise ClusterError(f"throttle: service account {sa!r} must be written namespace/name")
            subjects.append({"kind": "ServiceAccount", "serviceAccount": {"namespace": ns, "name": sa_name}})
        if not subjects:
            raise ClusterError("throttle: name at least one of users, groups, serviceAccounts")
        queuing = {"queues": int(self.p.get("queues") or 64), "handSize": int(self.p.get("handSize") or 6),
                   "queueLengthLimit": int(self.p.get("queueLengthLimit") or 50)}
        plc = {"apiVersion": FLOWCONTROL, "kind": "PriorityLevelConfiguration", "metadata": {"name": name},
               "spec": {"type": "Limited", "limited": {"nominalConcurrencyShares": shares,
                                                        "limitResponse": {"type": "Queuing", "queuing": queuing}}}}
        fs = {"apiVersion": FLOWCONTROL, "kind": "FlowSchema",
              "metadata": {"name": str(self.p.get("flowSchema") or name)},
              "spec": {"priorityLevelConfiguration": {"name": name},
                       "matchingPrecedence": int(self.p.get("matchingPrecedence") or 500),
                       "distinguisherMethod": {"type": "ByUser"},
                       "rules": [{"subjects": subjects,
                                  "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"],
                                                     "clusterScope": True, "namespaces": ["*"]}],
                                  "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}]}]}}
        self.p["manifest"] = [plc, fs]
        super().bind()

    def describe(self) -> str:
        return (f"throttle {render.join_targets(self.targets)} to "
                f"{self.p['nominalConcurrencyShares']} concurrency shares on {self.ctx.name}")


class RelaxThrottle(ObjectChange):
    verb = "relaxThrottle"
    SCOPE_KEYS = ("name",)

    def bind(self) -> None:
        self.shares = _shares(self.param("nominalConcurrencyShares", required=True), self.verb)
        name = str(self.param("name", required=True))
        self.p = {"name": name}  # cluster-scoped: a stray namespace must not leak into the lookup
        self.items = self.select(self.r.resolve(FLOWCONTROL, "PriorityLevelConfiguration"))

    def change(self, item: Item, obj: dict[str, Any]) -> Change:
        return Change({"spec": {"limited": {"nominalConcurrencyShares": self.shares}}}, "merge")

    def applied(self, item: Item, obj: dict[str, Any]) -> bool:
        return ((obj.get("spec") or {}).get("limited") or {}).get("nominalConcurrencyShares") == self.shares

    def undo_for(self, item: Item, before: dict[str, Any], after: dict[str, Any]) -> list[ActionRequest]:
        old = ((before.get("spec") or {}).get("limited") or {}).get("nominalConcurrencyShares")
        return [self.undo_request(self.verb, {"name": item.name, "nominalConcurrencyShares": old})] \
            if isinstance(old, int) else []

    def kubectl(self) -> list[str]:
        patch = render.compact({"spec": {"limited": {"nominalConcurrencyShares": self.shares}}})
        return [render.kubectl(self.ctx.name, "patch", render.obj(i.res.kubectl_type, i.name), "--type=merge",
                               f"--patch={patch}")
                for i in self.items]


class RemoveThrottle(Delete):
    """Delete the level and every FlowSchema routed to it (FlowSchemas first)."""

    verb = "removeThrottle"
    SCOPE_KEYS = ("name",)

    def bind(self) -> None:
        self.backup, self.grace = True, None
        name = str(self.param("name", required=True))
        check_name(name, "removeThrottle PriorityLevelConfiguration")
        plc_res = self.r.resolve(FLOWCONTROL, "PriorityLevelConfiguration")
        fs_res = self.r.resolve(FLOWCONTROL, "FlowSchema")
        for fs in self.t.list_pages(fs_res.base(None)):
            if ((fs.get("spec") or {}).get("priorityLevelConfiguration") or {}).get("name") == name:
                self.items.append(Item(fs_res, None, fs["metadata"]["name"], fs))
        plc = self.t.get_or_none(plc_res.path(None, name))
        if plc is None and not self.items:
            raise ClusterError(f"removeThrottle: no PriorityLevelConfiguration {name!r} on {self.ctx.name}")
        if plc is not None:
            self.items.append(Item(plc_res, None, name, plc))
