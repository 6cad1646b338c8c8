"""The business calendar: weekdays minus configured holidays, in one time zone.

Daily runs process the previous business day (the banks' prior-day files); the month-end
close runs on the last business day of a fiscal month and on the first business days after it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any


@dataclass(frozen=True)
class BusinessCalendar:
    timezone: str = "UTC"
    holidays: frozenset[date] = field(default_factory=frozenset)
    daily_run_time: str = "07:00"  # local time the daily run starts (prior-day files are due)
    close_days_after: int = 3  # business days after month-end on which the close runs again
    first_day: date = date(2026, 1, 1)

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> BusinessCalendar:
        raw = settings.get("calendar") or {}
        return cls(
            timezone=str(raw.get("timezone", settings.get("timezone", "UTC"))),
            holidays=frozenset(date.fromisoformat(str(d)) for d in raw.get("holidays", [])),
            daily_run_time=str(raw.get("daily_run_time", "07:00")),
            close_days_after=int(raw.get("close_days_after", 3)),
            first_day=date.fromisoformat(str(raw.get("first_day", "2026-01-01"))),
        )

    def is_business_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.holidays

    def previous_business_day(self, day: date) -> date:
        current = day - timedelta(days=1)
        while not self.is_business_day(current):
            current -= timedelta(days=1)
        return current

    def next_business_day(self, day: date) -> date:
        current = day + timedelta(days=1)
        while not self.is_business_day(current):
            current += timedelta(days=1)
        return current

    def last_business_day_of_month(self, year: int, month: int) -> date:
        first_next = date(year + month // 12, month % 12 + 1, 1)
        return self.previous_business_day(first_next)

    def close_month_for(self, day: date) -> date | None:
        """The fiscal month (its first day) whose close runs on ``day``, if any.

        The close runs on the month's last business day and on the first
        ``close_days_after`` business days of the next month.
        """
        if not self.is_business_day(day):
            return None
        if day == self.last_business_day_of_month(day.year, day.month):
            return day.replace(day=1)
        previous_month = (day.replace(day=1) - timedelta(days=1)).replace(day=1)
        count = 0
        current = self.last_business_day_of_month(previous_month.year, previous_month.month)
        while count < self.close_days_after:
            current = self.next_business_day(current)
            count += 1
            if current == day:
                return previous_month
        return None

    def business_days(self, start: date, count: int) -> list[date]:
        days: list[date] = []
        current = start
        while len(days) < count:
            if self.is_business_day(current):
                days.append(current)
            current += timedelta(days=1)
        return days

    def between(self, start: date, end: date) -> list[date]:
        span = (end - start).days + 1
        candidates = (start + timedelta(days=n) for n in range(span))
        return [d for d in candidates if self.is_business_day(d)]


def business_days(start: date, count: int, holidays: Iterable[date] = ()) -> list[date]:
    """``count`` business days from ``start`` (included when it is one)."""
    return BusinessCalendar(holidays=frozenset(holidays)).business_days(start, count)


def business_days_between(start: date, end: date, holidays: Iterable[date] = ()) -> list[date]:
    return BusinessCalendar(holidays=frozenset(holidays)).between(start, end)
