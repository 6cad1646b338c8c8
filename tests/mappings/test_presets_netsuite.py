"""NetSuite presets: open A/R invoices, customer payments, vendor bills, GL journal lines."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl

from contracts.canonical import Bills, GlJournalLines, Invoices, Payments
from finance_pipeline.mappings import load_mapping, map_export
from finance_pipeline.validation import split_valid

EXPORTS = Path(__file__).resolve().parents[2] / "fixtures" / "exports" / "netsuite"
DAY = date(2026, 10, 27)


def _read(preset: str, name: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    path = EXPORTS / name
    return map_export(load_mapping(preset), path.read_bytes(), path.name, DAY)


def _reasons(rejects: pl.DataFrame) -> dict[str, str]:
    return dict(zip(rejects["source_location"], rejects["reject_reason"], strict=True))


def test_open_ar_invoices() -> None:
    good, rejects = _read("netsuite_open_ar_invoices", "open_ar_invoices_20261027.csv")
    rows = {r["invoice_number"]: r for r in good.iter_rows(named=True)}
    assert "INV-100238" not in rows  # Pending Approval is not open A/R (where filter)
    first = rows["INV-100231"]
    assert first["invoice_id"] == "ns-inv-81231"
    assert (first["amount"], first["currency"], first["order_id"]) == (
        Decimal("12500"),
        "USD",
        "SO-5001",
    )
    assert first["entity_id"] == "Acme US Inc."  # resolved to US01 by master data later
    assert first["customer_id"] == "4001"  # NetSuite internal id, resolved later
    assert rows["CM-100233"]["amount"] == Decimal("-250")  # (parentheses) are negative
    assert rows["INV-100232"]["currency"] == "EUR"  # currency names through a lookup
    assert rows["INV-100239"]["currency"] == "GBP"
    assert rows["INV-100235"]["tax_code"] is None
    reasons = _reasons(rejects)
    assert set(reasons) == {"line 7", "line 8", "line 11"}
    assert "'10/32/2026'" in reasons["line 7"] and "'1,2O0.00'" in reasons["line 8"]
    assert reasons["line 11"] == "status: 'Closed' is not in lookup 'status'"
    assert split_valid(good, Invoices)[1].height == 0


def test_customer_payments() -> None:
    good, rejects = _read("netsuite_customer_payments", "customer_payments_20261027.csv")
    rows = {r["source_id"]: r for r in good.iter_rows(named=True)}
    assert rows["91001"]["method"] == "check" and rows["91001"]["reference"] == "1045"
    assert rows["91002"]["reference"] == "INV-100232"  # no check number: the memo
    assert rows["91003"]["method"] == "wire" and rows["91003"]["currency"] == "EUR"
    assert rows["91006"]["payer_name"] == "Walk-in Customer"
    assert _reasons(rejects) == {
        "line 5": "amount: cannot read 'abc' as decimal",
        "line 6": "method: 'Bitcoin' is not in lookup 'method'",
    }
    assert split_valid(good, Payments)[1].height == 0


def test_vendor_bills() -> None:
    good, rejects = _read("netsuite_vendor_bills", "vendor_bills_20261027.csv")
    rows = {r["bill_line_id"]: r for r in good.iter_rows(named=True)}
    line = rows["ns-bill-70001-2"]
    assert (line["bill_number"], line["line_no"], line["po_number"]) == ("LR-28202", 2, "45001")
    assert (line["quantity"], line["unit_price"], line["amount"]) == (
        Decimal("12"),
        Decimal("289"),
        Decimal("3468"),
    )
    assert rows["ns-bill-70002-1"]["unit_price"] == Decimal("2840.32")
    assert _reasons(rejects) == {"line 6": "quantity: '1.23456' has more than 4 decimals"}
    # A bill without a due date passes the mapping but not the contract: it is rejected there.
    valid, invalid = split_valid(good, Bills)
    assert invalid["bill_line_id"].to_list() == ["ns-bill-70005-1"]
    assert "due_date" in invalid["reject_reason"][0]
    assert valid.height == 4


def test_gl_lines_balance_per_journal() -> None:
    good, rejects = _read("netsuite_gl_lines", "gl_lines_20261027.csv")
    totals = good.group_by("journal_id").agg(pl.col("debit").sum(), pl.col("credit").sum())
    assert all(d == c for d, c in totals.select("debit", "credit").iter_rows())
    first = good.filter(pl.col("gl_line_id") == "ns-gl-60002-1").row(0, named=True)
    assert (first["gl_account"], first["cost_center_id"], first["credit"]) == ("6100", "DE200", 0)
    assert rejects["source_location"].to_list() == ["line 8"]
    assert "gl_account: 'Office Expense' does not match" in rejects["reject_reason"][0]
    assert split_valid(good, GlJournalLines)[1].height == 0
