"""Canonical assets: one per canonical table, all built from the day's archived deliveries.

One multi-asset reads every file once (a bank file feeds both transactions and balances) and
writes each table's partition; each table is still its own node in the asset graph. Every
table is validated against its Pandera contract; failing rows go to ``rejects``.
"""

from collections.abc import Iterator
from datetime import date

import dagster as dg

from assets.metadata import markdown_preview
from assets.partitions import business_days
from assets.resources import PipelineResource
from contracts.canonical import CANONICAL_MODELS
from finance_pipeline import lake
from finance_pipeline.archive import Arrival, RawArchive
from finance_pipeline.canonical import build_canonical
from finance_pipeline.masking import mask_file_name
from finance_pipeline.validation import empty_frame

QUALITY_TABLES = ("file_checks", "quarantined_files", "rejects", "reference_flags")


def _spec(name: str, group: str, description: str) -> dg.AssetSpec:
    return dg.AssetSpec(
        name,
        deps=["raw_files"],
        group_name=group,
        kinds={"polars", "parquet"},
        owners=["team:integration"],
        description=description,
        skippable=False,
    )


CANONICAL_SPECS = [
    _spec(table, "canonical", f"Canonical `{table}`, validated by contracts.canonical.")
    for table in CANONICAL_MODELS
]
QUALITY_SPECS = [
    _spec("file_checks", "quality", "Integrity checks of every parsed statement and lockbox file."),
    _spec("quarantined_files", "quality", "Files set aside: unparseable or failing integrity."),
    _spec("rejects", "quality", "Rows that failed their canonical contract, with the reason."),
    _spec(
        "reference_flags",
        "quality",
        "Records that reference unknown master data (customer, vendor, cost centre, tax code).",
    ),
]


@dg.multi_asset(specs=[*CANONICAL_SPECS, *QUALITY_SPECS], partitions_def=business_days)
def canonical_tables(
    context: dg.AssetExecutionContext, pipeline: PipelineResource
) -> Iterator[dg.MaterializeResult]:
    home = pipeline.home_dir()
    day = date.fromisoformat(context.partition_key)
    manifest = lake.read_partition(home.lake_location, "raw_files", day)
    arrivals = (
        [Arrival(**row) for row in manifest.iter_rows(named=True)] if manifest is not None else []
    )
    archive = RawArchive(home.archive)
    config = pipeline.load()
    batch, statuses = build_canonical(config, archive, arrivals, day, home.lake_location)
    for sha, status in sorted(statuses.items()):
        archive.record_status(sha, status, "", context.run_id)
    tables = batch.tables()
    for table, frame in tables.items():
        lake.write_partition(home.lake_location, table, day, frame)
        yield dg.MaterializeResult(
            asset_key=table,
            metadata={"rows": frame.height, "preview": markdown_preview(frame)},
        )
    quality = {
        "file_checks": batch.file_check_frame(),
        "quarantined_files": batch.quarantine_frame(),
        "rejects": batch.reject_frame(),
        "reference_flags": batch.reference_flag_frame(),
    }
    for table, frame in quality.items():
        lake.write_partition(home.lake_location, table, day, frame)
        yield dg.MaterializeResult(
            asset_key=table,
            metadata={"rows": frame.height, "preview": markdown_preview(frame)},
        )
    failed = quality["quarantined_files"]
    patterns = {s.name: s.date_pattern for s in config.sources}
    for row in failed.iter_rows(named=True):
        shown = mask_file_name(row["file_name"], patterns.get(row["source"]))
        context.log.warning(f"quarantined {shown} ({row['source']}): {row['kind']}")


def _contract_check(table: str) -> dg.AssetChecksDefinition:
    model = CANONICAL_MODELS[table]

    @dg.asset_check(
        asset=table,
        name="contract",
        description=f"The partition of `{table}` satisfies its Pandera contract.",
        blocking=True,
    )
    def check(
        context: dg.AssetCheckExecutionContext, pipeline: PipelineResource
    ) -> dg.AssetCheckResult:
        home = pipeline.home_dir()
        key = context.run.tags.get("dagster/partition")
        if key:
            found = lake.read_partition(home.lake_location, table, date.fromisoformat(key))
        else:
            found = lake.read_table(home.lake_location, table)
        frame = found if found is not None else empty_frame(model)
        try:
            model.validate(frame, lazy=True)
        except Exception as exc:  # pandera raises SchemaErrors; report any failure
            return dg.AssetCheckResult(passed=False, metadata={"error": str(exc)[:2000]})
        return dg.AssetCheckResult(passed=True, metadata={"rows": frame.height})

    return check


CONTRACT_CHECKS = [_contract_check(table) for table in CANONICAL_MODELS]
