"""Trace: a bank deposit back to the orders its Stripe payout paid for, and the way back up."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from recon_builders import canonical, result

from finance_pipeline import lake
from finance_pipeline.cli import main
from finance_pipeline.trace import correlation_id, log_lines, trace

D0, D1 = date(2026, 10, 23), date(2026, 10, 26)


def _write(root: Path) -> None:
    """A small lake: one payout of two charges, each paying an invoice of an order."""
    tables = {
        "bank_transactions": [
            {
                "transaction_id": "bt-1",
                "source_id": "FN1",
                "account_number": "111",
                "entity_id": "US01",
                "file_format": "bai2",
                "booking_date": D1,
                "amount": Decimal("500.00"),
                "currency": "USD",
                "status": "BOOK",
                "reversal": False,
                "mapping_name": None,
                "mapping_version": None,
                "source_file": "FNB_US01_20261026.bai",
                "source_location": "line 8",
            }
        ],
        "payouts": [
            {
                "payout_id": "po_1",
                "entity_id": "US01",
                "amount": Decimal("500.00"),
                "currency": "USD",
                "created_date": D0,
                "arrival_date": D1,
                "status": "paid",
                "source_request": "/v1/payouts",
            }
        ],
        "processor_transactions": [
            {
                "processor_txn_id": t,
                "type": kind,
                "source_object_id": src,
                "amount": Decimal(a),
                "fee": Decimal(0),
                "net": Decimal(a),
                "currency": "USD",
                "created_at": datetime(2026, 10, 23),
                "payout_id": "po_1",
            }
            for t, kind, src, a in (
                ("txn_1", "charge", "ch_1", "300.00"),
                ("txn_2", "charge", "ch_2", "200.00"),
                ("txn_p", "payout", "po_1", "-500.00"),
            )
        ],
        "payments": [
            {
                "payment_id": f"stripe_{c}",
                "source_id": c,
                "source_system": "stripe",
                "entity_id": "US01",
                "method": "card",
                "received_date": D0,
                "amount": Decimal(a),
                "currency": "USD",
                "reference": ref,
            }
            for c, a, ref in (("ch_1", "300.00", "US-INV-1"), ("ch_2", "200.00", "US-INV-2"))
        ],
        "orders": [
            {
                "order_id": o,
                "entity_id": "US01",
                "order_number": o,
                "order_date": D0,
                "amount": Decimal(a),
                "currency": "USD",
                "status": "closed_won",
            }
            for o, a in (("O1", "300.00"), ("O2", "200.00"))
        ],
        "gl_journal_lines": [
            {
                "gl_line_id": "GL1",
                "journal_id": "JE1",
                "line_no": 1,
                "entity_id": "US01",
                "posting_date": D1,
                "gl_account": "1010",
                "debit": Decimal("500.00"),
                "credit": Decimal(0),
                "currency": "USD",
                "reference": "po_1",
            }
        ],
    }
    for table, rows in tables.items():
        lake.write_partition(root, table, D1, canonical(table, rows, D1))
    # Invoices arrived on an earlier day: the trace reads every partition.
    invoices = [
        {
            "invoice_id": f"I{n}",
            "entity_id": "US01",
            "customer_id": "C1",
            "invoice_number": f"US-INV-{n}",
            "order_id": f"O{n}",
            "issue_date": D0,
            "due_date": D1,
            "amount": Decimal(a),
            "open_amount": Decimal(a),
            "currency": "USD",
            "status": "open",
        }
        for n, a in ((1, "300.00"), (2, "200.00"))
    ]
    lake.write_partition(root, "invoices", D0, canonical("invoices", invoices, D0))

    def members(mid: str, rows: list[tuple[str, str, str]]) -> list[dict]:
        return [
            {
                "match_id": mid,
                "side": side,
                "record_type": rt,
                "record_id": rid,
                "amount_applied": Decimal("1"),
                "currency": "USD",
            }
            for side, rt, rid in rows
        ]

    parts = [
        result(
            "processor_settlement",
            [{"match_id": "m_ps", "rule_id": "ps_payout"}],
            members(
                "m_ps",
                [
                    ("left", "payouts", "po_1"),
                    ("right", "processor_transactions", "txn_1"),
                    ("right", "processor_transactions", "txn_2"),
                    ("right", "bank_transactions", "bt-1"),
                ],
            ),
            run_id="R1",
        ),
        result(
            "cash_application",
            [{"match_id": "m_c1"}, {"match_id": "m_c2"}],
            members("m_c1", [("left", "payments", "stripe_ch_1"), ("right", "invoices", "I1")])
            + members("m_c2", [("left", "payments", "stripe_ch_2"), ("right", "invoices", "I2")]),
            run_id="R1",
        ),
        result(
            "bank_reconciliation",
            [{"match_id": "m_br", "rule_id": "br_reference"}],
            members(
                "m_br",
                [("left", "bank_transactions", "bt-1"), ("right", "gl_journal_lines", "GL1")],
            ),
            run_id="R1",
        ),
    ]
    lake.write_partition(root, "matches", D1, pl.concat([p.matches for p in parts]))
    lake.write_partition(root, "match_members", D1, pl.concat([p.members for p in parts]))


@pytest.fixture
def lake_root(tmp_path: Path) -> Path:
    root = tmp_path / "home" / "lake"
    _write(root)
    return root


def test_trace_from_bank_deposit_through_stripe_payout_to_orders(lake_root: Path) -> None:
    found = trace("FN1", lake_root)  # the bank's own reference
    keys = [s.key for s in found.steps]
    assert keys[0] == "bank_transactions:bt-1"
    for key in (
        "payouts:po_1",
        "processor_transactions:txn_1",
        "processor_transactions:txn_2",
        "payments:stripe_ch_1",
        "payments:stripe_ch_2",
        "invoices:I1",
        "invoices:I2",
        "orders:O1",
        "orders:O2",
        "gl_journal_lines:GL1",
    ):
        assert key in keys, key
    step = {s.key: s for s in found.steps}
    payout = step["payouts:po_1"]
    assert (payout.via, payout.workflow, payout.match_id) == (
        "match",
        "processor_settlement",
        "m_ps",
    )
    assert payout.link == "ps_payout@1" and payout.run_id == "R1"
    assert payout.source_request == "/v1/payouts"
    charge = step["payments:stripe_ch_1"]
    assert charge.via == "field" and "source_object_id" in charge.link
    assert charge.source_id == "ch_1"
    order = step["orders:O1"]
    assert order.link == "invoices.order_id = orders.order_id"
    assert order.source_file == "orders_20261026.csv" and order.mapping_version == "1"
    assert step["invoices:I1"].business_date == D0  # read from the earlier partition
    assert step["bank_transactions:bt-1"].source_location == "line 8"
    # Each record is reached once, by the shortest path; depth grows along the chain.
    assert len(keys) == len(set(keys))
    assert order.depth > step["invoices:I1"].depth > charge.depth > payout.depth
    assert (
        found.correlation_id
        == correlation_id("bt-1")
        == step["bank_transactions:bt-1"].correlation_id
    )


def test_trace_from_an_order_goes_up_one_chain_only(lake_root: Path) -> None:
    keys = [s.key for s in trace("O1", lake_root).steps]
    assert keys[0] == "orders:O1"
    assert {
        "invoices:I1",
        "payments:stripe_ch_1",
        "processor_transactions:txn_1",
        "payouts:po_1",
        "bank_transactions:bt-1",
        "gl_journal_lines:GL1",
    } <= set(keys)
    # Not the other charge paid out with it.
    assert not {"orders:O2", "invoices:I2", "payments:stripe_ch_2"} & set(keys)


def test_trace_from_a_charge_id_and_an_unknown_id(lake_root: Path) -> None:
    keys = {s.key for s in trace("ch_2", lake_root).steps}
    assert {"payments:stripe_ch_2", "orders:O2", "payouts:po_1", "bank_transactions:bt-1"} <= keys
    assert "orders:O1" not in keys
    assert trace("payouts:po_1", lake_root).steps[0].key == "payouts:po_1"
    missing = trace("no-such-id", lake_root)
    assert not missing.found and "no canonical record" in missing.render()


def test_correlation_ids_are_deterministic_and_in_log_lines(lake_root: Path) -> None:
    assert correlation_id("bt-1") == correlation_id("bt-1") != correlation_id("bt-2")
    assert correlation_id("bt-1").startswith("cor-")
    matches = pl.read_parquet(lake.partition_path(lake_root, "matches", D1))
    members = pl.read_parquet(lake.partition_path(lake_root, "match_members", D1))
    text = "\n".join(log_lines(matches, members, per_message=3))
    assert f"correlation={correlation_id('bt-1')} match=m_ps" in text
    assert len(log_lines(matches, members, per_message=3)) == 4  # 10 members, 3 per message


def test_trace_command(lake_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = str(lake_root.parent)
    assert main(["trace", "FN1", "--home", home]) == 0
    out = capsys.readouterr().out
    assert "payouts po_1" in out and "processor_settlement match m_ps" in out
    assert main(["trace", "O2", "--home", home, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["found"] and data["steps"][0]["record_id"] == "O2"
    assert main(["trace", "nope", "--home", home]) == 1
