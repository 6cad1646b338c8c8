"""Exceptions people can work: typed, owned, aged, with ids that stay the same across runs.

Each day's run produces *candidates* (a record and what is wrong with it). ``roll_forward``
merges them into the previous day's state: a problem seen again keeps its id and first-seen
date and ages; a new one opens; an open one that a later run no longer detects is marked
resolved (with when and why). Owner, severity and suggested action come from the policy file
``contracts/policies/exceptions.yaml`` so finance can re-route without code changes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl
import yaml

from contracts.recon import EXCEPTION_TYPES, Exceptions
from finance_pipeline.validation import polars_schema

POLICY_PATH = Path(__file__).resolve().parents[1] / "contracts" / "policies" / "exceptions.yaml"

CANDIDATE_SCHEMA: dict[str, pl.DataType] = {
    "workflow": pl.String,
    "exception_type": pl.String,
    "record_type": pl.String,
    "record_id": pl.String,
    "source_system": pl.String,
    "source_id": pl.String,
    "entity": pl.String,
    "currency": pl.String,
    "amount": pl.Decimal(18, 4),
    "detail": pl.String,
}


@dataclass(frozen=True)
class Policy:
    owner: str
    severity: str
    action: str


def load_policy(path: Path = POLICY_PATH) -> dict[str, Policy]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    types = raw.get("types", {}) if isinstance(raw, dict) else {}
    missing = sorted(set(EXCEPTION_TYPES) - set(types))
    if missing:
        raise ValueError(f"{path}: types: no policy for {missing}")
    return {
        name: Policy(owner=spec["owner"], severity=spec["severity"], action=spec["action"])
        for name, spec in types.items()
    }


def exception_id(workflow: str, exception_type: str, record_type: str, record_id: str) -> str:
    """Stable for the same problem on the same record, whatever run finds it."""
    key = "\x1f".join((workflow, exception_type, record_type, record_id))
    return "exc_" + hashlib.sha256(key.encode()).hexdigest()[:16]


def candidates_frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    return pl.DataFrame(
        [{k: r.get(k) for k in CANDIDATE_SCHEMA} for r in rows],
        schema=CANDIDATE_SCHEMA,
        orient="row",
    )


def _with_ids(candidates: pl.DataFrame) -> pl.DataFrame:
    ids = [
        exception_id(w, t, rt, ri)
        for w, t, rt, ri in candidates.select(
            "workflow", "exception_type", "record_type", "record_id"
        ).iter_rows()
    ]
    return candidates.with_columns(pl.Series("exception_id", ids, dtype=pl.String))


def roll_forward(
    candidates: pl.DataFrame,
    previous: pl.DataFrame | None,
    as_of: date,
    scopes: set[str],
    policy: dict[str, Policy] | None = None,
) -> pl.DataFrame:
    """Today's ``recon.exceptions`` from today's candidates and yesterday's state.

    ``scopes`` names the workflows evaluated today: only their open exceptions can resolve,
    so a workflow that did not run leaves its exceptions as they were.
    """
    policy = policy or load_policy()
    schema = polars_schema(Exceptions)
    today = (
        _with_ids(candidates.cast(CANDIDATE_SCHEMA))
        .sort("exception_id", "detail", nulls_last=True)
        .unique("exception_id", keep="first", maintain_order=True)
    )
    prev = previous if previous is not None else pl.DataFrame(schema=schema)
    prev = prev.select(list(schema)).cast(schema)
    joined = today.join(
        prev.select(
            "exception_id",
            pl.col("status").alias("prev_status"),
            pl.col("first_seen").alias("prev_first_seen"),
        ),
        on="exception_id",
        how="left",
    )
    opened = joined.with_columns(
        pl.lit("open").alias("status"),
        pl.when(pl.col("prev_status") == "open")
        .then(pl.col("prev_first_seen"))
        .otherwise(pl.lit(as_of))
        .alias("first_seen"),
        pl.lit(as_of).alias("last_seen"),
        pl.lit(None, dtype=pl.Date).alias("resolved_on"),
        pl.lit(None, dtype=pl.String).alias("resolution"),
    )
    opened = opened.with_columns(
        (pl.lit(as_of) - pl.col("first_seen")).dt.total_days().cast(pl.Int64).alias("age_days"),
        pl.col("exception_type")
        .replace_strict({k: v.owner for k, v in policy.items()}, default="integration")
        .alias("owner_role"),
        pl.col("exception_type")
        .replace_strict({k: v.severity for k, v in policy.items()}, default="medium")
        .alias("severity"),
        pl.col("exception_type")
        .replace_strict({k: v.action for k, v in policy.items()}, default="")
        .alias("suggested_action"),
    )
    carried = prev.join(today.select("exception_id"), on="exception_id", how="anti")
    resolving = (pl.col("status") == "open") & pl.col("workflow").is_in(sorted(scopes))
    carried = carried.with_columns(
        pl.when(resolving).then(pl.lit("resolved")).otherwise(pl.col("status")).alias("status"),
        pl.when(resolving)
        .then(pl.lit(as_of))
        .otherwise(pl.col("resolved_on"))
        .alias("resolved_on"),
        pl.when(resolving)
        .then(pl.lit("no longer detected: matched, cleared or superseded by a later delivery"))
        .otherwise(pl.col("resolution"))
        .alias("resolution"),
        pl.when(pl.col("status") == "open")
        .then((pl.lit(as_of) - pl.col("first_seen")).dt.total_days().cast(pl.Int64))
        .otherwise(pl.col("age_days"))
        .alias("age_days"),
    )
    result = pl.concat([opened.select(list(schema)), carried.select(list(schema))])
    return result.sort("exception_id")
