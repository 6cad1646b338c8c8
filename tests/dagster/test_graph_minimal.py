"""The asset graph through a real Dagster instance, on a tiny hand-made landing zone."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb

from finance_pipeline import lake
from finance_pipeline.config import Home
from finance_pipeline.runs import run_dates

DAY = date(2026, 10, 26)

CONFIG = """
sources:
  - name: erp
    kind: export
    format: csv
    transport: {type: local, path: landing/erp}
    pattern: "*.csv"
  - name: stripe
    kind: api
    format: stripe_json
    entity: US01
    transport: {type: local, path: landing/stripe}
    pattern: "*.json"
  - name: missing_bank
    kind: bank_statement
    format: bai2
    transport: {type: local, path: landing/nowhere}
    step_retry: {max_retries: 0}   # fail at once (a real outage retries for minutes)
"""

INVOICES = (
    "source_system,source_id,invoice_id,entity_id,customer_id,invoice_number,order_id,"
    "issue_date,due_date,amount,open_amount,currency,tax_code,status\n"
    "netsuite,INV-1,inv-1,US01,C1,INV-1,,2026-10-01,2026-10-31,100.00,100.00,USD,,open\n"
    "netsuite,INV-2,inv-2,US01,C1,INV-2,,2026-10-01,2026-10-31,oops,50.00,USD,,open\n"
    "netsuite,INV-3,inv-3,US01,C2,INV-3,,2026-10-02,2026-11-01,75.5,75.5,EUR,,open\n"
)


def _landing(home: Home) -> Path:
    erp = home.root / "landing" / "erp"
    erp.mkdir(parents=True)
    (erp / "invoices_20261026.csv").write_text(INVOICES)
    (erp / "invoices_20261027.csv").write_text(INVOICES.splitlines()[0] + "\n")
    (erp / "resent_invoices_20261026.csv").write_text(INVOICES)  # same bytes, other name
    stripe = home.root / "landing" / "stripe"
    stripe.mkdir(parents=True)
    page = {
        "object": "list",
        "url": "/v1/payouts",
        "has_more": False,
        "data": [
            {
                "id": "po_1",
                "object": "payout",
                "amount": 123456,
                "currency": "usd",
                "created": 1761436800,
                "arrival_date": 1761609600,
                "status": "paid",
            }
        ],
    }
    (stripe / "payouts_20261026.json").write_text(json.dumps(page))
    config = home.root / "finance_pipeline.yaml"
    config.write_text(CONFIG)
    return config


def test_partition_run_writes_canonical_tables_and_is_idempotent(home: Home) -> None:
    config = _landing(home)
    [outcome] = run_dates(home, config, [DAY])
    assert outcome.success

    invoices = lake.read_partition(home.lake, "invoices", DAY)
    assert invoices is not None
    assert sorted(invoices["invoice_id"].to_list()) == ["inv-1", "inv-3"]
    rejects = lake.read_partition(home.lake, "rejects", DAY)
    assert rejects is not None and rejects["source_location"].to_list() == ["line 3"]
    payouts = lake.read_partition(home.lake, "payouts", DAY)
    assert payouts is not None and payouts["amount"].to_list() == [Decimal("1234.56")]
    manifest = lake.read_partition(home.lake, "raw_files", DAY)
    assert manifest is not None and manifest.height == 3
    assert manifest["duplicate_of"].is_not_null().sum() == 1  # the re-sent copy

    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        total = con.execute("SELECT sum(amount) FROM canonical.invoices").fetchone()[0]
        assert total == Decimal("175.5000")
        assert con.execute("SELECT count(*) FROM canonical.bank_transactions").fetchone()[0] == 0

    # The unreadable bank source is isolated: the exports above still loaded, and the outage is
    # an exception owned by integration, not a failed run.
    exceptions = lake.read_partition(home.lake, "exceptions", DAY)
    assert exceptions is not None
    outage = exceptions.filter(exceptions["exception_type"] == "source_unavailable")
    assert outage["source_system"].to_list() == ["missing_bank"]
    assert outage["owner_role"].to_list() == ["integration"]

    before = {p.relative_to(home.lake): p.read_bytes() for p in home.lake.rglob("*.parquet")}
    [again] = run_dates(home, config, [DAY])
    assert again.success and again.run_id != outcome.run_id
    after = {p.relative_to(home.lake): p.read_bytes() for p in home.lake.rglob("*.parquet")}
    assert after == before  # byte-identical, nothing doubled
    assert len(list((home.archive / "objects").rglob("*"))) > 0


def test_runs_are_recorded_in_the_instance(home: Home) -> None:
    import dagster as dg

    config = _landing(home)
    [outcome] = run_dates(home, config, [DAY])
    with dg.DagsterInstance.from_config(str(home.dagster)) as instance:
        run = instance.get_run_by_id(outcome.run_id)
        assert run is not None and run.tags["dagster/partition"] == DAY.isoformat()
        event = instance.get_latest_materialization_event(dg.AssetKey("invoices"))
        assert event is not None
        assert event.asset_materialization.metadata["rows"].value == 2
        checks = instance.event_log_storage.get_latest_asset_check_execution_by_key(
            [dg.AssetCheckKey(dg.AssetKey("invoices"), "contract")]
        )
        assert checks[dg.AssetCheckKey(dg.AssetKey("invoices"), "contract")].status.value in (
            "SUCCEEDED",
        )
