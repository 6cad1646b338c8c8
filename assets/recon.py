"""Recon assets: exceptions (and, as the matching layer lands, matches and journals)."""

from datetime import date, timedelta

import dagster as dg

from assets.canonical import QUALITY_SPECS
from assets.metadata import markdown_preview
from assets.partitions import business_days
from assets.resources import PipelineResource
from finance_pipeline import lake
from finance_pipeline.exceptions import roll_forward
from finance_pipeline.integrity import ingest_candidates


def previous_state(lake_root, table: str, day: date, lookback_days: int = 31):
    """The latest partition of ``table`` before ``day`` (the state a run rolls forward)."""
    for offset in range(1, lookback_days + 1):
        found = lake.read_partition(lake_root, table, day - timedelta(days=offset))
        if found is not None:
            return found
    return None


@dg.asset(
    partitions_def=business_days,
    deps=[spec.key for spec in QUALITY_SPECS] + ["raw_files"],
    group_name="recon",
    kinds={"polars", "parquet"},
    owners=["team:finance-ops"],
)
def exceptions(
    context: dg.AssetExecutionContext, pipeline: PipelineResource
) -> dg.MaterializeResult:
    """`recon.exceptions`: typed, owned, aged problems with ids stable across runs."""
    home = pipeline.home_dir()
    day = date.fromisoformat(context.partition_key)
    candidates = ingest_candidates(home.lake, day)
    state = roll_forward(candidates, previous_state(home.lake, "exceptions", day), day, {"ingest"})
    lake.write_partition(home.lake, "exceptions", day, state)
    open_rows = state.filter(state["status"] == "open")
    return dg.MaterializeResult(
        metadata={
            "open": open_rows.height,
            "resolved": state.height - open_rows.height,
            "preview": markdown_preview(
                open_rows.select("exception_type", "owner_role", "severity", "age_days", "detail")
            ),
        }
    )
