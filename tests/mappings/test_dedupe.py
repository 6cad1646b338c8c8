"""Deduplication inside each source, with every delivery kept in ``record_deliveries``."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl

from contracts.canonical import Invoices, Payments, ProcessorTransactions, RecordDeliveries
from finance_pipeline import lake
from finance_pipeline.dedupe import deduplicate, remap_references
from finance_pipeline.validation import frame_from_rows

D26, D27 = date(2026, 10, 27 - 1), date(2026, 10, 27)


def _invoice(file: str, line: int, inv: str, open_amount: str, tax: str | None) -> dict:
    return {
        "business_date": D27,
        "source_system": "netsuite",
        "source_id": inv,
        "source_file": file,
        "source_location": f"line {line}",
        "mapping_name": "identity",
        "mapping_version": "1",
        "invoice_id": inv,
        "entity_id": "US01",
        "invoice_number": inv,
        "issue_date": D26,
        "due_date": D27,
        "amount": Decimal("100"),
        "open_amount": Decimal(open_amount),
        "currency": "USD",
        "tax_code": tax,
        "status": "open",
    }


def test_a_resent_export_is_kept_once_with_both_deliveries_in_its_lineage() -> None:
    frame = frame_from_rows(
        [
            _invoice("invoices_a.csv", 2, "inv-1", "100", None),
            _invoice("invoices_a.csv", 3, "inv-2", "100", "US-NT"),
            _invoice("invoices_b.csv", 2, "inv-1", "100", "US-NT"),  # re-sent, tax code filled
            _invoice("invoices_b.csv", 3, "inv-2", "60", "US-NT"),  # re-sent, value changed
        ],
        Invoices,
    )
    out = deduplicate("invoices", frame, D27)
    assert out.kept["invoice_id"].to_list() == ["inv-1", "inv-2"]
    assert out.kept["source_file"].to_list() == ["invoices_a.csv", "invoices_a.csv"]
    assert out.kept["tax_code"].to_list() == ["US-NT", "US-NT"]  # filled from the later delivery
    assert out.kept["open_amount"].to_list() == [Decimal("100"), Decimal("100")]  # first wins
    assert out.kept.columns == frame.columns
    deliveries = out.deliveries.sort("record_id", "source_file")
    assert deliveries.select("record_id", "source_file", "role", "differs").rows() == [
        ("inv-1", "invoices_a.csv", "kept", False),
        ("inv-1", "invoices_b.csv", "duplicate", False),
        ("inv-2", "invoices_a.csv", "kept", False),
        ("inv-2", "invoices_b.csv", "duplicate", True),
    ]
    assert set(deliveries["kept_business_date"]) == {D27}
    RecordDeliveries.validate(out.deliveries)


def test_records_delivered_once_have_no_delivery_rows_and_are_untouched() -> None:
    frame = frame_from_rows([_invoice("a.csv", 2, "inv-1", "100", None)], Invoices)
    out = deduplicate("invoices", frame, D27)
    assert out.kept.equals(frame) and out.deliveries.height == 0 and out.remap.height == 0


def _payment(system: str, file: str, pid: str, ref: str | None, line: int = 1) -> dict:
    return {
        "business_date": D27,
        "source_system": system,
        "source_id": f"{pid}-src",
        "source_file": file,
        "source_location": f"line {line}",
        "payment_id": pid,
        "entity_id": "US01",
        "method": "check",
        "received_date": D27,
        "amount": Decimal("250.00"),
        "currency": "USD",
        "payer_account": "072601819/5908301661",
        "reference": ref,
    }


def test_one_payment_from_two_channels_is_merged_but_two_real_payments_stay_two() -> None:
    frame = frame_from_rows(
        [
            _payment("lockbox", "LBX_1.txt", "pay-lbx-1", "INV-1", 1),
            _payment("lockbox", "LBX_1.txt", "pay-lbx-2", "INV-1", 2),  # the customer paid twice
            _payment("bank_ach", "ach_1.csv", "pay-ach-1", "INV-1"),  # lockbox item 1 again
            _payment("bank_ach", "ach_1.csv", "pay-ach-9", None),  # no reference: never merged
        ],
        Payments,
    )
    out = deduplicate("payments", frame, D27)
    assert out.kept["payment_id"].to_list() == ["pay-lbx-1", "pay-lbx-2", "pay-ach-9"]
    assert out.remap.rows() == [("pay-ach-1", "pay-lbx-1")]
    assert out.deliveries.select("record_id", "source_system", "role").sort(
        "role", descending=True
    ).rows() == [
        ("pay-lbx-1", "lockbox", "kept"),
        ("pay-lbx-1", "bank_ach", "duplicate"),
    ]
    lines = pl.DataFrame({"payment_id": ["pay-ach-1", "pay-lbx-2"], "line_no": [1, 1]})
    moved = remap_references(lines, "remittance_lines", {"payments": out.remap})
    assert moved["payment_id"].to_list() == ["pay-lbx-1", "pay-lbx-2"]


def _txn(txn: str, day: date, file: str, payout: str | None = None) -> dict:
    return {
        "business_date": day,
        "source_system": "stripe",
        "source_id": txn,
        "source_file": file,
        "source_location": "data[0]",
        "processor_txn_id": txn,
        "type": "charge",
        "amount": Decimal("125"),
        "fee": Decimal("3.93"),
        "net": Decimal("121.07"),
        "currency": "USD",
        "created_at": datetime(2026, 10, 26, 10, 0),
        "payout_id": payout,
    }


def test_overlapping_api_windows_keep_a_transaction_on_the_day_it_first_came(
    tmp_path: Path,
) -> None:
    earlier = frame_from_rows([_txn("txn_1", D26, "bt_26.json")], ProcessorTransactions)
    lake.write_partition(tmp_path, "processor_transactions", D26, earlier)
    today = frame_from_rows(
        [_txn("txn_1", D27, "bt_27.json", "po_1"), _txn("txn_2", D27, "bt_27.json")],
        ProcessorTransactions,
    )
    out = deduplicate("processor_transactions", today, D27, tmp_path)
    assert out.kept["processor_txn_id"].to_list() == ["txn_2"]
    row = out.deliveries.row(0, named=True)
    assert (row["record_id"], row["role"], row["kept_business_date"], row["differs"]) == (
        "txn_1",
        "duplicate",
        D26,
        None,
    )
    assert row["source_file"] == "bt_27.json"
    # The day itself is never compared with itself: a rerun gives the same answer.
    lake.write_partition(tmp_path, "processor_transactions", D27, out.kept)
    again = deduplicate("processor_transactions", today, D27, tmp_path)
    assert again.kept.equals(out.kept) and again.deliveries.equals(out.deliveries)
    # Snapshot tables (open invoices) are restated daily: no cross-day dedupe there.
    inv = frame_from_rows([_invoice("a.csv", 2, "inv-1", "100", None)], Invoices)
    lake.write_partition(tmp_path, "invoices", D26, inv)
    assert deduplicate("invoices", inv, D27, tmp_path).kept.height == 1
