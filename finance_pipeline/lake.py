"""Parquet storage: one folder per table, one file per business date, wherever the lake lives.

Every function takes the lake as a local ``Path`` (or path string), an fsspec URL
(``s3://bucket/lake``, ``memory://lake``) or a :class:`~finance_pipeline.storage.LakeLocation`
(``Home.lake_location``), and delegates to the location, which holds the one implementation of
reads and writes. A partition's output replaces the partition's previous output atomically
(temp file then rename locally, one PUT on an object store), so a rerun never appends or
doubles anything.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from finance_pipeline.storage import LakeLocation, as_location

Lake = Path | str | LakeLocation

__all__ = [
    "Lake",
    "LakeLocation",
    "as_location",
    "has_table",
    "partition_dates",
    "partition_path",
    "partition_url",
    "read_column",
    "read_partition",
    "read_table",
    "table_glob",
    "write_partition",
]


def partition_path(lake: Lake, table: str, business_date: date) -> Path:
    """The local file of a partition (a local lake only; see :func:`partition_url`)."""
    location = as_location(lake)
    location.local_path()  # raises for a remote lake
    return Path(location.partition_key(table, business_date))


def partition_url(lake: Lake, table: str, business_date: date) -> str:
    """Where a partition is: a local path, or the object's URL on a remote lake."""
    return as_location(lake).partition_url(table, business_date)


def write_partition(lake: Lake, table: str, business_date: date, frame: pl.DataFrame) -> Path | str:
    """Write ``frame`` as the whole of ``table`` for ``business_date``, atomically.

    Returns the local ``Path`` on a local lake, the object's URL on a remote one.
    """
    location = as_location(lake)
    written = location.write_partition(table, business_date, frame)
    return Path(written) if location.is_local else written


def read_partition(
    lake: Lake, table: str, business_date: date, columns: list[str] | None = None
) -> pl.DataFrame | None:
    return as_location(lake).read_partition(table, business_date, columns)


def read_table(
    lake: Lake, table: str, upto: date | None = None, partition_column: str | None = None
) -> pl.DataFrame | None:
    """All partitions of ``table`` (up to ``upto``) oldest first, or None when there are none."""
    return as_location(lake).read_table(table, upto, partition_column)


def read_column(lake: Lake, table: str, column: str, days: list[date]) -> list[str]:
    return as_location(lake).read_column(table, column, days)


def partition_dates(lake: Lake, table: str, upto: date | None = None) -> list[date]:
    """Business dates that have a partition of ``table``, oldest first."""
    return as_location(lake).partition_dates(table, upto)


def table_glob(lake: Lake, table: str) -> str:
    """A glob over a table's partitions (a local path, or a URL on a remote lake)."""
    return as_location(lake).table_glob(table)


def has_table(lake: Lake, table: str) -> bool:
    return as_location(lake).has_table(table)
