"""Ingest assets: one step per configured source, then ``raw_files`` gathers the day.

Each source is its own asset (``sources/<name>``) so that it retries on its own, runs in its
SFTP host's concurrency pool, and fails alone: a Stripe outage is retried with backoff and,
once the retries are spent, recorded as that source's error (a ``source_unavailable``
exception, owner integration) while the banks, the ERP and payroll go on. ``raw_files`` only
reads what the source steps stored, so it never touches a server.
"""

import re
from datetime import date

import dagster as dg
import polars as pl

from assets.metadata import markdown_preview
from assets.partitions import business_days
from assets.policies import source_pool, source_retry_policy
from assets.resources import PipelineResource
from finance_pipeline import lake
from finance_pipeline.config import ConfigError, PipelineConfig, SourceConfig
from finance_pipeline.ingest import MANIFEST_SCHEMA, SOURCE_ERROR_SCHEMA, ingest_one, is_transient

SOURCE_PREFIX = "sources"
AVAILABLE_CHECK = "available"
SAFE_NAME = re.compile(r"^[A-Za-z0-9_]+$")


def source_key(name: str) -> dg.AssetKey:
    return dg.AssetKey([SOURCE_PREFIX, name])


def manifest_table(name: str) -> str:
    """Lake table of one source's manifest rows (``raw_files`` is their union)."""
    return f"{SOURCE_PREFIX}/{name}/raw_files"


def errors_table(name: str) -> str:
    return f"{SOURCE_PREFIX}/{name}/source_errors"


def _source_asset(source: SourceConfig, retry_policy: dg.RetryPolicy) -> dg.AssetsDefinition:
    name = source.name
    if not SAFE_NAME.match(name):
        raise ConfigError(f"source {name!r}: names must be letters, digits and underscores")
    key = source_key(name)
    pool = source_pool(source)

    @dg.asset(
        key=key,
        partitions_def=business_days,
        group_name="ingest",
        kinds={"python", "parquet"},
        owners=["team:integration"],
        retry_policy=retry_policy,
        pool=pool,
        description=f"Deliveries of source {name} ({source.kind}, {source.format}) for the day.",
        check_specs=[
            dg.AssetCheckSpec(
                AVAILABLE_CHECK,
                asset=key,
                description="The source could be read today (after retries).",
            )
        ],
    )
    def _ingest(context: dg.AssetExecutionContext, pipeline: PipelineResource):
        home = pipeline.home_dir()
        day = date.fromisoformat(context.partition_key)
        current = pipeline.load().source(name)  # the run's config decides how to reach it
        last_try = context.retry_number >= retry_policy.max_retries

        def retry_later(exc: Exception) -> bool:
            if is_transient(exc) and not last_try:
                context.log.warning(f"source {name}: {exc}; retrying")
                return True
            return False

        result = ingest_one(current, home.root, day, context.run_id, reraise=retry_later)
        frame = result.frame()
        lake.write_partition(home.lake_location, manifest_table(name), day, frame)
        lake.write_partition(home.lake_location, errors_table(name), day, result.errors_frame(day))
        error = result.source_errors.get(name)
        return dg.MaterializeResult(
            metadata={
                "files": frame.height,
                "duplicate_arrivals": frame.filter(pl.col("duplicate_of").is_not_null()).height,
                "attempt": context.retry_number + 1,
                "error": error or "",
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name=AVAILABLE_CHECK,
                    passed=error is None,
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={"error": error or ""},
                )
            ],
        )

    return _ingest


def _raw_files_asset(source_keys: list[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(
        name="raw_files",
        partitions_def=business_days,
        group_name="ingest",
        kinds={"python", "parquet"},
        owners=["team:integration"],
        deps=source_keys,
    )
    def raw_files(
        context: dg.AssetExecutionContext, pipeline: PipelineResource
    ) -> dg.MaterializeResult:
        """The day's deliveries over every source, each stored once under its SHA-256."""
        home = pipeline.home_dir()
        day = date.fromisoformat(context.partition_key)
        config = pipeline.load()
        manifests, errors = [], []
        for source in config.sources:
            found = lake.read_partition(home.lake_location, manifest_table(source.name), day)
            failed = lake.read_partition(home.lake_location, errors_table(source.name), day)
            if found is None or failed is None:
                failed = pl.DataFrame(
                    [{"business_date": day, "source": source.name, "error": "not ingested"}],
                    schema=SOURCE_ERROR_SCHEMA,
                )
            manifests.append(found if found is not None else pl.DataFrame(schema=MANIFEST_SCHEMA))
            errors.append(failed)
        frame = pl.concat(manifests).sort("arrival_id")
        error_frame = pl.concat(errors).sort("source")
        if error_frame.height and error_frame.height == len(config.sources):
            # Nothing could be read at all, after each source's own retries: fail the run so
            # the failure sensor alerts. One source failing alone is an exception instead.
            raise dg.Failure(f"no source could be read: {error_frame['source'].to_list()}")
        lake.write_partition(home.lake_location, "raw_files", day, frame)
        lake.write_partition(home.lake_location, "source_errors", day, error_frame)
        return dg.MaterializeResult(
            metadata={
                "files": frame.height,
                "duplicate_arrivals": frame.filter(pl.col("duplicate_of").is_not_null()).height,
                "sources_failed": error_frame.height,
                "preview": markdown_preview(
                    frame.select("source", "file_name", "size", "duplicate_of")
                ),
            }
        )

    return raw_files


def build_ingest_assets(
    config: PipelineConfig, retry_policy: dg.RetryPolicy | None = None
) -> list[dg.AssetsDefinition]:
    """One asset per configured source plus ``raw_files``, their union for the day.

    ``retry_policy`` overrides every source's own (tests use it to retry without waiting).
    """
    sources = [_source_asset(s, retry_policy or source_retry_policy(s)) for s in config.sources]
    return [*sources, _raw_files_asset([a.key for a in sources])]
