"""Ingest assets: every configured source's deliveries for a business day, archived once."""

from datetime import date

import dagster as dg

from assets.metadata import markdown_preview
from assets.partitions import business_days
from assets.policies import SOURCE_RETRY_POLICY
from assets.resources import PipelineResource
from finance_pipeline import lake
from finance_pipeline.ingest import ingest_day


@dg.asset(
    partitions_def=business_days,
    group_name="ingest",
    kinds={"python", "parquet"},
    owners=["team:integration"],
    retry_policy=SOURCE_RETRY_POLICY,
)
def raw_files(
    context: dg.AssetExecutionContext, pipeline: PipelineResource
) -> dg.MaterializeResult:
    """Deliveries of the business day, stored once under their SHA-256 with a manifest row."""
    home = pipeline.home_dir()
    day = date.fromisoformat(context.partition_key)
    result = ingest_day(pipeline.load(), home.root, day, context.run_id)
    frame = result.frame()
    config = pipeline.load()
    if result.source_errors and len(result.source_errors) == len(config.sources):
        # Nothing could be read at all (network or archive down): fail so the retry policy
        # tries again with backoff. One source failing alone is isolated instead: it becomes a
        # `source_unavailable` exception and every other source's assets go on.
        raise dg.Failure(f"no source could be read: {sorted(result.source_errors)}")
    lake.write_partition(home.lake, "raw_files", day, frame)
    lake.write_partition(home.lake, "source_errors", day, result.errors_frame(day))
    duplicates = frame.filter(frame["duplicate_of"].is_not_null()).height
    for name, error in sorted(result.source_errors.items()):
        context.log.warning(f"source {name} unavailable: {error}")
    return dg.MaterializeResult(
        metadata={
            "files": frame.height,
            "duplicate_arrivals": duplicates,
            "sources_failed": len(result.source_errors),
            "preview": markdown_preview(
                frame.select("source", "file_name", "size", "duplicate_of")
            ),
        }
    )
