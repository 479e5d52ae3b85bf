"""Sandbox behaviours the drill library relies on: required pod anti-affinity, the podsSpread
health check and the plain-HTTP ingress endpoint runbook probes reach."""

from __future__ import annotations

from typing import Any

import httpx

from integrations.sandbox import Sandbox

from .helpers import wait_for

AFFINITY = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
    {"topologyKey": "kubernetes.io/hostname", "labelSelector": {"matchLabels": {"app": "proxy"}}}]}}


def _proxy_scenario(replicas: int) -> dict[str, Any]:
    return {"generators": [{"nodes": {"count": 3, "namePrefix": "p-"}}],
            "objects": [{"apiVersion": "apps/v1", "kind": "Deployment",
                         "metadata": {"name": "proxy", "namespace": "reg"},
                         "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "proxy"}},
                                  "template": {"metadata": {"labels": {"app": "proxy"}},
                                               "spec": {"affinity": AFFINITY,
                                                        "containers": [{"name": "c", "image": "x"}]}}}},
                        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "stray", "namespace": "reg",
                                                                         "labels": {"app": "proxy"}},
                         "spec": {"nodeName": "p-0", "containers": [{"name": "c", "image": "x"}]}}],
            "health": [{"name": "spread", "podsSpread": {"namespace": "reg", "selector": "app=proxy"}}]}


def _nodes(sb: Sandbox) -> list[str | None]:
    return [p["spec"].get("nodeName") for p in sb.cluster().list("pods", "reg")]


def test_required_anti_affinity_keeps_replicas_off_occupied_nodes_and_waits_for_room() -> None:
    with Sandbox.start(_proxy_scenario(3)) as sb:
        # the stray pod (bound by nodeName, like a seeded placement) holds p-0: two replicas fit, one waits
        wait_for(lambda: len(sb.cluster().list("pods", "reg")) == 4, what="replicas created")
        placed = _nodes(sb)
        assert sorted(n for n in placed if n) == ["p-0", "p-1", "p-2"] and placed.count(None) == 1
        assert not sb.health().ok
        sb.cluster().delete(sb.cluster().registry.by_key[("", "pods")], "stray", "reg")
        wait_for(lambda: sorted(n or "" for n in _nodes(sb)) == ["p-0", "p-1", "p-2"],
                 what="the pending replica bound once p-0 freed up")
        wait_for(lambda: sb.health().ok, what="spread health check")


def test_ingress_is_served_over_plain_http_and_follows_the_failing_objects() -> None:
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "blocks.example.org"},
           "spec": {"group": "example.org", "scope": "Cluster",
                    "names": {"plural": "blocks", "singular": "block", "kind": "Block"},
                    "versions": [{"name": "v1", "served": True, "storage": True}]}}
    with Sandbox.start({"objects": [crd], "behaviours": {"ingress": {"failWhileCrds": ["blocks.example.org"]}}}) as sb:
        url = sb.ingress_url("sandbox")
        assert url is not None and url.startswith("http://")
        bad = httpx.get(f"{url}/healthz")
        assert bad.status_code == 503 and "blocks.example.org" in bad.text
        sb.cluster().delete(sb.cluster().registry.by_key[("apiextensions.k8s.io", "customresourcedefinitions")],
                            "blocks.example.org")
        wait_for(lambda: httpx.get(f"{url}/anything").status_code == 200, what="ingress healthy")
    with Sandbox.start({"generators": [{"nodes": {"count": 1}}]}) as plain:
        assert plain.ingress_url("sandbox") is None
