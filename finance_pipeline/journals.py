"""Journal proposals: the double entry an accountant would post for each auto-matched item.

Only ``auto`` matches get a proposal (a suggested match needs a person first). Per workflow:

* ``cash_application``: Dr cash (the bank account's GL account, or processor clearing for a
  card payment), Cr accounts receivable at the invoices' carrying value. The difference is
  explained, in this order: realised FX gain/loss (carrying value against the value at the
  payment date's rate), a short-pay written off to the configured account when within
  tolerance (otherwise the shortfall simply stays open on the invoice), and an over-payment
  parked as unapplied cash.
* ``processor_settlement`` (once the payout is in the bank, so the proposal does not change
  when the bank leg arrives): Dr cash for the payout, Dr processor fees, Dr refunds, Cr the
  processor clearing account for their total.
* ``payroll_to_ledger``: the ledger already carries the payroll journal; a match whose two
  sides differ gets a true-up between the component's account and payroll clearing.
* ``bank_reconciliation`` and ``three_way_match`` confirm entries that are already posted:
  nothing to propose.

An ERP often books the receipt or the payout transfer itself (the demo's NetSuite does). When
the ledger already carries it (an AR credit referencing the invoice number, a line
referencing the payout id), only what is still missing is proposed: the write-off, the FX
result, the fees (``journals.skip_posted: false`` proposes the full entry regardless).

Every journal is in one entity and one currency and balances by construction (tested).
Journal ids and idempotency keys are SHA-256 hashes of the workflow, match id, rule version
and the journal's content, so the same proposal has the same key on every run and an ERP
that imports by key never posts it twice; a changed proposal gets a new key and the old one is
marked ``superseded`` by :func:`roll_forward_journals`.

Accounts come from the ``journals:`` block of ``finance_pipeline.yaml`` (defaults: the demo
group's chart of accounts), optionally per entity.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from contracts.recon import JournalProposals
from finance_pipeline.fx import RateBook
from finance_pipeline.money import CURRENCY_EXPONENTS
from finance_pipeline.validation import polars_schema

MONEY = pl.Decimal(18, 4)
WIDE = pl.Decimal(38, 12)
SCHEMA = polars_schema(JournalProposals)
DEFAULT_ACCOUNTS: dict[str, str] = {
    "accounts_receivable": "1200",
    "cash": "1010",  # when the bank account's master data names no GL account
    "processor_clearing": "1150",
    "processor_fees": "6150",
    "refunds": "1200",  # a refund reopens the customer's balance
    "fx_gain_loss": "7900",
    "short_pay_write_off": "6900",
    "unapplied_cash": "2400",
    "payroll_clearing": "2100",
    "payroll_gross": "6000",
    "payroll_employer_tax": "6010",
    "payroll_tax_liability": "2200",
    "payroll_benefits": "2210",
    "payroll_net": "2100",
}
"""Account roles and their defaults: the generator's chart of accounts (generator/master.py)."""
DEFAULT_TOLERANCE = {"abs": Decimal("5.00"), "pct": Decimal("1")}  # both must hold
CASH_TYPES = ("payments", "payment", "bank_transactions", "bank_transaction")
INVOICE_TYPES = ("invoices", "invoice")
PAYOUT_TYPES = ("payouts", "payout")
TXN_TYPES = ("processor_transactions", "processor_transaction")
BANK_TYPES = ("bank_transactions", "bank_transaction")
PAYROLL_TYPES = ("payroll_entries", "payroll_entry")
GL_TYPES = ("gl_journal_lines", "gl_journal_line")
FEE_TXN_TYPES = ("stripe_fee", "application_fee", "fee", "processor_fee")
REFUND_TXN_TYPES = ("refund", "payment_refund")
PAYROLL_ACCOUNT_ROLE = {
    "gross": "payroll_gross",
    "employer_tax": "payroll_employer_tax",
    "employee_tax": "payroll_tax_liability",
    "benefits": "payroll_benefits",
    "net": "payroll_net",
}
PAYROLL_EXPENSE = ("gross", "employer_tax")
LINE_SCHEMA: dict[str, pl.DataType] = {
    "workflow": pl.String,
    "match_id": pl.String,
    "rule_version": pl.String,
    "kind": pl.String,
    "order": pl.Int32,
    "entity": pl.String,
    "posting_date": pl.Date,
    "role": pl.String,  # account role, resolved per entity; or null when gl_account is given
    "gl_account": pl.String,
    "debit": MONEY,
    "credit": MONEY,
    "currency": pl.String,
    "description": pl.String,
}
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


# --- configuration ---------------------------------------------------------------------------


def _dec(value: Any, where: str) -> Decimal:
    if isinstance(value, float):
        raise ValueError(f"journals: {where}: write amounts as quoted decimals, e.g. '5.00'")
    return Decimal(str(value))


def journal_settings(settings: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``journals:`` block with defaults filled in."""
    raw = dict((settings or {}).get("journals") or {})
    accounts = {**DEFAULT_ACCOUNTS, **{k: str(v) for k, v in (raw.get("accounts") or {}).items()}}
    unknown = sorted(set(accounts) - set(DEFAULT_ACCOUNTS))
    if unknown:
        raise ValueError(f"journals.accounts: unknown role(s) {unknown}")
    entities = {
        str(e): {k: str(v) for k, v in (spec or {}).items()}
        for e, spec in (raw.get("entities") or {}).items()
    }
    for entity, spec in entities.items():
        bad = sorted(set(spec) - set(DEFAULT_ACCOUNTS))
        if bad:
            raise ValueError(f"journals.entities.{entity}: unknown role(s) {bad}")
    tolerance = raw.get("short_pay_tolerance") or {}
    return {
        "accounts": accounts,
        "entities": entities,
        "tolerance_abs": _dec(tolerance.get("abs", DEFAULT_TOLERANCE["abs"]), "tolerance.abs"),
        "tolerance_pct": _dec(tolerance.get("pct", DEFAULT_TOLERANCE["pct"]), "tolerance.pct"),
        "fx_max_age_days": int(raw.get("fx_max_age_days", 7)),
        "skip_posted": bool(raw.get("skip_posted", True)),
    }


def _resolve_accounts(lines: pl.DataFrame, cfg: Mapping[str, Any]) -> pl.DataFrame:
    """Fill ``gl_account`` from the line's role: entity override, else the default."""
    pairs = [
        (entity, role, account)
        for entity, spec in cfg["entities"].items()
        for role, account in spec.items()
    ]
    overrides = pl.DataFrame(
        pairs, schema={"entity": pl.String, "role": pl.String, "__acct": pl.String}, orient="row"
    )
    default = pl.col("role").replace_strict(cfg["accounts"], default=None, return_dtype=pl.String)
    return (
        lines.join(overrides, on=["entity", "role"], how="left")
        .with_columns(
            pl.coalesce(pl.col("gl_account"), pl.col("__acct"), default).alias("gl_account")
        )
        .drop("__acct")
    )


# --- helpers ---------------------------------------------------------------------------------


def _empty_lines() -> pl.DataFrame:
    return pl.DataFrame(schema=LINE_SCHEMA)


def _round_minor(value: pl.Expr, currency: pl.Expr) -> pl.Expr:
    """Round to the currency's minor unit, half-even (as fx.py rounds functional amounts)."""
    digits = currency.replace_strict(CURRENCY_EXPONENTS, default=2, return_dtype=pl.Int8)
    out = pl.when(digits == 0).then(value.round(0, mode="half_to_even"))
    for d in sorted(set(CURRENCY_EXPONENTS.values()) - {0}):
        out = out.when(digits == d).then(value.round(d, mode="half_to_even"))
    return out.cast(MONEY)


def sha256_hex(texts: pl.Series) -> pl.Series:
    """SHA-256 (hex) of each text, vectorised in DuckDB; stable across machines and versions."""
    frame = pl.DataFrame({"x": texts.cast(pl.String)}).with_row_index("i")
    con = duckdb.connect()
    try:
        con.register("t", frame)
        out = con.sql("SELECT sha256(x) AS h FROM t ORDER BY i").pl()
    finally:
        con.close()
    return out["h"].alias(texts.name)


def _table(tables: Mapping[str, pl.DataFrame], name: str, columns: Mapping[str, pl.DataType]):
    """Selected columns of a canonical table (null columns when absent), never failing."""
    frame = tables.get(name)
    if frame is None:
        return pl.DataFrame(schema=dict(columns))
    return frame.select(
        [
            pl.col(c).cast(t) if c in frame.columns else pl.lit(None, dtype=t).alias(c)
            for c, t in columns.items()
        ]
    )


def _auto(matches: pl.DataFrame, members: pl.DataFrame, workflow: str) -> pl.DataFrame:
    auto = matches.filter((pl.col("workflow") == workflow) & (pl.col("status") == "auto"))
    return members.join(
        auto.select("match_id", "workflow", "rule_version"), on="match_id", how="inner"
    )


def _line(
    frame: pl.DataFrame,
    kind: str,
    order: int,
    role: str | pl.Expr | None,
    amount: pl.Expr,
    description: pl.Expr,
    account: pl.Expr | None = None,
) -> pl.DataFrame:
    """One journal line per row of ``frame``: debit when ``amount`` > 0, credit when < 0.

    ``role`` names the account role (resolved per entity later); ``account`` an explicit GL
    account that wins over the role (a bank account's own GL account).
    """
    role_expr = role if isinstance(role, pl.Expr) else pl.lit(role, dtype=pl.String)
    return frame.select(
        "workflow",
        "match_id",
        "rule_version",
        pl.lit(kind).alias("kind"),
        pl.lit(order, dtype=pl.Int32).alias("order"),
        "entity",
        "posting_date",
        role_expr.alias("role"),
        (account if account is not None else pl.lit(None, dtype=pl.String)).alias("gl_account"),
        pl.when(amount > 0).then(amount).otherwise(0).cast(MONEY).alias("debit"),
        pl.when(amount < 0).then(-amount).otherwise(0).cast(MONEY).alias("credit"),
        "currency",
        description.alias("description"),
    ).filter((pl.col("debit") != 0) | (pl.col("credit") != 0))


# --- cash application ------------------------------------------------------------------------


def _ledger_refs(
    tables: Mapping[str, pl.DataFrame], cfg: Mapping[str, Any], *, ar_only: bool
) -> pl.DataFrame:
    """(entity_id, ref) for each reference token on ledger lines (AR credits only when
    ``ar_only``): what the ERP has already booked, so a proposal does not post it twice."""
    gl = tables.get("gl_journal_lines")
    schema = {"entity_id": pl.String, "ref": pl.String}
    if gl is None or gl.height == 0 or "reference" not in gl.columns:
        return pl.DataFrame(schema=schema)
    if ar_only:
        accounts = {cfg["accounts"]["accounts_receivable"]} | {
            spec["accounts_receivable"]
            for spec in cfg["entities"].values()
            if "accounts_receivable" in spec
        }
        gl = gl.filter(pl.col("gl_account").is_in(sorted(accounts)) & (pl.col("credit") > 0))
    return (
        gl.select("entity_id", pl.col("reference").str.split(" ").alias("ref"))
        .explode("ref")
        .filter(pl.col("ref").is_not_null() & (pl.col("ref") != ""))
        .unique()
        .cast(schema)
    )


def _quotes(
    pairs: pl.DataFrame, book: RateBook, src: str, dst: str, day: str, out: str
) -> pl.DataFrame:
    """Join the rate ``src -> dst`` on ``day`` for each row (one lookup per distinct combo)."""
    combos = pairs.select(src, dst, day).unique().drop_nulls()
    rows = []
    for a, b, d in combos.iter_rows():
        quote = book.quote(a, b, d)
        if quote is not None:
            rows.append((a, b, d, quote.rate))
    rates = pl.DataFrame(
        rows,
        schema={src: pl.String, dst: pl.String, day: pl.Date, out: pl.Decimal(18, 8)},
        orient="row",
    )
    return pairs.join(rates, on=[src, dst, day], how="left")


def _cash_application(
    matches: pl.DataFrame,
    members: pl.DataFrame,
    tables: Mapping[str, pl.DataFrame],
    cfg: Mapping[str, Any],
) -> pl.DataFrame:
    mem = _auto(matches, members, "cash_application")
    if mem.height == 0:
        return _empty_lines()
    payments = _table(
        tables,
        "payments",
        {
            "payment_id": pl.String,
            "entity_id": pl.String,
            "method": pl.String,
            "received_date": pl.Date,
            "bank_account_id": pl.String,
        },
    ).rename({"payment_id": "record_id"})
    bank = _table(
        tables,
        "bank_transactions",
        {
            "transaction_id": pl.String,
            "entity_id": pl.String,
            "booking_date": pl.Date,
            "value_date": pl.Date,
            "bank_account_id": pl.String,
        },
    ).select(
        pl.col("transaction_id").alias("record_id"),
        pl.col("entity_id").alias("b_entity"),
        pl.coalesce("booking_date", "value_date").alias("b_date"),
        pl.col("bank_account_id").alias("b_account"),
    )
    accounts = _table(
        tables, "bank_accounts", {"bank_account_id": pl.String, "gl_account": pl.String}
    )
    cash = (
        mem.filter(pl.col("record_type").is_in(CASH_TYPES))
        .join(payments, on="record_id", how="left")
        .join(bank, on="record_id", how="left")
        .with_columns(
            pl.coalesce("entity_id", "b_entity").alias("entity"),
            pl.coalesce("received_date", "b_date").alias("posting_date"),
            pl.coalesce("bank_account_id", "b_account").alias("bank_account_id"),
        )
        .join(accounts.unique("bank_account_id"), on="bank_account_id", how="left")
        .with_columns(
            pl.when(pl.col("method") == "card")
            .then(pl.lit("processor_clearing"))
            .when(pl.col("gl_account").is_null())
            .then(pl.lit("cash"))
            .alias("role"),
            pl.when(pl.col("method") == "card")
            .then(None)
            .otherwise(pl.col("gl_account"))
            .alias("gl_account"),
        )
    )
    per_match = cash.group_by("workflow", "match_id", "rule_version").agg(
        pl.col("entity").drop_nulls().first(),
        pl.col("posting_date").max(),
        pl.col("currency").first(),
        pl.col("currency").n_unique().alias("__ccys"),
        pl.col("amount_applied").sum().alias("cash"),
        pl.col("source_id").sort().str.join(", ").alias("cash_refs"),
    )
    invoices = _table(
        tables,
        "invoices",
        {
            "invoice_id": pl.String,
            "entity_id": pl.String,
            "invoice_number": pl.String,
            "issue_date": pl.Date,
            "amount": MONEY,
            "currency": pl.String,
            "functional_amount": MONEY,
            "functional_currency": pl.String,
        },
    ).rename(
        {
            "invoice_id": "record_id",
            "currency": "inv_currency",
            "amount": "inv_amount",
            "entity_id": "inv_entity",
        }
    )
    inv = (
        mem.filter(pl.col("record_type").is_in(INVOICE_TYPES))
        .join(invoices, on="record_id", how="left")
        .with_columns(pl.coalesce("inv_currency", "currency").alias("inv_currency"))
        .join(
            per_match.select(
                "match_id",
                pl.col("currency").alias("cash_ccy"),
                pl.col("posting_date").alias("pay_date"),
            ),
            on="match_id",
            how="inner",
        )
    )
    fx = tables.get("fx_rates")
    book = RateBook(
        fx
        if fx is not None
        else pl.DataFrame(
            schema={
                "base_currency": pl.String,
                "quote_currency": pl.String,
                "rate_date": pl.Date,
                "rate": pl.Decimal(18, 8),
            }
        ),
        max_age_days=cfg["fx_max_age_days"],
    )
    inv = _quotes(inv, book, "inv_currency", "cash_ccy", "pay_date", "settle_rate")
    inv = _quotes(inv, book, "inv_currency", "cash_ccy", "issue_date", "book_rate")
    applied = pl.col("amount_applied").cast(WIDE)
    same = pl.col("inv_currency") == pl.col("cash_ccy")
    # Carrying value: the ERP's own functional amount when it is in the cash currency, else
    # the booking-date rate, else the settlement rate (no FX result can be recognised).
    share = pl.when(pl.col("inv_amount").is_not_null() & (pl.col("inv_amount") != 0)).then(
        applied / pl.col("inv_amount").cast(WIDE)
    )
    carried = (
        pl.when(same)
        .then(applied)
        .when(
            (pl.col("functional_currency") == pl.col("cash_ccy"))
            & pl.col("functional_amount").is_not_null()
            & share.is_not_null()
        )
        .then(pl.col("functional_amount").cast(WIDE) * share)
        .when(pl.col("book_rate").is_not_null())
        .then(applied * pl.col("book_rate"))
        .otherwise(applied * pl.col("settle_rate"))
    )
    settled = pl.when(same).then(applied).otherwise(applied * pl.col("settle_rate"))
    inv = inv.with_columns(
        (
            ~same
            & pl.col("book_rate").is_null()
            & ~(
                (pl.col("functional_currency") == pl.col("cash_ccy"))
                & pl.col("functional_amount").is_not_null()
            )
        ).alias("__fx_unknown"),
        _round_minor(carried, pl.col("cash_ccy")).alias("carried"),
        _round_minor(settled, pl.col("cash_ccy")).alias("settled"),
    )
    credited = _ledger_refs(tables, cfg, ar_only=True)
    inv = inv.join(
        credited.select(
            pl.col("entity_id").alias("inv_entity"),
            pl.col("ref").alias("invoice_number"),
            pl.lit(True).alias("__posted"),
        ),
        on=["inv_entity", "invoice_number"],
        how="left",
    )
    inv_per_match = inv.group_by("match_id").agg(
        (pl.col("__posted").fill_null(False).all() & pl.lit(cfg["skip_posted"])).alias("posted"),
        pl.col("carried").sum(),
        pl.col("settled").sum(),
        (pl.col("settled").is_null().any() | pl.col("carried").is_null().any()).alias("__no_rate"),
        pl.col("invoice_number")
        .fill_null(pl.col("source_id"))
        .sort()
        .str.join(", ")
        .alias("inv_refs"),
        pl.col("inv_currency").first().alias("inv_ccy"),
        pl.col("inv_entity").drop_nulls().first(),
        pl.col("__fx_unknown").any().alias("fx_unknown"),
    )
    tol_abs = pl.lit(cfg["tolerance_abs"]).cast(WIDE)
    tol_pct = pl.lit(cfg["tolerance_pct"]).cast(WIDE)
    j = (
        per_match.join(inv_per_match, on="match_id", how="inner")
        .filter(~pl.col("__no_rate") & (pl.col("__ccys") == 1) & (pl.col("cash") > 0))
        .with_columns(pl.coalesce("entity", "inv_entity").alias("entity"))
        .with_columns(
            (pl.col("settled") - pl.col("cash")).alias("short"),
            (pl.col("settled") - pl.col("carried")).alias("fx"),
            pl.min_horizontal(tol_abs, pl.col("settled").cast(WIDE) * tol_pct / 100)
            .round(2)
            .cast(pl.Decimal(18, 2))
            .alias("tol"),
        )
        .with_columns(
            ((pl.col("short") > 0) & (pl.col("short") <= pl.col("tol"))).alias("write_off"),
        )
    )
    # Full journal: Dr cash, Cr AR at carrying value less any short-pay left open. When the
    # ledger already booked the receipt (Dr cash, Cr AR at the cash amount), only the rest is
    # proposed: the same journal minus that posting.
    short_open = (
        pl.when((pl.col("short") > 0) & ~pl.col("write_off")).then(pl.col("short")).otherwise(0)
    )
    ar_amount = -(pl.col("carried") - short_open) + pl.when(pl.col("posted")).then(
        pl.col("cash")
    ).otherwise(0)
    cash_lines = (
        cash.group_by("workflow", "match_id", "rule_version", "role", "gl_account")
        .agg(pl.col("amount_applied").sum().alias("amt"))
        .join(
            j.select(
                "match_id",
                "entity",
                "posting_date",
                "currency",
                "cash_refs",
                "inv_refs",
                "posted",
            ),
            on="match_id",
            how="inner",
        )
    )
    parts = [
        _line(
            cash_lines,
            "cash_receipt",
            1,
            pl.col("role"),
            pl.when(pl.col("posted")).then(0).otherwise(pl.col("amt")),
            pl.format("Cash receipt {} applied to {}", pl.col("cash_refs"), pl.col("inv_refs")),
            account=pl.col("gl_account"),
        ),
        _line(
            j,
            "cash_receipt",
            2,
            "short_pay_write_off",
            pl.when(pl.col("write_off")).then(pl.col("short")).otherwise(0),
            pl.format(
                "Short-pay {} {} written off (tolerance {}) on {}",
                pl.col("short"),
                pl.col("currency"),
                pl.col("tol").round(2),
                pl.col("inv_refs"),
            ),
        ),
        _line(
            j,
            "cash_receipt",
            3,
            "fx_gain_loss",
            -pl.col("fx"),
            pl.format(
                "Realised FX {} settling {} invoice(s) {}",
                pl.when(pl.col("fx") > 0).then(pl.lit("gain")).otherwise(pl.lit("loss")),
                pl.col("inv_ccy"),
                pl.col("inv_refs"),
            ),
        ),
        _line(
            j,
            "cash_receipt",
            4,
            "unapplied_cash",
            pl.when(pl.col("short") < 0).then(pl.col("short")).otherwise(0),
            pl.format("Over-payment held as unapplied cash ({})", pl.col("cash_refs")),
        ),
        _line(
            j,
            "cash_receipt",
            5,
            "accounts_receivable",
            ar_amount,
            pl.format(
                "Receivable settled: {}{}{}{}",
                pl.col("inv_refs"),
                pl.when((pl.col("short") > 0) & ~pl.col("write_off"))
                .then(pl.format(" (short {} left open)", pl.col("short")))
                .otherwise(pl.lit("")),
                pl.when(pl.col("posted"))
                .then(pl.lit(" (receipt already in the ledger: adjustment only)"))
                .otherwise(pl.lit("")),
                pl.when(pl.col("fx_unknown"))
                .then(pl.lit(" (no booking-date rate: carried at the settlement rate)"))
                .otherwise(pl.lit("")),
            ),
        ),
    ]
    return pl.concat([p.cast(LINE_SCHEMA) for p in parts])


# --- processor settlement --------------------------------------------------------------------


def _processor_settlement(
    matches: pl.DataFrame,
    members: pl.DataFrame,
    tables: Mapping[str, pl.DataFrame],
    cfg: Mapping[str, Any],
) -> pl.DataFrame:
    mem = _auto(matches, members, "processor_settlement")
    if mem.height == 0:
        return _empty_lines()
    complete = (
        mem.group_by("match_id")
        .agg(
            pl.col("record_type").is_in(PAYOUT_TYPES).any().alias("__payout"),
            pl.col("record_type").is_in(BANK_TYPES).any().alias("__bank"),
        )
        .filter(pl.col("__payout") & pl.col("__bank"))
    )
    mem = mem.join(complete.select("match_id"), on="match_id", how="inner")
    if mem.height == 0:
        return _empty_lines()
    payouts = _table(
        tables,
        "payouts",
        {
            "payout_id": pl.String,
            "entity_id": pl.String,
            "amount": MONEY,
            "currency": pl.String,
            "arrival_date": pl.Date,
        },
    ).rename({"payout_id": "record_id", "amount": "p_amount", "currency": "p_ccy"})
    bank = _table(
        tables,
        "bank_transactions",
        {
            "transaction_id": pl.String,
            "booking_date": pl.Date,
            "value_date": pl.Date,
            "bank_account_id": pl.String,
        },
    ).rename({"transaction_id": "record_id"})
    accounts = _table(
        tables, "bank_accounts", {"bank_account_id": pl.String, "gl_account": pl.String}
    )
    txns = _table(
        tables,
        "processor_transactions",
        {
            "processor_txn_id": pl.String,
            "type": pl.String,
            "amount": MONEY,
            "fee": MONEY,
        },
    ).rename({"processor_txn_id": "record_id", "amount": "t_amount"})
    head = (
        mem.filter(pl.col("record_type").is_in(PAYOUT_TYPES))
        .join(payouts, on="record_id", how="left")
        .group_by("workflow", "match_id", "rule_version")
        .agg(
            pl.col("entity_id").drop_nulls().first().alias("entity"),
            pl.coalesce("p_amount", "amount_applied").sum().alias("payout"),
            pl.coalesce("p_ccy", "currency").first().alias("currency"),
            pl.col("arrival_date").max(),
            pl.col("source_id").sort().str.join(", ").alias("payout_refs"),
        )
    )
    deposit = (
        mem.filter(pl.col("record_type").is_in(BANK_TYPES))
        .join(bank, on="record_id", how="left")
        .join(accounts.unique("bank_account_id"), on="bank_account_id", how="left")
        .group_by("match_id")
        .agg(
            pl.coalesce("booking_date", "value_date").max().alias("bank_date"),
            pl.col("gl_account").drop_nulls().first(),
            pl.col("source_id").sort().str.join(", ").alias("bank_refs"),
        )
    )
    charges = (
        mem.filter(pl.col("record_type").is_in(TXN_TYPES))
        .join(txns, on="record_id", how="left")
        .group_by("match_id")
        .agg(
            (
                pl.col("fee").fill_null(0).sum()
                - pl.when(pl.col("type").is_in(FEE_TXN_TYPES))
                .then(pl.col("t_amount"))
                .otherwise(0)
                .sum()
            ).alias("fees"),
            (
                -pl.when(pl.col("type").is_in(REFUND_TXN_TYPES))
                .then(pl.col("t_amount"))
                .otherwise(0)
                .sum()
            ).alias("refunds"),
        )
    )
    j = (
        head.join(deposit, on="match_id", how="left")
        .join(charges, on="match_id", how="left")
        .with_columns(
            pl.coalesce("bank_date", "arrival_date").alias("posting_date"),
            pl.col("fees").fill_null(0),
            pl.col("refunds").fill_null(0),
        )
        .filter(pl.col("payout") > 0)
    )
    # The ledger may already carry the transfer (a line referencing the payout id): then only
    # fees and refunds remain to propose.
    booked = _ledger_refs(tables, cfg, ar_only=False).select(
        pl.col("entity_id").alias("entity"),
        pl.col("ref").alias("payout_refs"),
        pl.lit(cfg["skip_posted"]).alias("__booked"),
    )
    j = j.join(booked, on=["entity", "payout_refs"], how="left").with_columns(
        pl.when(pl.col("__booked").fill_null(False))
        .then(0)
        .otherwise(pl.col("payout"))
        .cast(MONEY)
        .alias("transfer")
    )
    parts = [
        _line(
            j,
            "processor_payout",
            1,
            "cash",
            pl.col("transfer"),
            pl.format(
                "Payout {} received in bank ({})", pl.col("payout_refs"), pl.col("bank_refs")
            ),
            account=pl.col("gl_account"),
        ),
        _line(
            j,
            "processor_payout",
            2,
            "processor_fees",
            pl.col("fees"),
            pl.format("Processor fees in payout {}", pl.col("payout_refs")),
        ),
        _line(
            j,
            "processor_payout",
            3,
            "refunds",
            pl.col("refunds"),
            pl.format("Refunds netted in payout {}", pl.col("payout_refs")),
        ),
        _line(
            j,
            "processor_payout",
            4,
            "processor_clearing",
            -(pl.col("transfer") + pl.col("fees") + pl.col("refunds")),
            pl.format("Clear processor balance for payout {}", pl.col("payout_refs")),
        ),
    ]
    return pl.concat([p.cast(LINE_SCHEMA) for p in parts])


# --- payroll ---------------------------------------------------------------------------------


def _payroll(
    matches: pl.DataFrame,
    members: pl.DataFrame,
    tables: Mapping[str, pl.DataFrame],
    cfg: Mapping[str, Any],
) -> pl.DataFrame:
    mem = _auto(matches, members, "payroll_to_ledger")
    if mem.height == 0:
        return _empty_lines()
    entries = _table(
        tables,
        "payroll_entries",
        {
            "payroll_entry_id": pl.String,
            "entity_id": pl.String,
            "component": pl.String,
            "pay_date": pl.Date,
        },
    ).rename({"payroll_entry_id": "record_id"})
    gl = _table(
        tables,
        "gl_journal_lines",
        {
            "gl_line_id": pl.String,
            "entity_id": pl.String,
            "posting_date": pl.Date,
        },
    ).rename({"gl_line_id": "record_id", "entity_id": "g_entity", "posting_date": "g_date"})
    left = (
        mem.filter(pl.col("record_type").is_in(PAYROLL_TYPES))
        .join(entries, on="record_id", how="left")
        .group_by("workflow", "match_id", "rule_version")
        .agg(
            pl.col("amount_applied").abs().sum().alias("register"),
            pl.col("entity_id").drop_nulls().first().alias("entity"),
            pl.col("component").drop_nulls().first(),
            pl.col("pay_date").max(),
            pl.col("currency").first(),
        )
    )
    right = (
        mem.filter(pl.col("record_type").is_in(GL_TYPES))
        .join(gl, on="record_id", how="left")
        .group_by("match_id")
        .agg(
            pl.col("amount_applied").abs().sum().alias("ledger"),
            pl.col("g_entity").drop_nulls().first(),
            pl.col("g_date").max(),
            pl.col("source_id").sort().str.join(", ").alias("gl_refs"),
        )
    )
    j = (
        left.join(right, on="match_id", how="inner")
        .with_columns(
            pl.coalesce("entity", "g_entity").alias("entity"),
            pl.coalesce("g_date", "pay_date").alias("posting_date"),
            (pl.col("register") - pl.col("ledger")).alias("diff"),
            pl.col("component")
            .replace_strict(PAYROLL_ACCOUNT_ROLE, default="payroll_gross", return_dtype=pl.String)
            .alias("comp_role"),
        )
        .filter(pl.col("diff") != 0)
    )
    if j.height == 0:
        return _empty_lines()
    # Expense components: more in the register than the ledger means more expense (debit);
    # liability components: more means more liability (credit). Clearing takes the other side.
    sign = pl.when(pl.col("component").is_in(PAYROLL_EXPENSE)).then(1).otherwise(-1)
    desc = pl.format(
        "Payroll true-up {} ({}): register {} vs ledger {}",
        pl.col("component"),
        pl.col("gl_refs"),
        pl.col("register"),
        pl.col("ledger"),
    )
    parts = []
    for comp_role in sorted(set(PAYROLL_ACCOUNT_ROLE.values())):
        sub = j.filter(pl.col("comp_role") == comp_role)
        parts.append(_line(sub, "payroll_true_up", 1, comp_role, pl.col("diff") * sign, desc))
    parts.append(_line(j, "payroll_true_up", 2, "payroll_clearing", -pl.col("diff") * sign, desc))
    return pl.concat([p.cast(LINE_SCHEMA) for p in parts])


# --- assembling proposals --------------------------------------------------------------------


def _finish(lines: pl.DataFrame) -> pl.DataFrame:
    """Journal ids, line numbers and idempotency keys from content; contract columns."""
    if lines.height == 0:
        return pl.DataFrame(schema=SCHEMA)
    lines = lines.sort(
        "workflow", "match_id", "kind", "order", "gl_account", "debit", "credit", "description"
    ).with_columns(
        (pl.int_range(pl.len()).over("workflow", "match_id", "kind") + 1)
        .cast(pl.Int64)
        .alias("line_no")
    )
    content = pl.format(
        "{}|{}|{}|{}|{}|{}|{}|{}",
        pl.col("line_no"),
        pl.col("entity"),
        pl.col("posting_date"),
        pl.col("gl_account"),
        pl.col("debit"),
        pl.col("credit"),
        pl.col("currency"),
        pl.col("description"),
    )
    journals = (
        lines.with_columns(content.alias("__content"))
        .group_by("workflow", "match_id", "rule_version", "kind", maintain_order=True)
        .agg(pl.col("__content").str.join("\n").alias("__body"))
    )
    journals = journals.with_columns(
        sha256_hex(
            journals.select(
                pl.format(
                    "{}\x1f{}\x1f{}\x1f{}", "workflow", "match_id", "rule_version", "__body"
                ).alias("d")
            )["d"]
        ).alias("__digest")
    ).with_columns(pl.format("jp_{}", pl.col("__digest").str.slice(0, 24)).alias("journal_id"))
    lines = lines.join(
        journals.select("workflow", "match_id", "kind", "journal_id", "__digest"),
        on=["workflow", "match_id", "kind"],
        how="left",
    )
    keys = lines.select(
        pl.format(
            "{}\x1f{}\x1f{}\x1f{}\x1f{}",
            "workflow",
            "match_id",
            "rule_version",
            "__digest",
            "line_no",
        ).alias("k")
    )["k"]
    lines = lines.with_columns(sha256_hex(keys).alias("idempotency_key"))
    out = lines.select(
        "journal_id",
        "line_no",
        "entity",
        "posting_date",
        "gl_account",
        "debit",
        "credit",
        "currency",
        "description",
        "match_id",
        "idempotency_key",
        pl.lit("proposed").alias("status"),
    )
    return out.cast(SCHEMA).sort("journal_id", "line_no")


def propose_journals(
    matches: pl.DataFrame,
    members: pl.DataFrame,
    tables: Mapping[str, pl.DataFrame],
    settings: Mapping[str, Any] | None = None,
) -> pl.DataFrame:
    """``recon.journal_proposals`` rows for the auto matches of every workflow given."""
    cfg = journal_settings(settings)
    if matches.height == 0 or members.height == 0:
        return pl.DataFrame(schema=SCHEMA)
    lines = pl.concat(
        [
            _cash_application(matches, members, tables, cfg),
            _processor_settlement(matches, members, tables, cfg),
            _payroll(matches, members, tables, cfg),
        ]
    )
    lines = _resolve_accounts(lines, cfg)
    # Drop journals that could not be completed (no entity, date or account): a partial
    # journal would not balance, and a proposal must always be postable.
    incomplete = (
        lines.filter(
            pl.col("entity").is_null()
            | pl.col("posting_date").is_null()
            | pl.col("gl_account").is_null()
            | pl.col("currency").is_null()
        )
        .select("workflow", "match_id", "kind")
        .unique()
    )
    lines = lines.join(incomplete, on=["workflow", "match_id", "kind"], how="anti")
    return _finish(lines)


def unbalanced(proposals: pl.DataFrame) -> pl.DataFrame:
    """Journals whose debits and credits differ per journal, entity and currency (should be
    none: every builder balances by construction; an asset check asserts it)."""
    return (
        proposals.group_by("journal_id", "entity", "currency")
        .agg(pl.col("debit").sum(), pl.col("credit").sum())
        .filter(pl.col("debit") != pl.col("credit"))
        .sort("journal_id")
    )


def roll_forward_journals(today: pl.DataFrame, previous: pl.DataFrame | None) -> pl.DataFrame:
    """Today's state: today's proposals (an exported one stays ``exported``) plus earlier
    proposals no longer produced, marked ``superseded`` so the ERP team can reverse them."""
    if previous is None or previous.height == 0:
        return today.select(list(SCHEMA)).cast(SCHEMA).sort("journal_id", "line_no")
    prev = previous.select(list(SCHEMA)).cast(SCHEMA)
    kept = today.join(
        prev.select("idempotency_key", pl.col("status").alias("__prev")),
        on="idempotency_key",
        how="left",
    ).with_columns(
        pl.when(pl.col("__prev") == "exported")
        .then(pl.lit("exported"))
        .otherwise(pl.col("status"))
        .alias("status")
    )
    gone = prev.join(today.select("idempotency_key"), on="idempotency_key", how="anti")
    gone = gone.with_columns(pl.lit("superseded").alias("status"))
    out = pl.concat([kept.select(list(SCHEMA)), gone.select(list(SCHEMA))])
    return out.cast(SCHEMA).sort("journal_id", "line_no")


# --- exports ---------------------------------------------------------------------------------


def safe_cell(text: str | None) -> str | None:
    """A text cell a spreadsheet will not run as a formula.

    Excel, LibreOffice and Google Sheets evaluate a cell starting with ``= + - @`` (and,
    after their import trimming, TAB or CR) as a formula, so a description copied from a
    bank's remittance text such as ``=HYPERLINK("http://evil",...)`` would execute when an
    accountant opens the export (CSV injection, OWASP). A leading apostrophe makes the cell
    literal text in all of them and is shown by none.
    """
    if text and text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def _atomic_write(path: Path, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".export-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return path


def csv_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """Every text column with formula-starting cells neutralised (see :func:`safe_cell`)."""
    text_cols = [c for c, t in frame.schema.items() if t == pl.String]
    pattern = "^[=+\\-@\t\r]"
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(pattern))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c in text_cols
    )


def export_csv(frame: pl.DataFrame, path: Path) -> Path:
    """Write proposals (or any frame) as CSV for ERP import: decimals as exact text, dates ISO,
    text cells safe from formula injection."""
    return _atomic_write(Path(path), csv_safe(frame).write_csv().encode("utf-8"))


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def export_json(frame: pl.DataFrame, path: Path) -> Path:
    """Write proposals as ``{"journals": [{header..., "lines": [...]}]}``; amounts as decimal
    strings (never floats), so the ERP reads exactly what was proposed."""
    journals: dict[str, dict[str, Any]] = {}
    for row in frame.sort("journal_id", "line_no").iter_rows(named=True):
        journal = journals.setdefault(
            row["journal_id"],
            {
                "journal_id": row["journal_id"],
                "entity": row["entity"],
                "posting_date": _plain(row["posting_date"]),
                "currency": row["currency"],
                "match_id": row["match_id"],
                "status": row["status"],
                "lines": [],
            },
        )
        journal["lines"].append(
            {
                "line_no": row["line_no"],
                "gl_account": row["gl_account"],
                "debit": _plain(row["debit"]),
                "credit": _plain(row["credit"]),
                "description": row["description"],
                "idempotency_key": row["idempotency_key"],
            }
        )
    body = json.dumps({"journals": list(journals.values())}, indent=2, ensure_ascii=False)
    return _atomic_write(Path(path), (body + "\n").encode("utf-8"))
