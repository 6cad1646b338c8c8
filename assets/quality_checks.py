"""Data-quality asset checks: Great Expectations rules (``finance_pipeline.quality``) on the lake.

Canonical checks share one multi-asset check step, so a run imports GX once for all of them;
they are blocking, because a bank line loaded twice or lost between file and table must not
reach matching. Recon checks attach to the recon assets. A check whose input table is not in
the lake yet (recon tables while matching is being built) passes with ``evaluated: false`` and
says why, so the graph stays green until there is something to judge.

Which business date: the check's ``business_date`` config when given, else the run's
partition, else the latest partition of the table the check reads.
"""

from collections.abc import Iterator
from datetime import date
from typing import Any

import dagster as dg
import polars as pl
from pydantic import Field

from assets.resources import PipelineResource
from finance_pipeline import lake, quality

DEFAULT_MATCH_RATE_FLOOR = 0.8
# (table, natural key, also unique across business dates?) Invoices may be re-exported on a
# later day with a new status, so only the day's own rows must be unique there.
KEY_RULES: tuple[tuple[str, str, bool], ...] = (
    ("bank_transactions", "transaction_id", True),
    ("invoices", "invoice_id", False),
    ("payments", "payment_id", True),
)
CONTROL_TOTAL_TABLES = ("bank_transactions", "payments")


class QualityCheckConfig(dg.Config):
    business_date: str = Field(
        default="",
        description="Business date to check (YYYY-MM-DD); empty: the run's partition.",
    )


# --- lake access ------------------------------------------------------------------------------


def _partition_days(lake_root: lake.Lake, table: str) -> list[date]:
    """Dates with a partition, from folder names (recon tables carry no date column)."""
    return lake.partition_dates(lake_root, table)


def _business_day(
    context: dg.AssetCheckExecutionContext,
    config: QualityCheckConfig,
    lake_root: lake.Lake,
    table: str,
) -> date | None:
    if config.business_date:
        return date.fromisoformat(config.business_date)
    try:
        key = context.run.tags.get("dagster/partition")
    except dg.DagsterError:  # invoked directly, outside a run
        key = None
    if key:
        return date.fromisoformat(key)
    days = _partition_days(lake_root, table)
    return days[-1] if days else None


def _column_of_days(lake_root: lake.Lake, table: str, column: str, days: list[date]) -> list[str]:
    return lake.read_column(lake_root, table, column, days)


def _rows(frame: pl.DataFrame | None, **filters: Any) -> pl.DataFrame | None:
    if frame is None:
        return None
    for column, value in filters.items():
        frame = frame.filter(pl.col(column) == value)
    return frame


# --- results ----------------------------------------------------------------------------------


def not_evaluated(reason: str, **metadata: Any) -> dg.AssetCheckResult:
    """Pass without judging: the input is not there yet (and the metadata says so)."""
    return dg.AssetCheckResult(
        passed=True,
        description=f"not evaluated: {reason}",
        metadata={"evaluated": False, "reason": reason, **metadata},
    )


def _result(
    outcome: quality.QualityResult,
    day: date,
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
    **metadata: Any,
) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=outcome.success,
        severity=severity,
        metadata={
            "evaluated": True,
            "business_date": day.isoformat(),
            "rows": outcome.rows,
            "expectations": dg.MetadataValue.json(outcome.summary()),
            **metadata,
        },
    )


def _keyed(result: dg.AssetCheckResult, key: dg.AssetCheckKey) -> dg.AssetCheckResult:
    """The same result addressed to one check of a multi-asset check."""
    return dg.AssetCheckResult(
        asset_key=key.asset_key,
        check_name=key.name,
        passed=result.passed,
        severity=result.severity,
        metadata=result.metadata,
        description=result.description,
    )


def _table_md(frame: pl.DataFrame, limit: int = 20) -> dg.MetadataValue:
    from assets.metadata import markdown_preview

    return markdown_preview(frame, limit=limit)


# --- canonical checks -------------------------------------------------------------------------


def unique_key_result(
    lake_root: lake.Lake, table: str, key: str, across_days: bool, day: date | None
) -> dg.AssetCheckResult:
    """A natural key loaded twice double-counts money downstream."""
    frame = lake.read_partition(lake_root, table, day) if day else None
    if day is None or frame is None:
        return not_evaluated(f"no partition of {table} for {day or 'any date'}")
    others = None
    if across_days:
        days = [d for d in _partition_days(lake_root, table) if d != day]
        others = _column_of_days(lake_root, table, key, days)
    outcome = quality.check_unique_keys(frame[key], others)
    extra: dict[str, Any] = {"scope": "the business date"}
    if others is not None:
        extra = {
            "scope": "all business dates",
            "keys_seen_on_other_days": len(set(frame[key].to_list()) & set(others)),
        }
    duplicates = frame.filter(pl.col(key).is_duplicated()).height
    return _result(outcome, day, key=key, duplicates_in_day=duplicates, **extra)


def control_total_result(lake_root: lake.Lake, table: str, day: date | None) -> dg.AssetCheckResult:
    """Rows of ``table`` per file against the entry counts the files state themselves."""
    if day is None:
        return not_evaluated(f"no partition of {table}")
    checks = lake.read_partition(lake_root, "file_checks", day)
    if checks is None:
        return not_evaluated(f"no file_checks partition for {day}")
    quarantined = lake.read_partition(lake_root, "quarantined_files", day)
    bad = quarantined["sha256"].to_list() if quarantined is not None else []
    stated = quality.stated_counts(checks, table, bad)
    if stated.height == 0:
        return not_evaluated(
            f"no loaded file on {day} states an entry count for {table}",
            business_date=day.isoformat(),
        )
    rows = lake.read_partition(lake_root, table, day)
    loaded = rows if rows is not None else pl.DataFrame(schema={"source_file": pl.String})
    if table == "bank_transactions" and "status" in loaded.columns:
        loaded = loaded.filter(pl.col("status") == "BOOK")
    rejects = _rows(lake.read_partition(lake_root, "rejects", day), table=table)
    rejected = rejects if rejects is not None else pl.DataFrame(schema={"source_file": pl.String})
    frame = quality.control_total_frame(stated, loaded, rejected)
    outcome = quality.check_control_totals(frame)
    off = frame.filter(pl.col("stated") != pl.col("accounted"))
    return _result(
        outcome,
        day,
        files_compared=frame.height,
        files_off=off.height,
        entries_stated=int(frame["stated"].sum()),
        rows_loaded=int(frame["loaded"].sum()),
        rows_rejected=int(frame["rejected"].sum()),
        files=_table_md(off if off.height else frame),
    )


CANONICAL_CHECK_SPECS = [
    *(
        dg.AssetCheckSpec(
            f"unique_{key}",
            asset=table,
            blocking=True,
            description=(
                f"`{key}` is unique in the business date"
                + (" and across business dates." if across else ".")
            ),
        )
        for table, key, across in KEY_RULES
    ),
    *(
        dg.AssetCheckSpec(
            "control_totals",
            asset=table,
            blocking=True,
            additional_deps=["file_checks", "quarantined_files", "rejects"],
            description=(
                "Per loaded file, the entries its own control totals state equal the rows "
                "loaded plus the rows rejected by the contract."
            ),
        )
        for table in CONTROL_TOTAL_TABLES
    ),
]


@dg.multi_asset_check(
    specs=CANONICAL_CHECK_SPECS,
    name="canonical_quality",
    description="Great Expectations rules on canonical tables: natural keys, control totals.",
    can_subset=True,
)
def canonical_quality(
    context: dg.AssetCheckExecutionContext, config: QualityCheckConfig, pipeline: PipelineResource
) -> Iterator[dg.AssetCheckResult]:
    lake_root = pipeline.home_dir().lake_location
    selected = context.selected_asset_check_keys
    for table, key, across in KEY_RULES:
        check_key = dg.AssetCheckKey(dg.AssetKey(table), f"unique_{key}")
        if check_key in selected:
            day = _business_day(context, config, lake_root, table)
            yield _keyed(unique_key_result(lake_root, table, key, across, day), check_key)
    for table in CONTROL_TOTAL_TABLES:
        check_key = dg.AssetCheckKey(dg.AssetKey(table), "control_totals")
        if check_key in selected:
            day = _business_day(context, config, lake_root, table)
            yield _keyed(control_total_result(lake_root, table, day), check_key)


# --- recon checks -----------------------------------------------------------------------------


def _booked_bank_ids(lake_root: lake.Lake, day: date) -> pl.Series | None:
    frame = lake.read_partition(lake_root, "bank_transactions", day)
    if frame is None:
        return None
    return frame.filter(pl.col("status") == "BOOK")["transaction_id"]


def _matched_ids(lake_root: lake.Lake, day: date) -> list[str]:
    days = [d for d in _partition_days(lake_root, "match_members") if d <= day]
    return _column_of_days(lake_root, "match_members", "record_id", days)


def bank_coverage_result(lake_root: lake.Lake, day: date | None) -> dg.AssetCheckResult:
    """A booked bank line in neither a match nor an exception would vanish from review."""
    for table in ("match_members", "exceptions"):
        if not lake.has_table(lake_root, table):
            return not_evaluated(f"lake table {table} is absent (matching not built yet)")
    if day is None:
        return not_evaluated("no business date to check")
    bank_ids = _booked_bank_ids(lake_root, day)
    if bank_ids is None:
        return not_evaluated(f"no bank_transactions partition for {day}")
    excepted = lake.read_partition(lake_root, "exceptions", day)
    exception_ids = excepted["record_id"].to_list() if excepted is not None else []
    frame = quality.coverage_frame(bank_ids, _matched_ids(lake_root, day), exception_ids)
    outcome = quality.check_bank_lines_accounted(frame)
    return _result(
        outcome,
        day,
        bank_lines=frame.height,
        matched=int(frame["matched"].sum()),
        exceptions=int((~frame["matched"] & frame["exception"]).sum()),
        unaccounted=int((~frame["accounted"]).sum()),
    )


def journals_balanced_result(lake_root: lake.Lake, day: date | None) -> dg.AssetCheckResult:
    """An unbalanced proposal cannot be posted to a ledger: it must not reach export."""
    if not lake.has_table(lake_root, "journal_proposals"):
        return not_evaluated("lake table journal_proposals is absent (journals not built yet)")
    journals = lake.read_partition(lake_root, "journal_proposals", day) if day else None
    if day is None or journals is None:
        return not_evaluated(f"no journal_proposals partition for {day or 'any date'}")
    frame = quality.journal_balance_frame(journals)
    outcome = quality.check_journals_balanced(frame)
    off = frame.filter(pl.col("difference") != 0)
    return _result(
        outcome,
        day,
        journals=frame.height,
        unbalanced=off.height,
        unbalanced_journals=_table_md(off.drop("lines")),
    )


def match_rate_result(lake_root: lake.Lake, day: date | None, floor: float) -> dg.AssetCheckResult:
    """A sudden drop in matched bank lines flags a broken rule or feed (a warning)."""
    if not lake.has_table(lake_root, "match_members"):
        return not_evaluated("lake table match_members is absent (matching not built yet)")
    bank_ids = _booked_bank_ids(lake_root, day) if day else None
    if day is None or bank_ids is None or bank_ids.len() == 0:
        return not_evaluated(f"no booked bank lines for {day or 'any date'}", floor=floor)
    frame = quality.coverage_frame(bank_ids, _matched_ids(lake_root, day), ())
    outcome = quality.check_match_rate(frame, floor)
    rate = float(frame["matched"].mean() or 0.0)
    return _result(
        outcome,
        day,
        severity=dg.AssetCheckSeverity.WARN,
        match_rate=round(rate, 4),
        floor=floor,
        bank_lines=frame.height,
        matched=int(frame["matched"].sum()),
    )


def match_rate_floor(pipeline: PipelineResource) -> float:
    """``quality: {match_rate_floor: 0.8}`` in finance_pipeline.yaml (0.8 when absent)."""
    settings = pipeline.load().settings.get("quality") or {}
    return float(settings.get("match_rate_floor", DEFAULT_MATCH_RATE_FLOOR))


def build_recon_checks(
    exceptions_asset: str = "exceptions",
    journals_asset: str = "journal_proposals",
    matches_asset: str = "matches",
) -> list[dg.AssetChecksDefinition]:
    """Recon checks, attached to the recon assets by key (lake table names are fixed)."""

    @dg.asset_check(
        asset=exceptions_asset,
        name="bank_lines_accounted",
        description="Every booked bank line of the day is in a match or is an exception.",
    )
    def bank_lines_accounted(
        context: dg.AssetCheckExecutionContext,
        config: QualityCheckConfig,
        pipeline: PipelineResource,
    ) -> dg.AssetCheckResult:
        lake_root = pipeline.home_dir().lake_location
        day = _business_day(context, config, lake_root, "bank_transactions")
        return bank_coverage_result(lake_root, day)

    @dg.asset_check(
        asset=journals_asset,
        name="journals_balanced",
        blocking=True,
        description="Debits equal credits per journal_id, entity and currency.",
    )
    def journals_balanced(
        context: dg.AssetCheckExecutionContext,
        config: QualityCheckConfig,
        pipeline: PipelineResource,
    ) -> dg.AssetCheckResult:
        lake_root = pipeline.home_dir().lake_location
        day = _business_day(context, config, lake_root, "journal_proposals")
        return journals_balanced_result(lake_root, day)

    @dg.asset_check(
        asset=matches_asset,
        name="match_rate_floor",
        description="Share of the day's booked bank lines in a match is at least the floor "
        "(quality.match_rate_floor in finance_pipeline.yaml).",
    )
    def match_rate(
        context: dg.AssetCheckExecutionContext,
        config: QualityCheckConfig,
        pipeline: PipelineResource,
    ) -> dg.AssetCheckResult:
        lake_root = pipeline.home_dir().lake_location
        day = _business_day(context, config, lake_root, "bank_transactions")
        return match_rate_result(lake_root, day, match_rate_floor(pipeline))

    return [bank_lines_accounted, journals_balanced, match_rate]


CANONICAL_QUALITY_CHECKS = [canonical_quality]
RECON_QUALITY_CHECKS = build_recon_checks()
QUALITY_CHECKS = [*CANONICAL_QUALITY_CHECKS, *RECON_QUALITY_CHECKS]
