"""The journal's fast paths give exactly what the plain json-module route gives.

Appending redacts and validates in one walk (``redact_json``) and splices the
record's fixed fields around one encoding of ``data``; reading hands each line
to json's C scanner and checks field types exactly. Each is checked here
against the straightforward version it replaced, on generated data, so the
on-disk bytes, the hashes and the verdicts cannot drift.
"""

from __future__ import annotations

import enum
import json
import math
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mitigate.journal import Journal, verify
from mitigate.journal.record import (
    BadLine,
    Record,
    canonical,
    decode,
    encode,
    encode_data,
    make_record,
    prepare_data,
    sha256_hex,
)
from mitigate.journal.redact import (
    _INNOCUOUS,
    _TRIGGER,
    _TRIGGER_WORDS,
    encoded_may_hold_secret,
    may_hold_secret,
    redact,
    redact_json,
)
from mitigate.timefmt import format_ts, parse_ts, utc_now_text


class Level(enum.IntEnum):
    HIGH = 3


class Colour(enum.Enum):
    RED = "red"


class Name(str):
    """A str subclass, as some libraries hand out."""


SECRETISH = st.sampled_from(["password", "token", "apiKey", "secretName", "data", "kind", "Secret", "metadata",
                             "Bearer abcdefgh12345678", "https://hooks.slack.com/services/T1/B2/x", "node-1"])
SCALARS = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
           | st.text(max_size=30) | SECRETISH | st.just(Level.HIGH) | st.builds(Name, st.text(max_size=10)))
KEYS = st.text(max_size=12) | SECRETISH | st.integers(-3, 3) | st.booleans() | st.none()
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
                      | st.dictionaries(KEYS, inner, max_size=5), max_leaves=20)


def _reference(value: Any) -> Any:
    """What the journal did before: redact, then round-trip through json."""
    return json.loads(json.dumps(redact(value), ensure_ascii=False, allow_nan=False))


@settings(max_examples=100, deadline=None)
@given(VALUES)
def test_redact_json_is_redact_then_a_json_round_trip(value: Any) -> None:
    try:
        expected = _reference(value)
    except (TypeError, ValueError) as exc:
        with pytest.raises(type(exc)):
            redact_json(value)
        return
    assert redact_json(value) == expected
    assert json.dumps(redact_json(value)) == json.dumps(expected)  # also the key order


def test_redact_json_refuses_what_json_refuses_with_its_message() -> None:
    with pytest.raises(TypeError, match="Object of type object is not JSON serializable"):
        redact_json({"a": [object()]})
    with pytest.raises(ValueError, match="Out of range float"):
        redact_json({"a": math.inf})
    assert redact_json({"password": object()}) == {"password": "[REDACTED]"}  # masked before it is checked


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                max_size=4), max_leaves=15)


@settings(max_examples=100, deadline=None)
@given(data=st.dictionaries(st.text(max_size=8), JSON, max_size=5), seq=st.integers(1, 10**9),
       mono=st.floats(0, 1e9), text=st.text(max_size=20))
def test_encode_writes_the_bytes_json_dumps_writes(data: dict[str, Any], seq: int, mono: float, text: str) -> None:
    record, line = encode(seq, "2024-03-13T10:01:00.000000Z", mono, text, "note", data, "ab" * 32)
    body = {"seq": seq, "ts": "2024-03-13T10:01:00.000000Z", "mono": mono, "actor": text, "type": "note",
            "data": data, "prev": "ab" * 32}
    assert record.hash == sha256_hex(canonical(body))
    assert line == json.dumps({**body, "hash": record.hash}, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
    assert decode(line[:-1]) == record


def _line(**changes: Any) -> bytes:
    body = {"seq": 1, "ts": "2024-03-13T10:01:00.000000Z", "mono": 1.5, "actor": "ana", "type": "note",
            "data": {"text": "hi"}, "prev": ""}
    body.update(changes)
    body["hash"] = sha256_hex(canonical({k: v for k, v in body.items() if k != "hash"}))
    return json.dumps(body, separators=(",", ":")).encode()


@pytest.mark.parametrize("changes,message", [
    ({"seq": True}, "field 'seq' has the wrong type"),
    ({"seq": 1.0}, "field 'seq' has the wrong type"),
    ({"mono": "1"}, "field 'mono' has the wrong type"),
    ({"mono": False}, "field 'mono' has the wrong type"),
    ({"data": []}, "field 'data' has the wrong type"),
    ({"ts": None, "actor": 3}, "field 'ts' has the wrong type"),  # the first wrong field, in record order
    ({"extra": 1}, "wrong fields"),
])
def test_decode_rejects_wrong_types_naming_the_first_field(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(BadLine, match=message):
        decode(_line(**changes))


def test_decode_accepts_what_json_loads_accepts_and_refuses_the_rest() -> None:
    assert decode(b"  " + _line() + b" ").seq == 1  # surrounding blanks: the slow path
    assert decode(_line(mono=2)).mono == 2.0 and isinstance(decode(_line(mono=2)).mono, float)
    for bad in (b"", b"{", _line() + b"x", b"[1,2]", "{\"a\":\"\xff\"}".encode("latin-1")):
        with pytest.raises(BadLine):
            decode(bad)


def test_a_reader_rereads_only_when_the_file_changed(tmp_path: Path) -> None:
    with Journal.create(tmp_path, "inc-1") as writer:
        first = writer.append("note", {"text": "one"})
        reader = Journal.open(tmp_path, "inc-1", readonly=True)
        assert reader.records() == [first]
        assert reader.records() == [first]  # unchanged: the records read on open
        second = writer.append("note", {"text": "two"})
        assert reader.records() == [first, second]
    path = tmp_path / "inc-1" / "journal.jsonl"
    path.write_bytes(path.read_bytes().replace(b'"one"', b'"eno"'))  # same size, content changed
    stat = path.stat()  # file times tick coarsely (jiffies): make this rewrite's time differ for sure
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert reader.records()[0].data == {"text": "eno"} and reader.problems
    assert not verify(path.parent).ok


TRIGGER_PARTS = ["-----BEGIN", "://", "?a=", "&Token_x=", "Bearer", "BASIC", "tOkEn", "eyJ", "AKIA", "asia", "AROA",
                 "aida", "XOX", "ghp_", "GHO_", "ghx_", "github_pat_", "glpat-", "AIza", "SK-", "Passw", "SECRET",
                 "api_key", "apikey", "api-key", "Access_Key", "privatekey", "credential", "routing_key", "ſecret",
                 "credentıal", "K", "=", "?", "&", "_", "-", " ", "x", "é"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(TRIGGER_PARTS) | st.text(max_size=6), max_size=8).map("".join))
def test_the_fast_trigger_agrees_with_the_trigger_regex(text: str) -> None:
    assert may_hold_secret(text) == (_TRIGGER.search(text) is not None)


def test_make_record_is_the_dataclass() -> None:
    fields = (7, "2024-03-13T10:01:00.000000Z", 2.5, "ana", "note", {"text": "hi"}, "ab", "cd")
    made, built = make_record(*fields), Record(*fields)
    assert made == built and repr(made) == repr(built) and made.to_dict() == built.to_dict()
    with pytest.raises(AttributeError):
        made.seq = 8  # type: ignore[misc]


# prepare_data: orjson and the whole-text secret pre-check, against redact_json + the json encoders.

PLAIN_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=12) | st.sampled_from(TRIGGER_PARTS)
PLAIN = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | PLAIN_TEXT | SECRETISH
    | st.just(Level.HIGH) | st.just(Colour.RED) | st.just(uuid.UUID(int=7)) | st.builds(Name, PLAIN_TEXT),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(PLAIN_TEXT | SECRETISH | st.sampled_from(["kind", "type", "data", "stringData"]), inner,
                      max_size=5)
    | st.fixed_dictionaries({"kind": st.just("Secret"), "data": inner})
    | st.fixed_dictionaries({"type": st.sampled_from(["Opaque", "kubernetes.io/tls", "helm.sh/release.v1"]),
                             "data": inner}),
    max_leaves=20)


def _expected(value: Any) -> tuple[dict[str, Any], bytes, bytes]:
    clean = redact_json(value)
    if type(clean) is not dict:
        raise TypeError("not an object")
    return (clean, *encode_data(clean))


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(PLAIN_TEXT | SECRETISH, PLAIN, max_size=5) | VALUES)
def test_prepare_data_is_redact_json_then_the_json_encodings(value: Any) -> None:
    try:
        expected = _expected(value)
    except (TypeError, ValueError) as exc:
        with pytest.raises(type(exc)):
            prepare_data(value)
        return
    clean, compact, ordered = prepare_data(value)
    assert (clean, compact, ordered) == expected
    assert json.dumps(clean) == json.dumps(expected[0])  # also the key order


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(PLAIN_TEXT | SECRETISH, PLAIN, max_size=5))
def test_text_the_pre_check_passes_is_left_alone_by_redaction(value: dict[str, Any]) -> None:
    try:
        encoded = orjson.dumps(value)
        expected = redact_json(value)
    except (TypeError, ValueError):
        return
    if not encoded_may_hold_secret(encoded):
        assert orjson.loads(encoded) == expected


def test_the_pre_check_covers_every_trigger_and_secret_key() -> None:
    for word in (*_TRIGGER_WORDS, "password", "passphrase", "authorization", "x-auth-header", "slack_webhook",
                 "integration_key", "service key", "signingKey", "cookie", "session_id", "connectionString"):
        _INNOCUOUS.clear()
        assert encoded_may_hold_secret(orjson.dumps({"k": f"a {word} b"})), word
        assert encoded_may_hold_secret(orjson.dumps({f"my-{word}": 1})), word
    for text in ("x?token=1", "a:\tb", "é", "https://x", "Opaque", "kubernetes.io/tls", "helm.sh/x", "AKIA"):
        assert encoded_may_hold_secret(orjson.dumps({"k": text})), text
    payload = orjson.dumps({"step": "cordon-nodes", "attempt": 1, "params": {"names": ["node-1", "node-2"]}})
    assert not encoded_may_hold_secret(payload) and not encoded_may_hold_secret(payload)  # tested, then known


def test_prepare_data_refuses_what_json_refuses_and_copies() -> None:
    for bad in ({"a": Colour.RED}, {"a": uuid.UUID(int=1)}, {"a": math.nan}, {"a": [object()]}, [1]):
        with pytest.raises((TypeError, ValueError)):
            prepare_data(bad)
    data: dict[str, Any] = {"names": ["node-1"], "level": Level.HIGH, "pair": ("a", 1), "ratio": 1e16}
    clean, compact, ordered = prepare_data(data)
    assert clean == {"names": ["node-1"], "level": 3, "pair": ["a", 1], "ratio": 1e16}
    assert compact == b'{"names":["node-1"],"level":3,"pair":["a",1],"ratio":1e+16}'  # json's float notation
    data["names"].append("node-2")
    assert clean["names"] == ["node-1"]


def test_utc_now_text_is_format_ts_of_now() -> None:
    before = format_ts(datetime.now(UTC))
    text = utc_now_text()
    after = format_ts(datetime.now(UTC))
    assert before <= text <= after and parse_ts(text).tzinfo is UTC


def test_append_with_the_system_clock_stamps_now(tmp_path: Path) -> None:
    before = datetime.now(UTC)
    with Journal.create(tmp_path, "inc-1") as journal:
        record = journal.append("note", {"ratio": 0.5, "text": "x"})
    assert before <= record.time <= datetime.now(UTC)
    assert verify(tmp_path / "inc-1").ok
