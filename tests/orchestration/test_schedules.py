"""Schedules evaluate to the right partition for a date, holidays and weekends included."""

from datetime import date, datetime

import dagster as dg
import pytest

from finance_pipeline.calendar import BusinessCalendar
from sensors.schedules import build_schedules

THANKSGIVING = date(2026, 11, 26)
CALENDAR = BusinessCalendar(timezone="UTC", holidays=frozenset({THANKSGIVING}), close_days_after=2)


def _evaluate(schedule: dg.ScheduleDefinition, when: datetime):
    from finance_pipeline.definitions import defs

    context = dg.build_schedule_context(
        scheduled_execution_time=when, repository_def=defs.get_repository_def()
    )
    data = schedule.evaluate_tick(context)
    if data.run_requests:
        return [r.partition_key for r in data.run_requests]
    return data.skip_message


@pytest.fixture
def schedules() -> dict[str, dg.ScheduleDefinition]:
    return {s.name: s for s in build_schedules(CALENDAR)}


@pytest.mark.parametrize(
    ("run_at", "expected"),
    [
        (datetime(2026, 10, 27, 7), ["2026-10-26"]),  # Tuesday runs Monday
        (datetime(2026, 10, 26, 7), ["2026-10-23"]),  # Monday runs the Friday before
        (datetime(2026, 11, 27, 7), ["2026-11-25"]),  # day after the holiday skips it
    ],
)
def test_daily_runs_previous_business_day(schedules, run_at: datetime, expected) -> None:
    assert _evaluate(schedules["daily_reconciliation_schedule"], run_at) == expected


def test_daily_skips_on_a_holiday(schedules) -> None:
    message = _evaluate(schedules["daily_reconciliation_schedule"], datetime(2026, 11, 26, 7))
    assert "not a business day" in message


@pytest.mark.parametrize(
    ("run_at", "expected"),
    [
        # October 2026 ends on a Saturday: the last business day is Friday the 30th.
        (datetime(2026, 10, 30, 18), ["2026-10-01"]),
        (datetime(2026, 11, 2, 18), ["2026-10-01"]),  # first business day after
        (datetime(2026, 11, 3, 18), ["2026-10-01"]),  # second (close_days_after = 2)
        # November 2026: the 30th is a Monday; the holiday on the 26th changes nothing there.
        (datetime(2026, 11, 30, 18), ["2026-11-01"]),
    ],
)
def test_close_runs_on_last_and_first_business_days(schedules, run_at, expected) -> None:
    assert _evaluate(schedules["month_end_close_schedule"], run_at) == expected


@pytest.mark.parametrize("run_at", [datetime(2026, 11, 4, 18), datetime(2026, 10, 29, 18)])
def test_close_skips_other_days(schedules, run_at: datetime) -> None:
    assert "no close due" in _evaluate(schedules["month_end_close_schedule"], run_at)


def test_month_end_on_a_holiday_moves_to_the_business_day_before() -> None:
    calendar = BusinessCalendar(holidays=frozenset({date(2026, 12, 31)}))
    assert calendar.last_business_day_of_month(2026, 12) == date(2026, 12, 30)
    assert calendar.close_month_for(date(2026, 12, 30)) == date(2026, 12, 1)
    assert calendar.close_month_for(date(2027, 1, 4)) == date(2026, 12, 1)
