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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

FIELDS = ("seq", "ts", "mono", "actor", "type", "data", "prev", "hash")
TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_ts(moment: datetime) -> str:
    """RFC 3339 UTC with microseconds and ``Z``."""
    if moment.tzinfo is None:
        raise ValueError("journal timestamps must be timezone-aware")
    utc = (moment if moment.tzinfo is UTC else moment.astimezone(UTC)).replace(tzinfo=None)
    if utc.year < 1000:  # strftime does not pad the year; isoformat does
        return utc.strftime(TS_FORMAT)
    return utc.isoformat(timespec="microseconds") + "Z"  # the same text, several times faster


def parse_ts(text: str) -> datetime:
    return datetime.strptime(text, TS_FORMAT).replace(tzinfo=UTC)


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

    @property
    def time(self) -> datetime:
        """``ts`` as an aware UTC datetime."""
        return parse_ts(self.ts)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in FIELDS}


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
                hash_: str) -> Record:
    """``Record(...)``, three times faster: a frozen dataclass's ``__init__`` sets each field
    through ``object.__setattr__``, which adds up over the 10,000 records of a long journal."""
    record: Record = _new(Record)
    record.__dict__.update(seq=seq, ts=ts, mono=mono, actor=actor, type=type_, data=data, prev=prev, hash=hash_)
    return record


def encode(seq: int, ts: str, mono: float, actor: str, type_: str, data: dict[str, Any],
           prev: str) -> tuple[Record, bytes]:
    """Build a record and its line (with the trailing newline).

    The line and the canonical text are the same bytes ``json.dumps`` gives for the
    whole record (compact; keys sorted for the canonical one), but only ``data`` goes
    through the encoder (once each way): the few fixed fields are spliced in around it.
    """
    mono = float(mono)
    number, when, who, what, chain = int.__repr__(seq), _string(ts), _string(actor), _string(type_), _string(prev)
    moment = float.__repr__(mono) if math.isfinite(mono) else _compact(mono)
    compact = _compact(data)
    ordered = _sorted(data)
    digest = sha256_hex(f'{{"actor":{who},"data":{ordered},"mono":{moment},"prev":{chain},"seq":{number},'
                        f'"ts":{when},"type":{what}}}'.encode())
    line = (f'{{"seq":{number},"ts":{when},"mono":{moment},"actor":{who},"type":{what},"data":{compact},'
            f'"prev":{chain},"hash":"{digest}"}}\n').encode()
    return make_record(seq, ts, mono, actor, type_, data, prev, digest), line


class BadLine(ValueError):
    """A line that is not a well-formed record (message says why)."""


_FIELD_SET = frozenset(FIELDS)
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
    if type(obj) is not dict or obj.keys() != _FIELD_SET:
        raise BadLine("not a journal record (wrong fields)")
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
    return make_record(seq, obj["ts"], float(mono), obj["actor"], obj["type"], obj["data"], obj["prev"], claimed)
