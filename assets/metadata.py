"""Small helpers for the metadata assets attach to their materializations."""

from __future__ import annotations

import dagster as dg
import polars as pl


def markdown_preview(frame: pl.DataFrame, limit: int = 10) -> dg.MetadataValue:
    """A markdown table of the first rows, for the Dagster UI."""
    if frame.height == 0:
        return dg.MetadataValue.md("_no rows_")
    head = frame.head(limit)
    lines = ["| " + " | ".join(head.columns) + " |", "|" + "---|" * len(head.columns)]
    for row in head.iter_rows():
        cells = ["" if v is None else str(v).replace("|", "/") for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return dg.MetadataValue.md("\n".join(lines))
