"""Hand-built canonical and recon frames for the recon tests (known truth, no pipeline run).

Imported by the tests as ``recon_builders`` (pytest puts this folder on sys.path).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import polars as pl

from contracts.canonical import CANONICAL_MODELS
from contracts.recon import Matches, MatchMembers
from finance_pipeline.dedupe import RECORD_ID
from finance_pipeline.matching.engine import UNMATCHED_SCHEMA
from finance_pipeline.validation import frame_from_rows

D1 = date(2026, 10, 26)


def canonical(table: str, rows: list[dict[str, Any]], day: date = D1) -> pl.DataFrame:
    """Rows of a canonical table with lineage filled in (source id = the record id)."""
    key = RECORD_ID[table][0]
    filled = []
    for i, row in enumerate(rows, start=1):
        filled.append(
            {
                "business_date": day,
                "source_system": "test",
                "source_id": str(row.get(key, i)),
                "source_file": f"{table}_{day:%Y%m%d}.csv",
                "source_location": f"line {i + 1}",
                "mapping_name": "identity",
                "mapping_version": "1",
                **row,
            }
        )
    return frame_from_rows(filled, CANONICAL_MODELS[table])


@dataclass
class Result:
    """Stands in for the matching engine's MatchResult."""

    matches: pl.DataFrame
    members: pl.DataFrame
    unmatched: pl.DataFrame


def result(
    workflow: str,
    matches: list[dict[str, Any]] | None = None,
    members: list[dict[str, Any]] | None = None,
    unmatched: list[dict[str, Any]] | None = None,
    run_id: str = "run-1",
) -> Result:
    base = {
        "workflow": workflow,
        "rule_id": "rule_a",
        "rule_version": "1",
        "confidence": 0.99,
        "status": "auto",
        "run_id": run_id,
        "created_at": datetime(2026, 10, 26),
        "explanation": "test",
    }
    m = frame_from_rows([{**base, **r} for r in matches or []], Matches)
    mm = frame_from_rows(
        [
            {"source_system": "test", **r, "source_id": r.get("source_id", r["record_id"])}
            for r in members or []
        ],
        MatchMembers,
    )
    u = pl.DataFrame(
        [{k: r.get(k) for k in UNMATCHED_SCHEMA} for r in unmatched or []],
        schema=UNMATCHED_SCHEMA,
        orient="row",
    )
    return Result(m, mm, u)
