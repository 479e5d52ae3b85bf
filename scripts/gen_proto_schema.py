#!/usr/bin/env python3
"""Generate ``integrations/sandbox/proto_schema.py`` from the Kubernetes API definitions.

kubectl 1.32+ sends built-in objects as ``application/vnd.kubernetes.protobuf``. The
sandbox decodes them with a table of messages: field number -> JSON name, wire type,
message reference, and whether a zero value means "absent" (Go ``omitempty`` on a
non-pointer field, which gogo-protobuf still puts on the wire). The facts come from two
files per API package of ``k8s.io/api`` and ``k8s.io/apimachinery``:

- ``generated.proto``: messages, field numbers, scalar/message/map types;
- the Go types (``types.go`` and friends): ``json:"name,omitempty"`` tags, pointer
  fields, and named slices such as ``type ExtraValue []string`` (a message wrapping
  ``repeated items`` that JSON shows as a bare list); ``register.go``: the group name.

Only messages reachable from the kinds listed in KINDS are emitted.

Usage (checkouts of kubernetes/api and kubernetes/apimachinery, any layout git can read):

    python scripts/gen_proto_schema.py API_DIR APIMACHINERY_DIR > integrations/sandbox/proto_schema.py
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

# (package directory in k8s.io/api, kinds the sandbox accepts in protobuf request bodies)
KINDS: dict[str, tuple[str, ...]] = {
    "core/v1": ("Namespace", "Node", "Pod", "Service", "Endpoints", "ConfigMap", "Secret", "Event",
                "ServiceAccount", "LimitRange", "ResourceQuota", "PersistentVolumeClaim", "PersistentVolume",
                "ReplicationController", "Binding"),
    "apps/v1": ("Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "ControllerRevision"),
    "policy/v1": ("PodDisruptionBudget", "Eviction"),
    "batch/v1": ("Job", "CronJob"),
    "rbac/v1": ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"),
    "autoscaling/v1": ("HorizontalPodAutoscaler", "Scale"),
    "autoscaling/v2": ("HorizontalPodAutoscaler",),
    "discovery/v1": ("EndpointSlice",),
    "storage/v1": ("StorageClass",),
    "networking/v1": ("Ingress", "IngressClass", "NetworkPolicy"),
    "coordination/v1": ("Lease",),
    "scheduling/v1": ("PriorityClass",),
    "flowcontrol/v1": ("FlowSchema", "PriorityLevelConfiguration"),
    "admissionregistration/v1": ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"),
    "authorization/v1": ("SelfSubjectAccessReview", "SelfSubjectRulesReview", "SubjectAccessReview",
                         "LocalSubjectAccessReview"),
    "authentication/v1": ("SelfSubjectReview", "TokenRequest"),
}
META = ("DeleteOptions",)  # meta/v1 kinds sent as bodies (DELETE with protobuf options)
APIMACHINERY = {"k8s.io.apimachinery.pkg.apis.meta.v1": "pkg/apis/meta/v1",
                "k8s.io.apimachinery.pkg.api.resource": "pkg/api/resource",
                "k8s.io.apimachinery.pkg.runtime": "pkg/runtime",
                "k8s.io.apimachinery.pkg.runtime.schema": "pkg/runtime/schema",
                "k8s.io.apimachinery.pkg.util.intstr": "pkg/util/intstr"}
# decoded by hand-written code (custom JSON forms): never expanded from the table
SPECIAL = {"k8s.io.apimachinery.pkg.apis.meta.v1.Time", "k8s.io.apimachinery.pkg.apis.meta.v1.MicroTime",
           "k8s.io.apimachinery.pkg.apis.meta.v1.Duration", "k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1",
           "k8s.io.apimachinery.pkg.util.intstr.IntOrString", "k8s.io.apimachinery.pkg.api.resource.Quantity",
           "k8s.io.apimachinery.pkg.runtime.RawExtension"}
SCALARS = {"string", "bytes", "bool", "int32", "int64", "uint32", "uint64", "sint32", "sint64", "double", "float",
           "fixed32", "fixed64", "sfixed32", "sfixed64"}

_FIELD = re.compile(r"^\s*(optional|repeated|required)?\s*(map<\s*([\w.]+)\s*,\s*([\w.]+)\s*>|[\w.]+)\s+(\w+)\s*=\s*(\d+)")
_GOFIELD = re.compile(r'^\s*(\w+)?\s+(\*?)[^`]*`[^`]*json:"([^"]*)"[^`]*protobuf:"[a-z0-9]+,(\d+),')


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def parse_proto(text: str) -> tuple[str, dict[str, list[tuple[str, str, str, str, str, int]]]]:
    """(package, {message: [(label, type, mapkey, mapvalue, name, number)]}); nested messages unused by k8s."""
    text = _strip_comments(text)
    pkg = re.search(r"^package\s+([\w.]+);", text, flags=re.M)
    assert pkg, "no package"
    msgs: dict[str, list[tuple[str, str, str, str, str, int]]] = {}
    for m in re.finditer(r"^message\s+(\w+)\s*\{(.*?)^\}", text, flags=re.M | re.S):
        fields = []
        for line in m.group(2).splitlines():
            f = _FIELD.match(line)
            if f:
                fields.append((f.group(1) or "", f.group(2), f.group(3) or "", f.group(4) or "", f.group(5),
                               int(f.group(6))))
        msgs[m.group(1)] = fields
    return pkg.group(1), msgs


def parse_go(files: list[str]) -> tuple[dict[str, dict[int, tuple[bool, bool, bool]]], set[str]]:
    """({struct: {proto number: (omitempty, pointer, inline)}}, named slice types)."""
    structs: dict[str, dict[int, tuple[bool, bool, bool]]] = {}
    slices: set[str] = set()
    for text in files:
        for m in re.finditer(r"^type\s+(\w+)\s+\[\]", text, flags=re.M):
            slices.add(m.group(1))
        for m in re.finditer(r"^type\s+(\w+)\s+struct\s*\{(.*?)^\}", text, flags=re.M | re.S):
            fields: dict[int, tuple[bool, bool, bool]] = {}
            for line in m.group(2).splitlines():
                g = _GOFIELD.match(line)
                if g:
                    name, *opts = g.group(3).split(",")
                    # an embedded struct with no JSON name (json:"" or json:",inline") is inlined
                    fields[int(g.group(4))] = ("omitempty" in opts, g.group(2) == "*", name == "")
            structs[m.group(1)] = fields
    return structs, slices


def _qualify(pkg: str, typ: str) -> str:
    if typ in SCALARS:
        return typ
    return typ.lstrip(".") if typ.startswith(".") else f"{pkg}.{typ}"


def build(api: Path, machinery: Path) -> str:
    protos: dict[str, dict[str, list[tuple[str, str, str, str, str, int]]]] = {}
    gos: dict[str, tuple[dict[str, dict[int, tuple[bool, bool, bool]]], set[str]]] = {}
    groups: dict[str, tuple[str, str]] = {}  # package -> (group, version)

    def load(path: Path) -> str:
        pkg, msgs = parse_proto((path / "generated.proto").read_text())
        protos[pkg] = msgs
        gofiles = [p.read_text() for p in sorted(path.glob("*.go"))
                   if not p.name.startswith(("zz_", "generated")) and not p.name.endswith("_test.go")]
        gos[pkg] = parse_go(gofiles)
        return pkg

    for rel in KINDS:
        pkg = load(api / rel)
        g = re.search(r'GroupName\s*=\s*"([^"]*)"', (api / rel / "register.go").read_text())
        assert g, f"no GroupName in {rel}"
        groups[pkg] = (g.group(1), rel.split("/")[1])
    for rel in APIMACHINERY.values():
        load(machinery / rel)

    def package(pkg: str) -> dict[str, list[tuple[str, str, str, str, str, int]]]:
        if pkg not in protos:  # a package referenced from a served one (e.g. core/v1 -> scheduling)
            assert pkg.startswith("k8s.io.api."), pkg
            load(api.joinpath(*pkg.split(".")[3:]))
        return protos[pkg]

    roots = [f"{pkg}.{k}" for pkg, (_, _) in groups.items() for k in KINDS[_dir(pkg)]]
    roots += [f"k8s.io.apimachinery.pkg.apis.meta.v1.{k}" for k in META]
    out: dict[str, list[tuple[int, str, str, str, str, int]]] = {}
    lists: set[str] = set()
    todo = list(roots)
    while todo:
        full = todo.pop()
        if full in out or full in SPECIAL:
            continue
        pkg, _, name = full.rpartition(".")
        fields = package(pkg)[name]
        go_structs, go_slices = gos[pkg]
        if name in go_slices:
            lists.add(full)
        tags = go_structs.get(name, {})
        rows = []
        for label, typ, mkey, mval, fname, num in fields:
            omit, ptr, inline = tags.get(num, (True, False, False))
            zero_absent = 1 if omit and not ptr else 0
            if inline:  # an embedded struct (json:",inline"): JSON shows its fields in the parent
                ref = _qualify(pkg, typ)
                rows.append((num, fname, "inline", "", ref, 0))
                todo.append(ref)
            elif mkey:
                ref = _qualify(pkg, mval)
                rows.append((num, fname, "map", mkey, ref, zero_absent))
            else:
                ref = _qualify(pkg, typ)
                rows.append((num, fname, "rep" if label == "repeated" else "opt", "", ref, zero_absent))
            if ref not in SCALARS:
                todo.append(ref)
        out[full] = rows
    lines = ['"""Protobuf schema of the built-in kinds the sandbox decodes. GENERATED by',
             "scripts/gen_proto_schema.py from kubernetes/api and kubernetes/apimachinery; do not edit.",
             "",
             "MESSAGES: full message name -> {field number: (json name, label, map key type, type, zero_absent)}",
             "where label is opt|rep|map|inline (an embedded struct whose fields JSON shows in the",
             "parent), type a scalar name or a full message name, and zero_absent says a",
             "zero scalar is Go's omitempty default (drop it). LISTS: messages JSON shows as a bare list",
             "of their ``items``. KINDS: (apiVersion, kind) -> message.", '"""', "",
             "MESSAGES: dict[str, dict[int, tuple[str, str, str, str, int]]] = {"]
    for full in sorted(out):
        lines.append(f"    {full!r}: {{")
        for num, fname, label, mkey, ref, zero in out[full]:
            lines.append(f"        {num}: ({fname!r}, {label!r}, {mkey!r}, {ref!r}, {zero}),")
        lines.append("    },")
    lines.append("}")
    lines.append(f"LISTS: frozenset[str] = frozenset({sorted(lists)!r})")
    lines.append("KINDS: dict[tuple[str, str], str] = {")
    for pkg, (group, version) in sorted(groups.items()):
        av = f"{group}/{version}" if group else version
        for k in KINDS[_dir(pkg)]:
            lines.append(f"    ({av!r}, {k!r}): {pkg + '.' + k!r},")
    for k in META:
        for av in ("v1", "meta.k8s.io/v1"):
            lines.append(f"    ({av!r}, {k!r}): {'k8s.io.apimachinery.pkg.apis.meta.v1.' + k!r},")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dir(pkg: str) -> str:
    return "/".join(pkg.split(".")[-2:])


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    sys.stdout.write(build(Path(sys.argv[1]), Path(sys.argv[2])))
