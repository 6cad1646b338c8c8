"""Partitions, defined once: business days for daily assets, fiscal months for the close.

Both come from the `calendar:` block of the configuration (time zone and holidays), so a
holiday has no partition and the UI never offers to run it.
"""

from datetime import datetime

import dagster as dg

from finance_pipeline.calendar import BusinessCalendar
from finance_pipeline.config import default_config_path, load_config


def load_calendar() -> BusinessCalendar:
    path = default_config_path()
    settings = load_config(path).settings if path.exists() else {}
    return BusinessCalendar.from_settings(settings)


CALENDAR = load_calendar()

business_days = dg.TimeWindowPartitionsDefinition(
    cron_schedule="0 0 * * 1-5",
    start=CALENDAR.first_day.isoformat(),
    fmt="%Y-%m-%d",
    timezone=CALENDAR.timezone,
    end_offset=1,
    exclusions=[datetime(d.year, d.month, d.day) for d in sorted(CALENDAR.holidays)],
)

fiscal_months = dg.MonthlyPartitionsDefinition(
    start_date=CALENDAR.first_day.replace(day=1).isoformat(),
    timezone=CALENDAR.timezone,
    end_offset=1,
)
