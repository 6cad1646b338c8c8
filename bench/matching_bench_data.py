"""Data generator of the matching benchmark: N open invoices and N payments, as Parquet.

Every payment pays exactly one invoice (same amount, its invoice number as reference), in a
shuffled order. With ``typo_rate`` > 0 that share of references carries one keying slip
(O for 0, or a dropped digit), which only fuzzy matching recovers. Vectorised with NumPy and
Polars, so a million rows take seconds. Columns follow the canonical contracts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from contracts.canonical import CANONICAL_MODELS
from finance_pipeline.validation import polars_schema

DAY = date(2026, 10, 26)
MONEY = pl.Decimal(18, 4)


@dataclass(frozen=True)
class Dataset:
    payments: Path
    invoices: Path
    rows: int
    typos: int


def _money(cents: np.ndarray) -> pl.Series:
    """Integer cents to DECIMAL(18,4) without going through floats."""
    units = pl.Series(cents * 100, dtype=pl.Int64).cast(pl.Decimal(38, 0))
    return (units * pl.Series([0.0001], dtype=pl.Decimal(18, 4))[0]).cast(MONEY)


def _conform(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    """The contract's columns and dtypes, missing ones null."""
    schema = polars_schema(CANONICAL_MODELS[table])
    return frame.select(
        [
            (pl.col(c) if c in frame.columns else pl.lit(None)).cast(dtype).alias(c)
            for c, dtype in schema.items()
        ]
    )


def write_dataset(out_dir: Path, rows: int, *, typo_rate: float = 0.0, seed: int = 1) -> Dataset:
    """Write ``invoices.parquet`` and ``payments.parquet`` under ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    ids = pl.Series("n", np.arange(rows)).cast(pl.String).str.zfill(7)
    age = pl.Series("age", rng.integers(1, 60, size=rows))
    invoices = pl.DataFrame(
        {
            "invoice_id": "I" + ids,
            "customer_id": "C" + pl.Series(np.arange(rows) % 50_000).cast(pl.String),
            "invoice_number": "INV-" + ids,
            "amount": _money(rng.integers(100_00, 50_000_00, size=rows)),
            "age": age,
        }
    ).with_columns(
        pl.lit(DAY).alias("business_date"),
        pl.lit("netsuite").alias("source_system"),
        pl.col("invoice_id").alias("source_id"),
        pl.lit("US01").alias("entity_id"),
        (pl.lit(DAY) - pl.duration(days=pl.col("age"))).alias("issue_date"),
        (pl.lit(DAY) + pl.duration(days=30 - pl.col("age"))).alias("due_date"),
        pl.col("amount").alias("open_amount"),
        pl.lit("USD").alias("currency"),
        pl.lit("open").alias("status"),
    )
    paid = invoices[rng.permutation(rows)]
    typo = pl.Series("typo", rng.random(rows) < typo_rate)
    kind = pl.Series("kind", rng.integers(0, 2, size=rows))
    ref = pl.col("invoice_number")
    payments = (
        paid.select("invoice_number", "amount", "customer_id")
        .with_columns(
            pl.Series("payment_id", "P" + ids),
            typo,
            kind,
        )
        .with_columns(
            pl.when(pl.col("typo") & (pl.col("kind") == 0) & ref.str.slice(4).str.contains("0"))
            .then(ref.str.slice(0, 4) + ref.str.slice(4).str.replace("0", "O", literal=True))
            .when(pl.col("typo"))
            .then(ref.str.slice(0, 9) + ref.str.slice(10))  # drops the sixth digit
            .otherwise(ref)
            .alias("reference"),
            pl.lit(DAY).alias("business_date"),
            pl.lit("lockbox").alias("source_system"),
            pl.col("payment_id").alias("source_id"),
            pl.lit("US01").alias("entity_id"),
            pl.lit("lockbox").alias("method"),
            pl.lit(DAY).alias("received_date"),
            pl.lit("USD").alias("currency"),
            ("Customer " + pl.col("customer_id")).alias("payer_name"),
        )
    )
    dataset = Dataset(
        out_dir / "payments.parquet", out_dir / "invoices.parquet", rows, int(typo.sum())
    )
    _conform(payments, "payments").write_parquet(dataset.payments)
    _conform(invoices, "invoices").write_parquet(dataset.invoices)
    return dataset
