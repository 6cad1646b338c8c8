"""Parquet storage under ``<home>/lake``: one folder per table, one file per business date.

A partition's output replaces the partition's previous output atomically (temp file, then
rename), so a rerun never appends or doubles anything.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from datetime import date
from pathlib import Path

import polars as pl


def partition_path(lake: Path, table: str, business_date: date) -> Path:
    return lake / table / f"business_date={business_date.isoformat()}" / "data.parquet"


def write_partition(lake: Path, table: str, business_date: date, frame: pl.DataFrame) -> Path:
    """Write ``frame`` as the whole of ``table`` for ``business_date``, atomically."""
    target = partition_path(lake, table, business_date)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".write-", suffix=".parquet")
    os.close(fd)
    try:
        frame.write_parquet(tmp, compression="zstd", statistics=True)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return target


def read_partition(lake: Path, table: str, business_date: date) -> pl.DataFrame | None:
    path = partition_path(lake, table, business_date)
    return pl.read_parquet(path) if path.exists() else None


def table_glob(lake: Path, table: str) -> str:
    return str(lake / table / "business_date=*" / "data.parquet")


def has_table(lake: Path, table: str) -> bool:
    return any((lake / table).glob("business_date=*/data.parquet"))
