"""Business days: weekdays minus configured holidays."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta


def is_business_day(day: date, holidays: Iterable[date] = ()) -> bool:
    return day.weekday() < 5 and day not in set(holidays)


def business_days(start: date, count: int, holidays: Iterable[date] = ()) -> list[date]:
    """``count`` business days from ``start`` (included when it is one)."""
    closed = set(holidays)
    days: list[date] = []
    current = start
    while len(days) < count:
        if is_business_day(current, closed):
            days.append(current)
        current += timedelta(days=1)
    return days


def business_days_between(start: date, end: date, holidays: Iterable[date] = ()) -> list[date]:
    closed = set(holidays)
    return [
        start + timedelta(days=n)
        for n in range((end - start).days + 1)
        if is_business_day(start + timedelta(days=n), closed)
    ]
