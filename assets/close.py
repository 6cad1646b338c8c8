"""Month-end close: the close pack for a fiscal month."""

from datetime import date

import dagster as dg

from assets.metadata import markdown_preview
from assets.partitions import fiscal_months
from assets.resources import PipelineResource
from finance_pipeline import lake
from finance_pipeline.close import build_close_pack


@dg.asset(
    partitions_def=fiscal_months,
    deps=["exceptions", "bank_balances", "bank_accounts", "gl_journal_lines"],
    group_name="close",
    kinds={"polars", "parquet"},
    owners=["team:controllers"],
)
def close_pack(
    context: dg.AssetExecutionContext, pipeline: PipelineResource
) -> dg.MaterializeResult:
    """Open exceptions by owner and age, unreconciled balances, the month's journal proposals
    and the match-rate trend, as of the latest daily state inside the month."""
    home = pipeline.home_dir()
    month = date.fromisoformat(context.partition_key)
    pack = build_close_pack(home.lake_location, month)
    for name, frame in pack.sections().items():
        lake.write_partition(home.lake_location, name, month, frame)
    unreconciled = pack.unreconciled_balances.filter(pack.unreconciled_balances["difference"] != 0)
    return dg.MaterializeResult(
        metadata={
            "as_of": str(pack.as_of),
            "open_exceptions": int(pack.exceptions_by_owner["open_count"].sum() or 0),
            "accounts_unreconciled": unreconciled.height,
            "journal_lines": pack.journal_proposals.height,
            "exceptions_by_owner": markdown_preview(pack.exceptions_by_owner, limit=30),
            "unreconciled_balances": markdown_preview(pack.unreconciled_balances, limit=30),
        }
    )
