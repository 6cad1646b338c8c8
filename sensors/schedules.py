"""Schedules: the daily reconciliation and the month-end close, on the business calendar.

The daily schedule fires every weekday morning and runs the *previous* business day (the
banks' prior-day files are due by then); on a holiday it skips, and the next business day
picks up. The close schedule fires every weekday evening and runs the fiscal month whose close
is due that day: its last business day and the first business days after it.
"""

from datetime import date

import dagster as dg

from assets.partitions import CALENDAR
from finance_pipeline.calendar import BusinessCalendar

DAILY_JOB = "daily_reconciliation"
CLOSE_JOB = "month_end_close"


def _cron_at(time_text: str) -> str:
    hour, minute = (int(part) for part in time_text.split(":"))
    return f"{minute} {hour} * * 1-5"


def daily_partition_for(calendar: BusinessCalendar, run_day: date) -> str | None:
    """The business date a daily run on ``run_day`` processes (None on a holiday)."""
    if not calendar.is_business_day(run_day):
        return None
    return calendar.previous_business_day(run_day).isoformat()


def close_partition_for(calendar: BusinessCalendar, run_day: date) -> str | None:
    month = calendar.close_month_for(run_day)
    return month.isoformat() if month else None


def build_schedules(calendar: BusinessCalendar = CALENDAR) -> list[dg.ScheduleDefinition]:
    @dg.schedule(
        name="daily_reconciliation_schedule",
        cron_schedule=_cron_at(calendar.daily_run_time),
        job_name=DAILY_JOB,
        execution_timezone=calendar.timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
    def daily(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        run_day = context.scheduled_execution_time.date()
        partition = daily_partition_for(calendar, run_day)
        if partition is None:
            return dg.SkipReason(f"{run_day} is not a business day")
        return dg.RunRequest(run_key=f"daily:{partition}", partition_key=partition)

    @dg.schedule(
        name="month_end_close_schedule",
        cron_schedule="0 18 * * 1-5",
        job_name=CLOSE_JOB,
        execution_timezone=calendar.timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
    def close(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        run_day = context.scheduled_execution_time.date()
        partition = close_partition_for(calendar, run_day)
        if partition is None:
            return dg.SkipReason(f"no close due on {run_day}")
        return dg.RunRequest(run_key=f"close:{partition}:{run_day}", partition_key=partition)

    return [daily, close]
