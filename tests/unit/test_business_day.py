from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.domain.business_day import (
    business_day,
    local_weekday_hhmm,
    next_day,
    parse_day,
    parse_hhmm,
)
from edge.domain.errors import InvalidInput

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ms(iso: str) -> int:
    """Epoch milliseconds of an ISO instant that carries its offset."""
    return (datetime.fromisoformat(iso) - EPOCH) // timedelta(milliseconds=1)


# --- the cutoff -----------------------------------------------------------------------------------


def test_sale_after_midnight_but_before_the_cutoff_belongs_to_the_evening_before() -> None:
    assert business_day(ms("2025-06-14T01:30:00+00:00"), "UTC") == "2025-06-13"


def test_sale_at_the_cutoff_starts_the_new_day() -> None:
    assert business_day(ms("2025-06-14T04:00:00+00:00"), "UTC") == "2025-06-14"


def test_the_last_millisecond_before_the_cutoff_is_still_the_old_day() -> None:
    assert business_day(ms("2025-06-14T04:00:00+00:00") - 1, "UTC") == "2025-06-13"


def test_cutoff_at_midnight_gives_the_calendar_date() -> None:
    assert business_day(ms("2025-06-14T00:00:00+00:00"), "UTC", "00:00") == "2025-06-14"


def test_the_local_time_not_utc_decides() -> None:
    # 23:30 UTC is 09:30 the next morning in Sydney
    assert business_day(ms("2025-06-13T23:30:00+00:00"), "Australia/Sydney") == "2025-06-14"


def test_the_day_crosses_a_year_end() -> None:
    assert business_day(ms("2026-01-01T02:00:00-05:00"), "America/New_York") == "2025-12-31"


# --- DST ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        # Europe/London springs forward 2025-03-30 01:00 GMT -> 02:00 BST
        ("2025-03-30T00:59:00+00:00", "2025-03-29"),
        ("2025-03-30T03:59:00+01:00", "2025-03-29"),
        ("2025-03-30T04:00:00+01:00", "2025-03-30"),  # 03:00 UTC, an hour earlier than in winter
        # and falls back 2025-10-26 02:00 BST -> 01:00 GMT
        ("2025-10-26T01:30:00+01:00", "2025-10-25"),
        ("2025-10-26T01:30:00+00:00", "2025-10-25"),  # the repeated half hour
        ("2025-10-26T03:59:00+00:00", "2025-10-25"),
        ("2025-10-26T04:00:00+00:00", "2025-10-26"),
    ],
)
def test_london_switch_days_keep_the_04_00_cutoff(instant: str, expected: str) -> None:
    assert business_day(ms(instant), "Europe/London") == expected


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        # America/New_York springs forward 2025-03-09 02:00 EST -> 03:00 EDT
        ("2025-03-09T01:59:00-05:00", "2025-03-08"),
        ("2025-03-09T03:59:00-04:00", "2025-03-08"),
        ("2025-03-09T04:00:00-04:00", "2025-03-09"),
        # and falls back 2025-11-02 02:00 EDT -> 01:00 EST
        ("2025-11-02T01:30:00-04:00", "2025-11-01"),
        ("2025-11-02T01:30:00-05:00", "2025-11-01"),
        ("2025-11-02T03:59:00-05:00", "2025-11-01"),
        ("2025-11-02T04:00:00-05:00", "2025-11-02"),
    ],
)
def test_new_york_switch_days_keep_the_04_00_cutoff(instant: str, expected: str) -> None:
    assert business_day(ms(instant), "America/New_York") == expected


def test_cutoff_inside_the_skipped_hour_starts_the_day_when_the_clocks_jump() -> None:
    tz = "America/New_York"
    assert business_day(ms("2025-03-09T01:59:59-05:00"), tz, "02:30") == "2025-03-08"
    assert business_day(ms("2025-03-09T03:00:00-04:00"), tz, "02:30") == "2025-03-09"


def test_cutoff_inside_the_repeated_hour_is_crossed_once() -> None:
    tz = "Europe/London"
    assert business_day(ms("2025-10-26T01:29:00+01:00"), tz, "01:30") == "2025-10-25"
    assert business_day(ms("2025-10-26T01:30:00+01:00"), tz, "01:30") == "2025-10-26"
    # the clocks go back to 01:00: the day that began must not slip back
    assert business_day(ms("2025-10-26T01:10:00+00:00"), tz, "01:30") == "2025-10-26"


# Instants near the 2025 clock changes of the zones below, where a wrong rule would show.
SWITCHES = [
    ms("2025-03-30T01:00:00+00:00"),  # London forward
    ms("2025-10-26T01:00:00+00:00"),  # London back
    ms("2025-03-09T07:00:00+00:00"),  # New York forward
    ms("2025-11-02T06:00:00+00:00"),  # New York back
    ms("2025-04-05T15:00:00+00:00"),  # Lord Howe back half an hour
    ms("2025-10-04T15:30:00+00:00"),  # Lord Howe forward half an hour
    ms("2025-06-01T00:00:00+00:00"),  # an ordinary day
]
HOUR_MS = 3_600_000


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from(["Europe/London", "America/New_York", "Australia/Lord_Howe", "UTC"]),
    st.sampled_from(["00:00", "01:00", "01:15", "01:30", "01:45", "02:00", "02:30", "04:00"]),
    st.sampled_from(SWITCHES),
    st.integers(-6 * HOUR_MS, 6 * HOUR_MS),
    st.integers(0, 3 * HOUR_MS),
)
def test_business_day_never_goes_backwards(
    tz: str, cutoff: str, switch: int, offset: int, step: int
) -> None:
    start = switch + offset
    first = business_day(start, tz, cutoff)
    later = business_day(start + step, tz, cutoff)
    assert first <= later <= next_day(first)


# --- local clock ----------------------------------------------------------------------------------


def test_local_weekday_and_time_follow_the_store_zone() -> None:
    # 2025-06-16 is a Monday; 23:30 UTC on the Sunday is 00:30 BST on Monday
    assert local_weekday_hhmm(ms("2025-06-15T23:30:00+00:00"), "Europe/London") == (0, "00:30")
    assert local_weekday_hhmm(ms("2025-06-15T23:30:00+00:00"), "UTC") == (6, "23:30")


# --- parsing and validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [("2025-01-31", "2025-02-01"), ("2024-02-28", "2024-02-29"), ("2025-12-31", "2026-01-01")],
)
def test_next_day_crosses_months_years_and_leap_days(day: str, expected: str) -> None:
    assert next_day(day) == expected


@pytest.mark.parametrize("day", ["2025-02-30", "2025-1-01", "20250101", "", "2025-01-01T00:00"])
def test_next_day_refuses_something_that_is_not_a_day(day: str) -> None:
    with pytest.raises(InvalidInput):
        next_day(day)


def test_parse_day_returns_the_date() -> None:
    assert parse_day("2025-03-09").isoformat() == "2025-03-09"


@pytest.mark.parametrize(
    ("text", "expected"), [("00:00", (0, 0)), ("04:00", (4, 0)), ("23:59", (23, 59))]
)
def test_parse_hhmm_reads_a_time_of_day(text: str, expected: tuple[int, int]) -> None:
    assert parse_hhmm(text) == expected


@pytest.mark.parametrize("text", ["24:00", "12:60", "4:00", "04:00:00", "", "ab:cd", "٠٤:٠٠", None])
def test_parse_hhmm_refuses_anything_but_hh_mm(text: object) -> None:
    with pytest.raises(InvalidInput):
        parse_hhmm(text)  # type: ignore[arg-type]


def test_unknown_time_zone_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="not a known time zone"):
        business_day(0, "Mars/Olympus_Mons")


def test_bad_cutoff_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        business_day(0, "UTC", "4am")


@pytest.mark.parametrize("at_ms", [1.5e12, True, "1700000000000"])
def test_timestamp_must_be_whole_milliseconds(at_ms: object) -> None:
    with pytest.raises(InvalidInput):
        business_day(at_ms, "UTC")  # type: ignore[arg-type]


def test_timestamp_out_of_range_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        business_day(10**20, "UTC")
