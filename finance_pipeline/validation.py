"""Turn rows into frames of a contract's exact schema, and split valid rows from rejects.

Used by every canonical and recon writer so a bad row is set aside with its reason while the
rest of the table goes on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandera.polars as pa
import polars as pl


def polars_schema(model: type[pa.DataFrameModel]) -> dict[str, pl.DataType]:
    """Column name -> polars dtype, in the contract's column order."""
    return {name: col.dtype.type for name, col in model.to_schema().columns.items()}


def empty_frame(model: type[pa.DataFrameModel]) -> pl.DataFrame:
    return pl.DataFrame(schema=polars_schema(model))


def frame_from_rows(
    rows: Iterable[Mapping[str, Any]], model: type[pa.DataFrameModel]
) -> pl.DataFrame:
    """Rows (dicts) to a frame with the contract's dtypes; missing keys become nulls."""
    schema = polars_schema(model)
    records = [{name: row.get(name) for name in schema} for row in rows]
    if not records:
        return pl.DataFrame(schema=schema)
    return pl.DataFrame(records, schema=schema, orient="row")


def split_valid(
    frame: pl.DataFrame, model: type[pa.DataFrameModel]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Validate ``frame``; return (valid rows, rejects with a ``reject_reason`` column).

    Schema-level failures (a missing column, a wrong dtype) reject every row, since no row of
    such a frame can be trusted; row-level failures reject only the rows that failed.
    """
    indexed = frame.with_row_index("__row")
    try:
        model.validate(frame, lazy=True)
        return frame, _rejects(frame.head(0), [])
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
    row_cases = cases.filter(pl.col("index").is_not_null())
    whole = cases.filter(pl.col("index").is_null())
    if whole.height:
        reason = "; ".join(
            f"{c['column'] or 'table'}: {c['check']} ({c['failure_case']})"
            for c in whole.iter_rows(named=True)
        )
        return frame.head(0), _rejects(frame, [reason] * frame.height)
    reasons = (
        row_cases.with_columns(
            (
                pl.col("column").fill_null("row")
                + pl.lit(": ")
                + pl.col("check")
                + pl.lit(" (")
                + pl.col("failure_case").cast(pl.String).fill_null("null")
                + pl.lit(")")
            ).alias("reason")
        )
        .group_by("index")
        .agg(pl.col("reason").sort().str.join("; "))
        .rename({"index": "__row"})
        .with_columns(pl.col("__row").cast(pl.UInt32))
    )
    bad = indexed.join(reasons, on="__row", how="inner").sort("__row")
    good = indexed.join(reasons, on="__row", how="anti").drop("__row")
    return good, _rejects(bad.drop("__row", "reason"), bad["reason"].to_list())


def _rejects(frame: pl.DataFrame, reasons: list[str]) -> pl.DataFrame:
    return frame.with_columns(pl.Series("reject_reason", reasons, dtype=pl.String))
