"""Reading source exports into canonical tables.

The identity mapping reads a CSV whose header is the canonical column names, so any system can
feed the pipeline without a mapping of its own. Cells that cannot be cast (a bad date, ``abc``
as an amount) reject their row with a reason naming the file, line and column; the other rows
go on.
"""

from __future__ import annotations

import io
from datetime import date

import pandera.polars as pa
import polars as pl

from contracts.canonical import CANONICAL_MODELS
from finance_pipeline.validation import polars_schema

LINEAGE_FILLED = ("business_date", "source_file", "source_request", "source_location")
IDENTITY = ("identity", "1")


class MappingError(ValueError):
    """An export that cannot be read at all (wrong header, not CSV)."""


def _cast(column: str, dtype: pl.DataType) -> pl.Expr:
    text = pl.col(column).str.strip_chars()
    text = pl.when(text == "").then(None).otherwise(text)
    if dtype == pl.String:
        return text
    if dtype == pl.Date:
        return text.str.to_date("%Y-%m-%d", strict=False)
    if dtype == pl.Datetime:
        return text.str.to_datetime(strict=False, time_unit="us")
    if dtype == pl.Boolean:
        lowered = text.str.to_lowercase()
        return (
            pl.when(lowered.is_in(["true", "1", "yes"]))
            .then(True)
            .when(lowered.is_in(["false", "0", "no"]))
            .then(False)
        )
    if isinstance(dtype, pl.Decimal):
        return text.str.to_decimal(scale=dtype.scale).cast(dtype, strict=False)
    return text.cast(dtype, strict=False)


def read_identity_csv(
    data: bytes, file_name: str, table: str, business_date: date
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read a canonical-header CSV; return (rows in the contract's dtypes, rejected rows)."""
    model: type[pa.DataFrameModel] = CANONICAL_MODELS[table]
    schema = polars_schema(model)
    try:
        raw = pl.read_csv(io.BytesIO(data), infer_schema=False, encoding="utf8")
    except Exception as exc:  # polars raises several error types for unreadable CSV
        raise MappingError(f"{file_name}: not a readable CSV: {exc}") from exc
    unknown = [c for c in raw.columns if c not in schema]
    if unknown:
        raise MappingError(f"{file_name}: unknown column(s) {unknown} for table {table!r}")
    expected = [c for c in schema if c not in (*LINEAGE_FILLED, "mapping_name", "mapping_version")]
    missing = [c for c in expected if c not in raw.columns and schema[c] != pl.String]
    required_missing = [c for c in ("source_system", "source_id") if c not in raw.columns]
    if missing or required_missing:
        raise MappingError(
            f"{file_name}: header lacks canonical column(s) {missing + required_missing} "
            f"of table {table!r}"
        )
    raw = raw.with_row_index("__line", offset=2)
    cast_exprs = [
        (_cast(c, schema[c]) if c in raw.columns else pl.lit(None, dtype=schema[c])).alias(c)
        for c in expected
    ]
    # A cast failure is a value present in the text but null after casting.
    failures = [
        pl.when(pl.col(c).str.strip_chars().ne("") & expr.is_null()).then(
            pl.format("{}: cannot read '{}' as {}", pl.lit(c), pl.col(c), pl.lit(str(schema[c])))
        )
        for c, expr in zip(expected, cast_exprs, strict=True)
        if c in raw.columns and schema[c] != pl.String
    ]
    reason = (
        pl.concat_str(failures, separator="; ", ignore_nulls=True)
        if failures
        else pl.lit(None, dtype=pl.String)
    )
    cast = raw.select(pl.col("__line"), *cast_exprs, reason.alias("__reason")).with_columns(
        pl.when(pl.col("__reason") == "").then(None).otherwise(pl.col("__reason")).alias("__reason")
    )
    cast = cast.with_columns(
        pl.lit(business_date).alias("business_date"),
        pl.lit(file_name).alias("source_file"),
        pl.lit(None, dtype=pl.String).alias("source_request"),
        pl.format("line {}", pl.col("__line")).alias("source_location"),
        pl.lit(IDENTITY[0]).alias("mapping_name"),
        pl.lit(IDENTITY[1]).alias("mapping_version"),
    )
    good = cast.filter(pl.col("__reason").is_null()).select(list(schema))
    bad = cast.filter(pl.col("__reason").is_not_null())
    rejects = bad.select(
        pl.lit(table).alias("table"),
        pl.lit(file_name).alias("source_file"),
        pl.format("line {}", pl.col("__line")).alias("source_location"),
        pl.col("__reason").alias("reject_reason"),
    )
    return good, rejects
