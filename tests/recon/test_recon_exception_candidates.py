"""Exception candidates from matching results and canonical tables, with known truth."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import polars as pl
from recon_builders import canonical, result

from contracts.recon import Exceptions
from finance_pipeline.exceptions import CANDIDATE_SCHEMA, exception_id, roll_forward
from finance_pipeline.recon_exceptions import (
    carry_forward_matches,
    combine_candidates,
    matching_candidates,
    reference_candidates,
)
from finance_pipeline.validation import split_valid

D1, D2, D3 = date(2026, 10, 26), date(2026, 10, 27), date(2026, 10, 28)
ALL = {
    "cash_application",
    "bank_reconciliation",
    "processor_settlement",
    "three_way_match",
    "payroll_to_ledger",
    "ingest",
}


def _cash_tables() -> dict[str, pl.DataFrame]:
    pay = [
        # applied: pays US-INV-1 in full
        {
            "payment_id": "P-1",
            "entity_id": "US01",
            "method": "ach",
            "received_date": D1,
            "amount": Decimal("100.00"),
            "currency": "USD",
            "customer_id": "CUST-1",
            "payer_name": "Acme Corp",
            "reference": "US-INV-1",
        },
        # a payer nobody knows, quoting an invoice nobody issued
        {
            "payment_id": "P-2",
            "entity_id": "US01",
            "method": "ach",
            "received_date": D1,
            "amount": Decimal("70.00"),
            "currency": "USD",
            "payer_name": "Unknown Ltd",
            "reference": "US-INV-77",
        },
        # short by 15.00 on US-INV-2 (beyond any write-off tolerance)
        {
            "payment_id": "P-3",
            "entity_id": "US01",
            "method": "ach",
            "received_date": D1,
            "amount": Decimal("85.00"),
            "currency": "USD",
            "customer_id": "CUST-1",
            "payer_name": "Acme Corp",
            "reference": "US-INV-2",
        },
        # a known customer, no reference at all
        {
            "payment_id": "P-4",
            "entity_id": "US01",
            "method": "wire",
            "received_date": D1,
            "amount": Decimal("40.00"),
            "currency": "USD",
            "customer_id": "CUST-1",
            "payer_name": "Acme Corp",
        },
        # P-1 again two days later: same payer, amount and reference
        {
            "payment_id": "P-6",
            "entity_id": "US01",
            "method": "ach",
            "received_date": D3,
            "amount": Decimal("100.00"),
            "currency": "USD",
            "customer_id": "CUST-1",
            "payer_name": "Acme Corp",
            "reference": "US-INV-1",
        },
    ]
    invoices = [
        {
            "invoice_id": "INV-1",
            "entity_id": "US01",
            "customer_id": "CUST-1",
            "invoice_number": "US-INV-1",
            "issue_date": date(2026, 10, 1),
            "due_date": date(2026, 10, 31),
            "amount": Decimal("100.00"),
            "open_amount": Decimal("100.00"),
            "currency": "USD",
            "status": "open",
        },
        {
            "invoice_id": "INV-2",
            "entity_id": "US01",
            "customer_id": "CUST-1",
            "invoice_number": "US-INV-2",
            "issue_date": date(2026, 10, 1),
            "due_date": date(2026, 10, 31),
            "amount": Decimal("100.00"),
            "open_amount": Decimal("100.00"),
            "currency": "USD",
            "status": "open",
        },
    ]
    resent = {**invoices[0], "invoice_id": "INV-9"}  # the ERP sent US-INV-1 again
    customers = [
        {
            "customer_id": "CUST-1",
            "entity_id": "US01",
            "name": "Acme Corp",
            "currency": "USD",
            "payer_account": "ACCT-1",
        }
    ]
    return {
        "payments": canonical("payments", pay),
        "invoices": pl.concat(
            [canonical("invoices", invoices), canonical("invoices", [resent], day=D2)]
        ),
        "customers": canonical("customers", customers),
    }


def _cash_result(matched_p3: bool = False):
    members = [
        {
            "match_id": "m1",
            "side": "left",
            "record_type": "payments",
            "record_id": "P-1",
            "amount_applied": Decimal("100.00"),
            "currency": "USD",
        },
        {
            "match_id": "m1",
            "side": "right",
            "record_type": "invoices",
            "record_id": "INV-1",
            "amount_applied": Decimal("100.00"),
            "currency": "USD",
        },
    ]
    unmatched = [
        {
            "record_type": "payments",
            "record_id": pid,
            "source_system": "test",
            "source_id": pid,
            "side": "left",
            "entity": "US01",
            "currency": "USD",
            "amount": amount,
            "reason": reason,
        }
        for pid, amount, reason in (
            ("P-2", Decimal("70.00"), "no_candidate: no rule found a counterpart"),
            (
                "P-3",
                Decimal("85.00"),
                "amount_variance: P-3 and US-INV-2 match on refs but 85.00 vs 100.00",
            ),
            ("P-4", Decimal("40.00"), "no_candidate: no rule found a counterpart"),
            ("P-6", Decimal("100.00"), "no_candidate: no rule found a counterpart"),
        )
        if not (matched_p3 and pid == "P-3")
    ]
    matches = [{"match_id": "m1"}]
    if matched_p3:  # a corrected delivery: the customer paid the balance, P-3 now applies
        matches.append({"match_id": "m3"})
        members += [
            {
                "match_id": "m3",
                "side": "left",
                "record_type": "payments",
                "record_id": "P-3",
                "amount_applied": Decimal("85.00"),
                "currency": "USD",
            },
            {
                "match_id": "m3",
                "side": "right",
                "record_type": "invoices",
                "record_id": "INV-2",
                "amount_applied": Decimal("85.00"),
                "currency": "USD",
            },
        ]
    return result("cash_application", matches, members, unmatched)


def _types(frame: pl.DataFrame) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for rid, kind in frame.select("record_id", "exception_type").iter_rows():
        out.setdefault(rid, set()).add(kind)
    return out


def test_planted_cash_exceptions_get_their_type_and_owner() -> None:
    tables = _cash_tables()
    cands = matching_candidates("cash_application", _cash_result(), tables, D3)
    assert cands.schema == pl.Schema(CANDIDATE_SCHEMA)
    types = _types(cands)
    assert types["P-2"] == {"unknown_customer"}
    assert types["P-3"] == {"amount_variance"}
    assert types["P-4"] == {"missing_reference"}
    # The duplicate is a duplicate, not also "unapplied cash".
    assert types["P-6"] == {"duplicate_payment"}
    assert types["INV-9"] == {"duplicate_invoice"}
    assert "P-1" not in types and "INV-1" not in types

    state = roll_forward(cands, None, D3, ALL)
    good, bad = split_valid(state, Exceptions)
    assert bad.height == 0
    row = state.filter(pl.col("record_id") == "P-6").row(0, named=True)
    assert row["owner_role"] == "ar" and row["severity"] == "high"
    assert row["amount"] == Decimal("100.0000") and row["currency"] == "USD"
    assert "P-1" in row["detail"] and row["suggested_action"]
    assert row["exception_id"] == exception_id(
        "cash_application", "duplicate_payment", "payments", "P-6"
    )


def test_rerun_same_day_keeps_ids_and_counts_and_later_delivery_resolves() -> None:
    tables = _cash_tables()
    day1 = roll_forward(
        matching_candidates("cash_application", _cash_result(), tables, D1), None, D1, ALL
    )
    again = roll_forward(
        matching_candidates("cash_application", _cash_result(), tables, D1), None, D1, ALL
    )
    assert again.equals(day1)

    day2 = roll_forward(
        matching_candidates("cash_application", _cash_result(), tables, D2), day1, D2, ALL
    )
    assert day2["exception_id"].to_list() == day1["exception_id"].to_list()
    assert set(day2["age_days"].to_list()) == {1}
    assert (day2["first_seen"] == D1).all()
    rerun2 = roll_forward(
        matching_candidates("cash_application", _cash_result(), tables, D2), day1, D2, ALL
    )
    assert rerun2.equals(day2)

    day3 = roll_forward(
        matching_candidates("cash_application", _cash_result(matched_p3=True), tables, D3),
        day2,
        D3,
        ALL,
    )
    p3 = day3.filter(pl.col("record_id") == "P-3").row(0, named=True)
    assert p3["status"] == "resolved" and p3["resolved_on"] == D3
    assert "no longer detected" in p3["resolution"]
    others = day3.filter(pl.col("record_id") != "P-3")
    assert (others["status"] == "open").all() and set(others["age_days"].to_list()) == {2}


def _bank_tables() -> dict[str, pl.DataFrame]:
    bank = [
        {
            "transaction_id": "bt-1",
            "account_number": "111",
            "entity_id": "US01",
            "file_format": "bai2",
            "booking_date": D2,
            "amount": Decimal("-187.45"),
            "currency": "USD",
            "status": "BOOK",
            "reversal": False,
            "type_code": "698",
        },
        {
            "transaction_id": "bt-2",
            "account_number": "111",
            "entity_id": "US01",
            "file_format": "bai2",
            "booking_date": D2,
            "amount": Decimal("10.00"),
            "currency": "USD",
            "status": "PDNG",
            "reversal": False,
        },
    ]
    gl = [
        {
            "gl_line_id": f"gl-{n}",
            "journal_id": f"J{n}",
            "line_no": 1,
            "entity_id": "US01",
            "posting_date": posted,
            "gl_account": "1010",
            "debit": Decimal(0),
            "credit": Decimal("500.00"),
            "currency": "USD",
            "description": "Check 20455",
        }
        for n, posted in ((1, date(2026, 10, 1)), (2, D2))
    ]
    return {
        "bank_transactions": canonical("bank_transactions", bank),
        "gl_journal_lines": canonical("gl_journal_lines", gl),
    }


def test_bank_lines_without_ledger_entry_and_old_outstanding_items() -> None:
    unmatched = [
        {
            "record_type": "bank_transactions",
            "record_id": rid,
            "source_system": "test",
            "source_id": rid,
            "side": "left",
            "entity": None,
            "currency": "USD",
            "amount": amount,
            "reason": "no_candidate: no rule found a counterpart",
        }
        for rid, amount in (("bt-1", Decimal("-187.45")), ("bt-2", Decimal("10.00")))
    ] + [
        {
            "record_type": "gl_journal_lines",
            "record_id": rid,
            "source_system": "test",
            "source_id": rid,
            "side": "right",
            "entity": "US01",
            "currency": "USD",
            "amount": Decimal("-500.00"),
            "reason": "no_candidate: no rule found a counterpart",
        }
        for rid in ("gl-1", "gl-2")
    ]
    res = result("bank_reconciliation", unmatched=unmatched)
    cands = matching_candidates("bank_reconciliation", res, _bank_tables(), D3)
    assert _types(cands) == {
        "bt-1": {"unmatched_bank_transaction"},  # booked, no GL: the bank fee
        "gl-1": {"unmatched_bank_transaction"},  # a check outstanding for four weeks
    }  # bt-2 is only pending; gl-2 is two days old (a normal outstanding item)
    state = roll_forward(cands, None, D3, ALL)
    assert set(state["owner_role"].to_list()) == {"treasury"}
    assert state.filter(pl.col("record_id") == "bt-1")["entity"].to_list() == ["US01"]


def _payout_tables() -> dict[str, pl.DataFrame]:
    payouts = [
        {
            "payout_id": pid,
            "entity_id": "US01",
            "amount": Decimal("500.00"),
            "currency": "USD",
            "created_date": D1,
            "arrival_date": arrival,
            "status": status,
        }
        for pid, arrival, status in (
            ("po_wait", D1, "in_transit"),
            ("po_short", D1, "paid"),
        )
    ]
    bank = [
        {
            "transaction_id": "bt-s",
            "account_number": "111",
            "entity_id": "US01",
            "file_format": "bai2",
            "booking_date": D1,
            "amount": Decimal("480.00"),
            "currency": "USD",
            "status": "BOOK",
            "reversal": False,
            "counterparty_name": "STRIPE",
            "remittance_text": "STRIPE TRANSFER",
        }
    ]
    frame = canonical("payouts", payouts).with_columns(pl.lit("stripe").alias("source_system"))
    return {"payouts": frame, "bank_transactions": canonical("bank_transactions", bank)}


def _payout_result():
    return result(
        "processor_settlement",
        matches=[{"match_id": "mp"}],
        members=[
            {
                "match_id": "mp",
                "side": "left",
                "record_type": "payouts",
                "record_id": "po_wait",
                "amount_applied": Decimal("500.00"),
                "currency": "USD",
            },
            {
                "match_id": "mp",
                "side": "right",
                "record_type": "processor_transactions",
                "record_id": "txn_1",
                "amount_applied": Decimal("500.00"),
                "currency": "USD",
            },
        ],
        unmatched=[
            {
                "record_type": "payouts",
                "record_id": "po_wait",
                "source_system": "stripe",
                "source_id": "po_wait",
                "side": "left",
                "entity": "US01",
                "currency": "USD",
                "amount": Decimal("500.00"),
                "reason": "missing_leg: matched, but no bank_deposits counterpart found",
            },
            {
                "record_type": "payouts",
                "record_id": "po_short",
                "source_system": "stripe",
                "source_id": "po_short",
                "side": "left",
                "entity": "US01",
                "currency": "USD",
                "amount": Decimal("500.00"),
                "reason": "amount_variance: payout po_short and its balance transactions differ",
            },
            {
                "record_type": "bank_transactions",
                "record_id": "bt-s",
                "source_system": "test",
                "source_id": "bt-s",
                "side": "right",
                "entity": "US01",
                "currency": "USD",
                "amount": Decimal("480.00"),
                "reason": "no_candidate: no rule found a counterpart",
            },
        ],
    )


def test_payout_timing_is_raised_only_after_its_window() -> None:
    tables = _payout_tables()
    # Arrival Monday 26th, one business day of grace: still on its way on Tuesday.
    on_time = _types(matching_candidates("processor_settlement", _payout_result(), tables, D2))
    assert "po_wait" not in on_time
    assert on_time["po_short"] == {"payout_mismatch"}
    assert on_time["bt-s"] == {"payout_mismatch"}  # a Stripe deposit that matches no payout

    late = matching_candidates("processor_settlement", _payout_result(), tables, D3)
    assert _types(late)["po_wait"] == {"settlement_timing"}
    state = roll_forward(late, None, D3, ALL)
    row = state.filter(pl.col("record_id") == "po_wait").row(0, named=True)
    assert row["owner_role"] == "treasury" and row["severity"] == "low"
    assert "2026-10-27" in row["detail"]  # the expected-by date

    strict = {"exceptions": {"settlement_windows": {"stripe": {"grace_business_days": 0}}}}
    early = matching_candidates("processor_settlement", _payout_result(), tables, D2, strict)
    assert _types(early)["po_wait"] == {"settlement_timing"}


def test_three_way_and_payroll_candidates() -> None:
    bills = canonical(
        "bills",
        [
            {
                "bill_line_id": "VB-1-1",
                "bill_number": "VB-1",
                "line_no": 1,
                "entity_id": "US01",
                "po_number": "PO-1",
                "po_line_no": 1,
                "bill_date": D1,
                "due_date": D3,
                "quantity": Decimal(5),
                "unit_price": Decimal(10),
                "amount": Decimal(50),
                "currency": "USD",
            }
        ],
    )
    res = result(
        "three_way_match",
        matches=[{"match_id": "tw", "status": "suggested", "rule_id": "tw_bill_variance"}],
        members=[
            {
                "match_id": "tw",
                "side": "left",
                "record_type": "purchase_orders",
                "record_id": "PO-1-1",
                "amount_applied": Decimal(40),
                "currency": "USD",
            },
            {
                "match_id": "tw",
                "side": "right",
                "record_type": "bills",
                "record_id": "VB-1-1",
                "amount_applied": Decimal(50),
                "currency": "USD",
            },
        ],
    )
    cands = matching_candidates("three_way_match", res, {"bills": bills}, D1)
    assert _types(cands) == {"VB-1-1": {"three_way_variance"}}
    assert "PO-1" in cands["detail"][0]

    entries = canonical(
        "payroll_entries",
        [
            {
                "payroll_entry_id": f"PR-{e}-gross",
                "entity_id": "DE01",
                "pay_period_start": D1,
                "pay_period_end": D1,
                "pay_date": D1,
                "employee_id": e,
                "cost_center_id": cc,
                "component": "gross",
                "amount": Decimal(1000),
                "currency": "EUR",
            }
            for e, cc in (("E1", "DE100"), ("E2", "DE999"))
        ],
    )
    centers = canonical(
        "cost_centers", [{"entity_id": "DE01", "cost_center_id": "DE100", "name": "Sales"}]
    )
    res = result(
        "payroll_to_ledger",
        matches=[{"match_id": "pl", "status": "suggested"}],
        members=[
            {
                "match_id": "pl",
                "side": "left",
                "record_type": "payroll_entries",
                "record_id": f"PR-{e}-gross",
                "amount_applied": Decimal(1000),
                "currency": "EUR",
            }
            for e in ("E1", "E2")
        ]
        + [
            {
                "match_id": "pl",
                "side": "right",
                "record_type": "gl_journal_lines",
                "record_id": "GL-1",
                "amount_applied": Decimal(2000),
                "currency": "EUR",
            }
        ],
    )
    cands = matching_candidates(
        "payroll_to_ledger", res, {"payroll_entries": entries, "cost_centers": centers}, D1
    )
    # The group is explained by E2's unknown cost centre: only E2 is raised.
    assert _types(cands) == {"PR-E2-gross": {"invalid_cost_center"}}


def test_reference_flags_become_typed_candidates() -> None:
    flags = pl.DataFrame(
        {
            "record_type": ["invoices", "bills", "payroll_entries", "invoices", "orders"],
            "record_id": ["INV-1", "VB-1-1", "PR-1", "INV-1", "O-1"],
            "source_system": ["netsuite"] * 5,
            "source_id": ["INV-1", "VB-1-1", "PR-1", "INV-1", "O-1"],
            "flag": [
                "unknown_customer",
                "unknown_vendor",
                "invalid_cost_center",
                "missing_tax_code",
                "something_new",
            ],
            "detail": ["customer_id 'C9' is not in customers", "vendor", "cc", "tax", "?"],
            "business_date": [D1] * 5,
        }
    )
    tables = _cash_tables()
    cands = reference_candidates(flags, tables)
    got = {(r, t, w) for r, t, w in cands.select("record_id", "exception_type", "workflow").rows()}
    assert got == {
        ("INV-1", "unknown_customer", "cash_application"),
        ("INV-1", "missing_tax_code", "cash_application"),
        ("VB-1-1", "unknown_vendor", "three_way_match"),
        ("PR-1", "invalid_cost_center", "payroll_to_ledger"),
    }
    inv = cands.filter(pl.col("exception_type") == "unknown_customer").row(0, named=True)
    assert inv["entity"] == "US01" and inv["amount"] == Decimal("100.0000")
    state = roll_forward(cands, None, D1, ALL)
    owners = dict(state.select("exception_type", "owner_role").rows())
    assert owners["unknown_vendor"] == "ap" and owners["invalid_cost_center"] == "payroll"


def test_combined_candidates_keep_one_row_per_problem() -> None:
    base = {
        "workflow": "cash_application",
        "record_type": "payments",
        "record_id": "P-2",
        "source_system": "test",
        "source_id": "P-2",
        "entity": "US01",
        "currency": "USD",
        "amount": Decimal("70.00"),
    }
    frame = lambda rows: pl.DataFrame(rows, schema=CANDIDATE_SCHEMA, orient="row")  # noqa: E731
    combined = combine_candidates(
        [
            frame([{**base, "exception_type": "unmatched_payment", "detail": "a"}]),
            frame(
                [
                    {**base, "exception_type": "unknown_customer", "detail": "b"},
                    {**base, "exception_type": "unknown_customer", "detail": "c"},
                ]
            ),
        ]
    )
    assert combined.select("exception_type", "detail").rows() == [("unknown_customer", "b")]


def test_carry_forward_keeps_the_first_run_of_each_match() -> None:
    first = result("cash_application", matches=[{"match_id": "m1"}], run_id="run-1").matches
    today = result(
        "cash_application", matches=[{"match_id": "m1"}, {"match_id": "m2"}], run_id="run-2"
    ).matches.with_columns(pl.lit(datetime(2026, 10, 27)).alias("created_at"))
    kept = carry_forward_matches(today, [first, None])
    assert dict(kept.select("match_id", "run_id").rows()) == {"m1": "run-1", "m2": "run-2"}
    assert kept.schema == today.schema


def test_with_the_matching_engine_a_later_delivery_resolves_the_exception() -> None:
    from finance_pipeline.matching.engine import run_workflow

    def run(tables: dict[str, pl.DataFrame], day: date, previous: pl.DataFrame | None):
        res = run_workflow(
            "cash_application",
            tables,
            run_id=f"run-{day}",
            created_at=datetime.combine(day, datetime.min.time()),
        )
        cands = matching_candidates("cash_application", res, tables, day)
        return roll_forward(cands, previous, day, {"cash_application"})

    tables = _cash_tables()
    day1 = run(tables, D3, None)
    types = {r: t for r, t in day1.select("record_id", "exception_type").rows()}
    assert types["P-2"] == "unknown_customer"  # planted: a payer in no master data
    assert types["P-3"] == "amount_variance"  # planted: 85.00 paid on a 100.00 invoice
    assert types["P-6"] == "duplicate_payment" and types["INV-9"] == "duplicate_invoice"
    assert day1.filter(pl.col("record_id") == "P-2")["owner_role"].to_list() == ["ar"]
    assert run(tables, D3, None).equals(day1)  # rerun: same ids, same counts

    # The ERP delivers the invoice P-2 was paying: the payment applies, the exception resolves.
    late = canonical(
        "invoices",
        [
            {
                "invoice_id": "INV-77",
                "entity_id": "US01",
                "invoice_number": "US-INV-77",
                "issue_date": date(2026, 10, 2),
                "due_date": date(2026, 11, 1),
                "amount": Decimal("70.00"),
                "open_amount": Decimal("70.00"),
                "currency": "USD",
                "status": "open",
            }
        ],
        day=date(2026, 10, 29),
    )
    later = {**tables, "invoices": pl.concat([tables["invoices"], late])}
    day2 = run(later, date(2026, 10, 29), day1)
    p2 = day2.filter(pl.col("record_id") == "P-2").row(0, named=True)
    assert p2["status"] == "resolved" and p2["resolved_on"] == date(2026, 10, 29)
    kept = day2.filter(pl.col("record_id") == "P-6").row(0, named=True)
    assert kept["status"] == "open" and kept["first_seen"] == D3 and kept["age_days"] == 1


def test_stored_matching_output_splits_back_per_workflow() -> None:
    from finance_pipeline.recon_exceptions import results_by_workflow

    cash, bank = (
        _cash_result(),
        result(
            "bank_reconciliation",
            unmatched=[
                {
                    "record_type": "bank_transactions",
                    "record_id": "bt-1",
                    "source_system": "t",
                    "source_id": "bt-1",
                    "side": "left",
                    "entity": "US01",
                    "currency": "USD",
                    "amount": Decimal("1.00"),
                    "reason": "no_candidate: none",
                }
            ],
        ),
    )
    unmatched = pl.concat(
        [
            cash.unmatched.with_columns(pl.lit("cash_application").alias("workflow")),
            bank.unmatched.with_columns(pl.lit("bank_reconciliation").alias("workflow")),
        ]
    )
    split = results_by_workflow(
        pl.concat([cash.matches, bank.matches]),
        pl.concat([cash.members, bank.members]),
        unmatched,
    )
    assert sorted(split) == ["bank_reconciliation", "cash_application"]
    assert split["cash_application"].members.equals(cash.members)
    assert split["bank_reconciliation"].unmatched.equals(bank.unmatched)
    assert split["bank_reconciliation"].matches.height == 0
