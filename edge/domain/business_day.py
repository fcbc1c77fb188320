"""Which business day an instant belongs to, and the store's local wall clock.

A store's day does not end at midnight: a sale at 01:30 belongs to the evening before. The business
day is the local date of the instant, one day earlier when the local time is before the cutoff
(default 04:00). Comparing local wall-clock times keeps this right across DST changes: a skipped
hour never moves the cutoff, and in a repeated hour the first pass over the cutoff starts the day.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from edge.domain.errors import InvalidInput

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_HHMM = re.compile(r"([0-9]{2}):([0-9]{2})")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


_MINUTE_MS = 60_000


def parse_hhmm(text: str) -> tuple[int, int]:
    """(hour, minute) of an "HH:MM" local time; InvalidInput unless 00:00..23:59."""
    match = _HHMM.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise InvalidInput(f"{text!r} is not a time of day as HH:MM", value=text)
    hour, minute = int(match[1]), int(match[2])
    if hour > 23 or minute > 59:
        raise InvalidInput(f"{text!r} is not a time of day between 00:00 and 23:59", value=text)
    return hour, minute


def parse_day(text: str) -> date:
    """The date of a "YYYY-MM-DD" business day; InvalidInput otherwise."""
    if not isinstance(text, str) or _DAY.fullmatch(text) is None:
        raise InvalidInput(f"{text!r} is not a day as YYYY-MM-DD", value=text)
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(f"{text!r} is not a calendar day", value=text) from exc


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        # OSError: a name like "Europe" is a directory of the zone database, not a zone.
        raise InvalidInput(f"{tz!r} is not a known time zone", timezone=tz) from exc


def _check_ms(at_ms: int) -> int:
    if type(at_ms) is not int:
        raise InvalidInput("a timestamp must be whole UTC epoch milliseconds", value=at_ms)
    return at_ms


def _local(at_ms: int, tz: str) -> datetime:
    _check_ms(at_ms)
    zone = _zone(tz)
    try:
        # A timedelta keeps milliseconds exact; fromtimestamp(at_ms / 1000) would go via float.
        return (_EPOCH + timedelta(milliseconds=at_ms)).astimezone(zone)
    except OverflowError as exc:
        raise InvalidInput("the timestamp is out of range", value=at_ms) from exc


def business_day(at_ms: int, tz: str, cutoff: str = "04:00") -> str:
    """The business day ("YYYY-MM-DD") that the instant ``at_ms`` belongs to in zone ``tz``."""
    # Cutoffs and zone transitions fall on whole minutes, so the minute decides: every sale asks,
    # and the answer is cached per minute.
    return _business_day_of_minute(_check_ms(at_ms) // _MINUTE_MS, tz, cutoff)


@lru_cache(maxsize=256)
def _business_day_of_minute(minute: int, tz: str, cutoff: str) -> str:
    hour, minute_of_hour = parse_hhmm(cutoff)
    local = _local(minute * _MINUTE_MS, tz)
    day = local.date()
    cutoff_time = time(hour, minute_of_hour)
    if local.time() >= cutoff_time:
        return day.isoformat()
    if local.fold == 1:
        # The second pass of an hour repeated when clocks go back: if the first pass already
        # crossed the cutoff, the new day has begun and must not slip back to the old one.
        first_cutoff = datetime.combine(day, cutoff_time, tzinfo=local.tzinfo)
        if local.astimezone(UTC) >= first_cutoff.astimezone(UTC):
            return day.isoformat()
    return (day - timedelta(days=1)).isoformat()


def local_weekday_hhmm(at_ms: int, tz: str) -> tuple[int, str]:
    """The local weekday (0 = Monday) and "HH:MM" of the instant ``at_ms`` in zone ``tz``."""
    return _weekday_hhmm_of_minute(_check_ms(at_ms) // _MINUTE_MS, tz)


@lru_cache(maxsize=256)
def _weekday_hhmm_of_minute(minute: int, tz: str) -> tuple[int, str]:
    local = _local(minute * _MINUTE_MS, tz)
    return local.weekday(), f"{local.hour:02d}:{local.minute:02d}"


def next_day(day: str) -> str:
    """The business day after ``day``."""
    return (parse_day(day) + timedelta(days=1)).isoformat()
