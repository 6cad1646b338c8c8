"""The lake location: a file:// URL writes the same layout lake.py reads; memory:// stands in
for an object store (single-PUT writes) without any network."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from finance_pipeline import lake
from finance_pipeline.storage import LAKE_URL_ENV, LakeLocation, as_location

DAY = date(2026, 10, 26)
FRAME = pl.DataFrame(
    {"invoice_id": ["inv-1", "inv-2"], "amount": [Decimal("100.00"), Decimal("75.50")]},
    schema={"invoice_id": pl.String, "amount": pl.Decimal(18, 4)},
)


def test_file_url_round_trip_matches_lake_layout(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    location = LakeLocation.parse(f"file://{root}")
    assert location.is_local and location.local_path() == root.resolve()

    written = location.write_partition("invoices", DAY, FRAME)
    assert Path(written) == lake.partition_path(root.resolve(), "invoices", DAY)
    assert lake.read_partition(root, "invoices", DAY).equals(FRAME)  # same files as lake.py
    assert location.read_partition("invoices", DAY).equals(FRAME)
    assert location.read_partition("invoices", date(2026, 10, 27)) is None
    assert location.partition_dates("invoices") == [DAY]
    assert location.has_table("invoices") and not location.has_table("payments")

    location.write_partition("invoices", DAY, FRAME.head(1))  # a rerun replaces, never appends
    assert location.read_partition("invoices", DAY).height == 1
    assert sorted(p.name for p in (root / "invoices").rglob("*")) == [
        "business_date=2026-10-26",
        "data.parquet",
    ]  # no temp file left behind
    assert pl.read_parquet(location.table_glob("invoices")).height == 1
    assert as_location(root) == location and as_location(location) is location
    assert location.read_column("invoices", "invoice_id", [DAY]) == ["inv-1"]


def test_plain_path_and_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LAKE_URL_ENV, raising=False)
    assert LakeLocation.from_env(tmp_path / "lake").url == f"file://{(tmp_path / 'lake')}"
    monkeypatch.setenv(LAKE_URL_ENV, "s3://finance-lake/prod/lake/")
    remote = LakeLocation.from_env(tmp_path / "lake")
    assert (remote.protocol, remote.root, remote.is_local) == (
        "s3",
        "finance-lake/prod/lake",
        False,
    )
    assert remote.partition_url("payments", DAY) == (
        "s3://finance-lake/prod/lake/payments/business_date=2026-10-26/data.parquet"
    )
    assert remote.table_glob("payments").startswith("s3://finance-lake/prod/lake/payments/")


def test_object_store_path_with_memory_filesystem() -> None:
    location = LakeLocation.parse(f"memory://lake-{uuid.uuid4().hex[:8]}")
    assert not location.is_local
    url = location.write_partition("invoices", DAY, FRAME)
    assert url.startswith("memory://") and url.endswith("business_date=2026-10-26/data.parquet")
    assert location.read_partition("invoices", DAY).equals(FRAME)
    location.write_partition("invoices", date(2026, 10, 27), FRAME.tail(1))
    assert location.partition_dates("invoices") == [DAY, date(2026, 10, 27)]
    assert location.read_table("invoices").height == 3
    assert location.read_column("invoices", "invoice_id", location.partition_dates("invoices")) == [
        "inv-1",
        "inv-2",
        "inv-2",
    ]
    with pytest.raises(ValueError, match="not a local folder"):
        location.local_path()
