"""Stripe presets: API balance transactions (minor units) and the itemized payout report."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from contracts.canonical import ProcessorTransactions
from finance_pipeline.mappings import load_mapping, map_export
from finance_pipeline.validation import split_valid

EXPORTS = Path(__file__).resolve().parents[2] / "fixtures" / "exports" / "stripe"
DAY = date(2026, 10, 27)


def _read(preset: str, name: str):
    path = EXPORTS / name
    return map_export(load_mapping(preset), path.read_bytes(), path.name, DAY)


def test_api_objects_convert_minor_units_by_currency_and_epoch_times() -> None:
    good, rejects = _read("stripe_balance_transactions", "balance_transactions_20261027.json")
    rows = {r["processor_txn_id"]: r for r in good.iter_rows(named=True)}
    charge = rows["txn_3QaA1bC2dE3fG4h1"]
    assert (charge["amount"], charge["fee"], charge["net"]) == (
        Decimal("125"),
        Decimal("3.93"),
        Decimal("121.07"),
    )
    assert charge["created_at"] == datetime(2026, 10, 27, 10, 10, 23)
    assert charge["available_on"] == date(2026, 11, 1)
    assert charge["source_object_id"] == "ch_3QaA1bC2dE3fG4h1"
    assert rows["txn_3QaA1bC2dE3fG4h2"]["amount"] == Decimal("-25")
    assert rows["txn_3QaA1bC2dE3fG4h3"]["amount"] == Decimal("5000")  # JPY has no minor unit
    assert rows["txn_3QaA1bC2dE3fG4h3"]["currency"] == "JPY"
    reasons = dict(zip(rejects["source_location"], rejects["reject_reason"], strict=True))
    assert "minor units need a known currency, got 'XXQ'" in reasons["data[3]"]
    assert reasons["data[4]"] == "amount: cannot read '12.5' as integer minor units"
    valid, invalid = split_valid(good, ProcessorTransactions)
    assert valid.height == 3 and invalid.height == 0


def test_payout_report_amounts_are_major_units_and_categories_become_api_types() -> None:
    good, rejects = _read(
        "stripe_payout_reconciliation", "payout_reconciliation_itemized_20261103.csv"
    )
    rows = {r["processor_txn_id"]: r for r in good.iter_rows(named=True)}
    charge = rows["txn_3QaA1bC2dE3fG4h1"]
    assert (charge["amount"], charge["fee"], charge["net"]) == (
        Decimal("125"),
        Decimal("3.93"),
        Decimal("121.07"),
    )
    assert charge["payout_id"] == "po_1QbB2cD3eF4gH5i6"
    assert (charge["customer_ref"], charge["invoice_ref"]) == ("cus_QIronclad01", "INV-100231")
    assert rows["txn_3QaA1bC2dE3fG4h7"]["type"] == "stripe_fee"
    assert rows["txn_3QaA1bC2dE3fG4h7"]["amount"] == Decimal("-0.30")
    assert rows["txn_3QaA1bC2dE3fG4h7"]["source_object_id"] is None
    assert rejects["source_location"].to_list() == ["line 6"]
    assert "created_at: cannot read '28/10/2026 09:30'" in rejects["reject_reason"][0]
    valid, invalid = split_valid(good, ProcessorTransactions)
    assert valid.height == 4 and invalid.height == 0


def test_both_deliveries_of_one_transaction_agree_on_the_shared_fields() -> None:
    api, _ = _read("stripe_balance_transactions", "balance_transactions_20261027.json")
    report, _ = _read("stripe_payout_reconciliation", "payout_reconciliation_itemized_20261103.csv")
    shared = ["processor_txn_id", "type", "amount", "fee", "net", "currency", "created_at"]
    both = api.select(shared).join(report.select(shared), on=shared, how="inner")
    assert sorted(both["processor_txn_id"]) == ["txn_3QaA1bC2dE3fG4h1", "txn_3QaA1bC2dE3fG4h2"]
