"""Exception candidates from matching and master data, for ``exceptions.roll_forward``.

Every record a workflow left unmatched, or matched only as a suggestion, becomes one typed
candidate; so do duplicates found in the canonical tables and references to unknown master
data. Typing follows what a person must do next, most specific first:

* ``cash_application`` (cash received: payments and customer bank credits): an amount that
  disagrees with the referenced invoice -> ``amount_variance``; no reference at all ->
  ``missing_reference``; a payer that is in no customer master -> ``unknown_customer``; a
  known customer -> ``unapplied_cash``; nobody identifiable -> ``unmatched_payment``. The
  same payer, amount, currency and reference again within a few days -> ``duplicate_payment``
  on the later one; an invoice number issued twice -> ``duplicate_invoice`` on the later copy.
  Open invoices nobody paid yet are receivables, not exceptions.
* ``bank_reconciliation``: a booked bank line with no ledger entry ->
  ``unmatched_bank_transaction``; a ledger cash line no statement shows is an outstanding
  item (a check not yet presented) and is raised only after ``ledger_outstanding_days``.
* ``processor_settlement``: a payout that does not equal its balance transactions, a deposit
  that nearly matches a payout, a failed payout -> ``payout_mismatch``; a payout not yet in
  the bank is only timing and becomes ``settlement_timing`` once its window has passed (the
  expected date, by default ``arrival_date``, plus grace business days, per source).
* ``three_way_match``: a bill that disagrees with its PO and receipts -> ``three_way_variance``.
  PO lines not yet received or billed are open commitments, not exceptions.
* ``payroll_to_ledger``: a register entry on a cost centre unknown for its entity ->
  ``invalid_cost_center``; other differences -> ``amount_variance``; a ledger line whose
  difference is explained by such entries is not raised twice.

Where a record has a specific type, the generic ``unapplied_cash``/``unmatched_payment`` on
the same record is dropped (:func:`combine_candidates`), so one problem is one exception.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Protocol

import polars as pl

from finance_pipeline.calendar import BusinessCalendar
from finance_pipeline.exceptions import CANDIDATE_SCHEMA

log = logging.getLogger(__name__)

MONEY = pl.Decimal(18, 4)
GENERIC_TYPES = ("unapplied_cash", "unmatched_payment")
FLAG_TYPES = {
    "unknown_customer": "unknown_customer",
    "unknown_payer": "unknown_customer",
    "unknown_vendor": "unknown_vendor",
    "invalid_cost_center": "invalid_cost_center",
    "missing_cost_center": "invalid_cost_center",
    "unknown_cost_center": "invalid_cost_center",
    "missing_tax_code": "missing_tax_code",
    "unknown_tax_code": "missing_tax_code",
    "invalid_tax_code": "missing_tax_code",
}
"""``quality.reference_flags.flag`` -> exception type (aliases tolerated)."""
FLAG_WORKFLOW = {
    "invoices": "cash_application",
    "orders": "cash_application",
    "payments": "cash_application",
    "remittance_lines": "cash_application",
    "customers": "cash_application",
    "bills": "three_way_match",
    "purchase_orders": "three_way_match",
    "receipts": "three_way_match",
    "vendors": "three_way_match",
    "payroll_entries": "payroll_to_ledger",
    "gl_journal_lines": "bank_reconciliation",
    "bank_transactions": "bank_reconciliation",
}
DEFAULT_WINDOW = {"date": "arrival_date", "grace_business_days": 1}
DEFAULT_SETTINGS: dict[str, Any] = {
    "settlement_windows": {"default": DEFAULT_WINDOW},
    "ledger_outstanding_days": 10,
    "duplicate_payment_days": 7,
    "processor_pattern": r"(?i)\bSTRIPE\b",
}
_STD = ("record_type", "record_id", "source_system", "source_id", "entity", "currency", "amount")


class MatchOutput(Protocol):
    """What the matching engine returns (``finance_pipeline.matching.engine.MatchResult``)."""

    matches: pl.DataFrame
    members: pl.DataFrame
    unmatched: pl.DataFrame


@dataclass(frozen=True)
class WorkflowResult:
    """One workflow's matching output as stored in the lake (matches, members, unmatched)."""

    matches: pl.DataFrame
    members: pl.DataFrame
    unmatched: pl.DataFrame


def results_by_workflow(
    matches: pl.DataFrame, members: pl.DataFrame, unmatched: pl.DataFrame
) -> dict[str, WorkflowResult]:
    """Split the day's stored matching output (``unmatched`` carries a ``workflow`` column)
    back into one result per workflow, for :func:`matching_candidates`."""
    workflows = sorted(set(matches["workflow"].to_list()) | set(unmatched["workflow"].to_list()))
    out = {}
    for workflow in workflows:
        mine = matches.filter(pl.col("workflow") == workflow)
        out[workflow] = WorkflowResult(
            matches=mine,
            members=members.join(mine.select("match_id"), on="match_id", how="semi"),
            unmatched=unmatched.filter(pl.col("workflow") == workflow).drop("workflow"),
        )
    return out


def exception_settings(settings: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``exceptions:`` block of ``finance_pipeline.yaml`` over the defaults."""
    raw = dict((settings or {}).get("exceptions") or {})
    out = {**DEFAULT_SETTINGS, **{k: v for k, v in raw.items() if k != "settlement_windows"}}
    windows = {"default": dict(DEFAULT_WINDOW)}
    for source, spec in (raw.get("settlement_windows") or {}).items():
        windows[str(source)] = {**DEFAULT_WINDOW, **(spec or {})}
    out["settlement_windows"] = windows
    return out


# --- small helpers ---------------------------------------------------------------------------


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=CANDIDATE_SCHEMA)


def _shape(
    frame: pl.DataFrame, workflow: str, kind: pl.Expr | str, detail: pl.Expr
) -> pl.DataFrame:
    """Candidate rows from a frame carrying the standard record columns."""
    kind_expr = pl.lit(kind) if isinstance(kind, str) else kind
    cols = []
    for name in _STD:
        dtype = CANDIDATE_SCHEMA[name]
        cols.append(
            pl.col(name).cast(dtype) if name in frame.columns else pl.lit(None, dtype=dtype)
        )
    out = frame.select(
        pl.lit(workflow).alias("workflow"),
        kind_expr.alias("exception_type"),
        *[c.alias(n) for c, n in zip(cols, _STD, strict=True)],
        detail.alias("detail"),
    )
    return out.filter(pl.col("exception_type").is_not_null()).select(list(CANDIDATE_SCHEMA))


def _col(frame: pl.DataFrame | None, name: str, dtype: pl.DataType = pl.String) -> pl.Expr:
    if frame is not None and name in frame.columns:
        return pl.col(name)
    return pl.lit(None, dtype=dtype).alias(name)


def _table(tables: Mapping[str, pl.DataFrame], name: str) -> pl.DataFrame | None:
    frame = tables.get(name)
    return frame if frame is not None and frame.height else None


def _doubtful(result: MatchOutput | None) -> pl.DataFrame:
    """Records needing a person: unmatched (with the engine's reason) and members of
    suggested matches (with the match and its explanation). One row per record."""
    schema = {
        "record_type": pl.String,
        "record_id": pl.String,
        "source_system": pl.String,
        "source_id": pl.String,
        "side": pl.String,
        "entity": pl.String,
        "currency": pl.String,
        "amount": MONEY,
        "reason": pl.String,
        "match_id": pl.String,
        "suggested": pl.Boolean,
    }
    if result is None:
        return pl.DataFrame(schema=schema)
    free = result.unmatched.with_columns(
        pl.col("amount").cast(MONEY),
        pl.lit(None, dtype=pl.String).alias("match_id"),
        pl.lit(False).alias("suggested"),
    )
    suggested_ids = result.matches.filter(pl.col("status") == "suggested").select(
        "match_id", "confidence", "rule_id", "explanation"
    )
    members = result.members.join(suggested_ids, on="match_id", how="inner")
    sug = members.select(
        "record_type",
        "record_id",
        "source_system",
        "source_id",
        "side",
        pl.lit(None, dtype=pl.String).alias("entity"),
        "currency",
        pl.col("amount_applied").cast(MONEY).alias("amount"),
        pl.format(
            "suggested match {} (rule {}, confidence {}): {}",
            pl.col("match_id"),
            pl.col("rule_id"),
            pl.col("confidence").round(3),
            pl.col("explanation"),
        ).alias("reason"),
        "match_id",
        pl.lit(True).alias("suggested"),
    )
    both = pl.concat([free.select(list(schema)).cast(schema), sug.cast(schema)])
    # A record can appear twice (free, plus a missing leg note): keep the most telling reason.
    return both.sort(
        ["record_type", "record_id", "suggested", "reason"], descending=[False, False, True, False]
    ).unique(["record_type", "record_id"], keep="first", maintain_order=True)


def _reason_is(prefix: str) -> pl.Expr:
    return pl.col("reason").fill_null("").str.starts_with(prefix)


def _brief(expr: pl.Expr, limit: int = 300) -> pl.Expr:
    return expr.fill_null("").str.slice(0, limit)


# --- cash application ------------------------------------------------------------------------


def _cash_side(tables: Mapping[str, pl.DataFrame], settings: Mapping[str, Any]) -> pl.DataFrame:
    """The cash records as the engine sees them (payer, inferred customer, references), or a
    plain view of ``payments`` when the engine's preparation is not available."""
    try:
        from finance_pipeline.matching import workflows
        from finance_pipeline.matching.rules import default_rules_path, load_rules

        path = settings.get("cash_rules_path")
        ruleset = load_rules(path or default_rules_path("cash_application"))
        cash = workflows.prepare("cash_application", tables, ruleset)["cash"]
        return cash.select(
            *_STD,
            "date",
            "customer_id",
            "payer_name",
            "payer_account",
            pl.col("has_refs"),
            pl.col("refs").list.sort().list.join(" ").alias("ref_key"),
            pl.col("refs_unknown").list.join(", ").alias("refs_unknown"),
        )
    except (ImportError, KeyError, ValueError) as exc:  # RuleError is a ValueError
        log.warning("cash side from payments only: %s", exc)
    payments = _table(tables, "payments")
    schema = {
        **{c: pl.String for c in _STD if c != "amount"},
        "amount": MONEY,
        "date": pl.Date,
        "customer_id": pl.String,
        "payer_name": pl.String,
        "payer_account": pl.String,
        "has_refs": pl.Boolean,
        "ref_key": pl.String,
        "refs_unknown": pl.String,
    }
    if payments is None:
        return pl.DataFrame(schema=schema)
    return payments.select(
        pl.lit("payments").alias("record_type"),
        pl.col("payment_id").alias("record_id"),
        "source_system",
        "source_id",
        pl.col("entity_id").alias("entity"),
        "currency",
        pl.col("amount").cast(MONEY),
        pl.col("received_date").alias("date"),
        _col(payments, "customer_id"),
        _col(payments, "payer_name"),
        _col(payments, "payer_account"),
        pl.col("reference").is_not_null().alias("has_refs"),
        pl.col("reference").str.to_uppercase().str.replace_all(r"[^0-9A-Z]", "").alias("ref_key"),
        pl.lit(None, dtype=pl.String).alias("refs_unknown"),
    ).cast(schema)


def duplicate_payments(cash: pl.DataFrame, window_days: int) -> pl.DataFrame:
    """Later copies of a payment: same entity, payer, amount, currency and reference within
    ``window_days`` of the first (only records that carry both a payer and a reference)."""
    payer = pl.coalesce(
        pl.col("customer_id"),
        pl.col("payer_account").str.to_uppercase().str.replace_all(r"\s", ""),
        pl.col("payer_name").str.to_lowercase().str.strip_chars(),
    )
    keyed = cash.with_columns(payer.alias("__payer")).filter(
        pl.col("__payer").is_not_null()
        & pl.col("ref_key").is_not_null()
        & (pl.col("ref_key") != "")
        & pl.col("amount").is_not_null()
    )
    keys = ["entity", "currency", "amount", "__payer", "ref_key"]
    ordered = keyed.sort([*keys, "date", "source_id", "record_id"], nulls_last=True)
    first = pl.col("source_id").first().over(keys)
    first_date = pl.col("date").first().over(keys)
    dupes = ordered.with_columns(
        first.alias("__first"),
        first_date.alias("__first_date"),
        pl.int_range(pl.len()).over(keys).alias("__n"),
    ).filter(
        (pl.col("__n") > 0)
        & ((pl.col("date") - pl.col("__first_date")).dt.total_days() <= window_days)
    )
    return _shape(
        dupes,
        "cash_application",
        "duplicate_payment",
        pl.format(
            "same payer, amount {} {} and reference as {} ({}); received {}",
            pl.col("amount"),
            pl.col("currency"),
            pl.col("__first"),
            pl.col("__first_date"),
            pl.col("date"),
        ),
    )


def duplicate_invoices(invoices: pl.DataFrame | None) -> pl.DataFrame:
    """Later copies of an invoice number within an entity (void copies aside)."""
    if invoices is None:
        return _empty()
    live = invoices.filter(pl.col("status").fill_null("") != "void")
    keys = ["entity_id", "invoice_number"]
    ordered = live.sort([*keys, "business_date", "issue_date", "invoice_id"], nulls_last=True)
    dupes = ordered.with_columns(
        pl.col("invoice_id").first().over(keys).alias("__first"),
        pl.col("source_id").first().over(keys).alias("__first_src"),
        pl.int_range(pl.len()).over(keys).alias("__n"),
    ).filter(pl.col("__n") > 0)
    view = dupes.select(
        pl.lit("invoices").alias("record_type"),
        pl.col("invoice_id").alias("record_id"),
        "source_system",
        "source_id",
        pl.col("entity_id").alias("entity"),
        "currency",
        pl.col("amount").cast(MONEY),
        "invoice_number",
        "__first_src",
    )
    return _shape(
        view,
        "cash_application",
        "duplicate_invoice",
        pl.format(
            "invoice number {} issued again; first sent as {}",
            pl.col("invoice_number"),
            pl.col("__first_src"),
        ),
    )


def _cash_variance(result: MatchOutput | None, tables: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """match_id -> True where a suggested match's cash differs from its invoices' open amount
    (a partial application balances its applied amounts, so compare with what is owed)."""
    schema = {"match_id": pl.String, "variance": pl.Boolean}
    if result is None or result.members.height == 0:
        return pl.DataFrame(schema=schema)
    invoices = _table(tables, "invoices")
    owed = (
        invoices.select(pl.col("invoice_id").alias("record_id"), pl.col("open_amount").cast(MONEY))
        if invoices is not None
        else pl.DataFrame(schema={"record_id": pl.String, "open_amount": MONEY})
    )
    members = result.members.join(owed, on="record_id", how="left").with_columns(
        pl.when(pl.col("record_type") == "invoices")
        .then(pl.coalesce("open_amount", "amount_applied"))
        .otherwise(pl.col("amount_applied"))
        .alias("__owed")
    )
    sums = members.group_by("match_id").agg(
        pl.col("__owed").filter(pl.col("side") == "left").sum().alias("l"),
        pl.col("__owed").filter(pl.col("side") == "right").sum().alias("r"),
        pl.col("currency").n_unique().alias("n"),
    )
    return sums.select(
        "match_id",
        ((pl.col("n") == 1) & (pl.col("l").abs() != pl.col("r").abs())).alias("variance"),
    ).cast(schema)


def _unreferenced_auto(result: MatchOutput | None, cash: pl.DataFrame) -> pl.DataFrame:
    """Cash applied automatically without any reference (customer and amount only): applied,
    but AR still needs the payer's remittance to confirm it."""
    if result is None or result.members.height == 0:
        return _empty()
    auto = result.matches.filter(pl.col("status") == "auto").select("match_id", "rule_id")
    invoices = (
        result.members.filter(pl.col("record_type") == "invoices")
        .group_by("match_id")
        .agg(pl.col("source_id").sort().str.join(", ").alias("__invoices"))
    )
    rows = (
        result.members.filter(pl.col("record_type").is_in(["payments", "bank_transactions"]))
        .join(auto, on="match_id", how="inner")
        .join(invoices, on="match_id", how="left")
        .join(
            cash.select("record_type", "record_id", "entity", "has_refs"),
            on=["record_type", "record_id"],
            how="inner",
        )
        .filter(~pl.col("has_refs").fill_null(True))
        .with_columns(pl.col("amount_applied").cast(MONEY).alias("amount"))
    )
    return _shape(
        rows,
        "cash_application",
        "missing_reference",
        pl.format(
            "{} {} {} carries no invoice reference; applied by rule {} (match {}) to {} "
            "on customer and amount only: get the remittance to confirm",
            pl.col("source_id"),
            pl.col("amount"),
            pl.col("currency"),
            pl.col("rule_id"),
            pl.col("match_id"),
            pl.col("__invoices"),
        ),
    )


def _cash_application(
    result: MatchOutput | None,
    tables: Mapping[str, pl.DataFrame],
    cfg: Mapping[str, Any],
) -> pl.DataFrame:
    cash = _cash_side(tables, cfg)
    doubtful = _doubtful(result).filter(
        pl.col("record_type").is_in(["payments", "bank_transactions"])
    )
    info = cash.select(
        "record_type",
        "record_id",
        "entity",
        "customer_id",
        "payer_name",
        "payer_account",
        "has_refs",
        "refs_unknown",
    )
    rows = (
        doubtful.drop("entity")
        .join(info, on=["record_type", "record_id"], how="left")
        .join(_cash_variance(result, tables), on="match_id", how="left")
    )
    payer = pl.coalesce(pl.col("payer_name"), pl.col("payer_account"))
    kind = (
        pl.when(_reason_is("amount_variance") | pl.col("variance").fill_null(False))
        .then(pl.lit("amount_variance"))
        .when(pl.col("customer_id").is_null() & payer.is_not_null())
        .then(pl.lit("unknown_customer"))
        .when(~pl.col("has_refs").fill_null(False))
        .then(pl.lit("missing_reference"))
        .when(pl.col("customer_id").is_not_null())
        .then(pl.lit("unapplied_cash"))
        .otherwise(pl.lit("unmatched_payment"))
    )
    detail = pl.concat_str(
        [
            pl.format("{} {} {}", pl.col("source_id"), pl.col("amount"), pl.col("currency")),
            pl.when(payer.is_not_null()).then(pl.format("payer {}", payer)),
            pl.when(pl.col("customer_id").is_not_null()).then(
                pl.format("customer_id {}", pl.col("customer_id"))
            ),
            pl.when(pl.col("customer_id").is_null() & payer.is_not_null()).then(
                pl.lit("payer not found in the customer master data")
            ),
            pl.when(~pl.col("has_refs").fill_null(False)).then(pl.lit("no invoice reference")),
            pl.when(pl.col("refs_unknown").fill_null("") != "").then(
                pl.format("references not on any invoice: {}", pl.col("refs_unknown"))
            ),
            _brief(pl.col("reason")),
        ],
        separator="; ",
        ignore_nulls=True,
    )
    parts = [
        _shape(rows, "cash_application", kind, detail),
        _unreferenced_auto(result, cash),
        duplicate_payments(cash, int(cfg["duplicate_payment_days"])),
        duplicate_invoices(_table(tables, "invoices")),
    ]
    return pl.concat(parts)


# --- bank reconciliation ---------------------------------------------------------------------


def _bank_reconciliation(
    result: MatchOutput | None,
    tables: Mapping[str, pl.DataFrame],
    as_of: date,
    cfg: Mapping[str, Any],
) -> pl.DataFrame:
    doubtful = _doubtful(result)
    bank = doubtful.filter(pl.col("record_type") == "bank_transactions")
    lines = _table(tables, "bank_transactions")
    if lines is not None:
        bank = bank.join(
            lines.select(
                pl.col("transaction_id").alias("record_id"),
                pl.col("entity_id").alias("__entity"),
                pl.coalesce("booking_date", "value_date").alias("__date"),
                _col(lines, "type_code").alias("__code"),
                "status",
            ),
            on="record_id",
            how="left",
        ).filter(pl.col("status").fill_null("BOOK") == "BOOK")
    else:
        bank = bank.with_columns(
            pl.lit(None, dtype=pl.String).alias("__entity"),
            pl.lit(None, dtype=pl.Date).alias("__date"),
            pl.lit(None, dtype=pl.String).alias("__code"),
        )
    bank = bank.with_columns(pl.coalesce("entity", "__entity").alias("entity"))
    bank_part = _shape(
        bank,
        "bank_reconciliation",
        "unmatched_bank_transaction",
        pl.concat_str(
            [
                pl.format(
                    "bank line {} {} {} on {} has no ledger entry",
                    pl.col("source_id"),
                    pl.col("amount"),
                    pl.col("currency"),
                    pl.col("__date"),
                ),
                pl.when(pl.col("__code").is_not_null()).then(
                    pl.format("type {}", pl.col("__code"))
                ),
                _brief(pl.col("reason")),
            ],
            separator="; ",
            ignore_nulls=True,
        ),
    )
    ledger = doubtful.filter(pl.col("record_type") == "gl_journal_lines")
    gl = _table(tables, "gl_journal_lines")
    days = int(cfg["ledger_outstanding_days"])
    if gl is not None and ledger.height:
        ledger = ledger.join(
            gl.select(
                pl.col("gl_line_id").alias("record_id"),
                pl.col("entity_id").alias("__entity"),
                pl.col("posting_date").alias("__date"),
                _col(gl, "description").alias("__desc"),
            ),
            on="record_id",
            how="left",
        ).filter(pl.col("__date") < pl.lit(as_of - timedelta(days=days)))
        ledger = ledger.with_columns(pl.coalesce("entity", "__entity").alias("entity"))
        ledger_part = _shape(
            ledger,
            "bank_reconciliation",
            "unmatched_bank_transaction",
            pl.format(
                "ledger cash line {} ({}) {} {} posted {} is on no bank statement after {} days "
                "(outstanding item)",
                pl.col("source_id"),
                pl.col("__desc"),
                pl.col("amount"),
                pl.col("currency"),
                pl.col("__date"),
                pl.lit(days),
            ),
        )
    else:
        ledger_part = _empty()
    return pl.concat([bank_part, ledger_part])


# --- processor settlement --------------------------------------------------------------------


def _expected_by(
    frame: pl.DataFrame, cfg: Mapping[str, Any], calendar: BusinessCalendar
) -> pl.Series:
    """The last day a payout may still be on its way, per its source's window."""
    windows = cfg["settlement_windows"]
    out: list[date | None] = []
    for source, arrival, created in frame.select(
        "source_system", "arrival_date", "created_date"
    ).iter_rows():
        spec = windows.get(source or "", windows["default"])
        start = created if spec.get("date") == "created_date" else arrival
        if start is None:
            out.append(None)
            continue
        day = start
        for _ in range(int(spec.get("grace_business_days", 0))):
            day = calendar.next_business_day(day)
        out.append(day)
    return pl.Series("expected_by", out, dtype=pl.Date)


def _processor_settlement(
    result: MatchOutput | None,
    tables: Mapping[str, pl.DataFrame],
    as_of: date,
    cfg: Mapping[str, Any],
    calendar: BusinessCalendar,
) -> pl.DataFrame:
    parts: list[pl.DataFrame] = []
    doubtful = _doubtful(result)
    members = (
        result.members
        if result is not None
        else pl.DataFrame(
            schema={"match_id": pl.String, "record_type": pl.String, "record_id": pl.String}
        )
    )
    legs = members.group_by("match_id").agg(
        pl.col("record_type").eq("processor_transactions").any().alias("has_txn"),
        pl.col("record_type").eq("bank_transactions").any().alias("has_bank"),
    )
    payout_legs = (
        members.filter(pl.col("record_type") == "payouts")
        .join(legs, on="match_id")
        .group_by("record_id")
        .agg(pl.col("has_txn").any(), pl.col("has_bank").any())
    )
    payouts = _table(tables, "payouts")
    if payouts is not None:
        view = payouts.select(
            pl.lit("payouts").alias("record_type"),
            pl.col("payout_id").alias("record_id"),
            "source_system",
            "source_id",
            pl.col("entity_id").alias("entity"),
            "currency",
            pl.col("amount").cast(MONEY),
            "status",
            "created_date",
            "arrival_date",
        )
        view = view.with_columns(_expected_by(view, cfg, calendar))
        view = (
            view.join(payout_legs, on="record_id", how="left")
            .join(
                doubtful.filter(pl.col("record_type") == "payouts").select(
                    "record_id", "reason", "suggested"
                ),
                on="record_id",
                how="left",
            )
            .with_columns(
                pl.col("has_txn").fill_null(False),
                pl.col("has_bank").fill_null(False),
                pl.col("suggested").fill_null(False),
            )
        )
        status = pl.col("status").fill_null("").str.to_lowercase()
        live = view.filter(~status.is_in(["canceled", "cancelled"]))
        mismatch = (
            (status == "failed")
            | ~pl.col("has_txn")
            | pl.col("suggested")
            | (~pl.col("has_bank") & _reason_is("amount_variance"))
        )
        late = ~pl.col("has_bank") & (pl.lit(as_of) > pl.col("expected_by"))
        kind = (
            pl.when(mismatch)
            .then(pl.lit("payout_mismatch"))
            .when(late)
            .then(pl.lit("settlement_timing"))
        )
        detail = pl.concat_str(
            [
                pl.format(
                    "payout {} {} {} created {}, expected in the bank by {}",
                    pl.col("source_id"),
                    pl.col("amount"),
                    pl.col("currency"),
                    pl.col("created_date"),
                    pl.col("expected_by"),
                ),
                pl.when(status == "failed").then(pl.lit("the processor reports it failed")),
                pl.when(~pl.col("has_txn")).then(pl.lit("does not equal its balance transactions")),
                pl.when(~pl.col("has_bank")).then(
                    pl.format("not in the bank as of {}", pl.lit(as_of))
                ),
                _brief(pl.col("reason")),
            ],
            separator="; ",
            ignore_nulls=True,
        )
        parts.append(_shape(live, "processor_settlement", kind, detail))
    deposits = doubtful.filter(pl.col("record_type") == "bank_transactions")
    lines = _table(tables, "bank_transactions")
    if deposits.height:
        pattern = str(cfg["processor_pattern"])
        if lines is not None:
            text = pl.concat_str(
                [
                    _col(lines, "counterparty_name").fill_null(""),
                    _col(lines, "remittance_text").fill_null(""),
                ],
                separator=" ",
            )
            deposits = deposits.join(
                lines.select(
                    pl.col("transaction_id").alias("record_id"),
                    pl.col("entity_id").alias("__entity"),
                    text.str.contains(pattern).alias("__processor"),
                ),
                on="record_id",
                how="left",
            )
        else:
            deposits = deposits.with_columns(
                pl.lit(None, dtype=pl.String).alias("__entity"),
                pl.lit(False).alias("__processor"),
            )
        near = ~_reason_is("no_candidate") & ~_reason_is("missing_leg")
        deposits = deposits.filter(
            pl.col("__processor").fill_null(False) | near | pl.col("suggested")
        ).with_columns(pl.coalesce("entity", "__entity").alias("entity"))
        parts.append(
            _shape(
                deposits,
                "processor_settlement",
                "payout_mismatch",
                pl.format(
                    "bank deposit {} {} {} looks like a processor payout but matches none; {}",
                    pl.col("source_id"),
                    pl.col("amount"),
                    pl.col("currency"),
                    _brief(pl.col("reason")),
                ),
            )
        )
    return pl.concat([_empty(), *parts])


# --- three-way match -------------------------------------------------------------------------


def _three_way(result: MatchOutput | None, tables: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    doubtful = _doubtful(result)
    bills = doubtful.filter(pl.col("record_type") == "bills")
    # PO lines matched to a bill but lacking a receipt leg (or vice versa): the bill is the
    # document to hold, so raise on the bill members of that match.
    if result is not None and result.members.height:
        po_issue = doubtful.filter(
            (pl.col("record_type") == "purchase_orders")
            & (_reason_is("missing_leg") | _reason_is("amount_variance"))
        ).select("record_id", "reason")
        po_matches = (
            result.members.filter(pl.col("record_type") == "purchase_orders")
            .join(po_issue, on="record_id", how="inner")
            .select("match_id", "reason")
        )
        held = (
            result.members.filter(pl.col("record_type") == "bills")
            .join(po_matches, on="match_id", how="inner")
            .select(
                "record_type",
                "record_id",
                "source_system",
                "source_id",
                pl.lit(None, dtype=pl.String).alias("entity"),
                "currency",
                pl.col("amount_applied").cast(MONEY).alias("amount"),
                "reason",
            )
        )
        bills = pl.concat([bills.select(held.columns), held]).unique(
            ["record_type", "record_id"], keep="first", maintain_order=True
        )
    table = _table(tables, "bills")
    if table is not None:
        bills = bills.join(
            table.select(
                pl.col("bill_line_id").alias("record_id"),
                pl.col("entity_id").alias("__entity"),
                _col(table, "po_number"),
                _col(table, "bill_number"),
            ),
            on="record_id",
            how="left",
        ).with_columns(pl.coalesce("entity", "__entity").alias("entity"))
    else:
        bills = bills.with_columns(
            pl.lit(None, dtype=pl.String).alias("po_number"),
            pl.lit(None, dtype=pl.String).alias("bill_number"),
        )
    return _shape(
        bills,
        "three_way_match",
        "three_way_variance",
        pl.concat_str(
            [
                pl.format(
                    "bill {} {} {}", pl.col("source_id"), pl.col("amount"), pl.col("currency")
                ),
                pl.when(pl.col("po_number").is_not_null()).then(
                    pl.format("PO {}", pl.col("po_number"))
                ),
                _brief(pl.col("reason")),
            ],
            separator="; ",
            ignore_nulls=True,
        ),
    )


# --- payroll ---------------------------------------------------------------------------------


def _payroll(result: MatchOutput | None, tables: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    doubtful = _doubtful(result)
    register = doubtful.filter(pl.col("record_type") == "payroll_entries")
    entries = _table(tables, "payroll_entries")
    centers = _table(tables, "cost_centers")
    if entries is not None:
        register = register.join(
            entries.select(
                pl.col("payroll_entry_id").alias("record_id"),
                pl.col("entity_id").alias("__entity"),
                "cost_center_id",
                "employee_id",
                "component",
            ),
            on="record_id",
            how="left",
        ).with_columns(pl.coalesce("entity", "__entity").alias("entity"))
    else:
        register = register.with_columns(
            pl.lit(None, dtype=pl.String).alias(c)
            for c in ("cost_center_id", "employee_id", "component")
        )
    if centers is not None:
        known = centers.select(
            pl.col("entity_id").alias("entity"), "cost_center_id", pl.lit(True).alias("__ok")
        ).unique()
        register = register.join(known, on=["entity", "cost_center_id"], how="left")
        invalid = pl.col("cost_center_id").is_null() | pl.col("__ok").is_null()
    else:
        invalid = pl.col("cost_center_id").is_null()
    register = register.with_columns(invalid.alias("__invalid"))
    # A suggested group is explained by its entries on unknown cost centres (the ledger
    # posted them elsewhere): raise those entries, not every member of the group. A suggested
    # group without such an entry is one difference: raised once, on its ledger line.
    explained_matches = (
        register.filter(pl.col("suggested") & pl.col("__invalid"))["match_id"].unique().to_list()
    )
    raised = register.filter(~pl.col("suggested") | pl.col("__invalid"))
    reg_part = _shape(
        raised,
        "payroll_to_ledger",
        pl.when(pl.col("__invalid"))
        .then(pl.lit("invalid_cost_center"))
        .otherwise(pl.lit("amount_variance")),
        pl.concat_str(
            [
                pl.format(
                    "employee {} {} {} {}: cost centre {}",
                    pl.col("employee_id"),
                    pl.col("component"),
                    pl.col("amount"),
                    pl.col("currency"),
                    pl.col("cost_center_id").fill_null("missing"),
                ),
                pl.when(pl.col("__invalid")).then(pl.lit("not a cost centre of the entity")),
                _brief(pl.col("reason")),
            ],
            separator="; ",
            ignore_nulls=True,
        ),
    )
    explained = set(register.filter(pl.col("__invalid"))["entity"].drop_nulls().to_list())
    ledger = doubtful.filter(
        (pl.col("record_type") == "gl_journal_lines")
        & ~pl.col("match_id").fill_null("").is_in(explained_matches)
    )
    gl = _table(tables, "gl_journal_lines")
    if gl is not None:
        ledger = ledger.join(
            gl.select(
                pl.col("gl_line_id").alias("record_id"),
                pl.col("entity_id").alias("__entity"),
                _col(gl, "description").alias("__desc"),
            ),
            on="record_id",
            how="left",
        ).with_columns(pl.coalesce("entity", "__entity").alias("entity"))
    else:
        ledger = ledger.with_columns(pl.lit(None, dtype=pl.String).alias("__desc"))
    ledger = ledger.filter(pl.col("suggested") | ~pl.col("entity").is_in(sorted(explained)))
    led_part = _shape(
        ledger,
        "payroll_to_ledger",
        "amount_variance",
        pl.format(
            "ledger payroll line {} ({}) {} {} differs from the register; {}",
            pl.col("source_id"),
            pl.col("__desc"),
            pl.col("amount"),
            pl.col("currency"),
            _brief(pl.col("reason")),
        ),
    )
    return pl.concat([reg_part, led_part])


# --- public API ------------------------------------------------------------------------------


def matching_candidates(
    workflow: str,
    result: MatchOutput | None,
    tables: Mapping[str, pl.DataFrame],
    as_of: date,
    settings: Mapping[str, Any] | None = None,
) -> pl.DataFrame:
    """Exception candidates of one workflow's matching result (schema ``CANDIDATE_SCHEMA``).

    ``tables`` are the canonical tables the workflow was matched on (everything known on
    ``as_of``); ``settings`` the pipeline configuration's settings (``exceptions:`` block and
    the business calendar).
    """
    cfg = exception_settings(settings)
    if workflow == "cash_application":
        out = _cash_application(result, tables, cfg)
    elif workflow == "bank_reconciliation":
        out = _bank_reconciliation(result, tables, as_of, cfg)
    elif workflow == "processor_settlement":
        calendar = BusinessCalendar.from_settings(dict(settings or {}))
        out = _processor_settlement(result, tables, as_of, cfg, calendar)
    elif workflow == "three_way_match":
        out = _three_way(result, tables)
    elif workflow == "payroll_to_ledger":
        out = _payroll(result, tables)
    else:
        raise ValueError(f"unknown workflow {workflow!r}")
    return _prefer_specific(out.cast(CANDIDATE_SCHEMA))


def reference_candidates(
    flags: pl.DataFrame, tables: Mapping[str, pl.DataFrame] | None = None
) -> pl.DataFrame:
    """Candidates from ``quality.reference_flags`` rows (unknown customer/vendor, invalid cost
    centre, missing tax code); entity, currency and amount come from ``tables`` when given."""
    if flags.height == 0:
        return _empty()
    rows = flags.with_columns(
        pl.col("flag")
        .replace_strict(FLAG_TYPES, default=None, return_dtype=pl.String)
        .alias("__type"),
        pl.col("record_type")
        .replace_strict(FLAG_WORKFLOW, default="ingest", return_dtype=pl.String)
        .alias("__workflow"),
    )
    dropped = rows.filter(pl.col("__type").is_null())["flag"].unique().to_list()
    if dropped:
        log.warning("reference flags without an exception type: %s", sorted(dropped))
    rows = rows.filter(pl.col("__type").is_not_null())
    enrich = []
    for table, frame in sorted((tables or {}).items()):
        if table not in FLAG_WORKFLOW or frame is None or frame.height == 0:
            continue
        from finance_pipeline.dedupe import RECORD_ID, record_id_expr

        if table not in RECORD_ID:
            continue
        amount = pl.col("amount") if "amount" in frame.columns else None
        if table == "gl_journal_lines":
            amount = pl.col("debit") - pl.col("credit")
        enrich.append(
            frame.select(
                pl.lit(table).alias("record_type"),
                record_id_expr(table).alias("record_id"),
                _col(frame, "entity_id").alias("__entity"),
                _col(frame, "currency").alias("__currency"),
                (amount if amount is not None else pl.lit(None)).cast(MONEY).alias("__amount"),
            )
        )
    if enrich:
        rows = rows.join(
            pl.concat(enrich).unique(["record_type", "record_id"], keep="last"),
            on=["record_type", "record_id"],
            how="left",
        )
    else:
        rows = rows.with_columns(
            pl.lit(None, dtype=pl.String).alias("__entity"),
            pl.lit(None, dtype=pl.String).alias("__currency"),
            pl.lit(None, dtype=MONEY).alias("__amount"),
        )
    out = rows.select(
        pl.col("__workflow").alias("workflow"),
        pl.col("__type").alias("exception_type"),
        "record_type",
        "record_id",
        "source_system",
        "source_id",
        pl.col("__entity").alias("entity"),
        pl.col("__currency").alias("currency"),
        pl.col("__amount").alias("amount"),
        pl.col("detail"),
    )
    return out.cast(CANDIDATE_SCHEMA).unique(maintain_order=True)


def _prefer_specific(frame: pl.DataFrame) -> pl.DataFrame:
    """Drop generic cash candidates on records that also have a specific type."""
    specific = (
        frame.filter(~pl.col("exception_type").is_in(GENERIC_TYPES))
        .select("record_type", "record_id")
        .unique()
    )
    generic = frame.filter(pl.col("exception_type").is_in(GENERIC_TYPES)).join(
        specific, on=["record_type", "record_id"], how="anti"
    )
    rest = frame.filter(~pl.col("exception_type").is_in(GENERIC_TYPES))
    out = pl.concat([rest, generic]).sort(
        "workflow", "exception_type", "record_type", "record_id", "detail", nulls_last=True
    )
    # Two sources naming the same problem (matching and master-data flags) are one exception;
    # keep the row roll_forward would keep (first by detail).
    return out.unique(
        ["workflow", "exception_type", "record_type", "record_id"],
        keep="first",
        maintain_order=True,
    )


def combine_candidates(frames: Iterable[pl.DataFrame]) -> pl.DataFrame:
    """All candidates of a day (ingest, every workflow, reference flags) as one frame, with
    generic cash types dropped where a specific one names the same record."""
    parts = [f.select(list(CANDIDATE_SCHEMA)).cast(CANDIDATE_SCHEMA) for f in frames]
    return _prefer_specific(pl.concat([_empty(), *parts]))


def carry_forward_matches(
    today: pl.DataFrame, earlier: Iterable[pl.DataFrame | None]
) -> pl.DataFrame:
    """Today's matches keeping the ``run_id`` and ``created_at`` of the run that first made
    each one (match ids are content hashes), so a rerun rewrites identical bytes and the
    warehouse can tell on which day a match was made."""
    known = [e.select("match_id", "run_id", "created_at") for e in earlier if e is not None]
    if not known:
        return today
    first = (
        pl.concat(known)
        .sort("created_at", "run_id")
        .unique("match_id", keep="first")
        .rename({"run_id": "__run", "created_at": "__created"})
    )
    return (
        today.join(first, on="match_id", how="left")
        .with_columns(
            pl.coalesce("__run", "run_id").alias("run_id"),
            pl.coalesce("__created", "created_at").alias("created_at"),
        )
        .select(today.columns)
    )
