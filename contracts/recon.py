"""Pandera (polars) models of the ``recon`` tables named in the interface contract."""

from __future__ import annotations

import datetime as dt

import pandera.polars as pa

from contracts.canonical import Money, currency, identifier, money, optional

WORKFLOWS = [
    "cash_application",
    "bank_reconciliation",
    "processor_settlement",
    "three_way_match",
    "payroll_to_ledger",
]
EXCEPTION_TYPES = [
    "unmatched_bank_transaction",
    "unmatched_payment",
    "unapplied_cash",
    "amount_variance",
    "duplicate_payment",
    "duplicate_invoice",
    "unknown_customer",
    "unknown_vendor",
    "missing_reference",
    "invalid_cost_center",
    "missing_tax_code",
    "payout_mismatch",
    "settlement_timing",
    "three_way_variance",
    "statement_integrity",
    "statement_gap",
    "quarantined_file",
    "source_unavailable",
]
OWNER_ROLES = ["ar", "ap", "treasury", "payroll", "integration"]


class _Strict(pa.DataFrameModel):
    class Config:
        strict = True
        coerce = False


class Matches(_Strict):
    match_id: str = identifier(unique=True)
    workflow: str = pa.Field(isin=WORKFLOWS)
    rule_id: str = identifier()
    rule_version: str = identifier()
    confidence: float = pa.Field(ge=0.0, le=1.0)  # a score, not money
    status: str = pa.Field(isin=["auto", "suggested"])
    run_id: str
    created_at: dt.datetime
    explanation: str


class MatchMembers(_Strict):
    match_id: str = identifier()
    side: str = pa.Field(isin=["left", "right"])
    record_type: str = identifier()
    record_id: str = identifier()
    source_system: str
    source_id: str
    amount_applied: Money = money()
    currency: str = currency()

    class Config:
        unique = ["match_id", "side", "record_type", "record_id"]


class Exceptions(_Strict):
    exception_id: str = identifier(unique=True)
    workflow: str = pa.Field(isin=[*WORKFLOWS, "ingest"])
    exception_type: str = pa.Field(isin=EXCEPTION_TYPES)
    record_type: str
    record_id: str
    source_system: str | None = optional()
    source_id: str | None = optional()
    entity: str | None = optional()
    currency: str | None = currency(nullable=True)
    amount: Money | None = money(nullable=True)
    owner_role: str = pa.Field(isin=OWNER_ROLES)
    severity: str = pa.Field(isin=["low", "medium", "high", "critical"])
    status: str = pa.Field(isin=["open", "resolved"])
    first_seen: dt.date
    last_seen: dt.date
    age_days: int = pa.Field(ge=0)
    detail: str
    suggested_action: str
    resolved_on: dt.date | None = optional()
    resolution: str | None = optional()


class JournalProposals(_Strict):
    journal_id: str = identifier()
    line_no: int = pa.Field(ge=1)
    entity: str = identifier()
    posting_date: dt.date
    gl_account: str = identifier()
    debit: Money = money(ge=0)
    credit: Money = money(ge=0)
    currency: str = currency()
    description: str
    match_id: str | None = optional()
    idempotency_key: str = identifier()
    status: str = pa.Field(isin=["proposed", "exported", "superseded"])

    class Config:
        unique = ["journal_id", "line_no"]


RECON_MODELS: dict[str, type[pa.DataFrameModel]] = {
    "matches": Matches,
    "match_members": MatchMembers,
    "exceptions": Exceptions,
    "journal_proposals": JournalProposals,
}
