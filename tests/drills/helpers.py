"""Drill test helpers: the library's own scenarios as dicts, their healthy twins, and runs.

Every drill runs at full size except replace-notready-nodes, scaled from 600 to 100 nodes
(12 NotReady) here: the full drill drains and replaces 72 nodes and takes about a minute,
which the whole suite's time budget cannot afford (full-size timings are in the report).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from mitigate.paths import drills_dir

DRILLS = ["apiserver-oom", "api-throttle-batches", "replace-notready-nodes", "delete-offending-crds",
          "revert-unscoped-changes", "spread-colocated-proxies"]


# The read-only checks that confirm each runbook's diagnosis (they must pass in the incident and
# fail, i.e. report nothing wrong, on the same cluster without the incident).
DIAGNOSIS = {
    "apiserver-oom": ["apiserver-restarts", "notready-nodes"],
    "api-throttle-batches": ["notready-nodes"],
    "replace-notready-nodes": ["find-notready"],
    "delete-offending-crds": ["ingress-failing", "find-crds"],
    "revert-unscoped-changes": ["find-touched"],
    "spread-colocated-proxies": ["find-colocated"],
}


def drill(name: str) -> dict[str, Any]:
    """The scenario as the library ships it (scaled down only where the module docstring says)."""
    data: dict[str, Any] = yaml.safe_load((drills_dir() / f"{name}.yaml").read_text(encoding="utf-8"))
    if name == "replace-notready-nodes":
        data["generators"][0]["nodes"]["count"] = 100
        data["generators"][1]["pods"]["count"] = 200
        data["health"][0]["nodesReady"]["minReady"] = 99
        data["health"][1]["field"]["equals"] = 100
        data["health"][2]["present"]["min"] = 170
    return data


def healthy(name: str) -> dict[str, Any]:
    """The same scenario with its incident removed."""
    data = copy.deepcopy(drill(name))
    if name == "apiserver-oom":
        del data["behaviours"]["apiserverOverload"]
    elif name in ("api-throttle-batches", "replace-notready-nodes"):
        data["generators"][0]["nodes"]["notReady"] = 0
    elif name == "delete-offending-crds":
        data["objects"] = [o for o in data["objects"] if "projectcalico" not in o["apiVersion"]
                           and "projectcalico" not in o["metadata"]["name"]]
        data["generators"] = [g for g in data["generators"] if "copies" not in g]
    elif name == "revert-unscoped-changes":
        for cluster in data["clusters"]:
            cluster["generators"] = [g for g in cluster.get("generators", [])
                                     if (g.get("deployments") or {}).get("fieldManager") != "onboarding-operator"]
            # shop-api exists only as the operator left it: without the incident it is not there
            cluster["objects"] = [o for o in cluster.get("objects", []) if o["metadata"]["name"] != "shop-api"]
    elif name == "spread-colocated-proxies":
        pods = [o for o in data["objects"] if o["kind"] == "Pod"]
        for pod, node in zip(pods, ["proxy-1", "proxy-2", "proxy-3"], strict=True):
            pod["spec"]["nodeName"] = node
    return data


def scenario_file(tmp: Path, name: str, data: dict[str, Any]) -> Path:
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path
