"""Read an identity-mapping CSV export into the canonical contract's exact dtypes."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from contracts.canonical import CANONICAL_MODELS
from finance_pipeline.validation import polars_schema

IDENTITY_MAPPING = ("identity", "1")


def _cast(column: str, dtype: pl.DataType) -> pl.Expr:
    """String column -> contract dtype; strict, so a malformed cell fails loudly."""
    col = pl.col(column)
    if dtype == pl.String:
        return col
    if dtype == pl.Date:
        return col.str.to_date("%Y-%m-%d", strict=True)
    if isinstance(dtype, pl.Datetime):
        return col.str.to_datetime(time_unit=dtype.time_unit, strict=True).cast(dtype)
    if dtype == pl.Boolean:
        lowered = col.str.to_lowercase()
        return (
            pl.when(lowered.is_in(["true", "1", "t", "yes"]))
            .then(True)
            .when(lowered.is_in(["false", "0", "f", "no"]))
            .then(False)
            .otherwise(None)
        )
    return col.cast(dtype, strict=True)


def read_export(path: Path, table: str, business_date: date) -> pl.DataFrame:
    """Read ``path`` (a CSV in the identity mapping of ``table``) as a canonical frame.

    Every cell is read as text and cast to the contract's dtype (decimals exactly, never via
    float). Lineage is filled: ``business_date``, ``source_file`` (the file name),
    ``source_location`` (``line N``, the header being line 1), ``mapping_name`` "identity"
    and ``mapping_version`` "1". Columns come out in the contract's order.
    """
    schema = polars_schema(CANONICAL_MODELS[table])
    raw = pl.read_csv(path, infer_schema=False)
    unknown = [c for c in raw.columns if c not in schema]
    if unknown:
        raise ValueError(f"{path.name}: columns not in the {table} contract: {unknown}")
    name, version = IDENTITY_MAPPING
    lineage = {
        "business_date": pl.lit(business_date, dtype=pl.Date),
        "source_file": pl.lit(path.name, dtype=pl.String),
        "source_request": pl.lit(None, dtype=pl.String),
        "source_location": pl.format("line {}", pl.int_range(2, pl.len() + 2)),
        "mapping_name": pl.lit(name, dtype=pl.String),
        "mapping_version": pl.lit(version, dtype=pl.String),
    }
    columns = []
    for column, dtype in schema.items():
        if column in lineage and column not in raw.columns:
            columns.append(lineage[column].alias(column))
        elif column in raw.columns:
            columns.append(_cast(column, dtype).alias(column))
        else:
            columns.append(pl.lit(None, dtype=dtype).alias(column))
    return raw.select(columns)
