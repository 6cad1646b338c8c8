"""The jobs sensors and schedules launch: the daily graph per business day, the close per month.

The daily job takes every asset except the month-end ``close`` group, whose assets are
partitioned by fiscal month (one job cannot mix the two partitionings).
"""

import dagster as dg

from assets.partitions import business_days, fiscal_months

CLOSE_GROUP = "close"

daily_reconciliation_job = dg.define_asset_job(
    "daily_reconciliation",
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups(CLOSE_GROUP),
    partitions_def=business_days,
)

month_end_close_job = dg.define_asset_job(
    "month_end_close",
    selection=dg.AssetSelection.groups(CLOSE_GROUP),
    partitions_def=fiscal_months,
)
