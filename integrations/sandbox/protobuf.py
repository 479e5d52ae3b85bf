"""Decode ``application/vnd.kubernetes.protobuf`` request bodies into the JSON form the store keeps.

A Kubernetes protobuf body is the magic ``k8s\\x00`` followed by a ``runtime.Unknown``
message whose ``typeMeta`` names the apiVersion and kind and whose ``raw`` holds the
object's own message. Messages are read with the generated table in ``proto_schema``
(field numbers and types from the Kubernetes API definitions); the few apimachinery
types with a custom JSON form (Time, MicroTime, Duration, IntOrString, Quantity,
RawExtension, FieldsV1) are converted here, and a zero scalar in a field Go marks
``omitempty`` is dropped, because gogo-protobuf writes non-pointer fields even when
empty and the real server would never show them.
"""

from __future__ import annotations

import base64
import json
import struct
from datetime import UTC, datetime
from typing import Any

from .proto_schema import KINDS, LISTS, MESSAGES

MAGIC = b"k8s\x00"
MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
_META = "k8s.io.apimachinery.pkg.apis.meta.v1."
_VARINT_TYPES = {"int32", "int64", "uint32", "uint64", "bool", "sint32", "sint64"}


class ProtoError(ValueError):
    """A body that is not a well-formed Kubernetes protobuf message."""


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ProtoError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ProtoError("varint too long")


def _fields(buf: bytes) -> list[tuple[int, int, Any]]:
    """(number, wire type, value) for each field on the wire: an int for varints and fixed
    widths (as raw bytes for fixed), a bytes slice for length-delimited."""
    out: list[tuple[int, int, Any]] = []
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        num, wt = key >> 3, key & 7
        if num == 0:
            raise ProtoError("field number 0")
        if wt == 0:
            v, pos = _varint(buf, pos)
            out.append((num, 0, v))
        elif wt == 1:
            if pos + 8 > end:
                raise ProtoError("truncated fixed64")
            out.append((num, 1, buf[pos:pos + 8]))
            pos += 8
        elif wt == 2:
            n, pos = _varint(buf, pos)
            if pos + n > end:
                raise ProtoError("truncated length-delimited field")
            out.append((num, 2, buf[pos:pos + n]))
            pos += n
        elif wt == 5:
            if pos + 4 > end:
                raise ProtoError("truncated fixed32")
            out.append((num, 5, buf[pos:pos + 4]))
            pos += 4
        else:
            raise ProtoError(f"unsupported wire type {wt}")
    return out


def _signed(v: int) -> int:
    """A varint read as a two's-complement int64 (negative int32s are sign-extended on the wire)."""
    return v - (1 << 64) if v >= 1 << 63 else v


def _scalar(typ: str, wt: int, v: Any) -> Any:
    if typ == "string":
        if wt != 2:
            raise ProtoError("string field with a non-length wire type")
        try:
            return bytes(v).decode()
        except UnicodeDecodeError:
            raise ProtoError("invalid UTF-8 in a string field") from None
    if typ == "bytes":
        return base64.b64encode(bytes(v)).decode()
    if typ == "bool":
        return bool(v)
    if typ in ("int32", "int64"):
        return _signed(v)
    if typ in ("sint32", "sint64"):
        return (v >> 1) ^ -(v & 1)
    if typ in ("uint32", "uint64"):
        return v
    if typ == "double":
        return struct.unpack("<d", v)[0]
    if typ == "float":
        return struct.unpack("<f", v)[0]
    if typ in ("fixed32", "fixed64"):
        return int.from_bytes(v, "little")
    if typ in ("sfixed32", "sfixed64"):
        return int.from_bytes(v, "little", signed=True)
    raise ProtoError(f"unknown scalar type {typ}")


def _packed(typ: str, raw: bytes) -> list[Any]:
    """A packed repeated numeric field."""
    out: list[Any] = []
    pos = 0
    if typ in ("double", "fixed64", "sfixed64"):
        return [_scalar(typ, 1, raw[i:i + 8]) for i in range(0, len(raw), 8)]
    if typ in ("float", "fixed32", "sfixed32"):
        return [_scalar(typ, 5, raw[i:i + 4]) for i in range(0, len(raw), 4)]
    while pos < len(raw):
        v, pos = _varint(raw, pos)
        out.append(_scalar(typ, 0, v))
    return out


def _time(buf: bytes, micro: bool) -> str | None:
    secs = nanos = 0
    for num, _, v in _fields(buf):
        if num == 1:
            secs = _signed(v)
        elif num == 2:
            nanos = _signed(v)
    if secs == 0 and nanos == 0:
        return None
    try:
        t = datetime.fromtimestamp(secs, UTC)
    except (OverflowError, OSError, ValueError):
        raise ProtoError("time out of range") from None
    if micro:
        return t.strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos // 1000:06d}Z"
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def go_duration(nanos: int) -> str:
    """Go's time.Duration.String() (the JSON form of metav1.Duration)."""
    if nanos == 0:
        return "0s"
    sign = "-" if nanos < 0 else ""
    n = abs(nanos)
    if n < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if n >= size:
                return sign + f"{n / size:.9f}".rstrip("0").rstrip(".") + unit
    h, rest = divmod(n, 3600 * 1_000_000_000)
    m, rest = divmod(rest, 60 * 1_000_000_000)
    s = f"{rest / 1_000_000_000:.9f}".rstrip("0").rstrip(".")
    return sign + (f"{h}h{m}m{s}s" if h else f"{m}m{s}s" if m else f"{s}s")


def _special(ref: str, buf: bytes) -> Any:
    fields = _fields(buf)

    def first(n: int, default: Any = None) -> Any:
        return next((v for num, _, v in fields if num == n), default)

    name = ref.rpartition(".")[2]
    if name in ("Time", "MicroTime"):
        return _time(buf, name == "MicroTime")
    if name == "Duration":
        return go_duration(_signed(first(1, 0)))
    if name == "IntOrString":
        if first(1, 0) == 1:
            return _scalar("string", 2, first(3, b""))
        return _signed(first(2, 0))
    if name == "Quantity":
        return _scalar("string", 2, first(1, b""))
    raw = first(1, b"")  # RawExtension and FieldsV1: JSON bytes
    if not raw:
        return None
    try:
        return json.loads(bytes(raw))
    except ValueError:
        raise ProtoError(f"{name} does not hold JSON") from None


def _value(ref: str, wt: int, v: Any) -> Any:
    if ref in MESSAGES or ref.startswith(("k8s.io.", ".")):
        if wt != 2:
            raise ProtoError(f"message field {ref} with a non-length wire type")
        return decode_message(ref, bytes(v))
    return _scalar(ref, wt, v)


def decode_message(ref: str, buf: bytes) -> Any:
    """One message as the JSON value the API server would show for it."""
    table = MESSAGES.get(ref)
    if table is None:
        return _special(ref, buf)
    obj: dict[str, Any] = {}
    for num, wt, v in _fields(buf):
        spec = table.get(num)
        if spec is None:
            continue  # unknown fields are skipped, as proto2 readers do
        name, label, mkey, typ, zero_absent = spec
        if label == "inline":  # an embedded Go struct: its fields belong to this object in JSON
            inner = _value(typ, wt, v)
            if isinstance(inner, dict):
                obj.update(inner)
            continue
        if label == "map":
            if wt != 2:
                raise ProtoError(f"map field {name} with a non-length wire type")
            key: Any = ""
            val: Any = None
            for enum, ewt, ev in _fields(bytes(v)):
                if enum == 1:
                    key = _scalar(mkey, ewt, ev)
                elif enum == 2:
                    val = _value(typ, ewt, ev)
            if val is None and typ not in MESSAGES:
                val = "" if typ in ("string", "bytes") else _zero_special(typ)
            obj.setdefault(name, {})[str(key)] = val
        elif label == "rep":
            items = obj.setdefault(name, [])
            if wt == 2 and typ in _VARINT_TYPES | {"double", "float", "fixed32", "fixed64", "sfixed32",
                                                      "sfixed64"}:
                items.extend(_packed(typ, bytes(v)))
            else:
                items.append(_value(typ, wt, v))
        else:
            val = _value(typ, wt, v)
            if val is None or (zero_absent and not isinstance(val, float) and val in ("", 0, False)):
                obj.pop(name, None)
                continue
            obj[name] = val
    if ref in LISTS:
        return obj.get("items", [])
    return obj


def _zero_special(typ: str) -> Any:
    return {"k8s.io.apimachinery.pkg.api.resource.Quantity": "0"}.get(typ)


def decode(body: bytes) -> dict[str, Any]:
    """A whole request body: envelope, then the object named by its typeMeta."""
    if not body.startswith(MAGIC):
        raise ProtoError("the body does not start with the Kubernetes protobuf magic number")
    api_version = kind = ""
    raw = b""
    encoding = ""
    for num, _, v in _fields(body[len(MAGIC):]):
        if num == 1:
            for tnum, twt, tv in _fields(bytes(v)):
                if tnum == 1:
                    api_version = _scalar("string", twt, tv)
                elif tnum == 2:
                    kind = _scalar("string", twt, tv)
        elif num == 2:
            raw = bytes(v)
        elif num == 3:
            encoding = _scalar("string", 2, v)
    if encoding:
        raise ProtoError(f"content encoding {encoding!r} is not supported")
    ref = KINDS.get((api_version, kind))
    if ref is None:
        raise ProtoError(f"no kind {kind!r} is registered for version {api_version!r}")
    obj = decode_message(ref, raw)
    if not isinstance(obj, dict):
        raise ProtoError(f"{kind} did not decode to an object")
    if ref.startswith(_META):
        api_version = "v1" if api_version == "meta.k8s.io/v1" else api_version
    return {"kind": kind, "apiVersion": api_version, **obj}
