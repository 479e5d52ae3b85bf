"""Redaction by value and by shape (issue 12, point 7): a registered secret value is masked
wherever it appears, also base64-encoded and JSON-escaped; env-var pairs, ``db.pass=`` and the
values of Secrets never pass."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

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
