"""The protobuf body decoder against hand-built wire bytes (kubectl covers the common shapes)."""

from __future__ import annotations

import httpx
import pytest

from integrations.sandbox import Sandbox
from integrations.sandbox.proto_schema import KINDS, MESSAGES
from integrations.sandbox.protobuf import MAGIC, ProtoError, decode, go_duration
from integrations.sandbox.resources import BUILTIN


def varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def fld(num: int, value: int | bytes | str) -> bytes:
    if isinstance(value, int):
        return varint(num << 3) + varint(value)
    data = value.encode() if isinstance(value, str) else value
    return varint(num << 3 | 2) + varint(len(data)) + data


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    return MAGIC + fld(1, fld(1, api_version) + fld(2, kind)) + fld(2, raw)


def meta(name: str, **labels: str) -> bytes:
    """An ObjectMeta message (with the empty creationTimestamp gogo always writes)."""
    return fld(1, name) + b"".join(fld(11, fld(1, k) + fld(2, v)) for k, v in labels.items()) + fld(8, b"")


def test_deployment_with_negative_ints_intorstring_and_omitted_zeros() -> None:
    strategy = fld(1, "RollingUpdate") + fld(2, fld(1, fld(1, 1) + fld(3, "25%")) + fld(2, fld(1, 0) + fld(2, 1)))
    container = fld(1, "main") + fld(2, "app:1") + fld(6, fld(3, 8080))
    template = fld(1, meta("", app="a")) + fld(2, fld(2, container) + fld(5, -5))
    spec = fld(1, 0) + fld(2, fld(1, fld(1, "app") + fld(2, "a"))) + fld(3, template) + fld(4, strategy) + fld(5, 0)
    obj = decode(envelope("apps/v1", "Deployment", fld(1, meta("api", app="a")) + fld(2, spec) + fld(3, b"")))
    assert obj["apiVersion"] == "apps/v1" and obj["kind"] == "Deployment"
    assert obj["metadata"] == {"name": "api", "labels": {"app": "a"}}  # no creationTimestamp: null
    assert obj["spec"]["replicas"] == 0  # a pointer field: zero is a value
    assert "minReadySeconds" not in obj["spec"]  # omitempty non-pointer zero: absent
    assert obj["spec"]["strategy"] == {"type": "RollingUpdate",
                                       "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": 1}}
    assert obj["spec"]["template"]["spec"]["activeDeadlineSeconds"] == -5
    assert obj["spec"]["template"]["spec"]["containers"] == [{"name": "main", "image": "app:1",
                                                                "ports": [{"containerPort": 8080}]}]
    assert obj["status"] == {}


def test_maps_of_bytes_quantities_lists_and_unknown_fields() -> None:
    secret = fld(1, meta("s")) + fld(2, fld(1, "k") + fld(2, b"\x00\xff")) + fld(3, "Opaque") + fld(999, "x")
    assert decode(envelope("v1", "Secret", secret))["data"] == {"k": "AP8="}
    quota = fld(1, meta("q")) + fld(2, fld(1, fld(1, "pods") + fld(2, fld(1, "10"))))
    assert decode(envelope("v1", "ResourceQuota", quota))["spec"] == {"hard": {"pods": "10"}}
    review = fld(1, meta("")) + fld(2, fld(1, fld(2, "delete") + fld(5, "nodes")))
    got = decode(envelope("authorization.k8s.io/v1", "SelfSubjectAccessReview", review))
    assert got["spec"] == {"resourceAttributes": {"verb": "delete", "resource": "nodes"}}
    extra = fld(5, fld(1, "scopes") + fld(2, fld(1, "a") + fld(1, "b")))
    sar = decode(envelope("authorization.k8s.io/v1", "SubjectAccessReview", fld(2, extra + fld(3, "alice"))))
    assert sar["spec"] == {"extra": {"scopes": ["a", "b"]}, "user": "alice"}  # ExtraValue shown as a list
    groups = fld(4, varint(1) + varint(2)) + fld(4, 3)  # packed then unpacked repeated int64
    pod = decode(envelope("v1", "Pod", fld(1, meta("p")) + fld(2, fld(14, groups))))
    assert pod["spec"]["securityContext"] == {"supplementalGroups": [1, 2, 3]}
    span = decode(envelope("batch/v1", "Job", fld(1, meta("j")) + fld(2, fld(7, 3))))
    assert span["spec"]["backoffLimit"] == 3


def test_time_duration_and_errors() -> None:
    ev = fld(1, meta("e")) + fld(2, fld(1, "Pod") + fld(3, "p")) + fld(6, fld(1, 1_700_000_000) + fld(2, 5))
    assert decode(envelope("v1", "Event", ev))["firstTimestamp"] == "2023-11-14T22:13:20Z"
    assert go_duration(0) == "0s" and go_duration(90 * 10**9) == "1m30s" and go_duration(3600 * 10**9) == "1h0m0s"
    assert go_duration(1_500_000) == "1.5ms"
    with pytest.raises(ProtoError, match="magic"):
        decode(b'{"kind":"Pod"}')
    with pytest.raises(ProtoError, match="no kind"):
        decode(envelope("v1", "Widget", b""))
    with pytest.raises(ProtoError, match="truncated"):
        decode(envelope("v1", "ConfigMap", fld(1, b"")[:-1] + b"\x0a\x05ab"))


def test_every_builtin_kind_with_a_request_body_has_a_message() -> None:
    served = {(r.api_version(v), r.kind) for r in BUILTIN if not r.custom for v in r.versions
              if r.group not in ("apiextensions.k8s.io", "apiregistration.k8s.io")}
    missing = {gk for gk in served if gk not in KINDS}
    assert not missing, missing
    for ref in KINDS.values():
        assert ref in MESSAGES


def test_unsupported_media_type_is_415_with_the_real_message(sb: Sandbox) -> None:
    with httpx.Client(base_url=sb.url("sandbox"), verify=False, headers={"Authorization": f"Bearer {sb.token}"}) as c:
        r = c.post("/api/v1/namespaces/default/configmaps", content=b"\xa1", headers={"Content-Type": "application/cbor"})
        assert r.status_code == 415
        assert r.json()["message"] == ("the body of the request was in an unknown format - accepted media types "
                                       "include: application/json, application/yaml, application/vnd.kubernetes.protobuf")
        r = c.post("/api/v1/namespaces/default/configmaps", content=envelope("v1", "ConfigMap", fld(1, meta("viaproto"))
                   + fld(2, fld(1, "a") + fld(2, "1"))), headers={"Content-Type": "application/vnd.kubernetes.protobuf"})
        assert r.status_code == 201 and r.json()["data"] == {"a": "1"}


def test_embedded_structs_are_inlined_as_json_shows_them() -> None:
    """Volume embeds VolumeSource (json:",inline"): its emptyDir sits beside the name."""
    volume = fld(1, "scratch") + fld(2, fld(2, fld(2, fld(1, "1Gi"))))
    pod = decode(envelope("v1", "Pod", fld(1, meta("p")) + fld(2, fld(1, volume))))
    assert pod["spec"]["volumes"] == [{"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}}]
