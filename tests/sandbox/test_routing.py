"""Routing, discovery and storage are tables: a resource is one Resource entry, a verb or a
subresource is one table row, a kind's storage behaviour is one Strategy (integrations/sandbox/
resources.py, server.py, storage.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from integrations.sandbox import Sandbox
from integrations.sandbox.resources import META_FIELDS, Resource
from integrations.sandbox.storage import Strategy
from tests.kubectl import run_kubectl

from .helpers import SCENARIOS, wait_for


class _Stamped(Strategy):
    """A behaviour only this test's kind has: a stamp on create, and a graceful delete of 5 s."""

    def prepare_create(self, state: Any, obj: dict[str, Any]) -> None:
        obj["metadata"].setdefault("annotations", {})["stamped"] = "yes"

    def grace_period(self, obj: dict[str, Any], asked: int | None) -> int | None:
        return 5 if asked is None else asked


GADGETS = Resource("example.com", ("v1",), "gadgets", "gadget", "Gadget", True, short=("gd",),
                   categories=("all",), field_labels=META_FIELDS | {"spec.color"}, returns_deleted=True,
                   strategy=_Stamped())


@pytest.fixture
def box(sandbox: Callable[..., Any]) -> Iterator[tuple[Sandbox, httpx.Client]]:
    sb = sandbox(SCENARIOS / "small.yaml")
    with httpx.Client(base_url=sb.url("sandbox"), verify=False,
                      headers={"Authorization": f"Bearer {sb.token}"}) as h:
        yield sb, h


def test_a_new_resource_is_one_entry_that_discovery_routing_selectors_and_storage_read(
        box: tuple[Sandbox, httpx.Client], tmp_path: Any) -> None:
    sb, h = box
    sb.cluster().registry.add(GADGETS)
    assert any(g["name"] == "example.com" for g in h.get("/apis").json()["groups"])
    (entry,) = h.get("/apis/example.com/v1").json()["resources"]
    assert entry["name"] == "gadgets" and entry["shortNames"] == ["gd"] and entry["categories"] == ["all"]
    base = "/apis/example.com/v1/namespaces/shop/gadgets"
    for name, color in (("g1", "red"), ("g2", "blue")):
        r = h.post(base, json={"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": name},
                               "spec": {"color": color}})
        assert r.status_code == 201, r.text
        assert r.json()["metadata"]["annotations"] == {"stamped": "yes"}  # the strategy's create hook
    posts = [e for e in sb.request_log if e.resource == "gadgets" and e.method == "POST"]
    assert len(posts) == 2 and all(e.mutating for e in posts)
    red = h.get(base, params={"fieldSelector": "spec.color=red"}).json()["items"]
    assert [o["metadata"]["name"] for o in red] == ["g1"]  # the entry's field labels
    assert h.get(base, params={"fieldSelector": "spec.size=1"}).status_code == 400
    out = run_kubectl(sb.kubeconfig, "-n", "shop", "get", "gd", home=tmp_path).stdout  # short name, a table
    assert out.split()[:2] == ["NAME", "AGE"] and "g1" in out and "g2" in out

    gone = h.delete(f"{base}/g1")
    assert gone.status_code == 200 and gone.json()["kind"] == "Gadget"  # returns_deleted: the object
    meta = gone.json()["metadata"]
    assert meta["deletionGracePeriodSeconds"] == 5 and meta["deletionTimestamp"]  # the strategy's grace
    wait_for(lambda: h.get(f"{base}/g1").status_code == 404, what="g1 removed after its grace period")
    now = h.delete(f"{base}/g2", params={"gracePeriodSeconds": "0"})
    assert now.status_code == 200 and h.get(f"{base}/g2").status_code == 404


def test_verbs_and_subresources_not_in_the_tables_are_refused(box: tuple[Sandbox, httpx.Client]) -> None:
    sb, h = box
    review = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
    assert h.get(review).status_code == 405  # a review is create-only (its entry's verbs)
    asked = h.post(review, json={"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                                 "spec": {"resourceAttributes": {"verb": "get", "resource": "pods"}}})
    assert asked.status_code == 201 and asked.json()["status"]["allowed"] is True
    (logged,) = [e for e in sb.request_log if e.resource == "selfsubjectaccessreviews" and e.method == "POST"]
    assert logged.verb == "create" and not logged.mutating  # answered, never stored: not a change
    pod = wait_for(lambda: sb.cluster().list("pods", "shop"), what="the web pods")[0]["metadata"]["name"]
    status = h.delete(f"/api/v1/namespaces/shop/pods/{pod}/status")
    assert status.status_code == 405 and status.json()["reason"] == "MethodNotAllowed"
    assert h.get(f"/api/v1/namespaces/shop/pods/{pod}").status_code == 200  # not deleted through /status
    assert h.post(f"/api/v1/namespaces/shop/pods/{pod}/log").status_code == 405
    assert h.get(f"/api/v1/namespaces/shop/pods/{pod}/eviction").status_code == 405
    assert h.get(f"/api/v1/namespaces/shop/pods/{pod}/nope").status_code == 404
    assert h.put("/apis/apps/v1", json={}).status_code == 405  # discovery is read-only
    assert h.get("/apis/apps/v1/").json()["groupVersion"] == "apps/v1"  # a trailing slash, as the client asks
    missing = h.get("/no/such/path")
    assert missing.status_code == 404 and missing.json()["kind"] == "Status"
    with httpx.Client(base_url=sb.url("sandbox"), verify=False, headers={"Authorization": "Bearer nope"}) as bad:
        assert bad.get("/no/such/path").status_code == 401  # authentication comes first
    with httpx.Client(base_url=sb.url("sandbox"), verify=False) as anon:  # system:anonymous, then RBAC
        r = anon.get("/no/such/path")
        assert r.status_code == 403 and r.json()["message"] == 'forbidden: User "system:anonymous" cannot get path ' \
            '"/no/such/path"'
        assert anon.get("/livez").text == "ok"
