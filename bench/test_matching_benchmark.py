"""Matching engine against the DuckDB exact-join floor: 1M payments x 1M invoices, Parquet.

Run with ``make bench`` (``pytest -m bench bench``); ``MATCHING_BENCH_ROWS`` sets the size
(default 1,000,000). Reports, with reads from Parquet included in every timing:

* the DuckDB exact join on the reference (the floor from architecture.md), and Polars';
* the engine's cash application on exact references (every rule of the shipped rules file
  runs; the exact-reference rule takes everything, the others find nothing left), and its
  ratio to the floor;
* the same with 5% of references mistyped, which the fuzzy rule recovers, and its ratio.

Results are printed (also without ``-s``) and written as JSON to the test's temporary
directory (the path is printed).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import datetime

import duckdb
import polars as pl
import pytest
from matching_bench_data import Dataset, write_dataset

from finance_pipeline.matching.engine import MatchResult, run_workflow

ROWS = int(os.environ.get("MATCHING_BENCH_ROWS", "1000000"))
TYPO_RATE = 0.05


def _best_of(fn: Callable[[], object], runs: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(runs):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def duckdb_exact(data: Dataset) -> int:
    con = duckdb.connect()
    try:
        table = con.sql(
            f"""
            select p.payment_id, i.invoice_id
            from read_parquet('{data.payments}') p
            join read_parquet('{data.invoices}') i on p.reference = i.invoice_number
            """
        ).to_arrow_table()
    finally:
        con.close()
    return table.num_rows


def polars_exact(data: Dataset) -> int:
    payments = pl.read_parquet(data.payments, columns=["payment_id", "reference"])
    invoices = pl.read_parquet(data.invoices, columns=["invoice_id", "invoice_number"])
    return payments.join(invoices, left_on="reference", right_on="invoice_number").height


def engine(data: Dataset) -> MatchResult:
    tables = {
        "payments": pl.read_parquet(data.payments),
        "invoices": pl.read_parquet(data.invoices),
    }
    return run_workflow(
        "cash_application", tables, run_id="bench", created_at=datetime(2026, 10, 27)
    )


@pytest.mark.bench
def test_matching_against_the_duckdb_exact_join(tmp_path_factory, capsys):
    root = tmp_path_factory.mktemp("matching-bench")
    exact = write_dataset(root / "exact", ROWS, typo_rate=0.0, seed=1)
    fuzzy = write_dataset(root / "fuzzy", ROWS, typo_rate=TYPO_RATE, seed=2)

    floor, joined = _best_of(lambda: duckdb_exact(exact), 3)
    assert joined == ROWS
    polars_floor, _ = _best_of(lambda: polars_exact(exact), 3)
    exact_time, result = _best_of(lambda: engine(exact), 1)
    assert result.matches.height == ROWS
    assert set(result.matches["status"]) == {"auto"}
    fuzzy_time, fuzzy_result = _best_of(lambda: engine(fuzzy), 1)
    by_rule = dict(fuzzy_result.matches.group_by("rule_id").len().iter_rows())
    recovered = by_rule.get("ca_reference_typo", 0)
    assert fuzzy_result.matches.height == ROWS
    assert recovered == fuzzy.typos

    report = {
        "rows": ROWS,
        "duckdb_exact_join_s": round(floor, 3),
        "polars_exact_join_s": round(polars_floor, 3),
        "engine_exact_s": round(exact_time, 3),
        "engine_exact_ratio": round(exact_time / floor, 1),
        "engine_fuzzy_s": round(fuzzy_time, 3),
        "engine_fuzzy_ratio": round(fuzzy_time / floor, 1),
        "typos": fuzzy.typos,
        "typos_recovered": recovered,
        "fuzzy_rules": by_rule,
    }
    results = root / "matching.json"
    results.write_text(json.dumps(report, indent=2) + "\n")
    with capsys.disabled():
        print(f"\nmatching benchmark ({results}):", json.dumps(report, indent=2))
