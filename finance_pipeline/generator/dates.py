"""Business-day arithmetic and timestamps, computed without the clock or a tz database.

Everything the generator dates is derived from the requested start date, so a run is a pure
function of (start, days, seed).
"""

from __future__ import annotations

from datetime import date, timedelta

# A Monday: business-day ordinals count weekdays from here, so consecutive business days get
# consecutive statement sequence numbers whatever window is generated.
_ORDINAL_EPOCH = date(2024, 1, 1)
_UNIX_EPOCH = date(1970, 1, 1)


def is_business_day(day: date) -> bool:
    """Mon-Fri; the demo business has no bank holidays."""
    return day.weekday() < 5


def business_days(start: date, count: int) -> list[date]:
    """The first ``count`` business days on or after ``start``."""
    days: list[date] = []
    day = start
    while len(days) < count:
        if is_business_day(day):
            days.append(day)
        day += timedelta(days=1)
    return days


def add_business_days(day: date, count: int) -> date:
    """Move ``count`` business days forward (negative: backward) from ``day``."""
    step = 1 if count >= 0 else -1
    remaining = abs(count)
    while remaining:
        day += timedelta(days=step)
        if is_business_day(day):
            remaining -= 1
    return day


def business_day_ordinal(day: date) -> int:
    """Number of business days from a fixed Monday to ``day`` (statement sequence numbers)."""
    weeks, rest = divmod((day - _ORDINAL_EPOCH).days, 7)
    return weeks * 5 + min(rest, 5)


def epoch_seconds(day: date, hour: int, minute: int, second: int = 0) -> int:
    """Unix seconds of a UTC wall-clock time on ``day`` (Stripe ``created`` fields)."""
    return (day - _UNIX_EPOCH).days * 86_400 + hour * 3_600 + minute * 60 + second


def _last_sunday(year: int, month: int) -> date:
    day = date(year, month + 1, 1) - timedelta(days=1) if month < 12 else date(year, 12, 31)
    return day - timedelta(days=(day.weekday() + 1) % 7)


def berlin_offset(day: date) -> str:
    """UTC offset of Frankfurt on ``day`` by the EU summer-time rule (camt timestamps)."""
    summer = _last_sunday(day.year, 3) <= day < _last_sunday(day.year, 10)
    return "+02:00" if summer else "+01:00"


_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def month_label(day: date) -> str:
    """``OCT 2026``: spelled out here because ``%b`` follows the process locale."""
    return f"{_MONTHS[day.month - 1]} {day.year}"
