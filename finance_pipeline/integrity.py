"""Exception candidates from ingestion: quarantined files and gaps between statements.

Candidates are cumulative up to the business date, so an open problem stays open on the days
after it appeared. A quarantined file's problem clears once a later delivery from the same
source for the same business date loads cleanly (the bank re-sent a corrected file).
"""

from __future__ import annotations

from datetime import date

import polars as pl

from finance_pipeline import lake
from finance_pipeline.exceptions import CANDIDATE_SCHEMA
from finance_pipeline.masking import mask_account

GAP_CHECK_NAMES = ["continuity", "sequence", "continuity_previous_file", "sequence_previous_file"]


def _history(lake_root: lake.Lake, table: str, upto: date) -> pl.DataFrame | None:
    frame = lake.read_table(lake_root, table)
    if frame is None:
        return None
    if "business_date" in frame.columns and frame.schema["business_date"] == pl.String:
        frame = frame.with_columns(pl.col("business_date").str.to_date())
    return frame.filter(pl.col("business_date") <= upto)


def quarantine_candidates(lake_root: lake.Lake, upto: date) -> pl.DataFrame:
    quarantined = _history(lake_root, "quarantined_files", upto)
    if quarantined is None or quarantined.height == 0:
        return pl.DataFrame(schema=CANDIDATE_SCHEMA)
    arrivals = _history(lake_root, "raw_files", upto)
    if arrivals is not None and arrivals.height:
        bad = set(quarantined["sha256"].to_list())
        clean = arrivals.filter(
            pl.col("duplicate_of").is_null() & ~pl.col("sha256").is_in(sorted(bad))
        ).select("source", "business_date", pl.col("arrived_at").alias("fixed_at"))
        arrived = arrivals.select("sha256", "arrived_at").unique("sha256")
        quarantined = quarantined.join(arrived, on="sha256", how="left")
        fixed = quarantined.join(clean, on=["source", "business_date"], how="inner").filter(
            pl.col("fixed_at") > pl.col("arrived_at")
        )
        quarantined = quarantined.join(fixed.select("sha256").unique(), on="sha256", how="anti")
    return quarantined.select(
        pl.lit("ingest").alias("workflow"),
        pl.when(pl.col("kind") == "integrity")
        .then(pl.lit("statement_integrity"))
        .otherwise(pl.lit("quarantined_file"))
        .alias("exception_type"),
        pl.lit("file").alias("record_type"),
        pl.col("sha256").alias("record_id"),
        pl.col("source").alias("source_system"),
        pl.col("file_name").alias("source_id"),
        pl.lit(None, dtype=pl.String).alias("entity"),
        pl.lit(None, dtype=pl.String).alias("currency"),
        pl.lit(None, dtype=pl.Decimal(18, 4)).alias("amount"),
        pl.format("{} ({}): {}", pl.col("file_name"), pl.col("format"), pl.col("reason")).alias(
            "detail"
        ),
    )


def gap_candidates(lake_root: lake.Lake, upto: date) -> pl.DataFrame:
    checks = _history(lake_root, "file_checks", upto)
    if checks is None or checks.height == 0:
        return pl.DataFrame(schema=CANDIDATE_SCHEMA)
    failed = checks.filter(~pl.col("ok") & pl.col("check_name").is_in(GAP_CHECK_NAMES))
    masked = [mask_account(a) for a in failed["account_number"].to_list()]
    return failed.with_columns(pl.Series("masked", masked, dtype=pl.String)).select(
        pl.lit("ingest").alias("workflow"),
        pl.lit("statement_gap").alias("exception_type"),
        pl.lit("statement").alias("record_type"),
        pl.format(
            "{}#{}:{}",
            pl.col("sha256"),
            pl.col("statement_index").fill_null(-1),
            pl.col("check_name"),
        ).alias("record_id"),
        pl.col("source").alias("source_system"),
        pl.col("file_name").alias("source_id"),
        pl.lit(None, dtype=pl.String).alias("entity"),
        pl.lit(None, dtype=pl.String).alias("currency"),
        pl.lit(None, dtype=pl.Decimal(18, 4)).alias("amount"),
        pl.format(
            "{} account {}: {}: {}",
            pl.col("file_name"),
            pl.col("masked"),
            pl.col("check_name"),
            pl.col("detail"),
        ).alias("detail"),
    )


def source_error_candidates(lake_root: lake.Lake, upto: date) -> pl.DataFrame:
    """Sources that could not be read, per business date. A rerun of that date that reads the
    source rewrites its partition without the error, which resolves the exception."""
    errors = _history(lake_root, "source_errors", upto)
    if errors is None or errors.height == 0:
        return pl.DataFrame(schema=CANDIDATE_SCHEMA)
    return errors.select(
        pl.lit("ingest").alias("workflow"),
        pl.lit("source_unavailable").alias("exception_type"),
        pl.lit("source").alias("record_type"),
        pl.format("{}@{}", pl.col("source"), pl.col("business_date")).alias("record_id"),
        pl.col("source").alias("source_system"),
        pl.col("business_date").cast(pl.String).alias("source_id"),
        pl.lit(None, dtype=pl.String).alias("entity"),
        pl.lit(None, dtype=pl.String).alias("currency"),
        pl.lit(None, dtype=pl.Decimal(18, 4)).alias("amount"),
        pl.format(
            "{} unavailable for {}: {}", pl.col("source"), pl.col("business_date"), pl.col("error")
        ).alias("detail"),
    )


def ingest_candidates(lake_root: lake.Lake, upto: date) -> pl.DataFrame:
    return pl.concat(
        [
            quarantine_candidates(lake_root, upto),
            gap_candidates(lake_root, upto),
            source_error_candidates(lake_root, upto),
        ]
    ).cast(CANDIDATE_SCHEMA)
