"""Jobs: what schedules and sensors launch."""

import dagster as dg

from assets.partitions import business_days, fiscal_months

daily_reconciliation_job = dg.define_asset_job(
    "daily_reconciliation",
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups("close"),
    partitions_def=business_days,
    description="Ingest, canonical tables, matching, exceptions and the warehouse for a day.",
)

month_end_close_job = dg.define_asset_job(
    "month_end_close",
    selection=dg.AssetSelection.groups("close"),
    partitions_def=fiscal_months,
    description="The close pack for a fiscal month.",
)
