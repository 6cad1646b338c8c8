"""Journal proposals from auto matches: balanced, idempotent, safely exported."""

from __future__ import annotations

import csv
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from recon_builders import canonical, result

from contracts.recon import JournalProposals
from finance_pipeline.journals import (
    export_csv,
    export_json,
    propose_journals,
    roll_forward_journals,
    safe_cell,
    unbalanced,
)
from finance_pipeline.validation import split_valid

D1 = date(2026, 10, 26)
USD, EUR = "USD", "EUR"


def _inv(iid: str, amount: str, entity: str = "US01", currency: str = USD) -> dict:
    return {
        "invoice_id": iid,
        "entity_id": entity,
        "customer_id": "CUST-1",
        "invoice_number": f"NO-{iid}",
        "issue_date": date(2026, 10, 1),
        "due_date": date(2026, 10, 31),
        "amount": Decimal(amount),
        "open_amount": Decimal(amount),
        "currency": currency,
        "status": "open",
    }


def _pay(pid: str, amount: str, method: str = "ach") -> dict:
    return {
        "payment_id": pid,
        "entity_id": "US01",
        "method": method,
        "received_date": D1,
        "amount": Decimal(amount),
        "currency": USD,
        "customer_id": "CUST-1",
        "bank_account_id": None if method == "card" else "US01-OPER",
    }


TABLES = {
    "bank_accounts": canonical(
        "bank_accounts",
        [
            {
                "bank_account_id": "US01-OPER",
                "entity_id": "US01",
                "bank_name": "First",
                "account_number": "111",
                "currency": USD,
                "gl_account": "1010",
            },
            {
                "bank_account_id": "DE01-OPER",
                "entity_id": "DE01",
                "bank_name": "Euro",
                "account_number": "222",
                "currency": EUR,
                "gl_account": "1010",
            },
        ],
    ),
    "invoices": canonical(
        "invoices",
        [
            _inv("A", "100.00"),
            _inv("B", "200.00"),
            _inv("C", "50.00"),
            _inv("E", "80.00"),
            _inv("F", "300.00"),
            _inv("G", "100.00"),
            _inv("D", "1000.00", "DE01", USD),
        ],
    ),
    "payments": canonical(
        "payments",
        [
            _pay("PA", "100.00"),
            _pay("PB", "198.50"),
            _pay("PC", "55.00"),
            _pay("PE", "80.00", "card"),
            _pay("PF", "280.00"),
            _pay("PG", "99.50"),
        ],
    ),
    "bank_transactions": canonical(
        "bank_transactions",
        [
            {
                "transaction_id": "BT-D",
                "bank_account_id": "DE01-OPER",
                "account_number": "222",
                "entity_id": "DE01",
                "file_format": "camt",
                "booking_date": D1,
                "amount": Decimal("920.00"),
                "currency": EUR,
                "status": "BOOK",
                "reversal": False,
            },
            {
                "transaction_id": "BT-P",
                "bank_account_id": "US01-OPER",
                "account_number": "111",
                "entity_id": "US01",
                "file_format": "bai2",
                "booking_date": D1,
                "amount": Decimal("500.00"),
                "currency": USD,
                "status": "BOOK",
                "reversal": False,
            },
        ],
    ),
    "fx_rates": canonical(
        "fx_rates",
        [
            {
                "rate_date": date(2026, 10, 1),
                "base_currency": USD,
                "quote_currency": EUR,
                "rate": Decimal("0.90"),
            },
            {"rate_date": D1, "base_currency": USD, "quote_currency": EUR, "rate": Decimal("0.92")},
        ],
    ),
    "payouts": canonical(
        "payouts",
        [
            {
                "payout_id": p,
                "entity_id": "US01",
                "amount": Decimal("500.00"),
                "currency": USD,
                "created_date": D1,
                "arrival_date": D1,
                "status": "paid",
            }
            for p in ("po_1", "po_2")
        ],
    ),
    "processor_transactions": canonical(
        "processor_transactions",
        [
            {
                "processor_txn_id": t,
                "entity_id": "US01",
                "type": kind,
                "amount": Decimal(a),
                "fee": Decimal(f),
                "net": Decimal(a) - Decimal(f),
                "currency": USD,
                "created_at": datetime(2026, 10, 25),
                "payout_id": "po_1",
            }
            for t, kind, a, f in (
                ("txn_1", "charge", "300.00", "9.00"),
                ("txn_2", "charge", "220.00", "6.60"),
                ("txn_3", "refund", "-4.40", "0"),
            )
        ],
    ),
    # The ERP already booked INV-G's receipt (Dr cash, Cr AR 99.50).
    "gl_journal_lines": canonical(
        "gl_journal_lines",
        [
            {
                "gl_line_id": f"JE-1-0{n}",
                "journal_id": "JE-1",
                "line_no": n,
                "entity_id": "US01",
                "posting_date": D1,
                "gl_account": acct,
                "debit": Decimal(dr),
                "credit": Decimal(cr),
                "currency": USD,
                "description": "Customer receipt",
                "reference": "NO-G",
            }
            for n, acct, dr, cr in ((1, "1010", "99.50", "0"), (2, "1200", "0", "99.50"))
        ]
        + [
            {
                "gl_line_id": "JE-2-01",
                "journal_id": "JE-2",
                "line_no": 1,
                "entity_id": "US01",
                "posting_date": D1,
                "gl_account": "6000",
                "cost_center_id": "US100",
                "debit": Decimal("990.00"),
                "credit": Decimal(0),
                "currency": USD,
                "description": "Payroll gross",
            },
        ],
    ),
    "payroll_entries": canonical(
        "payroll_entries",
        [
            {
                "payroll_entry_id": "PR-1",
                "entity_id": "US01",
                "pay_period_start": D1,
                "pay_period_end": D1,
                "pay_date": D1,
                "employee_id": "E1",
                "cost_center_id": "US100",
                "component": "gross",
                "amount": Decimal("1000.00"),
                "currency": USD,
            },
        ],
    ),
}


def _pair(mid: str, left: tuple, right: list[tuple]) -> list[dict]:
    rows = [
        {
            "match_id": mid,
            "side": "left",
            "record_type": left[0],
            "record_id": left[1],
            "amount_applied": Decimal(left[2]),
            "currency": left[3],
        }
    ]
    rows += [
        {
            "match_id": mid,
            "side": "right",
            "record_type": t,
            "record_id": i,
            "amount_applied": Decimal(a),
            "currency": c,
        }
        for t, i, a, c in right
    ]
    return rows


def _results(run_id: str = "run-1", rule_version: str = "1"):
    cash = result(
        "cash_application",
        matches=[
            {"match_id": m, "rule_version": rule_version}
            for m in ("m_a", "m_b", "m_c", "m_d", "m_e", "m_f", "m_g")
        ]
        + [{"match_id": "m_s", "status": "suggested"}],
        members=_pair("m_a", ("payments", "PA", "100.00", USD), [("invoices", "A", "100.00", USD)])
        + _pair("m_b", ("payments", "PB", "198.50", USD), [("invoices", "B", "200.00", USD)])
        + _pair("m_c", ("payments", "PC", "55.00", USD), [("invoices", "C", "50.00", USD)])
        + _pair(
            "m_d", ("bank_transactions", "BT-D", "920.00", EUR), [("invoices", "D", "1000.00", USD)]
        )
        + _pair("m_e", ("payments", "PE", "80.00", USD), [("invoices", "E", "80.00", USD)])
        + _pair("m_f", ("payments", "PF", "280.00", USD), [("invoices", "F", "300.00", USD)])
        + _pair("m_g", ("payments", "PG", "99.50", USD), [("invoices", "G", "100.00", USD)])
        + _pair("m_s", ("payments", "PA", "100.00", USD), [("invoices", "A", "100.00", USD)]),
        run_id=run_id,
    )
    payouts = result(
        "processor_settlement",
        matches=[{"match_id": "m_p"}, {"match_id": "m_q"}],
        members=_pair(
            "m_p",
            ("payouts", "po_1", "500.00", USD),
            [
                ("processor_transactions", "txn_1", "291.00", USD),
                ("processor_transactions", "txn_2", "213.40", USD),
                ("processor_transactions", "txn_3", "-4.40", USD),
                ("bank_transactions", "BT-P", "500.00", USD),
            ],
        )
        + _pair("m_q", ("payouts", "po_2", "500.00", USD), []),  # not in the bank yet
        run_id=run_id,
    )
    payroll = result(
        "payroll_to_ledger",
        matches=[{"match_id": "m_r"}],
        members=_pair(
            "m_r",
            ("payroll_entries", "PR-1", "1000.00", USD),
            [("gl_journal_lines", "JE-2-01", "990.00", USD)],
        ),
        run_id=run_id,
    )
    matches = pl.concat([cash.matches, payouts.matches, payroll.matches])
    members = pl.concat([cash.members, payouts.members, payroll.members])
    return matches, members


def _lines(journals: pl.DataFrame, match_id: str) -> list[tuple]:
    rows = journals.filter(pl.col("match_id") == match_id).sort("line_no")
    return [(a, str(d), str(c)) for a, d, c in rows.select("gl_account", "debit", "credit").rows()]


@pytest.fixture(scope="module")
def journals() -> pl.DataFrame:
    return propose_journals(*_results(), TABLES, {})


def test_every_proposed_journal_balances_and_meets_the_contract(journals) -> None:
    assert unbalanced(journals).height == 0
    good, bad = split_valid(journals, JournalProposals)
    assert bad.height == 0
    per_journal = journals.group_by("journal_id").agg(
        pl.col("entity").n_unique(), pl.col("currency").n_unique()
    )
    assert (per_journal["entity"] == 1).all() and (per_journal["currency"] == 1).all()
    assert set(journals["status"].to_list()) == {"proposed"}
    assert "m_s" not in journals["match_id"].to_list()  # suggested: a person decides first
    assert "m_q" not in journals["match_id"].to_list()  # payout not in the bank yet


def test_the_entries_an_accountant_would_post(journals) -> None:
    assert _lines(journals, "m_a") == [
        ("1010", "100.0000", "0.0000"),
        ("1200", "0.0000", "100.0000"),
    ]
    # 1.50 short, within tolerance (5.00 and 1%): written off.
    assert _lines(journals, "m_b") == [
        ("1010", "198.5000", "0.0000"),
        ("6900", "1.5000", "0.0000"),
        ("1200", "0.0000", "200.0000"),
    ]
    # 5.00 over: held as unapplied cash.
    assert _lines(journals, "m_c") == [
        ("1010", "55.0000", "0.0000"),
        ("2400", "0.0000", "5.0000"),
        ("1200", "0.0000", "50.0000"),
    ]
    # USD invoice carried at 0.90 (900.00 EUR), settled at 0.92: 20.00 EUR FX gain.
    assert _lines(journals, "m_d") == [
        ("1010", "920.0000", "0.0000"),
        ("7900", "0.0000", "20.0000"),
        ("1200", "0.0000", "900.0000"),
    ]
    assert set(journals.filter(pl.col("match_id") == "m_d")["currency"]) == {EUR}
    # A card payment lands in processor clearing, not in a bank account.
    assert _lines(journals, "m_e") == [("1150", "80.0000", "0.0000"), ("1200", "0.0000", "80.0000")]
    # 20.00 short is beyond tolerance: nothing written off, the rest stays open on AR.
    assert _lines(journals, "m_f") == [
        ("1010", "280.0000", "0.0000"),
        ("1200", "0.0000", "280.0000"),
    ]
    # Receipt already in the ledger: only the write-off is proposed.
    assert _lines(journals, "m_g") == [("6900", "0.5000", "0.0000"), ("1200", "0.0000", "0.5000")]
    # Payout: cash in the bank, fees and the refund out of clearing.
    assert _lines(journals, "m_p") == [
        ("1010", "500.0000", "0.0000"),
        ("6150", "15.6000", "0.0000"),
        ("1200", "4.4000", "0.0000"),
        ("1150", "0.0000", "520.0000"),
    ]
    # Register 1000.00 vs ledger 990.00: the 10.00 true-up through payroll clearing.
    assert _lines(journals, "m_r") == [("6000", "10.0000", "0.0000"), ("2100", "0.0000", "10.0000")]


def test_same_proposal_keeps_its_idempotency_key_across_runs(journals) -> None:
    rerun = propose_journals(*_results(run_id="run-2"), TABLES, {})
    assert rerun.equals(journals)
    assert journals["idempotency_key"].n_unique() == journals.height

    bumped = propose_journals(*_results(rule_version="2"), TABLES, {})
    changed = set(bumped["idempotency_key"]) - set(journals["idempotency_key"])
    moved = set(bumped.filter(pl.col("idempotency_key").is_in(sorted(changed)))["match_id"])
    assert moved == {"m_a", "m_b", "m_c", "m_d", "m_e", "m_f", "m_g"}  # only the bumped rules


def test_accounts_come_from_configuration_per_entity() -> None:
    settings = {
        "journals": {
            "accounts": {"short_pay_write_off": "6950"},
            "entities": {"DE01": {"fx_gain_loss": "7950"}},
        }
    }
    custom = propose_journals(*_results(), TABLES, settings)
    assert "6950" in _lines(custom, "m_b")[1]
    assert _lines(custom, "m_d")[1][0] == "7950"
    assert unbalanced(custom).height == 0


def test_superseded_and_exported_proposals_roll_forward(journals) -> None:
    exported = journals.with_columns(
        pl.when(pl.col("match_id") == "m_a")
        .then(pl.lit("exported"))
        .otherwise(pl.col("status"))
        .alias("status")
    )
    today = propose_journals(*_results(rule_version="2"), TABLES, {})
    state = roll_forward_journals(today, exported)
    old = state.filter(pl.col("idempotency_key").is_in(journals["idempotency_key"].implode()))
    still = old.filter(pl.col("match_id").is_in(["m_p", "m_r"]))
    assert set(still["status"]) == {"proposed"}  # unchanged proposals stay as they were
    gone = old.filter(~pl.col("match_id").is_in(["m_p", "m_r"]))
    assert set(gone["status"]) == {"superseded"}
    again = roll_forward_journals(journals, exported)
    assert set(again.filter(pl.col("match_id") == "m_a")["status"]) == {"exported"}
    good, bad = split_valid(state, JournalProposals)
    assert bad.height == 0


def test_exports_are_formula_safe_and_exact(journals, tmp_path: Path) -> None:
    nasty = journals.head(2).with_columns(
        pl.Series("description", ['=HYPERLINK("http://x","y")', "-5 fee"]),
        pl.Series("match_id", ["@SUM(A1)", "\tTAB"]),
    )
    export_csv(nasty, tmp_path / "j.csv")
    with (tmp_path / "j.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["description"] == '\'=HYPERLINK("http://x","y")'
    assert rows[1]["description"] == "'-5 fee"
    assert rows[0]["match_id"] == "'@SUM(A1)" and rows[1]["match_id"] == "'\tTAB"
    assert rows[0]["debit"] == str(journals["debit"][0])  # numbers untouched, exact
    assert safe_cell("+1") == "'+1" and safe_cell("plain") == "plain" and safe_cell(None) is None

    export_json(journals, tmp_path / "j.json")
    data = json.loads((tmp_path / "j.json").read_text())
    assert len(data["journals"]) == journals["journal_id"].n_unique()
    first = data["journals"][0]
    assert isinstance(first["lines"][0]["debit"], str)
    total = sum(Decimal(line["debit"]) - Decimal(line["credit"]) for line in first["lines"])
    assert total == 0
