"""Master data: the day's snapshot, cross-system identifier maps and unknown-reference flags.

Master data (legal entities, customers, vendors, GL accounts, cost centres, tax codes, bank
accounts) are canonical tables delivered as snapshots. For a business date the snapshot is that
day's delivery if there is one, else the latest earlier partition in the lake
(:func:`latest_snapshot`).

Customers and vendors carry other systems' identifiers (NetSuite internal id, CRM account id,
Stripe customer id, payer bank account); :func:`identifier_map` turns them into one long table
``(record_type, system, external_id, canonical_id)`` so an export that names a customer by its
NetSuite id gets the canonical customer id (:func:`resolve_references`, driven by the mapping's
``resolve:`` keys). An identifier shared by two canonical records is ambiguous and not used.

Records that reference master data the snapshot does not know are kept as delivered and flagged
by :func:`reference_flags` (table ``quality.reference_flags``) for the exceptions layer.
A check runs only once its master table has been delivered at least once; before that every
reference would be "unknown" and the flags would say nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from contracts.canonical import CANONICAL_MODELS
from finance_pipeline import lake
from finance_pipeline.dedupe import partition_dates, record_id_expr
from finance_pipeline.mappings import Mapping
from finance_pipeline.validation import empty_frame

MASTER_TABLES = (
    "legal_entities",
    "customers",
    "vendors",
    "gl_accounts",
    "cost_centers",
    "tax_codes",
    "bank_accounts",
)
ID_SYSTEMS: dict[str, dict[str, str]] = {
    "customers": {
        "canonical": "customer_id",
        "erp": "erp_customer_id",
        "crm": "crm_account_id",
        "stripe": "stripe_customer_id",
        "bank": "payer_account",
        "name": "name",
    },
    "vendors": {
        "canonical": "vendor_id",
        "erp": "erp_vendor_id",
        "bank": "payee_account",
        "name": "name",
    },
    "legal_entities": {"canonical": "entity_id", "name": "name"},
}
"""Identifier systems per master table: system name -> column holding that system's id."""
RESOLVES_TO = {"customer_id": "customers", "vendor_id": "vendors", "entity_id": "legal_entities"}
FLAGS = ("unknown_customer", "unknown_vendor", "invalid_cost_center", "missing_tax_code")
REFERENCE_FLAG_SCHEMA: dict[str, pl.DataType] = {
    "record_type": pl.String(),
    "record_id": pl.String(),
    "source_system": pl.String(),
    "source_id": pl.String(),
    "flag": pl.String(),
    "detail": pl.String(),
    "business_date": pl.Date(),
}


@dataclass(frozen=True)
class ReferenceCheck:
    """``table.column`` must name a record of ``master`` (within the row's entity if asked)."""

    table: str
    column: str
    master: str
    master_column: str
    flag: str
    per_entity: bool = False
    empty_is_flag: bool = False


REFERENCE_CHECKS: tuple[ReferenceCheck, ...] = (
    ReferenceCheck("invoices", "customer_id", "customers", "customer_id", "unknown_customer",
                   empty_is_flag=True),
    ReferenceCheck("orders", "customer_id", "customers", "customer_id", "unknown_customer",
                   empty_is_flag=True),
    # A payment without a customer is simply not applied yet: cash application's business.
    ReferenceCheck("payments", "customer_id", "customers", "customer_id", "unknown_customer"),
    ReferenceCheck("bills", "vendor_id", "vendors", "vendor_id", "unknown_vendor",
                   empty_is_flag=True),
    ReferenceCheck("purchase_orders", "vendor_id", "vendors", "vendor_id", "unknown_vendor",
                   empty_is_flag=True),
    ReferenceCheck("purchase_orders", "cost_center_id", "cost_centers", "cost_center_id",
                   "invalid_cost_center", per_entity=True),
    ReferenceCheck("payroll_entries", "cost_center_id", "cost_centers", "cost_center_id",
                   "invalid_cost_center", per_entity=True, empty_is_flag=True),
    # Balance-sheet lines carry no cost centre; only a wrong one is flagged.
    ReferenceCheck("gl_journal_lines", "cost_center_id", "cost_centers", "cost_center_id",
                   "invalid_cost_center", per_entity=True),
    ReferenceCheck("invoices", "tax_code", "tax_codes", "tax_code", "missing_tax_code",
                   per_entity=True, empty_is_flag=True),
    ReferenceCheck("bills", "tax_code", "tax_codes", "tax_code", "missing_tax_code",
                   per_entity=True, empty_is_flag=True),
)  # fmt: skip


def latest_snapshot(
    table: str,
    today: pl.DataFrame | Sequence[pl.DataFrame] | None,
    lake_root: Path | None,
    business_date: date,
) -> pl.DataFrame:
    """The day's delivery of ``table`` if it has rows, else the latest earlier non-empty
    partition in the lake (on or before ``business_date``), else an empty frame."""
    frames = [today] if isinstance(today, pl.DataFrame) else list(today or [])
    frames = [f for f in frames if f.height]
    if frames:
        return pl.concat(frames, how="vertical_relaxed")
    if lake_root is not None:
        for day in reversed(partition_dates(lake_root, table)):
            if day > business_date:
                continue
            found = lake.read_partition(lake_root, table, day)
            if found is not None and found.height:
                return found
    return empty_frame(CANONICAL_MODELS[table])


def master_snapshot(
    tables: dict[str, pl.DataFrame], lake_root: Path | None, business_date: date
) -> dict[str, pl.DataFrame]:
    """Every master table's snapshot for ``business_date`` (see :func:`latest_snapshot`)."""
    return {t: latest_snapshot(t, tables.get(t), lake_root, business_date) for t in MASTER_TABLES}


def identifier_map(master: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """``(record_type, system, external_id, canonical_id)`` over every identifier system.

    Names are matched case-insensitively (trimmed, lower case). An external id that points at
    more than one canonical record is left out: resolving it would be a guess.
    """
    parts = []
    for record_type, systems in ID_SYSTEMS.items():
        frame = master.get(record_type)
        if frame is None or frame.height == 0:
            continue
        canonical = systems["canonical"]
        for system, column in systems.items():
            if column not in frame.columns:
                continue
            external = pl.col(column).cast(pl.String).str.strip_chars()
            if system == "name":
                external = external.str.to_lowercase()
            parts.append(
                frame.select(
                    pl.lit(record_type).alias("record_type"),
                    pl.lit(system).alias("system"),
                    external.alias("external_id"),
                    pl.col(canonical).cast(pl.String).alias("canonical_id"),
                ).filter(pl.col("external_id").is_not_null() & (pl.col("external_id") != ""))
            )
    schema = {c: pl.String for c in ("record_type", "system", "external_id", "canonical_id")}
    if not parts:
        return pl.DataFrame(schema=schema)
    ids = pl.concat(parts).unique()
    keys = ["record_type", "system", "external_id"]
    return ids.filter(pl.col("canonical_id").n_unique().over(keys) == 1).sort(keys)


def resolve_references(
    frame: pl.DataFrame,
    table: str,
    mappings: Iterable[Mapping],
    master: dict[str, pl.DataFrame],
) -> pl.DataFrame:
    """Replace other systems' ids by canonical ids in rows produced by mappings that ask for it
    (``resolve:``); ids that cannot be resolved stay as delivered (and get flagged)."""
    wanted = [m for m in mappings if m.table == table and m.resolutions]
    if not wanted or frame.height == 0:
        return frame
    ids = identifier_map(master)
    for mapping in wanted:
        mine = (pl.col("mapping_name") == mapping.name) & (
            pl.col("mapping_version") == mapping.version
        )
        for column, system in mapping.resolutions:
            pairs = ids.filter(
                (pl.col("record_type") == RESOLVES_TO[column]) & (pl.col("system") == system)
            )
            value = pl.col(column).str.strip_chars()
            if system == "name":
                value = value.str.to_lowercase()
            resolved = value.replace_strict(
                pairs["external_id"], pairs["canonical_id"], default=None, return_dtype=pl.String
            )
            frame = frame.with_columns(
                pl.when(mine & resolved.is_not_null())
                .then(resolved)
                .otherwise(pl.col(column))
                .alias(column)
            )
    return frame


def _snapshot_note(master_frame: pl.DataFrame) -> str:
    day = master_frame["business_date"].max() if "business_date" in master_frame.columns else None
    return f" (master data of {day})" if day is not None else ""


def reference_flags(
    tables: dict[str, pl.DataFrame], master: dict[str, pl.DataFrame]
) -> pl.DataFrame:
    """Rows that name unknown master data, one row per problem, for the exceptions layer.

    Columns: record_type (canonical table), record_id, source_system, source_id, flag
    (unknown_customer | unknown_vendor | invalid_cost_center | missing_tax_code), detail,
    business_date. Pure: reads only its arguments.
    """
    parts = [pl.DataFrame(schema=REFERENCE_FLAG_SCHEMA)]
    for check in REFERENCE_CHECKS:
        frame = tables.get(check.table)
        known = master.get(check.master)
        if frame is None or frame.height == 0 or known is None or known.height == 0:
            continue
        note = _snapshot_note(known)
        keys = ["entity_id", check.master_column] if check.per_entity else [check.master_column]
        left = ["entity_id", check.column] if check.per_entity else [check.column]
        present = frame.filter(pl.col(check.column).is_not_null())
        unknown = present.join(known.select(keys).unique(), left_on=left, right_on=keys, how="anti")
        scope = (
            pl.format(" of entity {}", pl.col("entity_id").fill_null("?"))
            if check.per_entity
            else pl.lit("")
        )
        detail = pl.format(
            "{} '{}' is not in {}{}{}",
            pl.lit(check.column),
            pl.col(check.column),
            pl.lit(check.master),
            scope,
            pl.lit(note),
        )
        flagged = [unknown.with_columns(detail.alias("__detail"))]
        if check.empty_is_flag:
            empty = frame.filter(pl.col(check.column).is_null())
            flagged.append(empty.with_columns(pl.lit(f"{check.column} is empty").alias("__detail")))
        for rows in flagged:
            parts.append(
                rows.select(
                    pl.lit(check.table).alias("record_type"),
                    record_id_expr(check.table).alias("record_id"),
                    pl.col("source_system"),
                    pl.col("source_id"),
                    pl.lit(check.flag).alias("flag"),
                    pl.col("__detail").alias("detail"),
                    pl.col("business_date"),
                ).cast(REFERENCE_FLAG_SCHEMA)
            )
    flags = pl.concat(parts)
    return flags.sort(["record_type", "record_id", "flag", "detail"])
