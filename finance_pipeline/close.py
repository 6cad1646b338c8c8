"""The month-end close pack: what a controller reviews before signing off a month.

All open exceptions by owner and age bucket, the unreconciled difference per bank account and
entity (bank closing balance against the ledger's cash account), the journal proposals of the
month, and the daily match-rate trend. Plain frames, read from the lake.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import polars as pl

from finance_pipeline import lake

AGE_BUCKETS = [(0, 7, "0-7"), (8, 30, "8-30"), (31, 60, "31-60"), (61, 10_000, "61+")]


@dataclass
class ClosePack:
    month: date
    as_of: date | None
    exceptions_by_owner: pl.DataFrame
    unreconciled_balances: pl.DataFrame
    journal_proposals: pl.DataFrame
    match_rate_trend: pl.DataFrame

    def sections(self) -> dict[str, pl.DataFrame]:
        return {
            "close_exceptions_by_owner": self.exceptions_by_owner,
            "close_unreconciled_balances": self.unreconciled_balances,
            "close_journal_proposals": self.journal_proposals,
            "close_match_rate_trend": self.match_rate_trend,
        }


def month_end(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def _read_all(lake_root: lake.Lake, table: str) -> pl.DataFrame | None:
    """Every partition of ``table``, each row with its partition's date as ``_as_of``."""
    return lake.read_table(lake_root, table, partition_column="_as_of")


def _latest_state_in_month(lake_root: lake.Lake, table: str, month: date) -> pl.DataFrame | None:
    frame = _read_all(lake_root, table)
    if frame is None:
        return None
    inside = frame.filter(pl.col("_as_of").is_between(month, month_end(month)))
    if inside.height == 0:
        return None
    return inside.filter(pl.col("_as_of") == inside["_as_of"].max())


def exceptions_by_owner(lake_root: lake.Lake, month: date) -> tuple[pl.DataFrame, date | None]:
    state = _latest_state_in_month(lake_root, "exceptions", month)
    schema = {
        "owner_role": pl.String,
        "age_bucket": pl.String,
        "exception_type": pl.String,
        "open_count": pl.UInt32,
        "amount": pl.Decimal(18, 4),
    }
    if state is None:
        return pl.DataFrame(schema=schema), None
    bucket = pl.lit(None, dtype=pl.String)
    for low, high, label in reversed(AGE_BUCKETS):
        bucket = (
            pl.when(pl.col("age_days").is_between(low, high)).then(pl.lit(label)).otherwise(bucket)
        )
    summary = (
        state.filter(pl.col("status") == "open")
        .with_columns(bucket.alias("age_bucket"))
        .group_by("owner_role", "age_bucket", "exception_type")
        .agg(pl.len().alias("open_count"), pl.col("amount").sum().alias("amount"))
        .sort("owner_role", "age_bucket", "exception_type")
    )
    return summary.select(list(schema)).cast(schema), state["_as_of"].max()


def unreconciled_balances(lake_root: lake.Lake, month: date) -> pl.DataFrame:
    """Bank closing balance at month end against the ledger's cash account balance."""
    schema = {
        "entity_id": pl.String,
        "account_number": pl.String,
        "currency": pl.String,
        "gl_account": pl.String,
        "bank_balance": pl.Decimal(18, 4),
        "ledger_balance": pl.Decimal(18, 4),
        "difference": pl.Decimal(18, 4),
    }
    balances = _read_all(lake_root, "bank_balances")
    accounts = _read_all(lake_root, "bank_accounts")
    if balances is None or accounts is None:
        return pl.DataFrame(schema=schema)
    end = month_end(month)
    closing = (
        balances.filter((pl.col("kind") == "closing") & (pl.col("as_of") <= end))
        .sort("account_number", "as_of")
        .group_by("account_number", maintain_order=True)
        .last()
        .select("account_number", pl.col("amount").alias("bank_balance"))
    )
    master = (
        accounts.sort("business_date")
        .group_by("account_number", maintain_order=True)
        .last()
        .select("account_number", "entity_id", "currency", "gl_account")
    )
    journals = _read_all(lake_root, "gl_journal_lines")
    if journals is None:
        ledger = pl.DataFrame(
            schema={
                "entity_id": pl.String,
                "gl_account": pl.String,
                "ledger_balance": pl.Decimal(18, 4),
            }
        )
    else:
        ledger = (
            journals.filter(pl.col("posting_date") <= end)
            .group_by("entity_id", "gl_account")
            .agg((pl.col("debit").sum() - pl.col("credit").sum()).alias("ledger_balance"))
        )
    result = (
        master.join(closing, on="account_number", how="left")
        .join(ledger, on=["entity_id", "gl_account"], how="left")
        .with_columns(
            pl.col("bank_balance").fill_null(Decimal(0)),
            pl.col("ledger_balance").fill_null(Decimal(0)),
        )
        .with_columns((pl.col("bank_balance") - pl.col("ledger_balance")).alias("difference"))
        .sort("entity_id", "account_number")
    )
    return result.select(list(schema)).cast(schema)


def month_journal_proposals(lake_root: lake.Lake, month: date) -> pl.DataFrame:
    state = _latest_state_in_month(lake_root, "journal_proposals", month)
    if state is None:
        return pl.DataFrame()
    return state.filter(pl.col("posting_date").is_between(month, month_end(month))).drop("_as_of")


def match_rate_trend(lake_root: lake.Lake, month: date) -> pl.DataFrame:
    """Per day and workflow: records in the workflow and the share matched automatically."""
    schema = {
        "as_of": pl.Date,
        "workflow": pl.String,
        "matches": pl.UInt32,
        "auto": pl.UInt32,
        "auto_rate": pl.Float64,
    }
    matches = _read_all(lake_root, "matches")
    if matches is None:
        return pl.DataFrame(schema=schema)
    inside = matches.filter(pl.col("_as_of").is_between(month, month_end(month)))
    trend = (
        inside.group_by(pl.col("_as_of").alias("as_of"), "workflow")
        .agg(pl.len().alias("matches"), (pl.col("status") == "auto").sum().alias("auto"))
        .with_columns((pl.col("auto") / pl.col("matches")).alias("auto_rate"))
        .sort("as_of", "workflow")
    )
    return trend.select(list(schema)).cast(schema)


def build_close_pack(lake_root: lake.Lake, month: date) -> ClosePack:
    by_owner, as_of = exceptions_by_owner(lake_root, month)
    return ClosePack(
        month=month,
        as_of=as_of,
        exceptions_by_owner=by_owner,
        unreconciled_balances=unreconciled_balances(lake_root, month),
        journal_proposals=month_journal_proposals(lake_root, month),
        match_rate_trend=match_rate_trend(lake_root, month),
    )
