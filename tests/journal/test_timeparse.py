"""Backdated times: declared zones resolved for their date, misfits flagged, never trusted blindly."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from mitigate.errors import MitigateError
from mitigate.journal.timeparse import resolve_declared


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_est_in_july_is_flagged_and_resolved_with_its_fixed_offset() -> None:
    d = resolve_declared("2024-07-10 10:01", "EST")
    assert d.mismatch and d.utc == utc(2024, 7, 10, 15, 1) and d.utc_offset == "-05:00"
    assert d.zone == "America/New_York" and "observed EDT (-04:00)" in d.note and "fixed offset -05:00" in d.note


def test_est_in_january_fits() -> None:
    d = resolve_declared("2024-01-10 10:01", "est")
    assert not d.mismatch and d.utc == utc(2024, 1, 10, 15, 1)


@pytest.mark.parametrize("text,tz,expected,mismatch", [
    ("2024-01-15 14:05", "CET", utc(2024, 1, 15, 13, 5), False),
    ("2024-07-15 14:05", "CEST", utc(2024, 7, 15, 12, 5), False),
    ("2024-07-15 14:05", "CET", utc(2024, 7, 15, 13, 5), True),  # Paris observed CEST then
    ("2024-01-15 14:05", "CEST", utc(2024, 1, 15, 12, 5), True),
    ("2024-07-15 14:05", "Europe/Paris", utc(2024, 7, 15, 12, 5), False),
    ("2024-01-15 14:05", "Europe/Paris", utc(2024, 1, 15, 13, 5), False),
    ("2024-07-15 09:00", "PDT", utc(2024, 7, 15, 16, 0), False),
    ("2024-07-15 09:00", "MST", utc(2024, 7, 15, 16, 0), False),  # Phoenix keeps MST all year
    ("2024-07-15 09:00", "BST", utc(2024, 7, 15, 8, 0), False),
])
def test_cet_cest_and_friends(text: str, tz: str, expected: datetime, mismatch: bool) -> None:
    d = resolve_declared(text, tz)
    assert (d.utc, d.mismatch) == (expected, mismatch)
    assert d.text == text and d.tz == tz


def test_cross_midnight_both_ways() -> None:
    assert resolve_declared("2024-01-13 23:30", "America/New_York").utc == utc(2024, 1, 14, 4, 30)
    assert resolve_declared("2024-01-14 00:30", "CET").utc == utc(2024, 1, 13, 23, 30)
    assert resolve_declared("00:10", "Asia/Tokyo", reference_date=date(2024, 3, 1)).utc == utc(2024, 2, 29, 15, 10)


def test_dst_gap_and_repeated_hour_are_flagged() -> None:
    gap = resolve_declared("2024-03-31 02:30", "Europe/Paris")
    assert gap.mismatch and "did not exist" in gap.note and gap.utc == utc(2024, 3, 31, 1, 30)
    repeated = resolve_declared("2024-11-03 01:30", "America/New_York")
    assert repeated.mismatch and "happened twice" in repeated.note
    assert repeated.utc == utc(2024, 11, 3, 5, 30) and repeated.utc_offset == "-04:00"
    assert not resolve_declared("2024-03-31 03:30", "Europe/Paris").mismatch


def test_utc_offsets_and_data_shape() -> None:
    assert resolve_declared("2024-03-13 10:01", "Z").utc == utc(2024, 3, 13, 10, 1)
    plus = resolve_declared("2024-03-13T10:01:30", "+05:30")
    assert plus.utc == utc(2024, 3, 13, 4, 31, 30) and plus.zone == "UTC+05:30"
    assert resolve_declared("2024-03-13 10:01", "UTC-3").utc == utc(2024, 3, 13, 13, 1)
    d = resolve_declared("2024-03-13 10:01", "Europe/Paris")
    assert d.at == "2024-03-13T09:01:00.000000Z"
    assert d.to_data() == {"text": "2024-03-13 10:01", "tz": "Europe/Paris", "zone": "Europe/Paris",
                           "utc_offset": "+01:00", "mismatch": False, "note": d.note}


def test_ambiguous_abbreviation_says_so() -> None:
    d = resolve_declared("2024-07-10 10:00", "IST")
    assert d.zone == "Asia/Kolkata" and "Irish Standard Time" in d.note


@pytest.mark.parametrize("text,tz,message", [
    ("2024-03-13 10:01", "Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
    ("2024-03-13 10:01", "Europe", "unknown time zone 'Europe'"),
    ("2024-03-13 10:01", "+19:00", "out of range"),
    ("2024-03-13 10:01", "", "no time zone"),
    ("yesterday", "UTC", "cannot read time 'yesterday'"),
    ("2024-02-30 10:00", "UTC", "cannot read time"),
    ("10:01", "UTC", "needs a date"),
])
def test_bad_input_is_one_clear_error(text: str, tz: str, message: str) -> None:
    with pytest.raises(MitigateError, match=message):
        resolve_declared(text, tz)
