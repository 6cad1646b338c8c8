"""Small synthetic canonical tables with exactly known truth, for the matching tests.

Each scenario returns canonical frames (contract schemas) and the expected groups as
(left record ids, right record ids), so tests can compute precision and recall.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import polars as pl

from contracts.canonical import CANONICAL_MODELS
from finance_pipeline.validation import frame_from_rows

DAY = date(2026, 10, 26)
RUN = {"run_id": "run-test", "created_at": datetime(2026, 10, 27, 6, 0)}
ID_COLUMNS = {
    "customers": "customer_id",
    "invoices": "invoice_id",
    "payments": "payment_id",
    "remittance_lines": "remittance_id",
    "bank_transactions": "transaction_id",
    "bank_accounts": "bank_account_id",
    "gl_journal_lines": "gl_line_id",
    "payouts": "payout_id",
    "processor_transactions": "processor_txn_id",
    "purchase_orders": "po_line_id",
    "receipts": "receipt_line_id",
    "bills": "bill_line_id",
    "payroll_entries": "payroll_entry_id",
}
Truth = set[tuple[frozenset[str], frozenset[str]]]


def d(text: str) -> Decimal:
    return Decimal(text)


def table(name: str, rows: Iterable[Mapping[str, Any]], system: str = "test") -> pl.DataFrame:
    """Rows to a frame of the canonical contract, lineage filled in."""
    id_col = ID_COLUMNS.get(name)
    full = []
    for row in rows:
        base = {"business_date": DAY, "source_system": system}
        if id_col:
            base["source_id"] = row[id_col]
        full.append({**base, **row})
    return frame_from_rows(full, CANONICAL_MODELS[name])


def bank_line(tid: str, amount: str, **extra: Any) -> dict[str, Any]:
    row = {
        "transaction_id": tid,
        "bank_account_id": "US01-OPER",
        "account_number": "4820017731",
        "entity_id": "US01",
        "file_format": "bai2",
        "booking_date": DAY,
        "value_date": DAY,
        "amount": d(amount),
        "currency": "USD",
        "status": "BOOK",
        "reversal": False,
        "type_code": "165" if Decimal(amount) > 0 else "451",
    }
    row.update(extra)
    return row


def bank_accounts() -> pl.DataFrame:
    return table(
        "bank_accounts",
        [
            {
                "bank_account_id": "US01-OPER",
                "entity_id": "US01",
                "bank_name": "FNB",
                "account_number": "4820017731",
                "currency": "USD",
                "gl_account": "1010",
            },
            {
                "bank_account_id": "US01-LBX",
                "entity_id": "US01",
                "bank_name": "FNB",
                "account_number": "4820017759",
                "currency": "USD",
                "gl_account": "1020",
            },
        ],
    )


def gl_line(gid: str, account: str, debit: str, credit: str, **extra: Any) -> dict[str, Any]:
    row = {
        "gl_line_id": gid,
        "journal_id": gid.rsplit("-", 1)[0],
        "line_no": 1,
        "entity_id": "US01",
        "posting_date": DAY,
        "gl_account": account,
        "debit": d(debit),
        "credit": d(credit),
        "currency": "USD",
    }
    row.update(extra)
    return row


# --- cash application ------------------------------------------------------------------------


def cash_application() -> tuple[dict[str, pl.DataFrame], Truth]:
    """Every situation the issue names, with the answer key.

    * P1 remits two references but pays one invoice; P2 pays INV-20001. Greedy-first gives
      INV-20001 to P1 (its best score) and leaves P2 unmatched; the best assignment is
      P1-INV-20002, P2-INV-20001.
    * P3 is one check for three invoices (INV-10002/3/4), while INV-10001 alone equals it.
    * P4 remits the typo'd reference "INV-10O23"; INV-10024 has the same amount.
    * P5 pays INV-10030 short by 3.17 (within tolerance) and says why; P6 pays INV-10031
      7.5% short (beyond tolerance: only ever suggested).
    * P7 comes from an unknown payer with no reference and happens to equal INV-10040:
      an amount-only coincidence that must not auto-match.
    * P8 has no reference; its payer account is customer C1's, and it equals INV-10005.
    * P9 pays the USD invoice RE-2026-00050 in EUR at the day's rate.
    """
    customers = table(
        "customers",
        [
            {
                "customer_id": "C1",
                "entity_id": "US01",
                "name": "Acme Corp",
                "currency": "USD",
                "payer_account": "011000015/1111111111",
            },
            {
                "customer_id": "C2",
                "entity_id": "US01",
                "name": "Globex LLC",
                "currency": "USD",
                "payer_account": "021000021/2222222222",
            },
            {
                "customer_id": "C3",
                "entity_id": "US01",
                "name": "Initech Inc",
                "currency": "USD",
                "payer_account": "031000053/3333333333",
            },
            {
                "customer_id": "C9",
                "entity_id": "DE01",
                "name": "Northstar Systems Inc.",
                "currency": "USD",
                "payer_account": "DE89370400440532013000",
            },
        ],
    )

    def inv(iid: str, number: str, cust: str, amount: str, issued: int, **extra: Any) -> dict:
        row = {
            "invoice_id": iid,
            "entity_id": "US01",
            "customer_id": cust,
            "invoice_number": number,
            "issue_date": DAY - timedelta(days=issued),
            "due_date": DAY + timedelta(days=30 - issued),
            "amount": d(amount),
            "open_amount": d(amount),
            "currency": "USD",
            "status": "open",
        }
        row.update(extra)
        return row

    invoices = table(
        "invoices",
        [
            inv("I-20001", "INV-20001", "C2", "500.00", 10),
            inv("I-20002", "INV-20002", "C2", "500.00", 200),
            inv("I-10001", "INV-10001", "C1", "1000.00", 20),
            inv("I-10002", "INV-10002", "C1", "250.00", 20),
            inv("I-10003", "INV-10003", "C1", "400.00", 20),
            inv("I-10004", "INV-10004", "C1", "350.00", 20),
            inv("I-10005", "INV-10005", "C1", "1234.00", 15),
            inv("I-10023", "INV-10023", "C2", "777.77", 12),
            inv("I-10024", "INV-10024", "C3", "777.77", 12),
            inv("I-10030", "INV-10030", "C2", "2000.00", 30),
            inv("I-10031", "INV-10031", "C2", "5000.00", 30),
            inv("I-10040", "INV-10040", "C3", "3210.00", 25),
            inv("I-10050", "RE-2026-00050", "C9", "1000.00", 10, entity_id="DE01"),
        ],
        system="netsuite",
    )

    def pay(pid: str, amount: str, method: str = "lockbox", **extra: Any) -> dict:
        row = {
            "payment_id": pid,
            "entity_id": "US01",
            "method": method,
            "received_date": DAY,
            "amount": d(amount),
            "currency": "USD",
        }
        row.update(extra)
        return row

    payments = table(
        "payments",
        [
            pay("P1", "500.00", reference="INV-20001", payer_name="GLOBEX LLC"),
            pay("P2", "500.00", reference="INV-20001", payer_name="GLOBEX LLC"),
            pay(
                "P3",
                "1000.00",
                reference="INV-10002",
                payer_name="ACME CORP",
                payer_account="011000015/1111111111",
            ),
            pay("P5", "1996.83", reference="INV-10030", payer_name="GLOBEX LLC"),
            pay("P6", "4625.00", reference="INV-10031", payer_name="GLOBEX LLC"),
        ],
        system="lockbox",
    )
    remittance = table(
        "remittance_lines",
        [
            {
                "remittance_id": "R1a",
                "payment_id": "P1",
                "line_no": 1,
                "reference": "INV-20001",
                "currency": "USD",
            },
            {
                "remittance_id": "R1b",
                "payment_id": "P1",
                "line_no": 2,
                "reference": "INV-20002",
                "currency": "USD",
            },
            {
                "remittance_id": "R2",
                "payment_id": "P2",
                "line_no": 1,
                "reference": "INV-20001",
                "currency": "USD",
            },
            {
                "remittance_id": "R3a",
                "payment_id": "P3",
                "line_no": 1,
                "reference": "INV-10002",
                "currency": "USD",
            },
            {
                "remittance_id": "R3b",
                "payment_id": "P3",
                "line_no": 2,
                "reference": "INV-10003",
                "currency": "USD",
            },
            {
                "remittance_id": "R3c",
                "payment_id": "P3",
                "line_no": 3,
                "reference": "INV-10004",
                "currency": "USD",
            },
            {
                "remittance_id": "R5",
                "payment_id": "P5",
                "line_no": 1,
                "reference": "INV-10030 SHORT PAID DAMAGED GOODS",
                "currency": "USD",
            },
            {
                "remittance_id": "R6",
                "payment_id": "P6",
                "line_no": 1,
                "reference": "INV-10031",
                "currency": "USD",
            },
        ],
    )
    bank = table(
        "bank_transactions",
        [
            bank_line(
                "B4",
                "777.77",
                remittance_text=(
                    "ACH CREDIT GLOBEX LLC ORIG CO NAME:GLOBEX LLC ORIG ID:1 "
                    "RMR*IV*INV-10O23**777.77\\"
                ),
            ),
            bank_line("B7", "3210.00", remittance_text="ACH CREDIT UNKNOWN TRADING CO"),
            bank_line(
                "B8",
                "1234.00",
                type_code="195",
                remittance_text=(
                    "INCOMING WIRE TRANSFER ORG:ACME CORP ORG ACCT:011000015/1111111111"
                ),
            ),
            bank_line(
                "B9",
                "918.00",
                entity_id="DE01",
                currency="EUR",
                bank_account_id="DE01-EUR-OPER",
                account_number="DE48500105170532013000",
                file_format="camt.053",
                type_code="PMNT/RCDT/XBCT",
                counterparty_name="Northstar Systems Inc.",
                remittance_text="RE-2026-00050",
            ),
            # not customer cash: the lockbox deposit and a processor payout
            bank_line(
                "BL",
                "3996.83",
                type_code="115",
                bank_account_id="US01-LBX",
                remittance_text="LOCKBOX DEPOSIT 0071234 1 BATCHES 3 ITEMS",
            ),
            bank_line("BS", "410.00", remittance_text="ACH CREDIT STRIPE ORIG CO NAME:STRIPE"),
        ],
        system="first_national",
    )
    fx = table(
        "fx_rates",
        [
            {
                "rate_date": DAY,
                "base_currency": "USD",
                "quote_currency": "EUR",
                "rate": d("0.91800000"),
                "source_id": "fx1",
            }
        ],
    )
    truth: Truth = {
        (frozenset({"payments:P1"}), frozenset({"invoices:I-20002"})),
        (frozenset({"payments:P2"}), frozenset({"invoices:I-20001"})),
        (
            frozenset({"payments:P3"}),
            frozenset({"invoices:I-10002", "invoices:I-10003", "invoices:I-10004"}),
        ),
        (frozenset({"bank_transactions:B4"}), frozenset({"invoices:I-10023"})),
        (frozenset({"payments:P5"}), frozenset({"invoices:I-10030"})),
        (frozenset({"payments:P6"}), frozenset({"invoices:I-10031"})),
        (frozenset({"bank_transactions:B8"}), frozenset({"invoices:I-10005"})),
        (frozenset({"bank_transactions:B9"}), frozenset({"invoices:I-10050"})),
    }
    tables = {
        "customers": customers,
        "invoices": invoices,
        "payments": payments,
        "remittance_lines": remittance,
        "bank_transactions": bank,
        "fx_rates": fx,
    }
    return tables, truth


# --- scoring helpers -------------------------------------------------------------------------


def groups(
    members: pl.DataFrame, matches: pl.DataFrame | None = None, status: str | None = None
) -> Truth:
    """The (left ids, right ids) of every match, optionally only those with ``status``."""
    frame = members
    if status is not None and matches is not None:
        keep = matches.filter(pl.col("status") == status).select("match_id")
        frame = members.join(keep, on="match_id")
    out: dict[str, tuple[set[str], set[str]]] = {}
    for mid, side, rtype, rid in frame.select(
        "match_id", "side", "record_type", "record_id"
    ).iter_rows():
        entry = out.setdefault(mid, (set(), set()))
        entry[0 if side == "left" else 1].add(f"{rtype}:{rid}")
    return {(frozenset(a), frozenset(b)) for a, b in out.values()}


def pairs(found: Truth) -> set[frozenset[str]]:
    return {frozenset((a, b)) for left, right in found for a in left for b in right}


def precision_recall(found: Truth, truth: Truth) -> tuple[float, float]:
    """Pairwise precision and recall (a left and a right record placed together)."""
    got, want = pairs(found), pairs(truth)
    hit = len(got & want)
    return (hit / len(got) if got else 1.0, hit / len(want) if want else 1.0)


def shuffled(tables: Mapping[str, pl.DataFrame], seed: int) -> dict[str, pl.DataFrame]:
    """Every table with its rows in another order."""
    rng = random.Random(seed)
    return {
        name: frame.sample(fraction=1.0, shuffle=True, seed=rng.randrange(2**31))
        for name, frame in tables.items()
    }


# --- bank reconciliation ---------------------------------------------------------------------


def bank_reconciliation() -> tuple[dict[str, pl.DataFrame], Truth]:
    """Receipts, a wire net of its fee, a lockbox deposit, a vendor payment booked two days
    before the bank saw it, payroll funding, a processor payout found by its descriptor, an
    unbooked bank fee and an outstanding check."""
    bank = table(
        "bank_transactions",
        [
            bank_line("B1", "100.00", remittance_text="ACH CREDIT ACME RMR*IV*INV-90001**100.00\\"),
            bank_line(
                "B2",
                "4975.00",
                type_code="195",
                remittance_text="INCOMING WIRE TRANSFER ORG:GLOBEX OBI:INV-90002",
            ),
            bank_line(
                "B3",
                "1500.00",
                type_code="115",
                bank_account_id="US01-LBX",
                account_number="4820017759",
                customer_reference="0071234",
                remittance_text="LOCKBOX DEPOSIT 0071234 1 BATCHES 2 ITEMS",
            ),
            bank_line(
                "B4",
                "-800.00",
                customer_reference="PAY-US01-000001",
                remittance_text="ACH DEBIT HARBOR FOODS CO ENTRY DESCR:VENDOR PMT",
            ),
            bank_line(
                "B5",
                "-50000.00",
                customer_reference="PR-US01-202610",
                remittance_text="ACH DEBIT PAYROLL",
            ),
            bank_line(
                "B6",
                "2590.14",
                remittance_text=(
                    "ACH CREDIT STRIPE ORIG CO NAME:STRIPE IND ID:ST-CNJGA4T2C0YQ IND NAME:NW"
                ),
            ),
            bank_line("B7", "-15.00", type_code="698", remittance_text="SERVICE CHARGE"),
        ],
        system="first_national",
    )
    gl = table(
        "gl_journal_lines",
        [
            gl_line(
                "JE-1-01",
                "1010",
                "100.00",
                "0",
                reference="INV-90001",
                description="Customer receipt Acme",
            ),
            gl_line(
                "JE-2-01",
                "1010",
                "5000.00",
                "0",
                reference="INV-90002",
                description="Customer receipt Globex",
            ),
            gl_line(
                "JE-3-01",
                "1020",
                "500.00",
                "0",
                reference="INV-90003",
                description="Customer receipt Initech",
            ),
            gl_line(
                "JE-4-01",
                "1020",
                "1000.00",
                "0",
                reference="INV-90004",
                description="Customer receipt Hooli",
            ),
            gl_line(
                "JE-5-02",
                "1010",
                "0",
                "800.00",
                reference="PAY-US01-000001",
                description="Vendor payment Harbor Foods",
                posting_date=DAY - timedelta(days=2),
            ),
            gl_line(
                "JE-6-02",
                "1010",
                "0",
                "50000.00",
                reference="PR-US01-202610",
                description="Payroll funding",
            ),
            gl_line(
                "JE-7-01",
                "1010",
                "2590.14",
                "0",
                reference="po_uH72W8uPdQf4",
                description="Stripe payout",
            ),
            gl_line(
                "JE-8-02",
                "1010",
                "0",
                "321.00",
                reference="20455",
                description="Vendor payment Bluewater (check)",
            ),
            # not a cash account: never a candidate
            gl_line("JE-1-02", "1200", "0", "100.00", reference="INV-90001"),
        ],
        system="netsuite",
    )
    payouts = table(
        "payouts",
        [
            {
                "payout_id": "po_uH72W8uPdQf4",
                "entity_id": "US01",
                "amount": d("2590.14"),
                "currency": "USD",
                "created_date": DAY - timedelta(days=2),
                "arrival_date": DAY,
                "status": "paid",
                "statement_descriptor": "ST-CNJGA4T2C0YQ",
            }
        ],
        system="stripe",
    )
    truth: Truth = {
        (frozenset({"bank_transactions:B1"}), frozenset({"gl_journal_lines:JE-1-01"})),
        (frozenset({"bank_transactions:B2"}), frozenset({"gl_journal_lines:JE-2-01"})),
        (
            frozenset({"bank_transactions:B3"}),
            frozenset({"gl_journal_lines:JE-3-01", "gl_journal_lines:JE-4-01"}),
        ),
        (frozenset({"bank_transactions:B4"}), frozenset({"gl_journal_lines:JE-5-02"})),
        (frozenset({"bank_transactions:B5"}), frozenset({"gl_journal_lines:JE-6-02"})),
        (frozenset({"bank_transactions:B6"}), frozenset({"gl_journal_lines:JE-7-01"})),
    }
    return {
        "bank_transactions": bank,
        "gl_journal_lines": gl,
        "bank_accounts": bank_accounts(),
        "payouts": payouts,
    }, truth


# --- processor settlement --------------------------------------------------------------------


def processor_settlement() -> tuple[dict[str, pl.DataFrame], Truth]:
    """po_A nets exactly and reached the bank; po_B's transactions are 1.00 short of it and
    it has not reached the bank; po_C has the same amount as po_A but another descriptor."""

    def txn(tid: str, kind: str, amount: str, fee: str, payout: str) -> dict[str, Any]:
        return {
            "processor_txn_id": tid,
            "entity_id": "US01",
            "type": kind,
            "amount": d(amount),
            "fee": d(fee),
            "net": d(amount) - d(fee),
            "currency": "USD",
            "created_at": datetime(2026, 10, 22, 12),
            "available_on": DAY,
            "payout_id": payout,
        }

    def payout(pid: str, amount: str, arrival: date, descriptor: str) -> dict[str, Any]:
        return {
            "payout_id": pid,
            "entity_id": "US01",
            "amount": d(amount),
            "currency": "USD",
            "created_date": arrival - timedelta(days=2),
            "arrival_date": arrival,
            "status": "paid",
            "statement_descriptor": descriptor,
        }

    txns = table(
        "processor_transactions",
        [
            txn("t1", "charge", "62.00", "2.00", "po_A"),
            txn("t2", "charge", "51.50", "1.50", "po_A"),
            txn("t3", "refund", "-10.00", "0", "po_A"),
            txn("t4", "payout", "-100.00", "0", "po_A"),
            txn("t5", "charge", "150.00", "4.00", "po_B"),
            txn("t6", "adjustment", "50.00", "0", "po_B"),
            txn("t7", "charge", "103.00", "3.00", "po_C"),
        ],
        system="stripe",
    )
    payouts = table(
        "payouts",
        [
            payout("po_A", "100.00", DAY, "ST-AAAA1111BBBB"),
            payout("po_B", "197.00", DAY + timedelta(days=3), "ST-CCCC2222DDDD"),
            payout("po_C", "100.00", DAY - timedelta(days=1), "ST-EEEE3333FFFF"),
        ],
        system="stripe",
    )
    bank = table(
        "bank_transactions",
        [
            bank_line("BA", "100.00", remittance_text="ACH CREDIT STRIPE IND ID:ST-AAAA1111BBBB"),
            bank_line(
                "BC",
                "100.00",
                booking_date=DAY + timedelta(days=1),
                remittance_text="ACH CREDIT STRIPE IND ID:ST-EEEE3333FFFF",
            ),
            bank_line("BX", "100.00", remittance_text="ACH CREDIT ACME CORP"),
        ],
        system="first_national",
    )
    truth: Truth = {
        (
            frozenset({"payouts:po_A"}),
            frozenset(
                {
                    "processor_transactions:t1",
                    "processor_transactions:t2",
                    "processor_transactions:t3",
                    "bank_transactions:BA",
                }
            ),
        ),
        (
            frozenset({"payouts:po_B"}),
            frozenset({"processor_transactions:t5", "processor_transactions:t6"}),
        ),
        (
            frozenset({"payouts:po_C"}),
            frozenset({"processor_transactions:t7", "bank_transactions:BC"}),
        ),
    }
    return {"processor_transactions": txns, "payouts": payouts, "bank_transactions": bank}, truth


# --- three-way match -------------------------------------------------------------------------


def three_way_match() -> tuple[dict[str, pl.DataFrame], Truth]:
    """PO-1 exact; PO-2 received in two deliveries and billed 1% over price (within
    tolerance); PO-3 billed 6% over price; PO-4 billed 5 but received 4; PO-5 received, not
    billed yet; a non-PO bill."""

    def po(n: int, qty: str, price: str) -> dict[str, Any]:
        return {
            "po_line_id": f"PO-{n}-1",
            "po_number": f"PO-{n}",
            "line_no": 1,
            "entity_id": "US01",
            "vendor_id": "V1",
            "order_date": DAY - timedelta(days=5),
            "item": "widget",
            "quantity": d(qty),
            "unit_price": d(price),
            "amount": d(qty) * d(price),
            "currency": "USD",
        }

    def receipt(rid: str, n: int, qty: str) -> dict[str, Any]:
        return {
            "receipt_line_id": rid,
            "receipt_number": rid.rsplit("-", 1)[0],
            "po_number": f"PO-{n}",
            "po_line_no": 1,
            "entity_id": "US01",
            "received_date": DAY - timedelta(days=3),
            "quantity": d(qty),
        }

    def bill(bid: str, n: int | None, qty: str, price: str) -> dict[str, Any]:
        return {
            "bill_line_id": bid,
            "bill_number": bid,
            "line_no": 1,
            "entity_id": "US01",
            "vendor_id": "V1",
            "po_number": f"PO-{n}" if n else None,
            "po_line_no": 1 if n else None,
            "bill_date": DAY,
            "due_date": DAY,
            "quantity": d(qty),
            "unit_price": d(price),
            "amount": d(qty) * d(price),
            "currency": "USD",
        }

    pos = table(
        "purchase_orders",
        [
            po(1, "10", "5.00"),
            po(2, "4", "100.00"),
            po(3, "10", "50.00"),
            po(4, "5", "20.00"),
            po(5, "2", "10.00"),
        ],
        system="coupa",
    )
    receipts = table(
        "receipts",
        [
            receipt("GR-1-1", 1, "10"),
            receipt("GR-2-1", 2, "2"),
            receipt("GR-3-1", 2, "2"),
            receipt("GR-4-1", 3, "10"),
            receipt("GR-5-1", 4, "4"),
            receipt("GR-6-1", 5, "2"),
        ],
        system="coupa",
    )
    bills = table(
        "bills",
        [
            bill("VB-1", 1, "10", "5.00"),
            bill("VB-2", 2, "4", "101.00"),
            bill("VB-3", 3, "10", "53.00"),
            bill("VB-4", 4, "5", "20.00"),
            bill("VB-9", None, "1", "900.00"),
        ],
        system="netsuite",
    )
    truth: Truth = {
        (frozenset({"purchase_orders:PO-1-1"}), frozenset({"receipts:GR-1-1", "bills:VB-1"})),
        (
            frozenset({"purchase_orders:PO-2-1"}),
            frozenset({"receipts:GR-2-1", "receipts:GR-3-1", "bills:VB-2"}),
        ),
        (frozenset({"purchase_orders:PO-3-1"}), frozenset({"receipts:GR-4-1", "bills:VB-3"})),
        (frozenset({"purchase_orders:PO-4-1"}), frozenset({"receipts:GR-5-1", "bills:VB-4"})),
    }
    return {"purchase_orders": pos, "receipts": receipts, "bills": bills}, truth


# --- payroll to ledger -----------------------------------------------------------------------


def payroll_to_ledger() -> tuple[dict[str, pl.DataFrame], Truth]:
    """Three employees in two cost centres; E3's register row lost its cost centre."""
    people = {"E1": ("CC1", "5000.00"), "E2": ("CC1", "4000.00"), "E3": ("CC2", "6000.00")}
    rates = {"employee_tax": d("0.20"), "employer_tax": d("0.08")}
    entries = []
    for emp, (cc, gross) in people.items():
        g = d(gross)
        values = {
            "gross": g,
            "employee_tax": g * rates["employee_tax"],
            "employer_tax": g * rates["employer_tax"],
            "benefits": d("100.00"),
        }
        values["net"] = g - values["employee_tax"] - values["benefits"]
        for comp, value in values.items():
            entries.append(
                {
                    "payroll_entry_id": f"PR-{emp}-{comp}",
                    "entity_id": "US01",
                    "pay_period_start": date(2026, 10, 1),
                    "pay_period_end": date(2026, 10, 31),
                    "pay_date": DAY,
                    "employee_id": emp,
                    "cost_center_id": None if emp == "E3" else cc,
                    "component": comp,
                    "amount": value,
                    "currency": "USD",
                }
            )
    register = table("payroll_entries", entries, system="workday")
    lines = [
        gl_line("JE-P-01", "6000", "9000.00", "0", cost_center_id="CC1"),
        gl_line("JE-P-02", "6010", "720.00", "0", cost_center_id="CC1"),
        gl_line("JE-P-03", "6000", "6000.00", "0", cost_center_id="CC2"),
        gl_line("JE-P-04", "6010", "480.00", "0", cost_center_id="CC2"),
        gl_line("JE-P-05", "2200", "0", "3000.00", description="Employee tax withheld"),
        gl_line("JE-P-06", "2200", "0", "1200.00", description="Employer tax payable"),
        gl_line("JE-P-07", "2210", "0", "300.00"),
        gl_line("JE-P-08", "2100", "0", "11700.00", description="Net pay"),
        gl_line("JE-F-01", "2100", "11700.00", "0", description="Payroll funding"),
    ]
    ledger = table("gl_journal_lines", lines, system="netsuite")

    def ids(emps: list[str], comp: str) -> frozenset[str]:
        return frozenset(f"payroll_entries:PR-{e}-{comp}" for e in emps)

    truth: Truth = {
        (ids(["E1", "E2"], "gross"), frozenset({"gl_journal_lines:JE-P-01"})),
        (ids(["E1", "E2"], "employer_tax"), frozenset({"gl_journal_lines:JE-P-02"})),
        (ids(["E3"], "gross"), frozenset({"gl_journal_lines:JE-P-03"})),
        (ids(["E3"], "employer_tax"), frozenset({"gl_journal_lines:JE-P-04"})),
        (ids(["E1", "E2", "E3"], "employee_tax"), frozenset({"gl_journal_lines:JE-P-05"})),
        (ids(["E1", "E2", "E3"], "benefits"), frozenset({"gl_journal_lines:JE-P-07"})),
        (ids(["E1", "E2", "E3"], "net"), frozenset({"gl_journal_lines:JE-P-08"})),
    }
    return {"payroll_entries": register, "gl_journal_lines": ledger}, truth


SCENARIOS = {
    "cash_application": cash_application,
    "bank_reconciliation": bank_reconciliation,
    "processor_settlement": processor_settlement,
    "three_way_match": three_way_match,
    "payroll_to_ledger": payroll_to_ledger,
}


@functools.cache
def scenario_result(workflow: str):
    """(MatchResult, truth) of a scenario, computed once per test session."""
    from finance_pipeline.matching.engine import run_workflow

    tables, truth = SCENARIOS[workflow]()
    return run_workflow(workflow, tables, **RUN), truth
