"""The warehouse asset: refreshes the DuckDB views analysts query."""

import dagster as dg

from assets.canonical import CANONICAL_SPECS, QUALITY_SPECS
from assets.partitions import business_days
from assets.resources import PipelineResource
from finance_pipeline.warehouse import refresh


@dg.asset(
    partitions_def=business_days,
    deps=[spec.key for spec in (*CANONICAL_SPECS, *QUALITY_SPECS)]
    + [
        "exceptions",
        "matches",
        "match_members",
        "journal_proposals",
    ],
    group_name="warehouse",
    kinds={"duckdb"},
    owners=["team:integration"],
    pool="duckdb_writer",
)
def warehouse(pipeline: PipelineResource) -> dg.MaterializeResult:
    """`warehouse.duckdb`: views over every lake table, for analysts and the CLI."""
    home = pipeline.home_dir()
    counts = refresh(home.warehouse, home.lake_location)
    return dg.MaterializeResult(
        metadata={"path": str(home.warehouse), **{k: v for k, v in sorted(counts.items())}}
    )
