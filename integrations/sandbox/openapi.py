"""OpenAPI v2 and v3 documents for the kinds a cluster serves, and schema checks against them.

The schemas come from the ``kubernetes-validate`` package, which ships the Kubernetes
API definitions of each release as JSON Schema (``_definitions.json``). They are turned
back into OpenAPI form here (``type: [T, "null"]`` -> ``type: T``, ``$defs`` references
-> ``#/definitions`` or ``#/components/schemas``, IntOrString and Quantity as the
API server writes them). Custom resources get their CRD's ``openAPIV3Schema`` with the
standard ``apiVersion``/``kind``/``metadata`` properties added, as the API server does.

Paths carry ``x-kubernetes-group-version-kind``, ``x-kubernetes-action`` and the
``fieldValidation`` query parameter, which is how kubectl decides the server validates
fields itself (``--validate=strict``, the default). ``field_problems`` walks an object
against the same schemas for ``fieldValidation`` (unknown fields) and for type errors.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterable
from importlib import resources
from typing import Any

from .resources import Registry, Resource

Obj = dict[str, Any]
SCHEMA_RELEASE = "v1.29.0"  # the release the sandbox reports in /version
_META = "io.k8s.apimachinery.pkg.apis.meta.v1."
_SPECIAL = {
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {"type": "string", "format": "int-or-string"},
    "io.k8s.apimachinery.pkg.api.resource.Quantity": {"type": "string"},
}
# CRD schemas as (group, version, kind) -> openAPIV3Schema
CrdSchemas = Callable[[], dict[tuple[str, str, str], Obj]]


@functools.cache
def definitions() -> dict[str, Obj]:
    """The release's definitions in JSON Schema form, by OpenAPI name."""
    path = resources.files("kubernetes_validate") / "kubernetes-json-schema" / f"{SCHEMA_RELEASE}-local" / \
        "_definitions.json"
    defs: dict[str, Obj] = json.loads(path.read_text())["$defs"]
    return defs


@functools.cache
def by_gvk() -> dict[tuple[str, str, str], str]:
    out: dict[tuple[str, str, str], str] = {}
    for name, d in definitions().items():
        for gvk in d.get("x-kubernetes-group-version-kind") or ():
            out.setdefault((gvk.get("group", ""), gvk.get("version", ""), gvk.get("kind", "")), name)
    return out


def _convert(node: Any, prefix: str, v3: bool) -> Any:
    """One JSON Schema node in OpenAPI form; ``prefix`` is where references point."""
    if isinstance(node, list):
        return [_convert(x, prefix, v3) for x in node]
    if not isinstance(node, dict):
        return node
    out: Obj = {}
    for k, v in node.items():
        if k == "type" and isinstance(v, list):
            kinds = [t for t in v if t != "null"]
            out[k] = kinds[0] if len(kinds) == 1 else kinds
        elif k == "$ref":
            target = prefix + v.rsplit("/", 1)[1]
            if v3 and len(node) > 1:
                out["allOf"] = [{"$ref": target}]
            else:
                out["$ref"] = target
        elif k == "enum" and set(node) >= {"enum", "type"} and isinstance(v, list) and len(v) == 1:
            continue  # apiVersion/kind pinned by the JSON Schema conversion; OpenAPI does not pin them
        elif k in ("properties", "patternProperties"):
            out[k] = {pk: _convert(pv, prefix, v3) for pk, pv in v.items()}
        else:
            out[k] = _convert(v, prefix, v3)
    return out


def _refs(node: Any, acc: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            acc.add(ref.rsplit("/", 1)[1])
        for v in node.values():
            _refs(v, acc)
    elif isinstance(node, list):
        for v in node:
            _refs(v, acc)


def _closure(names: Iterable[str]) -> list[str]:
    defs = definitions()
    seen: set[str] = set()
    todo = [n for n in names if n in defs]
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        found: set[str] = set()
        _refs(defs[n], found)
        todo.extend(f for f in found if f not in seen and f in defs)
    return sorted(seen)


def _schema(name: str, prefix: str, v3: bool) -> Obj:
    if name in _SPECIAL:
        return dict(_SPECIAL[name], description=definitions()[name].get("description", ""))
    conv: Obj = _convert(definitions()[name], prefix, v3)
    return conv


def def_name(r: Resource, version: str) -> str:
    """The OpenAPI name of a served kind (built-in from the release, custom by reversed group)."""
    name = by_gvk().get((r.group, version, r.kind))
    if name is not None:
        return name
    return ".".join(reversed(r.group.split("."))) + f".{version}.{r.kind}"


def _custom_schema(r: Resource, version: str, crd: Obj | None, prefix: str, v3: bool = False) -> Obj:
    base: Obj = dict(crd) if isinstance(crd, dict) else {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    props = dict(base.get("properties") or {})
    props["apiVersion"] = {"type": "string", "description": "APIVersion defines the versioned schema of this "
                           "representation of an object."}
    props["kind"] = {"type": "string", "description": "Kind is a string value representing the REST resource "
                     "this object represents."}
    meta_ref = {"$ref": prefix + _META + "ObjectMeta"}
    props["metadata"] = dict({"allOf": [meta_ref]} if v3 else meta_ref, description="Standard object's metadata.")
    base["properties"] = props
    base.setdefault("type", "object")
    base["x-kubernetes-group-version-kind"] = [{"group": r.group, "kind": r.kind, "version": version}]
    return base


_COMMON = ("Status", "DeleteOptions", "WatchEvent", "Patch", "APIResourceList", "ObjectMeta", "ListMeta")


def _param(name: str, desc: str, where: str = "query", v3: bool = True) -> Obj:
    p: Obj = {"name": name, "in": where, "description": desc, "uniqueItems": True}
    if where == "path":
        p["required"] = True
    if v3:
        p["schema"] = {"type": "string"}
    else:
        p["type"] = "string"
    return p


def _op(r: Resource, version: str, action: str, ref: str, v3: bool, params: list[Obj]) -> Obj:
    kind = r.kind
    op: Obj = {"operationId": f"{action}{r.group.split('.')[0].capitalize()}{version.capitalize()}{kind}",
               "tags": [f"{r.group or 'core'}_{version}"], "description": f"{action} {kind}",
               "x-kubernetes-action": action,
               "x-kubernetes-group-version-kind": {"group": r.group, "version": version, "kind": kind}}
    if params:
        op["parameters"] = params
    if v3:
        op["responses"] = {"200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": ref}}}}}
    else:
        op["responses"] = {"200": {"description": "OK", "schema": {"$ref": ref}}}
    return op


def _paths(r: Resource, version: str, prefix: str, v3: bool) -> Obj:
    base = f"/api/{version}" if not r.group else f"/apis/{r.group}/{version}"
    coll = f"{base}/namespaces/{{namespace}}/{r.plural}" if r.namespaced else f"{base}/{r.plural}"
    ref = prefix + def_name(r, version)
    status = prefix + _META + "Status"
    writes = [_param("dryRun", "When present, indicates that modifications should not be persisted.", v3=v3),
              _param("fieldManager", "fieldManager is a name associated with the actor or entity that is making "
                     "these changes.", v3=v3),
              _param("fieldValidation", "fieldValidation instructs the server on how to handle objects in the "
                     "request containing unknown or duplicate fields: Ignore, Warn or Strict.", v3=v3)]
    path_params = [_param("name", f"name of the {r.kind}", "path", v3)]
    ns_params = [_param("namespace", "object name and auth scope", "path", v3)] if r.namespaced else []
    verbs = set(r.verbs)
    out: Obj = {}
    c: Obj = {}
    if "list" in verbs:
        c["get"] = _op(r, version, "list", ref, v3, [])
    if "create" in verbs:
        c["post"] = _op(r, version, "post", ref, v3, writes)
    if "deletecollection" in verbs:
        c["delete"] = _op(r, version, "deletecollection", status, v3, [])
    if c:
        c["parameters"] = ns_params
        out[coll] = c
    i: Obj = {}
    if "get" in verbs:
        i["get"] = _op(r, version, "get", ref, v3, [])
    if "update" in verbs:
        i["put"] = _op(r, version, "put", ref, v3, writes)
    if "patch" in verbs:
        i["patch"] = _op(r, version, "patch", ref, v3, [*writes, _param("force", "Force is going to \"force\" "
                                                                       "Apply requests.", v3=v3)])
    if "delete" in verbs:
        i["delete"] = _op(r, version, "delete", ref, v3, [_param("dryRun", "dry run", v3=v3)])
    if i:
        i["parameters"] = path_params + ns_params
        out[f"{coll}/{{name}}"] = i
    return out


def _document(rs: list[tuple[Resource, str]], crds: dict[tuple[str, str, str], Obj], v3: bool) -> Obj:
    prefix = "#/components/schemas/" if v3 else "#/definitions/"
    paths: Obj = {}
    wanted = [_META + n for n in _COMMON]
    custom: Obj = {}
    for r, v in rs:
        paths.update(_paths(r, v, prefix, v3))
        name = def_name(r, v)
        if name in definitions():
            wanted.append(name)
            lst = name + "List"
            if lst in definitions():
                wanted.append(lst)
        else:
            custom[name] = _custom_schema(r, v, crds.get((r.group, v, r.kind)), prefix, v3)
    schemas: Obj = {n: _schema(n, prefix, v3) for n in _closure(wanted)}
    schemas.update(custom)
    info = {"title": "Kubernetes", "version": SCHEMA_RELEASE}
    if v3:
        return {"openapi": "3.0.0", "info": info, "paths": paths, "components": {"schemas": schemas}}
    return {"swagger": "2.0", "info": info, "paths": paths, "definitions": schemas}


def group_versions(reg: Registry) -> dict[str, list[tuple[Resource, str]]]:
    """OpenAPI v3 path ("api/v1", "apis/apps/v1") -> the resources served there."""
    out: dict[str, list[tuple[Resource, str]]] = {}
    for r in sorted(list(reg.by_key.values()), key=lambda x: (x.group, x.plural)):
        for v in r.versions:
            out.setdefault(f"apis/{r.group}/{v}" if r.group else f"api/{v}", []).append((r, v))
    return out


def _hash(rs: list[tuple[Resource, str]], crds: dict[tuple[str, str, str], Obj]) -> str:
    h = hashlib.sha512()
    for r, v in rs:
        h.update(repr((r.group, v, r.plural, r.kind, r.namespaced, r.verbs)).encode())
        h.update(json.dumps(crds.get((r.group, v, r.kind)), sort_keys=True).encode())
    return h.hexdigest()[:128].upper()


def v3_root(reg: Registry, crds: dict[tuple[str, str, str], Obj]) -> Obj:
    return {"paths": {gv: {"serverRelativeURL": f"/openapi/v3/{gv}?hash={_hash(rs, crds)}"}
                      for gv, rs in group_versions(reg).items()}}


def v3_document(reg: Registry, gv: str, crds: dict[tuple[str, str, str], Obj]) -> Obj | None:
    rs = group_versions(reg).get(gv)
    return None if rs is None else _document(rs, crds, True)


def v2_document(reg: Registry, crds: dict[tuple[str, str, str], Obj]) -> Obj:
    return _document([x for rs in group_versions(reg).values() for x in rs], crds, False)


def crd_schemas(crds: Iterable[Obj]) -> dict[tuple[str, str, str], Obj]:
    """(group, version, kind) -> openAPIV3Schema for the served versions of stored CRDs."""
    out: dict[tuple[str, str, str], Obj] = {}
    for crd in crds:
        spec = crd.get("spec") or {}
        kind = (spec.get("names") or {}).get("kind", "")
        for v in spec.get("versions") or ():
            if isinstance(v, dict) and isinstance((v.get("schema") or {}).get("openAPIV3Schema"), dict):
                out[(str(spec.get("group", "")), str(v.get("name", "")), str(kind))] = v["schema"]["openAPIV3Schema"]
    return out


# ---------------------------------------------------------------- checks against the schemas

_GO_TYPES = {"int32": "int32", "int64": "int64", "double": "float64"}


def _go_type(node: Obj) -> str:
    t = node.get("type")
    t = [x for x in t if x != "null"][0] if isinstance(t, list) and len(t) > 1 else (
        t[0] if isinstance(t, list) else t)
    if t == "integer":
        return _GO_TYPES.get(str(node.get("format")), "int64")
    if t == "number":
        return "float64"
    if t == "boolean":
        return "bool"
    if t == "array":
        return "[]" + _go_type(node.get("items") or {})
    if t == "object":
        return "map[string]string" if (node.get("additionalProperties") or {}).get("type") else "object"
    return str(t or "string")


def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


_JSON_TYPES = {"boolean": "bool", "integer": "number", "number": "number", "string": "string", "array": "array",
               "object": "object"}


def _fits(node: Obj, value: Any) -> bool:
    if value is None:
        return True
    t = node.get("type")
    types = [x for x in (t if isinstance(t, list) else [t]) if x not in (None, "null")]
    if not types:
        return True
    k = _kind_of(value)
    for want in types:
        if _JSON_TYPES.get(want) == k and (want != "integer" or float(value).is_integer()):
            return True
    return False


def field_problems(obj: Obj, r: Resource, version: str, crds: dict[tuple[str, str, str], Obj], *,
                   prune: bool = False, schema_errors: list[tuple[str, str]] | None = None
                   ) -> tuple[list[str], list[str]]:
    """(unknown field paths, type errors as the API server's decoder words them) for ``obj``;
    with ``prune`` the unknown fields are removed from ``obj``, as decoding into the API types does.
    For custom resources type errors are schema errors (422), appended to ``schema_errors`` as
    (field, message) the way the CRD validator words them."""
    defs = definitions()
    name = by_gvk().get((r.group, version, r.kind))
    unknown: list[str] = []
    errors: list[str] = []
    drop: list[tuple[Obj, str]] = []
    crd_errors: list[tuple[str, str]] = []
    if name is not None:
        root: Obj = defs[name]
        struct_name = name.rsplit(".", 1)[1]
    else:
        crd = crds.get((r.group, version, r.kind))
        if crd is None:
            return [], []
        root = _custom_schema(r, version, crd, "#/$defs/")
        struct_name = r.kind

    ref_pkg: dict[str | None, str] = {}

    def resolve(node: Obj) -> tuple[Obj, str | None]:
        ref = node.get("$ref")
        if isinstance(ref, str):
            target = ref.rsplit("/", 1)[1]
            pkg, _, short = target.rpartition(".")
            ref_pkg[short] = pkg.rpartition(".")[2]
            return defs.get(target, {}), short
        return node, None

    def walk(node: Obj, value: Any, path: str, owner: str) -> None:
        node, named = resolve(node)
        go_path = re.sub(r"\[[^]]*\]", "", path)
        if named in ("IntOrString", "Quantity"):
            if value is not None and (not isinstance(value, str | int | float) or isinstance(value, bool)):
                errors.append(f"json: cannot unmarshal {_kind_of(value)} into Go struct field {owner}.{go_path} "
                              f"of type {'intstr.IntOrString' if named == 'IntOrString' else 'resource.Quantity'}")
            return
        if named in ("Time", "MicroTime", "RawExtension", "FieldsV1", "JSON") or \
                node.get("x-kubernetes-preserve-unknown-fields"):
            return
        if not _fits(node, value):
            want = node.get("type")
            want = [x for x in want if x != "null"][0] if isinstance(want, list) else want
            crd_errors.append((path, f"Invalid value: {json.dumps(_kind_of(value).replace('bool', 'boolean'))}: "
                                     f"{path} in body must be of type {want}: {json.dumps(_kind_of(value))}"))
            typ = f"{ref_pkg.get(named, 'v1')}.{named}" if named else _go_type(node)
            errors.append(f"json: cannot unmarshal {_kind_of(value)} into Go struct field {owner}.{go_path} "
                          f"of type {typ}")
            return
        owner = named or owner
        if isinstance(value, dict):
            props = node.get("properties")
            extra = node.get("additionalProperties")
            if isinstance(props, dict):
                for k, v in value.items():
                    sub = f"{path}.{k}" if path else k
                    if k.startswith("$"):
                        continue  # strategic merge directives ($patch, $setElementOrder/...) are not fields
                    if k in props:
                        walk(props[k], v, sub, owner)
                    elif isinstance(extra, dict):
                        walk(extra, v, sub, owner)
                    elif extra is not True:
                        unknown.append(sub)
                        drop.append((value, k))
            elif isinstance(extra, dict):
                for k, v in value.items():
                    walk(extra, v, f"{path}[{k}]" if path else k, owner)
        elif isinstance(value, list) and isinstance(node.get("items"), dict):
            for i, v in enumerate(value):
                walk(node["items"], v, f"{path}[{i}]", owner)

    walk(root, obj, "", struct_name)
    if name is None:  # custom resources: the API server words type errors as 422 schema errors, not decoding
        errors = []
        if schema_errors is not None:
            schema_errors.extend(crd_errors)
    if prune:
        for container, key in drop:
            container.pop(key, None)
    return unknown, errors


# ---------------------------------------------------------------- OpenAPI v2 as protobuf (gnostic)
# kubectl before 1.23 (and client-go's OpenAPISchema) asks /openapi/v2 for the gnostic
# openapi_v2.Document protobuf only; field numbers from gnostic's OpenAPIv2.proto.

PROTO_V2 = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"


def _pb_varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        if not n:
            out.append(b)
            return bytes(out)
        out.append(b | 0x80)


def _pb(num: int, data: bytes | str) -> bytes:
    raw = data.encode() if isinstance(data, str) else data
    return _pb_varint(num << 3 | 2) + _pb_varint(len(raw)) + raw


def _pb_bool(num: int, value: bool) -> bytes:
    return _pb_varint(num << 3) + _pb_varint(1 if value else 0)


def _yaml(v: Any) -> str:
    """A vendor extension's value as gnostic keeps it (YAML; a scalar without the ``...`` end marker)."""
    import yaml

    text = yaml.safe_dump(v, default_flow_style=False)
    return text[: -len("...\n")] if text.endswith("\n...\n") else text


def _pb_schema(s: Obj) -> bytes:
    out = b""
    if isinstance(s.get("$ref"), str):
        out += _pb(1, s["$ref"])
    if isinstance(s.get("format"), str):
        out += _pb(2, s["format"])
    if isinstance(s.get("description"), str):
        out += _pb(4, s["description"])
    for r in s.get("required") or ():
        out += _pb(19, str(r))
    extra = s.get("additionalProperties")
    if isinstance(extra, dict):
        out += _pb(21, _pb(1, _pb_schema(extra)))
    elif isinstance(extra, bool):
        out += _pb(21, _pb_bool(2, extra))
    t = s.get("type")
    if t:
        out += _pb(22, b"".join(_pb(1, str(x)) for x in (t if isinstance(t, list) else [t])))
    if isinstance(s.get("items"), dict):
        out += _pb(23, _pb(1, _pb_schema(s["items"])))
    for sub in s.get("allOf") or ():
        if isinstance(sub, dict):
            out += _pb(24, _pb_schema(sub))
    props = s.get("properties")
    if isinstance(props, dict):
        out += _pb(25, b"".join(_pb(1, _pb(1, k) + _pb(2, _pb_schema(v))) for k, v in props.items()
                                if isinstance(v, dict)))
    for k, v in s.items():
        if k.startswith("x-"):
            out += _pb(31, _pb(1, k) + _pb(2, _pb(2, _yaml(v))))
    return out


def _pb_extensions(num: int, node: Obj) -> bytes:
    return b"".join(_pb(num, _pb(1, k) + _pb(2, _pb(2, _yaml(v)))) for k, v in node.items() if k.startswith("x-"))


def _pb_parameter(p: Obj) -> bytes:
    """A ParametersItem: a query or path NonBodyParameter (the field numbers of each sub-schema differ)."""
    if p.get("in") == "path":  # PathParameterSubSchema: required 1, in 2, description 3, name 4, type 5, unique 19
        sub = (_pb_bool(1, True) + _pb(2, "path") + _pb(3, str(p.get("description", ""))) + _pb(4, str(p["name"]))
               + _pb(5, str(p.get("type", "string"))) + (_pb_bool(19, True) if p.get("uniqueItems") else b""))
        non_body = _pb(4, sub)
    else:  # QueryParameterSubSchema: required 1, in 2, description 3, name 4, type 6, unique 20
        sub = ((_pb_bool(1, True) if p.get("required") else b"") + _pb(2, str(p.get("in", "query")))
               + _pb(3, str(p.get("description", ""))) + _pb(4, str(p["name"])) + _pb(6, str(p.get("type", "string")))
               + (_pb_bool(20, True) if p.get("uniqueItems") else b""))
        non_body = _pb(3, sub)
    return _pb(1, _pb(2, non_body))  # ParametersItem.parameter -> Parameter.non_body_parameter


def _pb_operation(op: Obj) -> bytes:
    """An Operation: tags 1, description 3, operationId 5, parameters 8, responses 9, extensions 13."""
    out = b"".join(_pb(1, str(t)) for t in op.get("tags") or ())
    if op.get("description"):
        out += _pb(3, str(op["description"]))
    if op.get("operationId"):
        out += _pb(5, str(op["operationId"]))
    out += b"".join(_pb(8, _pb_parameter(p)) for p in op.get("parameters") or () if isinstance(p, dict))
    codes = b""
    for code, resp in (op.get("responses") or {}).items():
        body = _pb(1, str(resp.get("description", "")))
        if isinstance(resp.get("schema"), dict):
            body += _pb(2, _pb(1, _pb_schema(resp["schema"])))  # SchemaItem.schema
        codes += _pb(1, _pb(1, str(code)) + _pb(2, _pb(1, body)))  # NamedResponseValue -> ResponseValue.response
    out += _pb(9, codes)
    return out + _pb_extensions(13, op)


_PB_METHODS = {"get": 2, "put": 3, "post": 4, "delete": 5, "options": 6, "head": 7, "patch": 8}


def _pb_path_item(item: Obj) -> bytes:
    out = b"".join(_pb(_PB_METHODS[m], _pb_operation(op)) for m, op in item.items()
                   if m in _PB_METHODS and isinstance(op, dict))
    out += b"".join(_pb(9, _pb_parameter(p)) for p in item.get("parameters") or () if isinstance(p, dict))
    return out + _pb_extensions(10, item)


def v2_protobuf(doc: Obj) -> bytes:
    """The v2 document as a gnostic openapi_v2.Document message: swagger 1, info 2, paths 8 (the
    same paths as the JSON document), definitions 9."""
    info = doc.get("info") or {}
    defs = doc.get("definitions") or {}
    paths = doc.get("paths") or {}
    return (_pb(1, str(doc.get("swagger", "2.0"))) + _pb(2, _pb(1, str(info.get("title", ""))) +
                                                        _pb(2, str(info.get("version", ""))))
            + _pb(8, b"".join(_pb(2, _pb(1, name) + _pb(2, _pb_path_item(item))) for name, item in paths.items()))
            + _pb(9, b"".join(_pb(1, _pb(1, name) + _pb(2, _pb_schema(s))) for name, s in sorted(defs.items()))))
