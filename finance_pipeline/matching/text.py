"""Reference and name normalisation as Polars expressions (vectorised, no per-row Python).

Payers write the same invoice number as ``inv 10023``, ``INV-10023`` or ``Inv#10023``; comparing
upper-cased alphanumerics makes those equal while keeping ``INV-10023`` and ``INV-10024`` apart.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

DEFAULT_REFERENCE_PATTERNS = (r"(?i)\b(?:INV|INVOICE)[\s#:.-]*[0-9][0-9A-Z-]{2,}",)


def normalise(expr: pl.Expr) -> pl.Expr:
    """Upper-case alphanumerics only; empty results become null so they never join."""
    out = expr.cast(pl.String).str.to_uppercase().str.replace_all(r"[^0-9A-Z]", "")
    return pl.when(out.str.len_chars() > 0).then(out).otherwise(None)


def name_key(expr: pl.Expr) -> pl.Expr:
    """A payer or customer name reduced for comparison: case, punctuation and legal suffixes."""
    out = (
        expr.cast(pl.String)
        .str.to_uppercase()
        .str.replace_all(r"[^0-9A-Z ]", " ")
        .str.replace_all(r"\b(INC|LLC|LTD|LIMITED|GMBH|AG|SA|SAS|BV|PLC|CORP|CO|THE)\b", " ")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )
    return pl.when(out.str.len_chars() > 0).then(out).otherwise(None)


def split_list(expr: pl.Expr, separator: str = "|") -> pl.Expr:
    """A delimited text column (``INV-1|INV-2``) as a list."""
    return expr.cast(pl.String).str.split(separator).fill_null(pl.lit([], dtype=pl.List(pl.String)))


CREDITOR_REFERENCE = r"^RF\d\d([0-9A-Z]{1,21})$"


def reference_table(
    frame: pl.DataFrame,
    id_column: str,
    *,
    texts: Sequence[str] = (),
    patterns: Sequence[str] = (),
    direct: Sequence[str] = (),
    direct_lists: Sequence[str] = (),
) -> pl.DataFrame:
    """(id, ref) in long form: ``patterns`` found in the ``texts`` columns, plus the values of
    ``direct`` (scalar) and ``direct_lists`` (list) columns taken as references; normalised,
    with the reference an ISO 11649 creditor reference wraps (duplicates may remain;
    ``reference_lists`` drops them).

    Long form keeps every step a plain string operation over one column, which is far
    cheaper than evaluating expressions inside millions of small lists.
    """
    parts: list[pl.DataFrame] = []
    for col in texts:
        base = frame.select(id_column, pl.col(col).cast(pl.String)).drop_nulls(col)
        for pattern in patterns:
            found = base.select(id_column, pl.col(col).str.extract_all(pattern).alias("ref"))
            parts.append(found.explode("ref"))
    for col in direct:
        parts.append(frame.select(id_column, pl.col(col).cast(pl.String).alias("ref")))
    for col in direct_lists:
        parts.append(frame.select(id_column, pl.col(col).alias("ref")).explode("ref"))
    if not parts:
        return pl.DataFrame(schema={id_column: frame.schema[id_column], "ref": pl.String})
    refs = pl.concat(parts).select(id_column, normalise(pl.col("ref")).alias("ref")).drop_nulls()
    inner = refs.select(id_column, pl.col("ref").str.extract(CREDITOR_REFERENCE, 1)).drop_nulls()
    return pl.concat([refs, inner])


def reference_lists(refs: pl.DataFrame, id_column: str, name: str = "refs") -> pl.DataFrame:
    """(id, sorted de-duplicated list of refs) from a long reference table."""
    ordered = refs.sort([id_column, "ref"])
    repeated = (pl.col(id_column) == pl.col(id_column).shift(1)) & (
        pl.col("ref") == pl.col("ref").shift(1)
    )
    return (
        ordered.filter(~repeated.fill_null(False))
        .group_by(id_column, maintain_order=True)
        .agg(pl.col("ref").alias(name))
    )
