"""Coupa presets: purchase order lines, receipts (inventory transactions), invoices."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl

from contracts.canonical import Bills, PurchaseOrders, Receipts
from finance_pipeline.mappings import load_mapping, map_export
from finance_pipeline.validation import split_valid

EXPORTS = Path(__file__).resolve().parents[2] / "fixtures" / "exports" / "coupa"
DAY = date(2026, 10, 27)


def _read(preset: str, name: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    path = EXPORTS / name
    return map_export(load_mapping(preset), path.read_bytes(), path.name, DAY)


def test_purchase_order_lines_split_the_account_code() -> None:
    good, rejects = _read("coupa_purchase_orders", "purchase_orders_20261027.csv")
    assert good["po_line_id"].to_list() == [
        "coupa-po-45001-1",
        "coupa-po-45001-2",
        "coupa-po-45002-1",
        "coupa-po-45004-1",  # 45003 is cancelled: not an order
    ]
    laptops = good.row(2, named=True)
    assert (laptops["entity_id"], laptops["cost_center_id"], laptops["vendor_id"]) == (
        "US01",
        "US200",
        "20010",
    )
    assert laptops["order_date"] == date(2026, 10, 21)  # the local date, not UTC's
    assert rejects["reject_reason"].to_list() == ["quantity: cannot read 'two' as decimal"]
    assert split_valid(good, PurchaseOrders)[1].height == 0


def test_receipts_returns_are_negative_and_voided_rows_skipped() -> None:
    good, rejects = _read("coupa_receipts", "receipts_20261027.csv")
    assert good["receipt_line_id"].to_list() == [
        "coupa-rcv-5501",
        "coupa-rcv-5502",
        "coupa-rcv-5503",
    ]
    assert good["quantity"].to_list() == [Decimal("5"), Decimal("12"), Decimal("-1")]
    assert good["po_line_no"].to_list() == [1, 2, 2]
    assert rejects["source_location"].to_list() == ["line 6"]
    assert "'yesterday' does not match" in rejects["reject_reason"][0]
    assert split_valid(good, Receipts)[1].height == 0


def test_invoices_fill_header_fields_down_to_their_lines() -> None:
    good, rejects = _read("coupa_invoices", "invoices_20261027.csv")
    assert good["bill_line_id"].to_list() == [
        "coupa-inv-9001-1",
        "coupa-inv-9001-2",
        "coupa-inv-9002-1",
        "coupa-inv-9003-1",
    ]
    assert good["bill_number"].to_list() == ["RB-2026-0417", "RB-2026-0417", "MO-88812", "PP-5512"]
    assert good["currency"].to_list() == ["EUR", "EUR", "GBP", "USD"]
    # MO-88812 has no due date: due on its invoice date, not the previous invoice's due date.
    assert good["due_date"].to_list()[2] == date(2026, 10, 26)
    assert good["amount"].to_list()[0] == Decimal("1645")
    assert rejects["reject_reason"].to_list() == ["unit_price: cannot read '12.5.0' as decimal"]
    assert split_valid(good, Bills)[1].height == 0
