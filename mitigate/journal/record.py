"""One journal record: its fields, its on-disk line and its hash.

A record is one line of ``journal.jsonl``. ``hash`` is the SHA-256 of the
record's canonical JSON without ``hash`` (keys sorted, no spaces, UTF-8), so
any tool can recompute it; ``prev`` is the SHA-256 of the previous line's bytes
(without its newline), which chains the lines: changing, removing or
reordering one breaks the next.
"""

from __future__ import annotations

import hashlib
import json
import json.scanner
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn

import orjson

from mitigate.journal.keys import JournalKey
from mitigate.journal.redact import encoded_may_hold_secret, redact_json
from mitigate.timefmt import parse_ts

FIELDS = ("seq", "ts", "mono", "actor", "type", "data", "prev", "hash")
def canonical(body: dict[str, Any]) -> bytes:
    """The bytes that ``hash`` covers: sorted keys, compact, UTF-8."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Record:
    """A journal record as written (``data`` is already redacted)."""

    seq: int
    ts: str
    mono: float
    actor: str
    type: str
    data: dict[str, Any]
    prev: str
    hash: str
    mac: str = ""  # HMAC-SHA256 of ``hash`` under the installation's key ("" when written unkeyed)

    @property
    def time(self) -> datetime:
        """``ts`` as an aware UTC datetime."""
        return parse_ts(self.ts)

    def to_dict(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in FIELDS}
        if self.mac:
            out["mac"] = self.mac
        return out


_string = json.encoder.encode_basestring  # what the encoders below do with a str (C)


def _encoder(*, sort_keys: bool) -> Callable[[Any], str]:
    """Compact, non-ASCII-escaping JSON text of a value: ``json.dumps`` with those options.

    ``JSONEncoder.encode`` builds a new C encoder on every call, and an append encodes
    ``data`` twice; this builds each once (where CPython has it). It skips the circular
    reference check: journal data has been through ``redact_json``, which cannot return a cycle.
    """
    fallback = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, sort_keys=sort_keys)
    make: Any = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return fallback.encode
    chunks = make(None, fallback.default, _string, None, ":", ",", sort_keys, False, True)
    return lambda value: "".join(chunks(value, 0))


_compact = _encoder(sort_keys=False)
_sorted = _encoder(sort_keys=True)


_new = object.__new__


def make_record(seq: int, ts: str, mono: float, actor: str, type_: str, data: dict[str, Any], prev: str,
                hash_: str, mac: str = "") -> Record:
    """``Record(...)``, three times faster: a frozen dataclass's ``__init__`` sets each field
    through ``object.__setattr__``, which adds up over the 10,000 records of a long journal."""
    record: Record = _new(Record)
    record.__dict__.update(seq=seq, ts=ts, mono=mono, actor=actor, type=type_, data=data, prev=prev, hash=hash_,
                           mac=mac)
    return record


def encode(seq: int, ts: str, mono: float, actor: str, type_: str, data: dict[str, Any],
           prev: str) -> tuple[Record, bytes]:
    """Build a record and its line (with the trailing newline).

    The line and the canonical text are the same bytes ``json.dumps`` gives for the
    whole record (compact; keys sorted for the canonical one), but only ``data`` goes
    through the encoder (once each way): the few fixed fields are spliced in around it.
    """
    compact, ordered = encode_data(data)
    return build(seq, ts, mono, actor, type_, data, compact, ordered, prev)


def encode_data(data: dict[str, Any]) -> tuple[bytes, bytes]:
    """``data``'s compact JSON in its own key order and with sorted keys, as UTF-8."""
    return _compact(data).encode(), _sorted(data).encode()


def build(seq: int, ts: str, mono: float, actor: str, type_: str, data: dict[str, Any], compact: bytes,
          ordered: bytes, prev: str, key: JournalKey | None = None) -> tuple[Record, bytes]:
    """The record and line of ``encode``, given ``data``'s two encodings (``encode_data``)."""
    mono = float(mono)
    moment = float.__repr__(mono) if math.isfinite(mono) else _compact(mono)
    number, who, what = int.__repr__(seq).encode(), _string_bytes(actor), _string_bytes(type_)
    when, chain = _string(ts).encode(), _string(prev).encode()
    stamp = moment.encode()
    digest = hashlib.sha256(b'{"actor":%s,"data":%s,"mono":%s,"prev":%s,"seq":%s,"ts":%s,"type":%s}'
                            % (who, ordered, stamp, chain, number, when, what)).hexdigest()
    mac = key.mac(digest) if key is not None else ""
    signed = b',"mac":"%s"' % mac.encode() if mac else b""
    line = (b'{"seq":%s,"ts":%s,"mono":%s,"actor":%s,"type":%s,"data":%s,"prev":%s,"hash":"%s"%s}\n'
            % (number, when, stamp, who, what, compact, chain, digest.encode(), signed))
    return make_record(seq, ts, mono, actor, type_, data, prev, digest, mac), line


# orjson encodes plain JSON data several times faster than the json module, and (by test) to the
# same bytes whenever the text is ASCII with no escapes and no floats (their notation differs:
# 1e+16 vs 1e16). Subclasses, datetimes and dataclasses are handed to the default, which refuses
# them; what it still encodes that json would refuse (enums, UUIDs, tuples) decodes to something
# unequal to the input, which sends the value down the general path too.
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_ORJSON_SORTED = _ORJSON_OPTIONS | orjson.OPT_SORT_KEYS
# A float: orjson writes a digit then "." or "e" in each. Looked for in the whole text first (digits
# turned into 0, "e" into "."; one substring test), then, if found, outside the strings only.
_FLOATISH = bytes.maketrans(b"123456789e", b"000000000.")
_FLOAT_SYNTAX = re.compile(rb"[0-9][.e]")


def _has_float(encoded: bytes) -> bool:
    """Does compact JSON without escapes hold a float?"""
    return b"0." in encoded.translate(_FLOATISH) and (
        _FLOAT_SYNTAX.search(b"".join(encoded.split(b'"')[::2])) is not None)


def _refuse(value: object) -> NoReturn:
    raise TypeError(type(value).__name__)


def prepare_data(data: Any) -> tuple[dict[str, Any], bytes, bytes]:
    """``data`` as the journal stores it: ``redact_json(data)`` (a copy) and its two encodings
    (``encode_data``). Raises what ``redact_json`` raises for data JSON cannot hold.

    The fast path: data that encodes to ASCII JSON text in which no secret can hide
    (``encoded_may_hold_secret``) is its own redaction, so its decoding is the copy, the text
    the compact encoding and one more encoding the sorted one (with floats, json encodes both).
    """
    try:
        compact = orjson.dumps(data, default=_refuse, option=_ORJSON_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError too: a non-str key, a huge int, a cycle...
        pass  # the general path below says what is wrong, as json would
    else:
        if not encoded_may_hold_secret(compact):
            clean = orjson.loads(compact)
            if type(clean) is dict and clean == data:
                if not _has_float(compact):
                    return clean, compact, orjson.dumps(clean, option=_ORJSON_SORTED)
                return (clean, *encode_data(clean))  # json's notation for the floats
    clean = redact_json(data)
    if type(clean) is not dict:
        raise TypeError(f"journal data must be a JSON object, not {type(clean).__name__}")
    return (clean, *encode_data(clean))


_STRINGS: dict[str, bytes] = {}  # actor and type repeat from one record to the next


def _string_bytes(text: str) -> bytes:
    """``text`` as a JSON string (not ASCII-escaped), UTF-8."""
    encoded = _STRINGS.get(text)
    if encoded is None:
        encoded = _string(text).encode()
        if len(_STRINGS) < 256 and len(text) <= 64:
            _STRINGS[text] = encoded
    return encoded


class BadLine(ValueError):
    """A line that is not a well-formed record (message says why)."""


_FIELD_SET = frozenset(FIELDS)
_SIGNED_SET = _FIELD_SET | {"mac"}
_NUMBER = (int, float)
_TYPES: dict[str, tuple[type, ...]] = {"seq": (int,), "ts": (str,), "mono": _NUMBER, "actor": (str,),
                                       "type": (str,), "data": (dict,), "prev": (str,), "hash": (str,)}
# The C scanner json.loads uses, called directly: it skips loads' Python wrappers (a third
# of the parse time of a short line). Anything it does not accept exactly takes the slow path.
_DECODER: Any = json.JSONDecoder()  # Any: typeshed types the scanner's argument as a scanner
_scan_once = json.scanner.make_scanner(_DECODER)


def _parse(line: bytes) -> object:
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadLine(f"not valid JSON ({exc.__class__.__name__})") from None
    try:
        obj, end = _scan_once(text, 0)
        if end == len(text):
            return obj
    except (StopIteration, json.JSONDecodeError):
        pass
    try:  # the slow path: surrounding whitespace, and the precise error class
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadLine(f"not valid JSON ({exc.__class__.__name__})") from None


def decode(line: bytes, *, check_hash: bool = True) -> Record:
    """Parse one line (without newline) and check its own hash; raises BadLine.

    ``check_hash=False`` skips re-serialising the record to canonical JSON (the
    costly part of reading); :func:`mitigate.journal.verify.scan` uses it for lines
    whose bytes the next line's ``prev`` already vouches for.
    """
    obj = _parse(line)
    if type(obj) is not dict or (obj.keys() != _FIELD_SET and obj.keys() != _SIGNED_SET):
        raise BadLine("not a journal record (wrong fields)")
    mac = obj.pop("mac", "")
    if type(mac) is not str:
        raise BadLine("field 'mac' has the wrong type")
    # json only yields str/int/float/bool/None/list/dict, so exact type tests suffice
    # (and rule out bool, which isinstance(x, int) would let through).
    seq, mono = obj["seq"], obj["mono"]
    if not (type(seq) is int and type(obj["ts"]) is str and type(mono) in _NUMBER
            and type(obj["actor"]) is str and type(obj["type"]) is str and type(obj["data"]) is dict
            and type(obj["prev"]) is str and type(obj["hash"]) is str):
        wrong = next(name for name in FIELDS if type(obj[name]) not in _TYPES[name])
        raise BadLine(f"field {wrong!r} has the wrong type")
    claimed = obj.pop("hash")
    if check_hash and sha256_hex(canonical(obj)) != claimed:
        raise BadLine("hash does not match the record's content (the record was changed)")
    return make_record(seq, obj["ts"], float(mono), obj["actor"], obj["type"], obj["data"], obj["prev"], claimed,
                       mac)
