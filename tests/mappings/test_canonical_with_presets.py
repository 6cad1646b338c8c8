"""Vendor exports through the canonical build: mappings, master data, dedupe, FX, flags."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import polars as pl
import pytest

from contracts.canonical import CANONICAL_MODELS
from finance_pipeline.archive import RawArchive
from finance_pipeline.canonical import CanonicalBatch, build_canonical
from finance_pipeline.config import Home, load_config

EXPORTS = Path(__file__).resolve().parents[2] / "fixtures" / "exports"
DAY = date(2026, 10, 27)

CONFIG = """
fx: {max_age_days: 7, pivot_currency: USD}
sources:
  - {name: erp_master, kind: export, format: csv, transport: {type: local, path: landing/master}}
  - name: netsuite
    kind: export
    format: csv
    transport: {type: local, path: landing/netsuite}
    mapping:
      "open_ar_invoices_*.csv": netsuite_open_ar_invoices
      "customer_payments_*.csv": netsuite_customer_payments
      "vendor_bills_*.csv": netsuite_vendor_bills
      "gl_lines_*.csv": netsuite_gl_lines
  - name: coupa
    kind: export
    format: csv
    transport: {type: local, path: landing/coupa}
    mapping:
      "purchase_orders_*.csv": coupa_purchase_orders
      "receipts_*.csv": coupa_receipts
      "invoices_*.csv": coupa_invoices
  - name: workday
    kind: export
    format: csv
    mapping: workday_payroll_journal
    transport: {type: local, path: landing/workday}
  - name: salesforce
    kind: export
    format: csv
    mapping: salesforce_closed_won
    transport: {type: local, path: landing/salesforce}
  - name: stripe_api
    kind: export
    format: csv
    mapping: stripe_balance_transactions
    transport: {type: local, path: landing/stripe_api}
  - name: stripe_report
    kind: export
    format: csv
    mapping: stripe_payout_reconciliation
    transport: {type: local, path: landing/stripe_report}
"""
FOLDERS = {
    "erp_master": "master",
    "netsuite": "netsuite",
    "coupa": "coupa",
    "workday": "workday",
    "salesforce": "salesforce",
    "stripe_api": "stripe/balance_transactions_*",
    "stripe_report": "stripe/payout_reconciliation_*",
}


def _batch(home: Home) -> CanonicalBatch:
    (home.root / "finance_pipeline.yaml").write_text(CONFIG)
    config = load_config(home.root / "finance_pipeline.yaml")
    archive = RawArchive(home.archive)
    arrivals = []
    for source, where in FOLDERS.items():
        folder, _, pattern = where.partition("/")
        for path in sorted((EXPORTS / folder).glob(pattern or "*")):
            data = path.read_bytes()
            arrivals.append(
                archive.store(
                    data,
                    source=source,
                    remote_path=str(path),
                    file_name=path.name,
                    size=len(data),
                    mtime=0.0,
                    run_id="test",
                    business_date=DAY,
                )
            )
    batch, statuses = build_canonical(config, archive, arrivals, DAY, home.lake)
    assert set(statuses.values()) == {"parsed"}, batch.quarantine
    return batch


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[CanonicalBatch, dict]:
    home = Home(tmp_path_factory.mktemp("presets") / "home").ensure()
    batch = _batch(home)
    return batch, batch.tables()


def _row(frame: pl.DataFrame, column: str, value: str) -> dict:
    return frame.filter(pl.col(column) == value).row(0, named=True)


def test_every_table_satisfies_its_contract_and_rows_carry_their_mapping(built) -> None:
    _, tables = built
    for table, frame in tables.items():
        CANONICAL_MODELS[table].validate(frame)
    versions = pl.concat(
        [f.select("mapping_name", "mapping_version") for f in tables.values() if f.height]
    ).unique()
    names = set(versions["mapping_name"])
    assert {"identity", "netsuite_open_ar_invoices", "workday_payroll_journal"} <= names
    assert set(versions["mapping_version"]) == {"1"}


def test_identifiers_resolve_to_canonical_master_data(built) -> None:
    _, tables = built
    inv = _row(tables["invoices"], "invoice_number", "INV-100231")
    assert (inv["entity_id"], inv["customer_id"]) == ("US01", "CUST-10001")
    order = _row(tables["orders"], "order_number", "00000101")
    assert (order["entity_id"], order["customer_id"]) == ("US01", "CUST-10001")  # via CRM id
    bill = _row(tables["bills"], "bill_line_id", "ns-bill-70001-1")
    assert (bill["entity_id"], bill["vendor_id"]) == ("DE01", "VEND-20018")
    coupa = _row(tables["bills"], "bill_line_id", "coupa-inv-9001-1")
    assert coupa["vendor_id"] == "VEND-20018"  # Coupa's supplier number is the ERP vendor id
    payroll = _row(tables["payroll_entries"], "payroll_entry_id", "wd-PRL-0006")
    assert payroll["entity_id"] == "DE01"
    unknown = _row(tables["invoices"], "invoice_number", "INV-100235")
    assert unknown["customer_id"] == "9999"  # kept as delivered, and flagged below


def test_unknown_master_data_is_flagged_never_dropped(built) -> None:
    batch, tables = built
    flags = batch.reference_flag_frame()
    got = set(flags.select("record_type", "record_id", "flag").iter_rows())
    assert got == {
        ("invoices", "ns-inv-81235", "unknown_customer"),
        ("invoices", "ns-inv-81235", "missing_tax_code"),
        ("payments", "ns-pmt-91006", "unknown_customer"),
        ("orders", "sf-006Dn000004XyZ4IAK", "unknown_customer"),
        ("bills", "ns-bill-70003-1", "unknown_vendor"),
        ("bills", "ns-bill-70003-1", "missing_tax_code"),
        ("purchase_orders", "coupa-po-45004-1", "invalid_cost_center"),
        ("gl_journal_lines", "ns-gl-60003-1", "invalid_cost_center"),
        ("payroll_entries", "wd-PRL-0007", "invalid_cost_center"),
    }
    for table, record in (("invoices", "ns-inv-81235"), ("bills", "ns-bill-70003-1")):
        id_column = {"invoices": "invoice_id", "bills": "bill_line_id"}[table]
        assert record in tables[table][id_column].to_list()
    assert flags["source_id"].null_count() == 0 and set(flags["business_date"]) == {DAY}


def test_functional_currency_amounts_with_rate_and_date(built) -> None:
    _, tables = built
    eur_usd = (Decimal(1) / Decimal("0.916972")).quantize(Decimal("1e-8"), ROUND_HALF_EVEN)
    inv = _row(tables["invoices"], "invoice_number", "INV-100232")  # US01 invoice in EUR
    assert (inv["functional_currency"], inv["fx_rate"], inv["fx_rate_date"]) == (
        "USD",
        eur_usd,
        date(2026, 10, 26),
    )
    assert inv["functional_amount"] == (Decimal(4200) * eur_usd).quantize(
        Decimal("0.01"), ROUND_HALF_EVEN
    )
    gbp = _row(tables["invoices"], "invoice_number", "INV-100239")
    assert (gbp["functional_amount"], gbp["fx_rate"]) == (Decimal(3000), Decimal(1))
    line = _row(tables["gl_journal_lines"], "gl_line_id", "ns-gl-60002-2")
    assert (line["functional_amount"], line["functional_currency"]) == (Decimal("-1234.5"), "EUR")
    old = _row(tables["invoices"], "invoice_number", "INV-100231")  # Oct 1: no rate that old
    assert old["functional_amount"] == Decimal(12500)  # but USD in a USD entity needs none


def test_the_same_stripe_transaction_from_api_and_report_is_kept_once(built) -> None:
    _, tables = built
    txns = tables["processor_transactions"]
    assert txns["processor_txn_id"].is_duplicated().sum() == 0
    charge = _row(txns, "processor_txn_id", "txn_3QaA1bC2dE3fG4h1")
    assert charge["source_file"] == "balance_transactions_20261027.json"  # first delivery
    assert charge["mapping_name"] == "stripe_balance_transactions"
    assert charge["payout_id"] == "po_1QbB2cD3eF4gH5i6"  # filled in from the report
    assert charge["customer_ref"] == "cus_QIronclad01"
    lineage = (
        tables["record_deliveries"]
        .filter(pl.col("record_id") == "txn_3QaA1bC2dE3fG4h1")
        .sort("role", descending=True)
    )
    assert lineage.select("source_file", "mapping_name", "role", "differs").rows() == [
        ("balance_transactions_20261027.json", "stripe_balance_transactions", "kept", False),
        (
            "payout_reconciliation_itemized_20261103.csv",
            "stripe_payout_reconciliation",
            "duplicate",
            False,
        ),
    ]
    assert lineage["source_location"].to_list() == ["data[0]", "line 2"]


def test_malformed_rows_reach_the_rejects_table_with_file_line_and_reason(built) -> None:
    batch, _ = built
    rejects = batch.reject_frame()
    keyed = {(r["source_file"], r["source_location"]): r for r in rejects.iter_rows(named=True)}
    assert "'10/32/2026'" in keyed[("open_ar_invoices_20261027.csv", "line 7")]["reject_reason"]
    contract = keyed[("vendor_bills_20261027.csv", "line 7")]  # no due date: the contract says no
    assert contract["table"] == "bills" and "due_date" in contract["reject_reason"]
    assert ("payroll_journal_20261030.csv", "line 9") in keyed
    assert set(rejects["business_date"]) == {DAY}


def test_the_build_is_deterministic(built, tmp_path: Path) -> None:
    _, tables = built
    again = _batch(Home(tmp_path / "again").ensure()).tables()
    for table, frame in tables.items():
        assert frame.equals(again[table]), table


def test_a_broken_delivery_never_becomes_the_kept_copy(tmp_path: Path) -> None:
    from finance_pipeline.mappings import read_identity_csv

    header = (
        "source_system,source_id,invoice_id,entity_id,invoice_number,issue_date,due_date,"
        "amount,open_amount,currency,status\n"
    )
    batch = CanonicalBatch(DAY, tmp_path)
    for name, currency in (("invoices_a_20261027.csv", "XYZ"), ("invoices_b_20261027.csv", "USD")):
        data = f"{header}erp,1,inv-1,US01,1,2026-10-01,2026-10-31,10.00,10.00,{currency},open\n"
        good, _ = read_identity_csv(data.encode(), name, "invoices", DAY)
        batch.frames.setdefault("invoices", []).append(good)
    tables = batch.tables()
    kept = tables["invoices"].row(0, named=True)
    assert (kept["currency"], kept["source_file"]) == ("USD", "invoices_b_20261027.csv")
    assert tables["record_deliveries"].height == 0  # only one valid delivery
    rejected = batch.reject_frame()
    assert rejected["source_file"].to_list() == ["invoices_a_20261027.csv"]
    assert "iso_4217 (XYZ)" in rejected["reject_reason"][0]
