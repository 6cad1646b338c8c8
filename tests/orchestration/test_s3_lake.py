"""The lake on a real S3-compatible server (moto's, on loopback, no network beyond it).

The whole graph runs with ``FINANCE_PIPELINE_LAKE_URL=s3://...`` and the AWS variables only:
every partition is an object in the bucket (nothing in ``<home>/lake``), the local warehouse
holds copies of the lake's tables, a rerun leaves every object byte-identical, and the CLI
reads its state back from the bucket.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest
import s3fs
from moto.server import ThreadedMotoServer

from finance_pipeline import cli, lake
from finance_pipeline.config import Home
from finance_pipeline.runs import run_dates
from finance_pipeline.storage import LAKE_ENDPOINT_ENV, LAKE_URL_ENV, LakeLocation

DAY = date(2026, 10, 26)
KEY_ID, SECRET = "testing-key-id", "testing-secret"

CONFIG = """
sources:
  - name: erp
    kind: export
    format: csv
    transport: {type: local, path: landing/erp}
    pattern: "*.csv"
  - name: bank
    kind: bank_statement
    format: bai2
    transport: {type: local, path: landing/bank}
    pattern: "*.bai"
"""

INVOICES = (
    "source_system,source_id,invoice_id,entity_id,customer_id,invoice_number,order_id,"
    "issue_date,due_date,amount,open_amount,currency,tax_code,status\n"
    "netsuite,INV-1,inv-1,US01,C1,INV-1,,2026-10-01,2026-10-31,100.00,100.00,USD,,open\n"
    "netsuite,INV-2,inv-2,US01,C1,INV-2,,2026-10-01,2026-10-31,oops,50.00,USD,,open\n"
    "netsuite,INV-3,inv-3,US01,C2,INV-3,,2026-10-02,2026-11-01,75.5,75.5,EUR,,open\n"
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = _free_port()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def _client(endpoint: str) -> s3fs.S3FileSystem:
    """The test's own view of the bucket (not the pipeline's cached filesystem)."""
    return s3fs.S3FileSystem(
        key=KEY_ID,
        secret=SECRET,
        endpoint_url=endpoint,
        skip_instance_cache=True,
        use_listings_cache=False,
    )


@pytest.fixture
def bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket, and credentials in the environment only (as in production)."""
    name = f"finance-lake-{uuid.uuid4().hex[:8]}"
    _client(s3_endpoint).mkdir(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name_ in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", LAKE_ENDPOINT_ENV):
        monkeypatch.delenv(name_, raising=False)
    return name


def _objects(fs: s3fs.S3FileSystem, prefix: str) -> dict[str, bytes]:
    return {key: fs.cat_file(key) for key in sorted(fs.find(prefix))}


def _landing(home: Home) -> Path:
    erp = home.root / "landing" / "erp"
    erp.mkdir(parents=True)
    (erp / "invoices_20261026.csv").write_text(INVOICES)
    bank = home.root / "landing" / "bank"
    bank.mkdir(parents=True)
    (bank / "statement_20261026.bai").write_text("not a BAI2 file\n")  # quarantined
    config = home.root / "finance_pipeline.yaml"
    config.write_text(CONFIG)
    return config


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("finance-pipeline")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "finance_pipeline.cli"]
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, env=dict(os.environ), timeout=120
    )


def test_graph_on_s3_lake(
    home: Home,
    bucket: str,
    s3_endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)  # the standard AWS variable
    monkeypatch.setenv(LAKE_URL_ENV, f"s3://{bucket}/lake")
    assert home.lake_location.url == f"s3://{bucket}/lake"
    config = _landing(home)

    [outcome] = run_dates(home, config, [DAY])
    assert outcome.success

    fs = _client(s3_endpoint)
    objects = _objects(fs, f"{bucket}/lake")
    suffix = f"/business_date={DAY.isoformat()}/data.parquet"
    assert objects and all(key.endswith(suffix) for key in objects)
    tables = {key[len(f"{bucket}/lake/") : -len(suffix)] for key in objects}
    assert {"raw_files", "invoices", "rejects", "matches", "exceptions"} <= tables
    assert [p for p in home.lake.rglob("*") if p.is_file()] == []  # nothing written locally

    invoices = lake.read_partition(home.lake_location, "invoices", DAY)
    assert invoices is not None and sorted(invoices["invoice_id"]) == ["inv-1", "inv-3"]
    exceptions = lake.read_partition(home.lake_location, "exceptions", DAY)
    assert exceptions is not None
    assert exceptions["exception_type"].to_list() == ["quarantined_file"]

    def warehouse_state() -> tuple:
        with duckdb.connect(str(home.warehouse), read_only=True) as con:
            total = con.execute("SELECT sum(amount) FROM canonical.invoices").fetchone()[0]
            kinds = dict(
                con.execute(
                    "SELECT table_schema || '.' || table_name, table_type "
                    "FROM information_schema.tables WHERE table_schema IN ('canonical', 'recon')"
                ).fetchall()
            )
            history = con.execute("SELECT DISTINCT as_of FROM recon.exceptions_history").fetchall()
            open_ids = con.execute(
                "SELECT exception_id FROM recon.exceptions ORDER BY exception_id"
            ).fetchall()
            remote = con.execute(
                "SELECT count(*) FROM duckdb_views() WHERE sql ILIKE '%s3://%'"
            ).fetchone()[0]
        return total, kinds, history, open_ids, remote

    total, kinds, history, open_ids, remote = warehouse_state()
    assert total == Decimal("175.5000")
    assert kinds["canonical.invoices"] == "BASE TABLE"  # copied, not a view on the bucket
    assert kinds["recon.exceptions_history"] == "BASE TABLE"
    assert kinds["recon.exceptions"] == "VIEW"  # latest state, over the local copy
    assert kinds["canonical.bank_transactions"] == "BASE TABLE"  # empty contract table
    assert history == [(DAY,)]
    assert [r[0] for r in open_ids] == sorted(exceptions["exception_id"].to_list())
    assert remote == 0

    [again] = run_dates(home, config, [DAY])
    assert again.success and again.run_id != outcome.run_id
    assert _objects(fs, f"{bucket}/lake") == objects  # byte-identical, nothing added
    assert warehouse_state() == (total, kinds, history, open_ids, remote)

    # A fresh process configured by the environment alone reads the state from the bucket.
    listed = _cli("exceptions", "--home", str(home.root), "--format", "json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert sorted(r["exception_id"] for r in rows) == sorted(exceptions["exception_id"])
    assert [r["exception_type"] for r in rows] == ["quarantined_file"]

    capsys.readouterr()
    assert cli.main(["trace", "inv-1", "--home", str(home.root), "--json"]) == 0  # in-process
    assert "inv-1" in capsys.readouterr().out

    from finance_pipeline.report import write_report

    report = write_report(home.root)
    assert "quarantined_file" in report.read_text(encoding="utf-8")


def test_lake_functions_with_lake_endpoint_variable(
    bucket: str, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``FINANCE_PIPELINE_LAKE_ENDPOINT_URL`` points the lake alone at the server."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv(LAKE_ENDPOINT_ENV, s3_endpoint)
    where = f"s3://{bucket}/other"
    frame = pl.DataFrame({"id": ["a", "b"], "business_date": [DAY, DAY]})

    written = lake.write_partition(where, "things", DAY, frame)
    assert written == f"{where}/things/business_date=2026-10-26/data.parquet"
    lake.write_partition(LakeLocation.parse(where), "things", date(2026, 10, 27), frame.head(1))
    assert lake.partition_dates(where, "things") == [DAY, date(2026, 10, 27)]
    assert lake.partition_dates(where, "things", upto=DAY) == [DAY]
    assert lake.has_table(where, "things") and not lake.has_table(where, "nothing")
    assert lake.read_partition(where, "things", date(2026, 10, 28)) is None
    whole = lake.read_table(where, "things", partition_column="as_of")
    assert whole is not None and whole["as_of"].to_list() == [DAY, DAY, date(2026, 10, 27)]
    assert lake.read_partition(where, "things", DAY, columns=["id", "gone"]).columns == ["id"]
    with pytest.raises(ValueError, match="not a local folder"):
        lake.partition_path(where, "things", DAY)
    assert sorted(_client(s3_endpoint).find(f"{bucket}/other")) == [
        f"{bucket}/other/things/business_date=2026-10-26/data.parquet",
        f"{bucket}/other/things/business_date=2026-10-27/data.parquet",
    ]


def test_demo_refuses_a_remote_lake(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(LAKE_URL_ENV, "memory://shared-lake")
    assert cli.main(["demo", "--home", str(tmp_path / "home")]) == 2
    assert "refusing to write demo data to memory://shared-lake" in capsys.readouterr().out
    assert not (tmp_path / "home" / "landing").exists()
