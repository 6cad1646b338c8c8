"""Partitions, defined once: business days for daily assets."""

from __future__ import annotations

import dagster as dg

# Weekdays; holidays from the business calendar are added by the calendar module later.
business_days = dg.TimeWindowPartitionsDefinition(
    cron_schedule="0 0 * * 1-5",
    start="2026-01-01",
    fmt="%Y-%m-%d",
    timezone="UTC",
    end_offset=1,
)
