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


# --- lake.py on any location, and the warehouse over a remote lake ----------------------------


def _memory_lake() -> str:
    return f"memory://lake-{uuid.uuid4().hex[:8]}"


def test_lake_functions_take_paths_urls_and_locations(tmp_path: Path) -> None:
    for where in (tmp_path / "lake", str(tmp_path / "lake2"), _memory_lake()):
        location = as_location(where)
        written = lake.write_partition(where, "invoices", DAY, FRAME)
        assert str(written) == location.partition_url("invoices", DAY)
        assert isinstance(written, Path) == location.is_local
        lake.write_partition(location, "invoices", date(2026, 10, 27), FRAME.tail(1))
        assert lake.has_table(where, "invoices") and not lake.has_table(where, "payments")
        assert lake.partition_dates(where, "invoices") == [DAY, date(2026, 10, 27)]
        assert lake.partition_dates(where, "invoices", upto=DAY) == [DAY]
        assert lake.read_partition(where, "invoices", DAY).equals(FRAME)
        assert lake.read_partition(where, "payments", DAY) is None
        assert lake.read_partition(where, "invoices", DAY, columns=["amount", "gone"]).columns == [
            "amount"
        ]
        whole = lake.read_table(where, "invoices", partition_column="_as_of")
        assert whole["invoice_id"].to_list() == ["inv-1", "inv-2", "inv-2"]
        assert whole["_as_of"].to_list() == [DAY, DAY, date(2026, 10, 27)]
        assert lake.read_table(where, "invoices", upto=DAY).height == 2
        assert lake.read_table(where, "payments") is None
        assert lake.read_column(where, "invoices", "invoice_id", [DAY]) == ["inv-1", "inv-2"]
    with pytest.raises(ValueError, match="not a local folder"):
        lake.partition_path(_memory_lake(), "invoices", DAY)


def test_partition_listing_ignores_stray_objects() -> None:
    location = LakeLocation.parse(_memory_lake())
    location.write_partition("invoices", DAY, FRAME)
    fs = location.filesystem()
    fs.pipe_file(location.root + "/invoices/business_date=oops/data.parquet", b"x")
    fs.pipe_file(location.root + "/invoices/business_date=2026-10-27/other.parquet", b"x")
    fs.pipe_file(location.root + "/invoices_old/business_date=2026-10-28/data.parquet", b"x")
    assert location.partition_dates("invoices") == [DAY]


def _warehouse_lake(where: str | Path) -> None:
    from contracts.canonical import CANONICAL_MODELS
    from contracts.recon import RECON_MODELS
    from finance_pipeline.validation import frame_from_rows

    d2 = date(2026, 10, 27)
    invoice = {
        "invoice_id": "inv-1",
        "entity_id": "US01",
        "customer_id": "C1",
        "invoice_number": "INV-1",
        "issue_date": DAY,
        "due_date": d2,
        "amount": Decimal("100"),
        "open_amount": Decimal("100"),
        "currency": "USD",
        "status": "open",
        "source_system": "netsuite",
        "business_date": DAY,
    }
    invoices = CANONICAL_MODELS["invoices"]
    lake.write_partition(where, "invoices", DAY, frame_from_rows([invoice], invoices))
    later = [{**invoice, "invoice_id": f"inv-{n}", "business_date": d2} for n in (3, 2)]
    lake.write_partition(where, "invoices", d2, frame_from_rows(later, invoices))
    exception = {
        "exception_id": "exc-1",
        "status": "open",
        "owner_role": "ar",
        "exception_type": "unapplied_cash",
        "amount": Decimal("5"),
        "currency": "USD",
        "age_days": 0,
    }
    model = RECON_MODELS["exceptions"]
    lake.write_partition(where, "exceptions", DAY, frame_from_rows([exception], model))
    both = [{**exception, "age_days": 1}, {**exception, "exception_id": "exc-0"}]
    lake.write_partition(where, "exceptions", d2, frame_from_rows(both, model))
    lake.write_partition(where, "raw_files", DAY, pl.DataFrame({"sha256": ["b", "a"]}))


def test_remote_warehouse_copies_what_local_views_show(tmp_path: Path) -> None:
    """Same partitions on disk and on an object store: the warehouse over the remote lake holds
    tables (no URL in it), with the rows, order and types the local views give."""
    import duckdb

    from finance_pipeline import warehouse

    remote = _memory_lake()
    _warehouse_lake(tmp_path / "lake")
    _warehouse_lake(remote)
    local_counts = warehouse.refresh(tmp_path / "local.duckdb", tmp_path / "lake")
    remote_counts = warehouse.refresh(tmp_path / "remote.duckdb", remote)
    assert remote_counts == local_counts
    assert local_counts["canonical.invoices"] == 3 and local_counts["recon.exceptions"] == 2

    def contents(path: Path) -> dict[str, tuple]:
        with duckdb.connect(str(path), read_only=True) as con:
            names = con.execute(
                "SELECT table_schema || '.' || table_name FROM information_schema.tables ORDER BY 1"
            ).fetchall()
            return {
                n: (
                    con.execute(f"DESCRIBE {n}").fetchall(),
                    con.execute(f"SELECT * FROM {n}").fetchall(),
                )
                for (n,) in names
            }

    local, copied = contents(tmp_path / "local.duckdb"), contents(tmp_path / "remote.duckdb")
    assert copied == local
    with duckdb.connect(str(tmp_path / "remote.duckdb"), read_only=True) as con:
        ids = con.execute("SELECT invoice_id FROM canonical.invoices").fetchall()
        assert [i for (i,) in ids] == ["inv-1", "inv-3", "inv-2"]  # partition order, then file
        kinds = dict(
            con.execute(
                "SELECT table_schema || '.' || table_name, table_type "
                "FROM information_schema.tables"
            ).fetchall()
        )
        assert kinds["canonical.invoices"] == "BASE TABLE"
        assert kinds["recon.exceptions_history"] == "BASE TABLE"
        assert kinds["recon.exceptions"] == "VIEW"
        urls = "SELECT count(*) FROM duckdb_views() WHERE sql ILIKE '%memory://%'"
        assert con.execute(urls).fetchone()[0] == 0
        history = con.execute(
            "SELECT as_of, count(*) FROM recon.exceptions_history GROUP BY 1 ORDER BY 1"
        ).fetchall()
        assert history == [(DAY, 1), (date(2026, 10, 27), 2)]
    # A second refresh (tables now exist) replaces them rather than failing or appending.
    assert warehouse.refresh(tmp_path / "remote.duckdb", remote) == remote_counts
