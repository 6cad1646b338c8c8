"""BAI2 previous-day report of First National for US01: operating and lockbox accounts.

One file per business day: 01 file header, 02 group, one 03 per account (010/015/040/045
balances, 100/400 summaries) with its 16 details and 88 continuations, 49 account trailers,
98 and 99 trailers. Amounts are integer cents without a decimal point; trailer totals are
the algebraic sums of every amount in the records they close, and record counts include
the 88s and the trailer itself, as the BAI2 specification has them.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from finance_pipeline.generator.ids import bai_text
from finance_pipeline.generator.model import BankLine, World
from finance_pipeline.money import to_minor

SENDER = "FIRSTNATL"
RECEIVER = "NORTHWIND"
ORIGINATOR = "FNBKUS33"
ACCOUNTS = ("US01-OPER", "US01-LBX")  # the lockbox deposit account is the second 03

TYPE_CODES = {
    "ach_credit": "165",
    "stripe_payout": "165",
    "wire_credit": "195",
    "lockbox_deposit": "115",
    "vendor_ach": "451",
    "payroll": "451",
    "check_paid": "475",
    "vendor_wire": "495",
    "bank_fee": "698",
}
_MAX_TEXT = 76


def file_name(day: date) -> str:
    return f"FNB_US01_{day:%Y%m%d}.bai"


def _minor(amount: Decimal, currency: str = "USD") -> int:
    return to_minor(amount, currency)


def _texts(line: BankLine, day: date) -> tuple[str, list[str]]:
    """The 16 record's text and the 88 continuation texts, as this bank words them."""
    name = bai_text(line.counterparty_name or "")
    refs = [bai_text(r.reference) for r in line.remittance]
    details = line.details
    if line.kind in ("ach_credit", "stripe_payout"):
        descr = "TRANSFER" if line.kind == "stripe_payout" else "PAYMENT"
        more = [
            f"ORIG CO NAME:{name[:16]} ORIG ID:{details['orig_id']} DESC DATE:{day:%y%m%d}",
            f"CO ENTRY DESCR:{descr} SEC:CCD TRACE#:{details['trace']}",
        ]
        if line.kind == "stripe_payout":
            more.append(f"IND ID:{details['descriptor']} IND NAME:NORTHWIND HOLDINGS INC")
        for remit, ref in zip(line.remittance, refs, strict=True):
            amount = "" if remit.amount is None else format(remit.amount, "f")
            more.append(f"RMR*IV*{ref}**{amount}\\")
        return f"ACH CREDIT {name}"[:_MAX_TEXT], more
    if line.kind == "wire_credit":
        more = [f"ORG:{name}", f"ORG ACCT:{line.counterparty_account or ''}"]
        if refs:
            more.append("OBI:" + " ".join(refs))
        more.append(f"IMAD:{details['imad']}")
        return "INCOMING WIRE TRANSFER", more
    if line.kind == "lockbox_deposit":
        text = (
            f"LOCKBOX DEPOSIT {line.customer_ref} {details['batches']} BATCHES "
            f"{details['items']} ITEMS"
        )
        return text, []
    if line.kind == "vendor_ach":
        return f"ACH DEBIT {name}"[:_MAX_TEXT], [f"CO ENTRY DESCR:VENDOR PMT INV {' '.join(refs)}"]
    if line.kind == "payroll":
        return "ACH DEBIT PAYROLL", [
            f"ORIG CO NAME:NORTHWIND HOLD ORIG ID:{details['orig_id']} DESC DATE:{day:%y%m%d}",
            f"CO ENTRY DESCR:PAYROLL SEC:PPD TRACE#:{details['trace']} {' '.join(refs)}",
        ]
    if line.kind == "check_paid":
        return "CHECK PAID", []
    if line.kind == "vendor_wire":
        return "OUTGOING WIRE TRANSFER", [f"BNF:{name}", "OBI:" + " ".join(refs)]
    return " ".join(refs) or "SERVICE CHARGE", []


def _detail_records(line: BankLine, day: date, currency: str) -> list[str]:
    text, more = _texts(line, day)
    funds = "1" if line.kind == "lockbox_deposit" else "0"
    customer_ref = bai_text(line.customer_ref or "")
    head = (
        f"16,{TYPE_CODES[line.kind]},{_minor(abs(line.amount), currency)},{funds},{line.bank_ref},"
        f"{customer_ref},{text}"
    )
    records = [head]
    for chunk in more:
        # break only at blanks: the parser joins 88s with one blank, so a cut after a hyphen
        # ("INV-" / "2026") would come back as "INV- 2026"
        pieces = textwrap.wrap(chunk, _MAX_TEXT, break_on_hyphens=False) or [""]
        records.extend(f"88,{piece}" for piece in pieces)
    return records


def account_records(
    account_number: str,
    currency: str,
    day: date,
    opening_balance: Decimal,
    lines: Sequence[BankLine],
) -> tuple[list[str], int]:
    """One account's 03, 16, 88 and 49 records, and its control total."""
    opening = _minor(opening_balance, currency)
    credits = [_minor(b.amount, currency) for b in lines if b.amount > 0]
    debits = [_minor(-b.amount, currency) for b in lines if b.amount < 0]
    closing = opening + sum(credits) - sum(debits)
    summary = [
        ("010", opening, ""),
        ("015", closing, ""),
        ("040", opening, ""),
        ("045", closing, ""),
        ("100", sum(credits), str(len(credits))),
        ("400", sum(debits), str(len(debits))),
    ]
    groups = "".join(f"{code},{amount},{count},," for code, amount, count in summary)
    records = [f"03,{account_number},{currency},{groups[:-1]}/"]
    total = sum(amount for _, amount, _ in summary)
    for line in lines:
        records.extend(_detail_records(line, day, currency))
        total += _minor(abs(line.amount), currency)
    records.append(f"49,{total},{len(records) + 1}/")
    return records, total


# (account number, currency, opening balance, the day's lines in statement order)
AccountDay = tuple[str, str, Decimal, Sequence[BankLine]]


def render_accounts(day: date, accounts: Sequence[AccountDay]) -> str:
    """A BAI2 file for ``day`` with one group and one 03 per account (as-of date ``day``,
    created early the next morning)."""
    created = day + timedelta(days=1)
    group: list[str] = []
    group_total = 0
    for account_number, currency, opening, lines in accounts:
        records, total = account_records(account_number, currency, day, opening, lines)
        group.extend(records)
        group_total += total
    file_id = f"{day:%y%m%d}1"
    out = [
        f"01,{SENDER},{RECEIVER},{created:%y%m%d},0615,{file_id},,,2/",
        f"02,{RECEIVER},{ORIGINATOR},1,{day:%y%m%d},2400,USD,2/",
        *group,
    ]
    out.append(f"98,{group_total},{len(accounts)},{len(group) + 2}/")
    out.append(f"99,{group_total},1,{len(out) + 1}/")
    return "\n".join(out) + "\n"


def render_statement(
    account_number: str,
    currency: str,
    day: date,
    opening_balance: Decimal,
    lines: Sequence[BankLine],
) -> str:
    """A BAI2 file reporting one account-day."""
    return render_accounts(day, [(account_number, currency, opening_balance, lines)])


def render(world: World, day: date) -> str:
    """The BAI2 file for ``day`` (as-of date ``day``, created early the next morning)."""
    accounts: list[AccountDay] = []
    for account_id in ACCOUNTS:
        account = world.bank_account(account_id)
        accounts.append(
            (
                account.account_number,
                account.currency,
                world.opening_balance(account_id, day),
                world.statement_lines(account_id, day),
            )
        )
    return render_accounts(day, accounts)
