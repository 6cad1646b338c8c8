"""The shape every bank and lockbox parser returns, and the integrity checks they share.

A parser turns bytes into a ``ParsedFile``: statements (a BAI2 account-day, a camt
Stmt/Rpt/Ntfctn, an MT940 statement, a lockbox batch), each with its booked entries, balances
and integrity checks. Amounts are signed ``Decimal`` in major units (credit positive).
A file that cannot be parsed raises ``ParseError`` naming the file and the line or element.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from finance_pipeline.money import fmt


class ParseError(ValueError):
    """The file could not be parsed. ``where`` is a line (``"line 12"``) or an XPath."""

    def __init__(self, file: str, where: str, message: str) -> None:
        self.file = file
        self.where = where
        self.message = message
        super().__init__(f"{file}: {where}: {message}")


@dataclass(frozen=True)
class Check:
    """One integrity check on a statement or file; ``detail`` says what was compared."""

    name: str
    ok: bool
    detail: str

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


@dataclass
class RemittanceRef:
    """A reference the payer sent with the money (invoice number, creditor reference)."""

    reference: str
    amount: Decimal | None = None
    kind: str = "invoice"  # invoice | creditor_reference | text


@dataclass
class Entry:
    """One booked (or pending) line as the bank or lockbox lists it."""

    amount: Decimal  # signed: credit > 0, debit < 0; reversals signed by their mark
    currency: str
    booking_date: date | None
    value_date: date | None = None
    status: str = "BOOK"  # BOOK | PDNG | INFO
    reversal: bool = False
    type_code: str | None = None  # BAI type code, camt BkTxCd, MT940 transaction type
    bank_reference: str | None = None
    customer_reference: str | None = None
    end_to_end_id: str | None = None
    acct_svcr_ref: str | None = None
    check_number: str | None = None
    counterparty_name: str | None = None
    counterparty_account: str | None = None
    remittance_text: str | None = None
    remittance: list[RemittanceRef] = field(default_factory=list)
    funds_type: str | None = None
    details_count: int = 1  # transaction details inside a batch entry
    location: str = ""  # "line 12" or an XPath


@dataclass
class Balance:
    """A balance the file states (opening, closing, available...)."""

    kind: str  # opening | closing | opening_available | closing_available | other code
    amount: Decimal
    currency: str
    as_of: date | None


@dataclass
class Statement:
    account: str
    currency: str | None
    date: date | None = None
    from_date: date | None = None
    to_date: date | None = None
    sequence: str | None = None
    kind: str = "statement"  # statement | report | notification | account_day | batch
    opening_balance: Decimal | None = None
    closing_balance: Decimal | None = None
    balances: list[Balance] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    location: str = ""
    reference: str | None = None  # the file's own id for the statement (MT940 :20:, camt Id)

    @property
    def booked(self) -> list[Entry]:
        return [e for e in self.entries if e.status == "BOOK"]

    @property
    def credits(self) -> Decimal:
        return sum((e.amount for e in self.booked if e.amount > 0), Decimal(0))

    @property
    def debits(self) -> Decimal:
        return sum((-e.amount for e in self.booked if e.amount < 0), Decimal(0))

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"account": self.account, "currency": self.currency}
        if self.date is not None or (self.from_date is None and self.to_date is None):
            data["date"] = self.date.isoformat() if self.date else None
        else:
            data["from"] = self.from_date.isoformat() if self.from_date else None
            data["to"] = self.to_date.isoformat() if self.to_date else None
        data.update(
            {
                "kind": self.kind,
                "sequence": self.sequence,
                "opening_balance": fmt(self.opening_balance),
                "closing_balance": fmt(self.closing_balance),
                "entries": len(self.booked),
                "credits": fmt(self.credits),
                "debits": fmt(self.debits),
                "checks": [c.as_json() for c in self.checks],
            }
        )
        return data


@dataclass
class ParsedFile:
    file: str
    format: str
    statements: list[Statement] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)  # file-level (trailers, counts)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            not self.errors
            and all(c.ok for c in self.checks)
            and all(s.ok for s in self.statements)
        )

    def failed_checks(self) -> list[Check]:
        failed = [c for c in self.checks if not c.ok]
        for s in self.statements:
            failed.extend(c for c in s.checks if not c.ok)
        return failed

    def as_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "format": self.format,
            "ok": self.ok,
            "checks": [c.as_json() for c in self.checks],
            "statements": [s.as_json() for s in self.statements],
            "errors": list(self.errors),
        }


def total_check(name: str, stated: Decimal | int | None, computed: Decimal | int) -> Check:
    """Compare a control total or count the file states with what its records add up to."""
    if stated is None:
        return Check(name, True, f"not stated in file; computed {computed}")
    ok = stated == computed
    return Check(name, ok, f"stated {stated}, computed {computed}")


def balance_proof(statement: Statement) -> Check:
    """opening + booked entries = closing, when the statement states both balances."""
    opening, closing = statement.opening_balance, statement.closing_balance
    if opening is None or closing is None:
        return Check("balance_proof", True, "opening or closing balance not stated")
    movement = statement.credits - statement.debits
    expected = opening + movement
    ok = expected == closing
    detail = f"opening {fmt(opening)} + entries {fmt(movement)} = {fmt(expected)}; "
    detail += f"closing stated {fmt(closing)}"
    return Check("balance_proof", ok, detail)


def continuity_checks(statements: list[Statement]) -> list[tuple[int, Check]]:
    """Consecutive statements of one account: this closing = next opening, no sequence gap.

    Returns ``(index_of_later_statement, check)`` pairs so callers can attach each check to the
    statement it concerns. Statements are compared in the order given per account.
    """
    results: list[tuple[int, Check]] = []
    last_by_account: dict[tuple[str, str | None], int] = {}
    for idx, stmt in enumerate(statements):
        key = (stmt.account, stmt.currency)
        prev_idx = last_by_account.get(key)
        last_by_account[key] = idx
        if prev_idx is None:
            continue
        prev = statements[prev_idx]
        if prev.closing_balance is not None and stmt.opening_balance is not None:
            ok = prev.closing_balance == stmt.opening_balance
            results.append(
                (
                    idx,
                    Check(
                        "continuity",
                        ok,
                        f"previous closing {fmt(prev.closing_balance)}, "
                        f"opening {fmt(stmt.opening_balance)}",
                    ),
                )
            )
        gap = sequence_gap(prev.sequence, stmt.sequence)
        if gap is not None:
            results.append((idx, gap))
    return results


def sequence_gap(previous: str | None, current: str | None) -> Check | None:
    """Check statement sequence numbers when both are numeric (MT940 28C, camt ElctrncSeqNb)."""
    if not previous or not current:
        return None
    prev_parts, cur_parts = previous.split("/"), current.split("/")
    prev_num, cur_num = prev_parts[0], cur_parts[0]
    if not (prev_num.isdigit() and cur_num.isdigit()):
        return None
    if int(cur_num) == int(prev_num) and len(prev_parts) == 2 and len(cur_parts) == 2:
        # MT940 28C "statement/page": the next page of the same statement follows its page.
        prev_page, cur_page = prev_parts[1], cur_parts[1]
        if prev_page.isdigit() and cur_page.isdigit():
            ok = int(cur_page) == int(prev_page) + 1
            return Check("sequence", ok, f"previous sequence {previous}, this {current}")
    ok = int(cur_num) == int(prev_num) + 1
    return Check("sequence", ok, f"previous sequence {previous}, this {current}")
