"""One place parses and formats RFC 3339 times (mitigate/timefmt.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from mitigate.timefmt import format_rfc3339, format_seconds, format_ts, parse_rfc3339, parse_ts


def test_parse_accepts_z_offsets_fractions_and_returns_utc() -> None:
    at = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
    assert parse_rfc3339("2026-05-01T08:00:00Z") == at
    assert parse_rfc3339(" 2026-05-01T10:00:00+02:00 ") == at
    assert parse_rfc3339("2026-05-01T08:00:00.250000Z") == at + timedelta(milliseconds=250)
    assert parse_rfc3339("2026-05-01T10:00:00+02:00").tzinfo is UTC


def test_parse_takes_zoneless_text_as_utc_unless_told_not_to() -> None:
    assert parse_rfc3339("2026-05-01T08:00:00") == datetime(2026, 5, 1, 8, tzinfo=UTC)
    with pytest.raises(ValueError, match="no time zone"):
        parse_rfc3339("2026-05-01T08:00:00", assume_utc=False)
    for bad in ("", "yesterday", "2026-13-01T00:00:00Z", "08:00"):
        with pytest.raises(ValueError):
            parse_rfc3339(bad)


def test_format_is_utc_with_z_and_round_trips() -> None:
    paris = timezone(timedelta(hours=2))
    at = datetime(2026, 5, 1, 10, 0, 0, 123456, tzinfo=paris)
    assert format_rfc3339(at) == "2026-05-01T08:00:00.123456Z"
    assert format_rfc3339(at.replace(microsecond=0)) == "2026-05-01T08:00:00Z"
    assert parse_rfc3339(format_rfc3339(at)) == at
    assert format_ts(at) == "2026-05-01T08:00:00.123456Z" and parse_ts(format_ts(at)) == at
    with pytest.raises(ValueError):
        format_rfc3339(datetime(2026, 5, 1))


def test_kubernetes_times_are_whole_utc_seconds_from_a_datetime_or_a_posix_time() -> None:
    at = datetime(2026, 5, 1, 10, 0, 7, 999999, tzinfo=timezone(timedelta(hours=2)))
    assert format_seconds(at) == "2026-05-01T08:00:07Z"
    assert format_seconds(at.timestamp()) == "2026-05-01T08:00:07Z"
    assert format_seconds(0) == "1970-01-01T00:00:00Z"
    assert parse_rfc3339(format_seconds(at)) == at.replace(microsecond=0)
    with pytest.raises(ValueError):
        format_seconds(datetime(2026, 5, 1))
