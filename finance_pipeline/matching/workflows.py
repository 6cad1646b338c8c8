"""Left and right inputs of each workflow, prepared from canonical tables.

Each workflow turns canonical tables into named *sides*: frames with the standard columns
(``rid``, ``record_type`` = canonical table name, ``record_id``, ``source_system``,
``source_id``, ``entity``, ``currency``, ``amount``, ``date``, ``label``) plus the fields its
rules compare. Rules name the sides they match (``left``/``right`` in the rules file).

Choices, and why:

* Transactional tables may arrive as several daily partitions; an id seen twice keeps its
  latest ``business_date`` (a re-sent export replaces the earlier copy).
* References are extracted with the rules file's ``references.patterns`` from free text, and
  taken as-is from fields that already are references (remittance lines, remittance refs);
  all are normalised to upper-case alphanumerics. An ISO 11649 creditor reference
  (``RF18RE202600012``) also yields the reference it wraps (``RE202600012``).
* Payers are tied to customers by account (payer account, Stripe customer), then by name
  (normalised equality, then token similarity above ``inputs.customer_name_min_similarity``
  with a clear winner); ``customer_score`` says how sure that is and rules weigh it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import polars as pl
from rapidfuzz import fuzz, process

from contracts.canonical import CANONICAL_MODELS
from finance_pipeline.matching.rules import RuleSet
from finance_pipeline.matching.text import (
    DEFAULT_REFERENCE_PATTERNS,
    name_key,
    normalise,
    reference_lists,
    reference_table,
    split_list,
)
from finance_pipeline.validation import polars_schema

Sides = dict[str, pl.DataFrame]
EMPTY_LIST = pl.lit([], dtype=pl.List(pl.String))


def prepare(workflow: str, tables: Mapping[str, pl.DataFrame], ruleset: RuleSet) -> Sides:
    """The named sides of ``workflow`` (missing tables count as empty)."""
    return PREPARERS[workflow](_Tables(tables), ruleset)


class _Tables:
    """Canonical tables by name, with missing tables and columns filled as empty/null."""

    def __init__(self, tables: Mapping[str, pl.DataFrame]) -> None:
        self._tables = tables

    def get(self, name: str, id_column: str | None = None) -> pl.DataFrame:
        schema = polars_schema(CANONICAL_MODELS[name])
        frame = self._tables.get(name)
        if frame is None:
            return pl.DataFrame(schema=schema)
        missing = [
            pl.lit(None, dtype=dtype).alias(c)
            for c, dtype in schema.items()
            if c not in frame.columns
        ]
        if missing:
            frame = frame.with_columns(missing)
        if id_column and frame.height and frame[id_column].is_duplicated().any():
            # Latest business date wins; the other columns only make the pick of two
            # same-day copies independent of the row order.
            rest = [
                c
                for c, dtype in frame.schema.items()
                if c not in (id_column, "business_date") and not dtype.is_nested()
            ]
            frame = frame.sort(
                [id_column, "business_date", *rest],
                descending=[False, True] + [False] * len(rest),
                nulls_last=True,
            ).unique(id_column, keep="first", maintain_order=True)
        return frame


def _std(
    frame: pl.DataFrame,
    record_type: str,
    id_column: str,
    *,
    entity: pl.Expr,
    currency: pl.Expr,
    amount: pl.Expr,
    date: pl.Expr,
    label: pl.Expr,
) -> list[pl.Expr]:
    """The standard side columns as expressions over one canonical table."""
    return [
        pl.format("{}:{}", pl.lit(record_type), pl.col(id_column)).alias("rid"),
        pl.lit(record_type).alias("record_type"),
        pl.col(id_column).cast(pl.String).alias("record_id"),
        pl.col("source_system").cast(pl.String),
        pl.col("source_id").cast(pl.String),
        entity.cast(pl.String).alias("entity"),
        currency.cast(pl.String).alias("currency"),
        amount.alias("amount"),
        date.cast(pl.Date).alias("date"),
        pl.coalesce(
            label.cast(pl.String), pl.format("{} {}", pl.lit(record_type), pl.col(id_column))
        ).alias("label"),
    ]


def _gl_std(lines: pl.DataFrame, amount: pl.Expr) -> list[pl.Expr]:
    """The standard side columns of GL journal lines, with ``amount`` as the line's movement."""
    return _std(
        lines,
        "gl_journal_lines",
        "gl_line_id",
        entity=pl.col("entity_id"),
        currency=pl.col("currency"),
        amount=amount,
        date=pl.col("posting_date"),
        label=pl.format(
            "GL line {} ({})", pl.col("gl_line_id"), pl.col("description").fill_null("")
        ),
    )


def _patterns(ruleset: RuleSet) -> list[str]:
    return list(ruleset.references.get("patterns") or DEFAULT_REFERENCE_PATTERNS)


def _text(*columns: str) -> pl.Expr:
    return pl.concat_str([pl.col(c).fill_null("") for c in columns], separator=" ")


def _input(ruleset: RuleSet, key: str, default: Any) -> Any:
    value = ruleset.inputs.get(key)
    return default if value is None else value


def _first_capture(text: pl.Expr, patterns: list[str]) -> pl.Expr:
    """The first capture group of the first pattern that matches ``text``."""
    found = [text.str.extract(p, 1).str.strip_chars() for p in patterns]
    return pl.coalesce(found) if found else pl.lit(None, dtype=pl.String)


def _counterparty(ruleset: RuleSet) -> tuple[pl.Expr, pl.Expr]:
    """Payer name and account: the bank's fields, else read from the text by the rules'
    ``inputs.payer_name_patterns`` / ``payer_account_patterns`` (BAI2 carries them in 88s)."""
    text = pl.col("remittance_text").fill_null("")
    name = pl.coalesce(
        pl.col("counterparty_name"),
        _first_capture(text, list(_input(ruleset, "payer_name_patterns", []))),
    )
    account = pl.coalesce(
        pl.col("counterparty_account"),
        _first_capture(text, list(_input(ruleset, "payer_account_patterns", []))),
    )
    return name, account


def _bank_lines(tables: _Tables) -> pl.DataFrame:
    """Bank transactions with ``entity_id`` and ``bank_account_id`` filled from the bank
    account master where the statement reader could not (master data not yet loaded)."""
    bank = tables.get("bank_transactions", "transaction_id")
    accounts = tables.get("bank_accounts", "bank_account_id").select(
        pl.col("account_number").alias("__number"),
        pl.col("bank_account_id").alias("__account"),
        pl.col("entity_id").alias("__entity"),
    )
    if accounts.height == 0:
        return bank
    by_id = accounts.select(
        pl.col("__account").alias("__account2"), pl.col("__entity").alias("__entity2")
    )
    return (
        bank.join(accounts, left_on="account_number", right_on="__number", how="left")
        .join(by_id, left_on="bank_account_id", right_on="__account2", how="left")
        .with_columns(
            pl.coalesce("bank_account_id", "__account").alias("bank_account_id"),
            pl.coalesce("entity_id", "__entity2", "__entity").alias("entity_id"),
        )
        .drop("__account", "__entity", "__entity2")
    )


# --- customers -------------------------------------------------------------------------------


def infer_customers(
    payers: pl.DataFrame, customers: pl.DataFrame, min_similarity: float, margin: float = 0.05
) -> pl.DataFrame:
    """(rid, customer_id, customer_score, customer_basis) for payers with a known customer.

    ``payers``: rid, entity, customer_id (given), payer_account, payer_name. An explicit id
    scores 1.0, an account 1.0, an identical normalised name 0.97, a similar name its token
    similarity, only when it beats the runner-up by ``margin``.
    """
    schema = {
        "rid": pl.String,
        "customer_id": pl.String,
        "customer_score": pl.Float64,
        "customer_basis": pl.String,
    }
    if payers.height == 0:
        return pl.DataFrame(schema=schema)
    master = customers.select(
        pl.col("customer_id"),
        pl.col("entity_id").alias("entity"),
        normalise(pl.col("payer_account")).alias("acct"),
        normalise(pl.col("stripe_customer_id")).alias("stripe"),
        name_key(pl.col("name")).alias("name"),
    )
    if master.height == 0:
        return pl.DataFrame(schema=schema)
    known = set(master["customer_id"].to_list())
    given = payers.filter(pl.col("customer_id").is_in(known)).select(
        "rid",
        "customer_id",
        pl.lit(1.0).alias("customer_score"),
        pl.lit("customer id").alias("customer_basis"),
    )
    rest = (
        payers.join(given.select("rid"), on="rid", how="anti")
        .drop("customer_id")
        .with_columns(
            normalise(pl.col("payer_account")).alias("acct"),
            name_key(pl.col("payer_name")).alias("name"),
        )
    )
    by_account = pl.concat(
        [
            rest.join(master.select("customer_id", "entity", "acct").drop_nulls("acct"), on="acct"),
            rest.join(
                master.select("customer_id", "entity", pl.col("stripe").alias("acct")).drop_nulls(
                    "acct"
                ),
                on="acct",
            ),
        ],
        how="diagonal_relaxed",
    )
    by_account = _unique_winner(
        by_account.filter(
            pl.col("entity").is_null() | (pl.col("entity") == pl.col("entity_right"))
        ).select(
            "rid",
            "customer_id",
            pl.lit(1.0).alias("customer_score"),
            pl.lit("payer account").alias("customer_basis"),
        )
    )
    rest = rest.join(by_account.select("rid"), on="rid", how="anti").drop_nulls("name")
    by_name = _names(rest, master.drop_nulls("name"), min_similarity, margin)
    return pl.concat([given, by_account, by_name]).cast(schema).sort("rid")


def _unique_winner(found: pl.DataFrame) -> pl.DataFrame:
    """Keep payers tied to exactly one customer (two customers sharing an account: nobody)."""
    counts = found.group_by("rid").agg(pl.col("customer_id").n_unique().alias("n"))
    return (
        found.join(counts.filter(pl.col("n") == 1).select("rid"), on="rid")
        .unique("rid", keep="first")
        .sort("rid")
    )


def _names(
    payers: pl.DataFrame, master: pl.DataFrame, min_similarity: float, margin: float
) -> pl.DataFrame:
    schema = {
        "rid": pl.String,
        "customer_id": pl.String,
        "customer_score": pl.Float64,
        "customer_basis": pl.String,
    }
    if payers.height == 0 or master.height == 0:
        return pl.DataFrame(schema=schema)
    tokens = (
        pl.col("name")
        .str.split(" ")
        .list.eval(pl.element().filter(pl.element().str.len_chars() >= 3))
    )
    left = payers.select("rid", "entity", "name", tokens.alias("tok")).explode("tok")
    right = master.select(
        "customer_id",
        pl.col("entity").alias("c_entity"),
        pl.col("name").alias("c_name"),
        tokens.alias("tok"),
    ).explode("tok")
    pairs = (
        left.join(right, on="tok")
        .filter(pl.col("entity").is_null() | (pl.col("entity") == pl.col("c_entity")))
        .select("rid", "name", "customer_id", "c_name")
        .unique()
    )
    if pairs.height == 0:
        return pl.DataFrame(schema=schema)
    scores = process.cpdist(
        pairs["name"].to_list(),
        pairs["c_name"].to_list(),
        scorer=fuzz.token_set_ratio,
        workers=-1,
        dtype=np.float64,
    )
    exact = (pairs["name"] == pairs["c_name"]).to_numpy()
    pairs = pairs.with_columns(
        pl.Series("score", np.where(exact, 0.97, np.round(scores / 100.0 * 0.96, 4)))
    )
    ranked = pairs.sort(
        ["rid", "score", "customer_id"], descending=[False, True, False]
    ).with_columns(
        pl.col("score").shift(-1).over("rid").fill_null(0.0).alias("runner_up"),
        pl.int_range(pl.len()).over("rid").alias("rank"),
    )
    best = ranked.filter(
        (pl.col("rank") == 0)
        & (pl.col("score") >= min_similarity)
        & (pl.col("score") - pl.col("runner_up") >= margin)
    )
    return best.select(
        "rid",
        "customer_id",
        pl.col("score").alias("customer_score"),
        pl.format("payer name {}", pl.col("name")).alias("customer_basis"),
    ).cast(schema)


# --- cash application ------------------------------------------------------------------------


def cash_application(tables: _Tables, ruleset: RuleSet) -> Sides:
    """Cash received (left) against open AR invoices (right).

    Left = ``payments`` (lockbox checks, card charges, and any ACH/wire a source reports as a
    payment) plus booked bank credits that are customer money: ACH, wire, SEPA and Faster
    Payments arrive only as bank lines. Credits that are lockbox deposits (the checks are
    already payments), processor payouts (their charges are the payments) or otherwise
    excluded by ``inputs.exclude_type_codes`` / ``inputs.exclude_pattern`` are left out.
    Right = invoices whose status is in ``inputs.open_statuses``, compared on open amount.

    ``refs`` are the references of a payment (its own, its remittance lines', those found in
    remittance text); ``refs_unknown`` those that are no invoice's number (any status), the
    only ones fuzzy rules may read: a reference to a paid invoice is a duplicate payment, not
    a typo of another invoice's number.
    """
    patterns = _patterns(ruleset)
    payments = tables.get("payments", "payment_id")
    remit = tables.get("remittance_lines", "remittance_id")
    bank = _bank_lines(tables)
    invoices_all = tables.get("invoices", "invoice_id")
    customers = tables.get("customers", "customer_id")
    reason_pattern = _input(ruleset, "short_pay_reason_pattern", None)
    stated_pattern = _input(ruleset, "remitted_amount_pattern", None)

    remit_agg = (
        remit.sort(["payment_id", "line_no"])
        .group_by("payment_id", maintain_order=True)
        .agg(
            pl.col("reference").str.join(" ").alias("remit_text"),
            pl.col("amount").sum().alias("remit_total"),
            pl.col("amount").is_null().any().alias("remit_gaps"),
        )
    )
    pay = payments.join(remit_agg, on="payment_id", how="left")
    pay_side = pay.select(
        *_std(
            pay,
            "payments",
            "payment_id",
            entity=pl.col("entity_id"),
            currency=pl.col("currency"),
            amount=pl.col("amount"),
            date=pl.col("received_date"),
            label=pl.format("{} payment {}", pl.col("method"), pl.col("source_id")),
        ),
        pl.col("method").alias("channel"),
        pl.concat_str(
            [pl.col("reference"), pl.col("remit_text")], separator=" ", ignore_nulls=True
        ).alias("text"),
        pl.col("reference"),
        pl.col("customer_id"),
        pl.col("payer_name"),
        pl.col("payer_account"),
        (~pl.col("remit_gaps").fill_null(True) & (pl.col("remit_total") == pl.col("amount")))
        .fill_null(False)
        .alias("states_amount"),
    )

    exclude_codes = [str(c) for c in _input(ruleset, "exclude_type_codes", [])]
    exclude_pattern = _input(ruleset, "exclude_pattern", None)
    credits = bank.filter(
        (pl.col("status") == "BOOK") & ~pl.col("reversal").fill_null(False) & (pl.col("amount") > 0)
    )
    if exclude_codes:
        credits = credits.filter(~pl.col("type_code").fill_null("").is_in(exclude_codes))
    if exclude_pattern:
        credits = credits.filter(
            ~_text("counterparty_name", "remittance_text").str.contains(exclude_pattern)
        )
    bank_text = _text("remittance_text", "customer_reference")
    payer_name, payer_account = _counterparty(ruleset)
    stated = (
        (_stated_total(bank_text, stated_pattern) == pl.col("amount")).fill_null(False)
        if stated_pattern
        else pl.lit(False)
    )
    bank_side = credits.select(
        *_std(
            credits,
            "bank_transactions",
            "transaction_id",
            entity=pl.col("entity_id"),
            currency=pl.col("currency"),
            amount=pl.col("amount"),
            date=pl.coalesce("value_date", "booking_date"),
            label=pl.format("bank credit {}", pl.col("source_id")),
        ),
        pl.lit("bank").alias("channel"),
        bank_text.alias("text"),
        pl.lit(None, dtype=pl.String).alias("reference"),
        pl.lit(None, dtype=pl.String).alias("customer_id"),
        payer_name.alias("payer_name"),
        payer_account.alias("payer_account"),
        stated.alias("states_amount"),
        split_list(pl.col("remittance_refs")).alias("remitted"),
    )
    cash = pl.concat(
        [pay_side.with_columns(pl.lit([], dtype=pl.List(pl.String)).alias("remitted")), bank_side],
        how="vertical_relaxed",
    ).with_row_index("__row")

    lines = (
        remit.join(payments.select("payment_id"), on="payment_id")
        .select(pl.format("payments:{}", pl.col("payment_id")).alias("rid"), "reference")
        .join(cash.select("rid", "__row"), on="rid")
    )
    refs = pl.concat(
        [
            reference_table(
                cash,
                "__row",
                texts=["text"],
                patterns=patterns,
                direct=["reference"],
                direct_lists=["remitted"],
            ),
            reference_table(lines, "__row", direct=["reference"]),
        ]
    )
    known = invoices_all.select(
        normalise(pl.col("invoice_number")).alias("ref"), pl.lit(True).alias("known")
    ).unique("ref")
    refs = refs.join(known, on="ref", how="left")
    has_known = np.zeros(cash.height, dtype=bool)
    has_known[refs.filter(pl.col("known"))["__row"].to_numpy()] = True
    inferred = infer_customers(
        cash.select("rid", "entity", "customer_id", "payer_account", "payer_name"),
        customers,
        float(_input(ruleset, "customer_name_min_similarity", 0.9)),
    )
    note = (
        pl.col("text").str.extract(reason_pattern, 0).str.strip_chars()
        if reason_pattern
        else pl.lit(None, dtype=pl.String)
    )
    cash = (
        cash.drop("customer_id", "remitted")
        .with_columns(pl.Series("has_known_ref", has_known))
        .join(reference_lists(refs, "__row"), on="__row", how="left")
        .join(
            reference_lists(refs.filter(pl.col("known").is_null()), "__row", "refs_unknown"),
            on="__row",
            how="left",
        )
        .join(inferred, on="rid", how="left")
        .with_columns(
            pl.col("refs").fill_null(EMPTY_LIST),
            pl.col("refs_unknown").fill_null(EMPTY_LIST),
            pl.when(note.is_not_null()).then(pl.format("short-pay reason: {}", note)).alias("note"),
        )
        .with_columns((pl.col("refs").list.len() > 0).alias("has_refs"))
        .drop("__row")
    )

    statuses = list(_input(ruleset, "open_statuses", ["open", "partially_paid"]))
    open_invoices = invoices_all.filter(
        pl.col("status").is_in(statuses) & (pl.col("open_amount") != 0)
    )
    number = normalise(pl.col("invoice_number"))
    invoices = open_invoices.select(
        *_std(
            open_invoices,
            "invoices",
            "invoice_id",
            entity=pl.col("entity_id"),
            currency=pl.col("currency"),
            amount=pl.col("open_amount"),
            date=pl.col("issue_date"),
            label=pl.format("invoice {}", pl.col("invoice_number")),
        ),
        pl.when(number.is_null()).then(EMPTY_LIST).otherwise(pl.concat_list(number)).alias("refs"),
        pl.col("customer_id"),
        pl.col("due_date"),
        pl.col("amount").alias("invoice_amount"),
    )
    return {"cash": cash, "invoices": invoices}


def _stated_total(text: pl.Expr, pattern: str) -> pl.Expr:
    """Sum of the amounts a remittance text states per line (e.g. ACH RMR*IV*ref**amount)."""
    found = text.str.extract_all(pattern)
    amounts = found.list.eval(pl.element().str.extract(pattern, 1).str.to_decimal(scale=4))
    return pl.when(found.list.len() > 0).then(amounts.list.sum().cast(pl.Decimal(18, 4)))


# --- bank reconciliation ---------------------------------------------------------------------


def _cash_accounts(tables: _Tables) -> pl.DataFrame:
    """(entity, gl_account, bank_account_id, account_number) of every bank account."""
    accounts = tables.get("bank_accounts", "bank_account_id")
    return accounts.select(
        pl.col("entity_id").alias("entity"),
        pl.col("gl_account").cast(pl.String),
        "bank_account_id",
        "account_number",
    )


def _payout_refs(bank: pl.DataFrame, payouts: pl.DataFrame) -> pl.DataFrame:
    """(transaction_id, payout_id) where a bank line's text carries a payout's descriptor."""
    descriptors = (
        payouts.select("payout_id", normalise(pl.col("statement_descriptor")).alias("tok"))
        .drop_nulls("tok")
        .filter(pl.col("tok").str.len_chars() >= 6)
    )
    words = bank.select(
        "transaction_id",
        _text("remittance_text", "customer_reference", "counterparty_name")
        .str.to_uppercase()
        .str.split(" ")
        .list.eval(pl.element().str.replace_all(r"^[^0-9A-Z]+|[^0-9A-Z]+$", ""))
        .alias("words"),
    ).explode("words")
    words = words.with_columns(
        pl.col("words").str.replace(r"^[A-Z ]+:", "").str.replace_all(r"[^0-9A-Z]", "").alias("tok")
    )
    return (
        words.join(descriptors, on="tok")
        .select("transaction_id", "payout_id")
        .unique()
        .sort(["transaction_id", "payout_id"])
    )


def bank_reconciliation(tables: _Tables, ruleset: RuleSet) -> Sides:
    """Booked bank lines (left) against the ledger's cash movements (right).

    The expected cash movements are the GL journal lines on each bank account's cash GL
    account (``bank_accounts.gl_account``), signed as cash moves (debit in, credit out): the
    ledger is where receipts, vendor payments, payroll funding and processor payouts are all
    booked, so one source covers every kind without counting a movement twice. (Payments,
    payouts and bills are reconciled to their own counterparts in the other workflows.)
    A bank line's references also include the id of a processor payout whose statement
    descriptor appears in its text, so a payout credit meets the GL line booked against it.
    """
    patterns = _patterns(ruleset)
    bank = _bank_lines(tables)
    gl = tables.get("gl_journal_lines", "gl_line_id")
    accounts = _cash_accounts(tables)
    payouts = tables.get("payouts", "payout_id")
    lockbox_codes = [str(c) for c in _input(ruleset, "lockbox_type_codes", ["115"])]
    booked = bank.filter(pl.col("status") == "BOOK")
    by_id = accounts.select("bank_account_id", pl.col("gl_account").alias("acct_a"))
    by_number = accounts.select("account_number", pl.col("gl_account").alias("acct_b"))
    booked = (
        booked.join(by_id, on="bank_account_id", how="left")
        .join(by_number, on="account_number", how="left")
        .with_columns(pl.coalesce("acct_a", "acct_b").alias("cash_account"))
    )
    payout_refs = (
        _payout_refs(booked, payouts)
        .group_by("transaction_id")
        .agg(pl.col("payout_id").sort().alias("payout_refs"))
    )
    booked = booked.join(payout_refs, on="transaction_id", how="left")
    party, _ = _counterparty(ruleset)
    booked = booked.with_columns(
        _text("remittance_text", "customer_reference").alias("__text"),
        split_list(pl.col("remittance_refs")).alias("__remitted"),
        pl.col("payout_refs").fill_null(EMPTY_LIST),
    )
    bank_refs = reference_table(
        booked,
        "transaction_id",
        texts=["__text"],
        patterns=patterns,
        direct=["customer_reference", "end_to_end_id", "check_number"],
        direct_lists=["__remitted", "payout_refs"],
    )
    booked = booked.join(
        reference_lists(bank_refs, "transaction_id"), on="transaction_id", how="left"
    )
    left = booked.select(
        *_std(
            booked,
            "bank_transactions",
            "transaction_id",
            entity=pl.col("entity_id"),
            currency=pl.col("currency"),
            amount=pl.col("amount"),
            date=pl.coalesce("booking_date", "value_date"),
            label=pl.format("bank line {}", pl.col("source_id")),
        ),
        pl.col("cash_account"),
        pl.col("refs").fill_null(EMPTY_LIST),
        name_key(party).alias("party"),
        pl.col("type_code").fill_null("").is_in(lockbox_codes).alias("is_lockbox"),
        (pl.col("amount") > 0).alias("is_credit"),
    )

    cash_lines = gl.join(
        accounts.select(pl.col("entity").alias("entity_id"), "gl_account").unique(),
        on=["entity_id", "gl_account"],
    ).with_columns(
        _text("reference", "description").alias("__text"),
        split_list(pl.col("reference"), " ").alias("__words"),
    )
    gl_refs = reference_table(
        cash_lines,
        "gl_line_id",
        texts=["__text"],
        patterns=patterns,
        direct=["reference"],
        direct_lists=["__words"],
    )
    cash_lines = cash_lines.join(
        reference_lists(gl_refs, "gl_line_id"), on="gl_line_id", how="left"
    )
    movement = (pl.col("debit").fill_null(0) - pl.col("credit").fill_null(0)).cast(
        pl.Decimal(18, 4)
    )
    right = cash_lines.select(
        *_gl_std(cash_lines, movement),
        pl.col("gl_account").alias("cash_account"),
        pl.col("refs").fill_null(EMPTY_LIST),
        name_key(pl.col("description")).alias("party"),
        (movement > 0).alias("is_credit"),
    )
    return {"bank": left, "ledger": right}


# --- processor settlement --------------------------------------------------------------------


def processor_settlement(tables: _Tables, ruleset: RuleSet) -> Sides:
    """Each payout (left) to its balance transactions and to the bank credit that settled it.

    ``balance_transactions``: every processor transaction except the payout's own (type
    ``payout``), compared on ``net`` (charges minus fees, refunds, adjustments) and keyed by
    the payout that carried it. ``bank_deposits``: booked bank credits, with ``payout_key``
    set where the line's text carries a payout's statement descriptor, and ``processor``
    set where it matches ``inputs.processor_pattern``.
    """
    payouts = tables.get("payouts", "payout_id")
    txns = tables.get("processor_transactions", "processor_txn_id")
    bank = _bank_lines(tables)
    processor = str(_input(ruleset, "processor_name", "STRIPE"))
    pattern = _input(ruleset, "processor_pattern", r"(?i)\bSTRIPE\b")
    left = payouts.select(
        *_std(
            payouts,
            "payouts",
            "payout_id",
            entity=pl.col("entity_id"),
            currency=pl.col("currency"),
            amount=pl.col("amount"),
            date=pl.col("arrival_date"),
            label=pl.format("payout {}", pl.col("payout_id")),
        ),
        pl.col("payout_id").alias("payout_key"),
        pl.lit(processor).alias("processor"),
    )
    skip = [str(t) for t in _input(ruleset, "skip_transaction_types", ["payout"])]
    kept = txns.filter(~pl.col("type").is_in(skip))
    middle = kept.select(
        *_std(
            kept,
            "processor_transactions",
            "processor_txn_id",
            entity=pl.col("entity_id"),
            currency=pl.col("currency"),
            amount=pl.col("net"),
            date=pl.coalesce(pl.col("available_on"), pl.col("created_at").dt.date()),
            label=pl.format("{} {}", pl.col("type"), pl.col("processor_txn_id")),
        ),
        pl.col("payout_id").alias("payout_key"),
    )
    credits = bank.filter((pl.col("status") == "BOOK") & (pl.col("amount") > 0))
    refs = (
        _payout_refs(credits, payouts)
        .group_by("transaction_id")
        .agg(pl.col("payout_id").min().alias("payout_key"), pl.len().alias("n"))
        .filter(pl.col("n") == 1)
    )
    credits = credits.join(refs.drop("n"), on="transaction_id", how="left")
    deposits = credits.select(
        *_std(
            credits,
            "bank_transactions",
            "transaction_id",
            entity=pl.col("entity_id"),
            currency=pl.col("currency"),
            amount=pl.col("amount"),
            date=pl.coalesce("booking_date", "value_date"),
            label=pl.format("bank credit {}", pl.col("source_id")),
        ),
        pl.col("payout_key"),
        pl.when(_text("counterparty_name", "remittance_text").str.contains(pattern))
        .then(pl.lit(processor))
        .alias("processor"),
    )
    return {"payouts": left, "balance_transactions": middle, "bank_deposits": deposits}


# --- three-way match -------------------------------------------------------------------------


def three_way_match(tables: _Tables, ruleset: RuleSet) -> Sides:
    """PO lines (left) to their goods receipts and to the vendor bill lines that bill them.

    A PO line carries ``received_quantity`` and ``received_value`` (all receipts of the line
    at the PO price) so the bill leg compares the bill with what was received, not only with
    what was ordered. Receipts carry no price: their amount is quantity x PO unit price.
    Bill lines without a PO reference (rent, services) are outside the three-way match.
    """
    pos = tables.get("purchase_orders", "po_line_id")
    receipts = tables.get("receipts", "receipt_line_id")
    bills = tables.get("bills", "bill_line_id")
    key = pl.format("{}/{}", pl.col("po_number"), pl.col("line_no"))
    po = pos.with_columns(key.alias("po_key"))
    rec = receipts.with_columns(
        pl.format("{}/{}", pl.col("po_number"), pl.col("po_line_no")).alias("po_key")
    ).join(
        po.select(
            "po_key",
            pl.col("unit_price").alias("po_price"),
            pl.col("currency").alias("po_currency"),
        ),
        on="po_key",
        how="left",
    )
    received = rec.group_by("po_key").agg(
        pl.col("quantity").sum().cast(pl.Decimal(18, 4)).alias("received_quantity")
    )
    po = (
        po.join(received, on="po_key", how="left")
        .with_columns(pl.col("received_quantity").fill_null(pl.lit(0).cast(pl.Decimal(18, 4))))
        .with_columns(
            (pl.col("received_quantity") * pl.col("unit_price"))
            .round(4)
            .cast(pl.Decimal(18, 4))
            .alias("received_value")
        )
    )
    left = po.select(
        *_std(
            po,
            "purchase_orders",
            "po_line_id",
            entity=pl.col("entity_id"),
            currency=pl.col("currency"),
            amount=pl.col("amount"),
            date=pl.col("order_date"),
            label=pl.format("PO {} line {}", pl.col("po_number"), pl.col("line_no")),
        ),
        "po_key",
        "vendor_id",
        "quantity",
        "unit_price",
        "received_quantity",
        "received_value",
    )
    zero = pl.lit(0).cast(pl.Decimal(18, 4))
    value = (pl.col("quantity") * pl.col("po_price")).round(4).cast(pl.Decimal(18, 4))
    middle = rec.select(
        *_std(
            rec,
            "receipts",
            "receipt_line_id",
            entity=pl.col("entity_id"),
            currency=pl.col("po_currency"),
            amount=pl.coalesce(value, zero),
            date=pl.col("received_date"),
            label=pl.format("receipt {} line {}", pl.col("receipt_number"), pl.col("po_line_no")),
        ),
        "po_key",
        "quantity",
    )
    billed = bills.filter(pl.col("po_number").is_not_null()).with_columns(
        pl.format("{}/{}", pl.col("po_number"), pl.col("po_line_no")).alias("po_key")
    )
    right = billed.select(
        *_std(
            billed,
            "bills",
            "bill_line_id",
            entity=pl.col("entity_id"),
            currency=pl.col("currency"),
            amount=pl.col("amount"),
            date=pl.col("bill_date"),
            label=pl.format("bill {} line {}", pl.col("bill_number"), pl.col("line_no")),
        ),
        "po_key",
        "vendor_id",
        "quantity",
        "unit_price",
    )
    return {"po_lines": left, "receipts": middle, "bills": right}


# --- payroll to ledger -----------------------------------------------------------------------


def payroll_to_ledger(tables: _Tables, ruleset: RuleSet) -> Sides:
    """Payroll register entries (left) to the GL lines that post them (right).

    ``inputs.components`` maps each register component to the GL account, the side it posts
    on (debit/credit) and whether the ledger posts it per cost centre. Register entries get
    that account; GL lines on those accounts and sides are the right side, with the posted
    amount positive. ``period`` is the pay date (register) and posting date (ledger);
    ``cc_key`` the cost centre where the component posts per cost centre, else ``-``.
    """
    entries = tables.get("payroll_entries", "payroll_entry_id")
    gl = tables.get("gl_journal_lines", "gl_line_id")
    components: dict[str, dict[str, Any]] = dict(_input(ruleset, "components", {}))
    mapping = pl.DataFrame(
        {
            "component": list(components),
            "account": [str(v["account"]) for v in components.values()],
            "post_side": [str(v.get("side", "debit")) for v in components.values()],
            "by_cc": [bool(v.get("by_cost_center", False)) for v in components.values()],
        },
        schema={
            "component": pl.String,
            "account": pl.String,
            "post_side": pl.String,
            "by_cc": pl.Boolean,
        },
    )
    reg = entries.join(mapping, on="component", how="left")
    cc = pl.when(pl.col("by_cc")).then(pl.col("cost_center_id")).otherwise(pl.lit("-"))
    left = reg.select(
        *_std(
            reg,
            "payroll_entries",
            "payroll_entry_id",
            entity=pl.col("entity_id"),
            currency=pl.col("currency"),
            amount=pl.col("amount"),
            date=pl.col("pay_date"),
            label=pl.format(
                "{} {} of {}", pl.col("component"), pl.col("employee_id"), pl.col("pay_period_end")
            ),
        ),
        "account",
        cc.alias("cc_key"),
        pl.col("pay_date").alias("period"),
        "component",
        "cost_center_id",
    )
    accounts = mapping.select("account", "post_side", "by_cc").unique("account", keep="first")
    lines = gl.join(accounts, left_on="gl_account", right_on="account", how="inner")
    posted = (
        pl.when(pl.col("post_side") == "credit").then(pl.col("credit")).otherwise(pl.col("debit"))
    )
    lines = lines.filter(posted.fill_null(0) > 0)
    right = lines.select(
        *_gl_std(lines, posted),
        pl.col("gl_account").alias("account"),
        pl.when(pl.col("by_cc"))
        .then(pl.col("cost_center_id"))
        .otherwise(pl.lit("-"))
        .alias("cc_key"),
        pl.col("posting_date").alias("period"),
        pl.col("cost_center_id"),
    )
    return {"register": left, "ledger": right}


PREPARERS: dict[str, Callable[[_Tables, RuleSet], Sides]] = {
    "cash_application": cash_application,
    "bank_reconciliation": bank_reconciliation,
    "processor_settlement": processor_settlement,
    "three_way_match": three_way_match,
    "payroll_to_ledger": payroll_to_ledger,
}
