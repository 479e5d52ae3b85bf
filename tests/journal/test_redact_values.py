"""Redaction by value and by shape (issue 12, point 7): a registered secret value is masked
wherever it appears, also base64-encoded and JSON-escaped; env-var pairs, ``db.pass=`` and the
values of Secrets never pass."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import orjson
import pytest

from mitigate.journal import Journal
from mitigate.journal.redact import (
    MASK,
    encoded_may_hold_secret,
    forget_secrets,
    redact,
    redact_text,
    register_secret,
)

PLANTED = "Zq8-unguessable-7Kp"


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    forget_secrets()
    yield
    forget_secrets()


def test_a_registered_value_is_masked_wherever_it_appears(tmp_path: Path) -> None:
    register_secret(PLANTED)
    b64 = base64.b64encode(PLANTED.encode()).decode()
    data = {"target": PLANTED, "kubectl": [f"kubectl patch x --patch={json.dumps({'v': PLANTED})}"],
            "data": {"k": b64}, "note": f"see {PLANTED}!", "list": [PLANTED]}
    j = Journal.create(tmp_path, "inc")
    j.append("note", data)
    j.close()
    text = (tmp_path / "inc" / "journal.jsonl").read_text() if (tmp_path / "inc").exists() else \
        next(tmp_path.rglob("journal.jsonl")).read_text()
    assert PLANTED not in text and b64 not in text and MASK in text


def test_short_values_are_masked_as_whole_strings_only() -> None:
    register_secret("abc")
    assert redact({"x": "abc", "y": "abcdef"}) == {"x": MASK, "y": "abcdef"}
    assert encoded_may_hold_secret(orjson.dumps({"x": "abc"}))


def test_the_fast_path_sees_a_value_registered_after_it_called_a_string_innocuous() -> None:
    payload = orjson.dumps({"step": "s", "names": [PLANTED]})
    assert not encoded_may_hold_secret(payload)
    register_secret(PLANTED)
    assert encoded_may_hold_secret(payload)


@pytest.mark.parametrize("text", [
    '{"env":[{"name":"DB_PASSWORD","value":"hunter2-xyz"}]}',
    '[{"value":"hunter2-xyz","name":"API_TOKEN"}]',
    "env:\n- name: DB_PASSWORD\n  value: hunter2-xyz\n",
    "- value: hunter2-xyz\n  name: SESSION_COOKIE\n",
    "application.properties: db.url=x\ndb.pass=hunter2-xyz\n",
    "smtp_pwd: hunter2-xyz",
])
def test_secret_shapes_in_text_are_masked(text: str) -> None:
    assert "hunter2-xyz" not in redact_text(text)


def test_env_pairs_as_data_and_innocent_text_stay() -> None:
    got = redact({"env": [{"name": "DB_PASSWORD", "value": "hunter2-xyz"}, {"name": "MODE", "value": "fast"}]})
    assert got == {"env": [{"name": "DB_PASSWORD", "value": MASK}, {"name": "MODE", "value": "fast"}]}
    for text in ("bypass=1 compass: north", '{"name":"MODE","value":"fast"}', "- name: MODE\n  value: fast\n"):
        assert redact_text(text) == text


LONG = "sk9/Qx+wA7 mP2@zL4#vR8&tN1=hB"  # 29 characters, with what URL encoding rewrites


@pytest.mark.parametrize("encode", [
    lambda v: quote(v, safe=""),
    quote,
    quote_plus,
    lambda v: re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(v, safe="")),
], ids=["quote-safe-none", "quote", "quote_plus", "lower-hex"])
def test_a_url_encoded_secret_is_masked(encode: Callable[[str], str], tmp_path: Path) -> None:
    register_secret(LONG)
    encoded = encode(LONG)
    assert encoded != LONG
    url = f"https://api.example.com/v1/hook?next=1&state={encoded}&x=2"
    shown = redact_text(f"calling {url}")
    assert encoded not in shown and MASK in shown and "api.example.com" in shown
    j = Journal.create(tmp_path, "inc")
    j.append("note", {"text": "where", "target": url})
    j.close()
    assert encoded not in j.file.read_text()


@pytest.mark.parametrize("piece", [
    LONG[:12], LONG[3:15], LONG[-12:], LONG[2:27], LONG[:-1],
    base64.b64encode(LONG.encode()).decode()[4:20],
    quote(LONG, safe="")[5:30],
], ids=["head-12", "middle-12", "tail-12", "middle-25", "all-but-one", "base64-slice", "url-slice"])
def test_a_slice_of_a_long_secret_is_masked_whole(piece: str, tmp_path: Path) -> None:
    register_secret(LONG)
    text = f"seen <{piece}> in a truncated log line"
    shown = redact_text(text)
    assert shown == f"seen <{MASK}> in a truncated log line", shown  # the whole run, nothing of it left
    j = Journal.create(tmp_path, "inc")
    j.append("note", {"text": "x", "k": {"v": f"<{piece}>"}})
    j.close()
    assert piece not in j.file.read_text()


def test_short_slices_and_short_secrets_leave_ordinary_words_alone() -> None:
    register_secret("correct-horse-battery-staple")  # 28: slices of 12+ are masked ...
    register_secret("admin-pass-01")  # 13: under 16, masked only whole
    assert redact_text("feed the horse a battery") == "feed the horse a battery"  # ... shorter ones are not
    assert redact_text("stapler and horse-batt") == "stapler and horse-batt"  # 11 characters of it
    assert redact_text("a horse-battery-stapler") == f"a {MASK}r"  # 'horse-battery-staple' is 20 of them
    assert redact_text("admin-pass-0 is not it") == "admin-pass-0 is not it"
    assert redact_text("the admin-pass-01 password") == f"the {MASK} password"
    assert redact_text("admin") == "admin" and redact_text("pass-01") == "pass-01"


def test_a_slice_registered_after_the_fast_path_saw_the_string() -> None:
    text = b'{"note":"looked innocuous: 9fK2-pQ7x-Lm4z"}'
    assert not encoded_may_hold_secret(text)
    register_secret("aa-9fK2-pQ7x-Lm4z-bb")
    assert encoded_may_hold_secret(text)
    assert redact({"note": "looked innocuous: 9fK2-pQ7x-Lm4z"}) == {"note": f"looked innocuous: {MASK}"}


def test_a_known_webhook_url_neither_mangles_other_links_nor_shields_other_secrets() -> None:
    """A team's registered webhook URL shares its scheme and host with ordinary links and its
    path prefix with other webhooks: neither is masked by slice, and the patterns still see the
    other webhook whole (a slice masked first cut it into pieces, leaving its token in clear)."""
    register_secret("https://hooks.example.com/services/T1/B2/abcdefghijklmnop")
    assert redact_text("see https://grafana.example.com/d/abc?orgId=1") == "see https://grafana.example.com/d/abc?orgId=1"
    shown = redact_text("posted to https://hooks.slack.com/services/T0001/B0002/Zz9SeCrEt")
    assert "Zz9SeCrEt" not in shown, shown
    assert redact_text("saw abcdefghijklm in a log") == f"saw {MASK} in a log"  # the path's secret part, by slice
