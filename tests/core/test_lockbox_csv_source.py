"""A lockbox provider that sends CSV: configured columns, same payments and remittance rows."""

from datetime import date
from decimal import Decimal
from pathlib import Path

from finance_pipeline.archive import RawArchive
from finance_pipeline.canonical import build_canonical
from finance_pipeline.config import load_config

DAY = date(2026, 10, 26)
CSV = (
    b"Deposit Date,Batch,Check No,Check Amount,Remitter,Routing/Account,Invoice\n"
    b"2026-10-26,1,1001,150.25,ACME CORP,021000021/123456789,INV-1\n"
    b"2026-10-26,1,1002,99.00,BETA LLC,021000021/987654321,INV-2\n"
)


def test_csv_lockbox_source_loads_payments_and_remittance(tmp_path: Path) -> None:
    config_file = tmp_path / "finance_pipeline.yaml"
    config_file.write_text(
        "sources:\n"
        "  - name: lockbox_csv\n"
        "    kind: lockbox\n"
        "    format: lockbox\n"
        "    entity: US01\n"
        "    transport: {type: local, path: landing}\n"
        "    csv_columns: {date: Deposit Date, batch: Batch, check_number: Check No,\n"
        "                  amount: Check Amount, payer: Remitter, account: Routing/Account,\n"
        "                  invoice: Invoice}\n"
    )
    archive = RawArchive(tmp_path / "archive")
    arrival = archive.store(
        CSV,
        source="lockbox_csv",
        remote_path="lbx_20261026.csv",
        file_name="lbx_20261026.csv",
        size=len(CSV),
        mtime=0.0,
        run_id="r",
        business_date=DAY,
    )
    batch, statuses = build_canonical(
        load_config(config_file), archive, [arrival], DAY, tmp_path / "lake"
    )
    assert statuses == {arrival.sha256: "parsed"}
    tables = batch.tables()
    payments = tables["payments"].sort("amount")
    assert payments["amount"].to_list() == [Decimal("99.00"), Decimal("150.25")]
    assert payments["method"].unique().to_list() == ["lockbox"]
    assert sorted(tables["remittance_lines"]["reference"].to_list()) == ["INV-1", "INV-2"]
