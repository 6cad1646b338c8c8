"""Deduplication inside each source: the same business record delivered again is kept once.

A record arrives more than once when an export is re-sent with other bytes, when API pulls use
overlapping windows, or when one payment is reported by two channels (a lockbox file and a
bank feed). Each canonical table has a *natural key* in stages (:data:`NATURAL_KEYS`):

1. the record's canonical id (``RECORD_ID``), which readers and mappings derive from the
   source's own id, so a re-delivery gets the same id;
2. for payments only, a business key (received date, currency, amount, payer account, reference;
   used only when all are present) that merges the *n*-th such payment of one source system
   with the *n*-th of another. Two identical payments from the same source stay two payments
   (a customer who really paid twice is the exceptions layer's business, not ours).

Rows of one group become one record: the first delivery in read order gives the lineage and
the values, and fields it left empty are filled from later deliveries. Read order is that of
``CanonicalBatch.tables()``: rows of parsed files (bank, lockbox, Stripe API pages) before
mapped/CSV exports, each in build order (source kind, source name, file name), then line order.
Rows are checked against the contract's row-level rules first (:func:`row_rules`), so a broken
delivery never becomes the kept copy. Tables whose records are immutable events
(:data:`NATURAL_KEYS` ``across_days``) are also matched against the lake's earlier partitions
(``LOOKBACK_DAYS``): a record already kept on an earlier day is not written again.

Lineage of the deliveries goes to the companion table ``canonical.record_deliveries``
(contract ``RecordDeliveries``): one row per delivery of every record delivered more than once,
with the delivery's own lineage, the kept record's table and id, ``role`` (kept | duplicate),
``kept_business_date`` (the partition holding the record) and ``differs`` (the delivery's values
conflict with the kept record's; null when the record was kept on an earlier day). A record
delivered once has no row there: its own lineage columns say everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

import pandera.polars as pa
import polars as pl

from contracts.canonical import CANONICAL_MODELS, RecordDeliveries
from finance_pipeline import lake
from finance_pipeline.validation import empty_frame, polars_schema

LOOKBACK_DAYS = 31
LINEAGE = (
    "business_date",
    "source_system",
    "source_id",
    "source_file",
    "source_request",
    "source_location",
    "mapping_name",
    "mapping_version",
)
DERIVED = ("functional_amount", "functional_currency", "fx_rate", "fx_rate_date")
DELIVERY_SCHEMA = polars_schema(RecordDeliveries)

RECORD_ID: dict[str, tuple[str, ...]] = {
    "legal_entities": ("entity_id",),
    "customers": ("customer_id",),
    "vendors": ("vendor_id",),
    "gl_accounts": ("entity_id", "account_code"),
    "cost_centers": ("entity_id", "cost_center_id"),
    "tax_codes": ("entity_id", "tax_code"),
    "bank_accounts": ("bank_account_id",),
    "bank_transactions": ("transaction_id",),
    "bank_balances": ("balance_id",),
    "invoices": ("invoice_id",),
    "payments": ("payment_id",),
    "remittance_lines": ("remittance_id",),
    "processor_transactions": ("processor_txn_id",),
    "payouts": ("payout_id",),
    "orders": ("order_id",),
    "purchase_orders": ("po_line_id",),
    "receipts": ("receipt_line_id",),
    "bills": ("bill_line_id",),
    "payroll_entries": ("payroll_entry_id",),
    "gl_journal_lines": ("gl_line_id",),
    "fx_rates": ("rate_date", "base_currency", "quote_currency"),
}
"""The column(s) naming one canonical record (joined with ``|`` when several)."""


@dataclass(frozen=True)
class KeyStage:
    """Columns that identify one record; ``per_source`` pairs the n-th of each source system."""

    columns: tuple[str, ...]
    per_source: bool = False


@dataclass(frozen=True)
class NaturalKey:
    stages: tuple[KeyStage, ...]
    across_days: bool = False


_EVENTS = {
    "bank_transactions",
    "bank_balances",
    "payments",
    "remittance_lines",
    "processor_transactions",
    "gl_journal_lines",
    "payroll_entries",
    "receipts",
}
NATURAL_KEYS: dict[str, NaturalKey] = {
    table: NaturalKey((KeyStage(cols),), across_days=table in _EVENTS)
    for table, cols in RECORD_ID.items()
}
NATURAL_KEYS["payments"] = NaturalKey(
    (
        KeyStage(RECORD_ID["payments"]),
        KeyStage(
            ("received_date", "currency", "amount", "payer_account", "reference"), per_source=True
        ),
    ),
    across_days=True,
)
FOREIGN_KEYS: dict[str, tuple[tuple[str, str], ...]] = {
    "remittance_lines": (("payment_id", "payments"),),
}
"""Columns that point at another table's record id and follow it when it is merged."""


@dataclass
class Deduped:
    kept: pl.DataFrame
    deliveries: pl.DataFrame
    remap: pl.DataFrame  # old_id -> new_id, for records merged into another id


@cache
def row_rules(table: str) -> pa.DataFrameSchema:
    """The table's contract without uniqueness (and tolerating helper columns).

    Rows are checked against it before deduplication, so a broken delivery never becomes the
    kept copy of a record that a later, valid delivery also carries; uniqueness is checked on
    the deduplicated table.
    """
    schema = CANONICAL_MODELS[table].to_schema()
    schema = schema.update_columns({c: {"unique": False} for c in schema.columns})
    schema.unique = None
    schema.strict = False
    return schema


def record_id_expr(table: str) -> pl.Expr:
    cols = RECORD_ID[table]
    if len(cols) == 1:
        return pl.col(cols[0]).cast(pl.String)
    return pl.concat_str([pl.col(c).cast(pl.String) for c in cols], separator="|")


def _key_expr(columns: tuple[str, ...]) -> pl.Expr:
    """One text key, null unless every column has a value."""
    parts = [pl.col(c).cast(pl.String) for c in columns]
    return pl.concat_str(parts, separator="\x1f", ignore_nulls=False)


def _empty_remap() -> pl.DataFrame:
    return pl.DataFrame(schema={"old_id": pl.String, "new_id": pl.String})


def empty_deliveries() -> pl.DataFrame:
    return empty_frame(RecordDeliveries)


def _stage_groups(stage: KeyStage) -> pl.Expr:
    key = _key_expr(stage.columns)
    if not stage.per_source:
        return key
    occurrence = pl.int_range(pl.len()).over([key, pl.col("source_system")])
    return pl.when(key.is_not_null()).then(pl.format("{}#{}", key, occurrence))


def _earlier(
    table: str, lake_root: lake.Lake, business_date: date, lookback_days: int, columns: list[str]
) -> pl.DataFrame:
    """Key columns of the table's partitions in the lookback window before ``business_date``."""
    first = business_date - timedelta(days=lookback_days)
    days = [d for d in partition_dates(lake_root, table) if first <= d < business_date]
    frames = []
    for day in days:  # a partition written before a column existed reads it as empty
        frame = lake.read_partition(lake_root, table, day, columns=columns)
        if frame is None:
            continue
        present = set(frame.columns)
        frames.append(
            frame.with_columns(
                pl.lit(None, dtype=pl.String).alias(c) for c in columns if c not in present
            )
        )
    if not frames:
        return pl.DataFrame()
    return pl.concat(frames, how="vertical_relaxed").sort("business_date", maintain_order=True)


def partition_dates(lake_root: lake.Lake, table: str) -> list[date]:
    """Business dates that have a partition of ``table`` in the lake, oldest first."""
    return lake.partition_dates(lake_root, table)


def deduplicate(
    table: str,
    frame: pl.DataFrame,
    business_date: date,
    lake_root: lake.Lake | None = None,
    lookback_days: int = LOOKBACK_DAYS,
) -> Deduped:
    """Keep each record once; return the kept rows, the deliveries lineage and id remaps."""
    natural = NATURAL_KEYS.get(table)
    if natural is None or frame.height == 0:
        return Deduped(frame, empty_deliveries(), _empty_remap())
    work = frame.with_row_index("__row").with_columns(
        record_id_expr(table).alias("__rid"), pl.col("__row").alias("__rep")
    )
    for stage in natural.stages:
        reps = work.filter(pl.col("__row") == pl.col("__rep"))
        reps = reps.with_columns(_stage_groups(stage).alias("__k")).filter(
            pl.col("__k").is_not_null()
        )
        moves = reps.select(
            pl.col("__rep"), pl.col("__row").min().over("__k").alias("__new")
        ).filter(pl.col("__new") != pl.col("__rep"))
        if moves.height:
            work = (
                work.join(moves, on="__rep", how="left", maintain_order="left")
                .with_columns(pl.coalesce("__new", "__rep").alias("__rep"))
                .drop("__new")
            )
    work = work.with_columns(pl.len().over("__rep").alias("__size"))
    business = [
        c
        for c in frame.columns
        if c not in LINEAGE and c not in DERIVED and c not in RECORD_ID[table]
    ]
    multi = work.filter(pl.col("__size") > 1)
    if multi.height:
        merged = multi.group_by("__rep", maintain_order=True).agg(
            *[pl.col(c).first() for c in frame.columns if c not in business],
            *[pl.col(c).drop_nulls().first() for c in business],
            pl.col("__rid").first(),
            pl.col("__row").first(),
        )
        kept = pl.concat(
            [work.filter(pl.col("__size") == 1).select(merged.columns), merged],
            how="vertical_relaxed",
        ).sort("__row")
        compare = multi.join(
            merged.select("__rep", "__rid", "business_date", *business),
            on="__rep",
            how="left",
            suffix="__kept",
            maintain_order="left",
        )
        differs = pl.any_horizontal(
            [
                pl.col(c).is_not_null()
                & pl.col(f"{c}__kept").is_not_null()
                & (pl.col(c) != pl.col(f"{c}__kept"))
                for c in business
            ]
            or [pl.lit(False)]
        )
        deliveries = compare.select(
            *LINEAGE,
            pl.lit(table).alias("record_table"),
            pl.col("__rid__kept").alias("record_id"),
            pl.when(pl.col("__row") == pl.col("__rep"))
            .then(pl.lit("kept"))
            .otherwise(pl.lit("duplicate"))
            .alias("role"),
            pl.col("business_date__kept").alias("kept_business_date"),
            differs.alias("differs"),
        )
        remap = compare.filter(pl.col("__rid") != pl.col("__rid__kept")).select(
            pl.col("__rid").alias("old_id"), pl.col("__rid__kept").alias("new_id")
        )
    else:
        kept = work.select(*frame.columns, "__rid", "__row", "__rep")
        deliveries = empty_deliveries()
        remap = _empty_remap()
    if natural.across_days and lake_root is not None:
        kept, deliveries, remap = _against_earlier(
            table, natural, kept, work, deliveries, remap, business_date, lake_root, lookback_days
        )
    deliveries = deliveries.select([pl.col(c).cast(t) for c, t in DELIVERY_SCHEMA.items()]).unique(
        maintain_order=True
    )
    return Deduped(kept.select(frame.columns), deliveries, remap.unique(maintain_order=True))


def _against_earlier(
    table: str,
    natural: NaturalKey,
    kept: pl.DataFrame,
    work: pl.DataFrame,
    deliveries: pl.DataFrame,
    remap: pl.DataFrame,
    business_date: date,
    lake_root: lake.Lake,
    lookback_days: int,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Drop today's records already kept on an earlier day; their deliveries point there."""
    stage_cols = {c for stage in natural.stages for c in stage.columns}
    columns = sorted({"business_date", "source_system", *RECORD_ID[table], *stage_cols})
    earlier = _earlier(table, lake_root, business_date, lookback_days, columns)
    if earlier.height == 0:
        return kept, deliveries, remap
    earlier = earlier.with_columns(record_id_expr(table).alias("__erid"))
    found = pl.DataFrame(schema={"__rep": pl.UInt32, "__erid": pl.String, "__edate": pl.Date})
    for stage in natural.stages:
        left = (
            kept.join(found.select("__rep"), on="__rep", how="anti", maintain_order="left")
            .with_columns(_stage_groups(stage).alias("__k"))
            .filter(pl.col("__k").is_not_null())
        )
        right = (
            earlier.with_columns(_stage_groups(stage).alias("__k"))
            .filter(pl.col("__k").is_not_null())
            .select(
                "__k",
                "__erid",
                pl.col("business_date").alias("__edate"),
                pl.col("source_system").alias("__esys"),
            )
            .unique(subset="__k", keep="first", maintain_order=True)
        )
        hits = left.join(right, on="__k", how="inner", maintain_order="left")
        if stage.per_source:
            hits = hits.filter(pl.col("source_system") != pl.col("__esys"))
        found = pl.concat([found, hits.select("__rep", "__erid", "__edate")])
    if found.height == 0:
        return kept, deliveries, remap
    dropped = work.join(found, on="__rep", how="inner", maintain_order="left")
    late = dropped.select(
        *LINEAGE,
        pl.lit(table).alias("record_table"),
        pl.col("__erid").alias("record_id"),
        pl.lit("duplicate").alias("role"),
        pl.col("__edate").alias("kept_business_date"),
        pl.lit(None, dtype=pl.Boolean).alias("differs"),
    )
    moved = dropped.select(pl.col("__rid").alias("old_id"), pl.col("__erid").alias("new_id"))
    # Every delivery of a dropped group (kept or not today) now points at the earlier record.
    deliveries = deliveries.join(
        dropped.select(pl.col("__rid").alias("record_id")).unique(), on="record_id", how="anti"
    )
    remap = pl.concat(
        [
            remap.join(moved.select("old_id"), on="old_id", how="anti"),
            moved.filter(pl.col("old_id") != pl.col("new_id")),
        ]
    )
    kept = kept.join(found.select("__rep"), on="__rep", how="anti", maintain_order="left")
    return kept, pl.concat([deliveries, late], how="vertical_relaxed"), remap


def remap_references(
    frame: pl.DataFrame, table: str, remaps: dict[str, pl.DataFrame]
) -> pl.DataFrame:
    """Point foreign keys at the record their target was merged into (remittance -> payment)."""
    for column, target in FOREIGN_KEYS.get(table, ()):
        remap = remaps.get(target)
        if remap is None or remap.height == 0 or column not in frame.columns:
            continue
        pairs = remap.unique(subset="old_id", keep="first")
        frame = frame.with_columns(
            pl.col(column).replace(pairs["old_id"], pairs["new_id"]).alias(column)
        )
    return frame
